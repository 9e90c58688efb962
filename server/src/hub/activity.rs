//! `room_activity` for this node's connections: new messages in a room a
//! connection has not joined, at most one a second per connection and room
//! (PROTOCOL.md, "Room activity, mentions").
//!
//! The notices arrive as user events (every member of the room gets one,
//! wherever their connections are). A connection that had one for the room
//! less than a second ago gets nothing now: the notice waits in its slot,
//! later ones fold into it (the newest `last_seq`, the mentions added up),
//! and `flush_activity` (the hub's upkeep) sends it when the second is up.
//! So after a burst the last notice a connection gets carries the room's
//! final `last_seq`, and a flood of messages costs each connection one
//! frame a second per room.

use super::{Hub, HubState, frame};
use crate::node::ConnId;
use heartlink_protocol::{RoomId, ServerMsg, UserId};
use std::time::{Duration, Instant};

/// The least time between two `room_activity` of one room to one connection.
pub const ACTIVITY_EVERY: Duration = Duration::from_secs(1);

/// What one connection was last told of one room, and what waits.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    sent_at: Instant,
    /// `(last_seq, mentions)` held back until `sent_at + ACTIVITY_EVERY`.
    waiting: Option<(u64, u64)>,
}

fn notice(room: RoomId, last_seq: u64, mentions: u64) -> ServerMsg {
    ServerMsg::RoomActivity { room_id: room, last_seq, mentions }
}

impl Hub {
    /// New messages in `room` up to `last_seq`, `mentions` of them naming
    /// `user`, for `user`'s connections here that have not joined the room.
    pub(super) fn room_activity(&self, user: UserId, room: RoomId, last_seq: u64, mentions: u64, now: Instant) {
        let mut state = self.lock();
        let state = &mut *state;
        let Some(conns) = state.users.get(&user) else { return };
        for id in conns {
            let Some(entry) = state.conns.get_mut(id) else { continue };
            if entry.rooms.contains(&room) {
                continue;
            }
            let activity = entry.activity.get_or_insert_default();
            match activity.get_mut(&room) {
                Some(slot) if now.saturating_duration_since(slot.sent_at) < ACTIVITY_EVERY => {
                    let (seq, count) = slot.waiting.unwrap_or((0, 0));
                    slot.waiting = Some((seq.max(last_seq), count.saturating_add(mentions)));
                    state.activity_waiting.insert(*id);
                }
                _ => {
                    entry.handle.push(frame(&notice(room, last_seq, mentions)));
                    activity.insert(room, Slot { sent_at: now, waiting: None });
                    // Visited by the flush, which forgets the slot once its second is up.
                    state.activity_waiting.insert(*id);
                }
            }
        }
    }

    /// Sends the notices whose second is up; forgets slots a second old
    /// with nothing waiting.
    pub fn flush_activity(&self, now: Instant) {
        let mut state = self.lock();
        let HubState { conns, activity_waiting, .. } = &mut *state;
        activity_waiting.retain(|id: &ConnId| {
            let Some(entry) = conns.get_mut(id) else { return false };
            let mut still_waiting = false;
            let joined = &entry.rooms;
            let handle = &entry.handle;
            let Some(activity) = entry.activity.as_mut() else { return false };
            activity.retain(|room, slot| {
                let due = now.saturating_duration_since(slot.sent_at) >= ACTIVITY_EVERY;
                match slot.waiting {
                    // Joined meanwhile: its messages reach it directly.
                    Some(_) if joined.contains(room) => false,
                    Some((last_seq, mentions)) if due => {
                        handle.push(frame(&notice(*room, last_seq, mentions)));
                        *slot = Slot { sent_at: now, waiting: None };
                        true
                    }
                    Some(_) => {
                        still_waiting = true;
                        true
                    }
                    None => !due,
                }
            });
            if activity.is_empty() {
                // Forgotten whole: an idle connection keeps no map.
                entry.activity = None;
            }
            still_waiting || entry.activity.is_some()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::Fixture;
    use super::*;

    #[tokio::test]
    async fn a_burst_reaches_each_unjoined_connection_once_a_second_ending_with_the_last_seq() {
        let fixture = Fixture::new();
        let room = RoomId::random();
        let alice = fixture.connect("alice").await;
        let alice_phone = fixture.connect_as(&alice.handle.user).await;
        fixture.hub.join(alice.handle.id, room).await.unwrap();
        let user = alice.handle.user.id;
        let start = Instant::now();
        for seq in 1..=50 {
            let at = start + Duration::from_millis(seq * 10);
            fixture.hub.room_activity(user, room, seq, u64::from(seq % 10 == 0), at);
            fixture.hub.flush_activity(at);
        }
        let frames = alice_phone.frames();
        assert_eq!(frames.len(), 1, "one notice within the first second: {frames:?}");
        assert_eq!((frames[0]["last_seq"].as_u64(), frames[0]["mentions"].as_u64()), (Some(1), Some(0)));
        assert!(alice.frames().is_empty(), "a connection that joined the room gets its messages, not notices");

        fixture.hub.flush_activity(start + Duration::from_millis(900));
        assert!(alice_phone.frames().is_empty(), "not before the second is up");
        fixture.hub.flush_activity(start + Duration::from_millis(1_020));
        let frames = alice_phone.frames();
        assert_eq!(frames.len(), 1);
        assert_eq!((frames[0]["last_seq"].as_u64(), frames[0]["mentions"].as_u64()), (Some(50), Some(5)), "the final seq, the mentions added up");
        fixture.hub.flush_activity(start + Duration::from_secs(5));
        assert!(alice_phone.frames().is_empty(), "nothing more without new messages");
        {
            let state = fixture.hub.lock();
            let slots = state.conns.get(&alice_phone.handle.id).map(|entry| entry.activity.is_none());
            assert_eq!((state.activity_waiting.len(), slots), (0, Some(true)), "an idle connection keeps no slots, nor their map");
        }
        fixture.hub.room_activity(user, room, 51, 0, start + Duration::from_secs(6));
        assert_eq!(alice_phone.frames().len(), 1, "after a quiet second the next one goes at once");
    }
}
