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
    pub async fn join_masked(&self, conn: ConnId, room: RoomId, mask: PairMask, since: Option<u64>) -> Result<u64, super::JoinError> {
        {
            let mut state = self.lock();
            let entry = state.rooms.entry(room).or_default();
            if entry.mask.is_none() {
                entry.mask = Some(Arc::new(mask));
            }
        }
        let joined = self.join_after(conn, room, since).await;
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

#[cfg(test)]
mod tests {
    use super::super::fixture::{Fixture, message};
    use crate::bus::{Deliver, MessageBatch, RoomEvent};
    use crate::disguise::PairMask;
    use crate::store::{PairMemberRecord, PairRecord, UserSummary};
    use heartlink_protocol::{RoomId, User, UserId};

    fn member(user: &User, alias: &str) -> PairMemberRecord {
        let user = UserSummary { id: user.id, username: user.username.clone() };
        PairMemberRecord { user, alias: UserSummary { id: UserId::random(), username: alias.into() }, revealed: false }
    }

    #[tokio::test]
    async fn each_user_of_a_pair_room_gets_its_frames_with_the_other_under_the_alias() {
        let fixture = Fixture::new();
        let (alice, bob) = (fixture.connect("alice").await, fixture.connect("bob").await);
        let (alice_user, bob_user) = (alice.handle.user.clone(), bob.handle.user.clone());
        let room = RoomId::random();
        let mut pair = PairRecord { room, members: [member(&alice_user, "quiet-otter"), member(&bob_user, "brave-fox")], ended: None };
        for conn in [&alice, &bob] {
            fixture.hub.join_masked(conn.handle.id, room, PairMask::new(&pair), None).await.unwrap();
        }
        let mut from_alice = message(room, 1);
        from_alice.sender = alice_user.clone();
        fixture.hub.deliver_messages(MessageBatch { messages: vec![from_alice.clone()], replies: Vec::new() });
        fixture.hub.deliver_room(room, &RoomEvent::Typing { user: bob_user.clone(), active: true });
        fixture.hub.deliver_presence(&bob_user, crate::bus::PresenceState { status: heartlink_protocol::PresenceStatus::Offline, last_seen: Some(1) }, &[room]);

        let alice_sees = alice.frames();
        assert_eq!(alice_sees[0]["sender"]["username"], "alice", "herself as she is");
        assert_eq!((&alice_sees[1]["type"], &alice_sees[1]["user"]["username"]), (&"typing".into(), &"brave-fox".into()));
        assert_eq!((&alice_sees[2]["type"], &alice_sees[2]["room_id"]), (&"presence".into(), &room.to_string().into()));
        assert_eq!(alice_sees[2]["user"]["username"], "brave-fox");
        let bob_sees = bob.frames();
        assert_eq!(bob_sees.len(), 1, "{bob_sees:?}");
        assert_eq!(bob_sees[0]["sender"]["username"], "quiet-otter");
        assert_ne!(bob_sees[0]["sender"]["id"], alice_user.id.to_string().as_str());

        // Both revealed: the bus brings the new mask, and the real names go out.
        pair.members.iter_mut().for_each(|member| member.revealed = true);
        fixture.hub.deliver_room(room, &RoomEvent::PairChanged { mask: PairMask::new(&pair) });
        from_alice.seq = 2;
        fixture.hub.deliver_messages(MessageBatch { messages: vec![from_alice], replies: Vec::new() });
        assert_eq!(bob.frames()[0]["sender"]["username"], "alice");
        assert!(fixture.hub.pair_view(room, bob_user.id).is_some_and(|view| view.shown == alice_user));
    }
}
