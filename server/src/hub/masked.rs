//! Pair rooms in the hub: each keeps its [`PairMask`] while it has joined
//! connections here, and everything delivered in it is encoded once per
//! viewer through [`crate::disguise`], so neither user's connections ever
//! get a frame showing the other's account before both revealed.

use super::{Hub, frame};
use crate::disguise::{self, PairMask, PairView};
use crate::node::ConnId;
use heartlink_protocol::{RoomId, ServerMsg, UserId};
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// A room event, encoded for its recipients: once for everyone in a group
/// room, once for each of the two users in a pair room.
#[derive(Debug, Clone)]
pub(super) enum Encoded {
    Shared(Utf8Bytes),
    PerViewer(Arc<[(UserId, Utf8Bytes)]>),
}

impl Encoded {
    /// `msg` as each recipient sees it, given the room's mask.
    pub(super) fn new(msg: &ServerMsg, mask: Option<&PairMask>) -> Self {
        let Some(mask) = mask else { return Self::Shared(frame(msg)) };
        let frames = mask
            .views()
            .map(|(viewer, view)| {
                let mut seen = msg.clone();
                disguise::apply(&mut seen, |room| (room == view.room).then_some(view));
                (viewer, frame(&seen))
            })
            .collect();
        Self::PerViewer(frames)
    }

    /// The frame for a connection of `viewer`; `None` for someone who is
    /// not one of a pair room's two (nothing goes to them).
    pub(super) fn for_viewer(&self, viewer: UserId) -> Option<&Utf8Bytes> {
        match self {
            Self::Shared(frame) => Some(frame),
            Self::PerViewer(frames) => frames.iter().find(|(id, _)| *id == viewer).map(|(_, frame)| frame),
        }
    }
}

impl Hub {
    /// [`Hub::join`] for a pair room: its mask is in place before the first
    /// frame of the room can reach `conn`. A mask already kept here (from an
    /// earlier joiner, kept current by the bus) stays.
    pub async fn join_masked(&self, conn: ConnId, room: RoomId, mask: PairMask) -> Result<u64, super::JoinError> {
        {
            let mut state = self.lock();
            let entry = state.rooms.entry(room).or_default();
            if entry.mask.is_none() {
                entry.mask = Some(Arc::new(mask));
            }
        }
        let joined = self.join(conn, room).await;
        if joined.is_err() {
            let mut state = self.lock();
            if state.rooms.get(&room).is_some_and(|entry| entry.conns.is_empty()) {
                state.rooms.remove(&room);
            }
        }
        joined
    }

    /// What `viewer` sees of the pair room `room`, if it is live here with a mask.
    pub fn pair_view(&self, room: RoomId, viewer: UserId) -> Option<PairView> {
        let state = self.lock();
        state.rooms.get(&room)?.mask.as_ref()?.view(viewer).cloned()
    }

    /// `room`'s mask if the room is live here (`Some(None)`: live, a group
    /// room); `None` when it is not live here.
    pub fn live_mask(&self, room: RoomId) -> Option<Option<Arc<PairMask>>> {
        self.lock().rooms.get(&room).map(|entry| entry.mask.clone())
    }

    /// A pair room's anonymity or end changed (a reveal, an end): delivery
    /// uses the new mask from now on.
    pub(super) fn pair_changed(&self, mask: &PairMask) {
        if let Some(entry) = self.lock().rooms.get_mut(&mask.room) {
            entry.mask = Some(Arc::new(mask.clone()));
        }
    }

    /// The masks of those of `rooms` that have one here.
    pub(super) fn masks(&self, rooms: impl IntoIterator<Item = RoomId>) -> Vec<(RoomId, Arc<PairMask>)> {
        let state = self.lock();
        rooms.into_iter().filter_map(|room| Some((room, Arc::clone(state.rooms.get(&room)?.mask.as_ref()?)))).collect()
    }
}
