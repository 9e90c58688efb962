//! Room and user events: who among this node's connections gets what.

use super::masked::Encoded;
use super::{Hub, frame};
use crate::bus::{PresenceState, RoomEvent, UserEvent};
use heartlink_protocol::{ErrorCode, PresenceStatus, RoomId, ServerMsg, User, UserId};
use std::collections::HashSet;

impl Hub {
    /// An event of `room` (see `RoomEvent` for each one's recipients).
    pub(super) fn room_event(&self, room: RoomId, event: &RoomEvent) {
        let msg = match event {
            RoomEvent::UserJoined { user, .. } => ServerMsg::UserJoined { room_id: room, user: user.clone() },
            RoomEvent::UserLeft { user, .. } => ServerMsg::UserLeft { room_id: room, user: user.clone(), reason: None },
            RoomEvent::Removed { user, reason } => ServerMsg::UserLeft { room_id: room, user: user.clone(), reason: Some(*reason) },
            RoomEvent::Typing { user, active } => ServerMsg::Typing { room_id: room, user: user.clone(), active: *active },
            RoomEvent::ReadReceipt { user, seq, .. } => ServerMsg::ReadReceipt { room_id: room, user: user.clone(), seq: *seq },
            RoomEvent::PairChanged { mask } => return self.pair_changed(mask),
        };
        let mut state = self.lock();
        let Some(entry) = state.rooms.get(&room) else { return };
        let encoded = Encoded::new(&msg, entry.mask.as_deref());
        let recipients = entry.conns.keys().filter_map(|id| state.conns.get(id));
        let push = |conn: &super::ConnEntry| {
            if let Some(frame) = encoded.for_viewer(conn.handle.user.id) {
                conn.handle.push(frame.clone());
            }
        };
        match event {
            RoomEvent::UserJoined { from, .. } | RoomEvent::ReadReceipt { from, .. } => {
                recipients.filter(|conn| conn.handle.id != *from).for_each(push);
            }
            RoomEvent::Typing { user, .. } => {
                recipients.filter(|conn| conn.handle.user.id != user.id).for_each(push);
            }
            RoomEvent::PairChanged { .. } => {}
            RoomEvent::UserLeft { user, .. } | RoomEvent::Removed { user, .. } => {
                let from = match event {
                    RoomEvent::UserLeft { from, .. } => Some(*from),
                    _ => None,
                };
                let mut theirs = Vec::new();
                for conn in recipients {
                    if Some(conn.handle.id) != from {
                        push(conn);
                    }
                    if conn.handle.user.id == user.id {
                        theirs.push(conn.handle.id);
                    }
                }
                // All of the leaver's connections stop receiving the room.
                for conn in theirs {
                    state.leave_room(conn, room, &*self.subscriptions);
                }
                drop(state);
                self.typing_changed.notify_one();
            }
        }
    }

    /// `user`'s presence, once to every connection joined to any of `rooms`
    /// — but in a pair room, as the peer shows it there, with the room's id.
    pub(super) fn presence(&self, user: &User, presence: PresenceState, rooms: &[RoomId]) {
        let PresenceState { status, last_seen } = presence;
        let online = status != PresenceStatus::Offline;
        let last_seen = last_seen.filter(|_| !online);
        let event = frame(&ServerMsg::Presence { user: user.clone(), online, status: Some(status), last_seen, room_id: None });
        let state = self.lock();
        let mut reached = HashSet::new();
        for (room, entry) in rooms.iter().filter_map(|room| Some((*room, state.rooms.get(room)?))) {
            let Some(mask) = entry.mask.as_deref() else {
                for id in entry.conns.keys() {
                    if let (true, Some(conn)) = (reached.insert(*id), state.conns.get(id)) {
                        conn.handle.push(event.clone());
                    }
                }
                continue;
            };
            let in_room = ServerMsg::Presence { user: user.clone(), online, status: Some(status), last_seen, room_id: Some(room) };
            let encoded = Encoded::new(&in_room, Some(mask));
            for conn in entry.conns.keys().filter_map(|id| state.conns.get(id)) {
                if conn.handle.user.id == user.id {
                    continue;
                }
                if let Some(frame) = encoded.for_viewer(conn.handle.user.id) {
                    conn.handle.push(frame.clone());
                }
            }
        }
    }

    /// An event for `user`'s connections on this node.
    pub(super) fn user_event(&self, user: UserId, event: &UserEvent) {
        if let UserEvent::RoomActivity { room, last_seq, mentions } = event {
            self.room_activity(user, *room, *last_seq, *mentions, std::time::Instant::now());
            return;
        }
        let state = self.lock();
        // The one named connection, if it is here and is the user's.
        let named = |conn: &crate::node::ConnId| state.conns.get(conn).filter(|entry| entry.handle.user.id == user);
        match event {
            UserEvent::Close { code, reason, except, token } => {
                let ids = state.users.get(&user).map_or(&[][..], Vec::as_slice);
                let theirs = ids.iter().filter_map(|id| state.conns.get(id));
                let chosen = theirs.filter(|conn| Some(conn.handle.id) != *except && token.is_none_or(|token| conn.token == token));
                for conn in chosen {
                    conn.handle.close(*code, reason.clone());
                }
            }
            UserEvent::Matched { conn, room } => {
                if let Some(waiting) = named(conn) {
                    waiting.handle.push(frame(&ServerMsg::Matched { room: room.clone() }));
                }
            }
            UserEvent::MatchFailed { conn } => {
                if let Some(waiting) = named(conn) {
                    waiting.handle.push(frame(&ServerMsg::error(ErrorCode::Internal, "matching failed; ask again")));
                }
            }
            UserEvent::MatchExpired { conn } => {
                if let Some(waiting) = named(conn) {
                    waiting.handle.push(frame(&ServerMsg::MatchExpired));
                }
            }
            UserEvent::Frame { msg, except } => {
                let encoded = frame(msg);
                let theirs = state.conns.values().filter(|conn| conn.handle.user.id == user && Some(conn.handle.id) != *except);
                theirs.for_each(|conn| conn.handle.push(encoded.clone()));
            }
            UserEvent::RoomActivity { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::Fixture;
    use crate::bus::{Deliver, MessageBatch, RoomEvent, UserEvent};
    use heartlink_protocol::{Room, RoomId};

    #[tokio::test]
    async fn room_events_reach_the_joined_connections_they_are_for() {
        let fixture = Fixture::new();
        let room = RoomId::random();
        let alice = fixture.connect("alice").await;
        let alice_phone = fixture.connect_as(&alice.handle.user).await;
        let bob = fixture.connect("bob").await;
        let outsider = fixture.connect("carol").await;
        for conn in [&alice, &alice_phone, &bob] {
            fixture.hub.join(conn.handle.id, room).await.unwrap();
        }
        let user = alice.handle.user.clone();
        fixture.hub.deliver_room(room, &RoomEvent::Typing { user: user.clone(), active: true });
        fixture.hub.deliver_room(room, &RoomEvent::ReadReceipt { user: user.clone(), seq: 1, from: alice.handle.id });
        assert_eq!(alice.summary(), Vec::<String>::new(), "typing is for other users, a receipt for other connections");
        assert_eq!(alice_phone.summary(), ["read_receipt 1"]);
        assert_eq!(bob.summary(), ["typing", "read_receipt 1"]);
        assert!(outsider.summary().is_empty());

        // Leaving on one connection: the others hear it, and none of alice's get the room any more.
        fixture.hub.unjoin(alice.handle.id, room);
        fixture.hub.deliver_room(room, &RoomEvent::UserLeft { user, from: alice.handle.id });
        assert_eq!((alice_phone.summary(), bob.summary()), (vec!["user_left".to_owned()], vec!["user_left".to_owned()]));
        assert!(!fixture.hub.is_joined(alice_phone.handle.id, room));
        let message = heartlink_protocol::ChatMessage { room_id: room, seq: 1, ..Default::default() };
        fixture.hub.deliver_messages(MessageBatch { messages: vec![message], replies: Vec::new() });
        assert_eq!((alice_phone.summary(), bob.summary()), (Vec::new(), vec!["chat_message 1".to_owned()]));
    }

    #[tokio::test]
    async fn presence_reaches_each_connection_once_however_many_rooms_it_shares() {
        let fixture = Fixture::new();
        let rooms = [RoomId::random(), RoomId::random()];
        let bob = fixture.connect("bob").await;
        for room in rooms {
            fixture.hub.join(bob.handle.id, room).await.unwrap();
        }
        let alice = fixture.connect("alice").await.handle.user;
        let online = crate::bus::PresenceState { status: heartlink_protocol::PresenceStatus::Online, last_seen: None };
        fixture.hub.deliver_presence(&alice, online, &rooms);
        assert_eq!(bob.summary(), ["presence"]);
    }

    #[tokio::test]
    async fn user_events_close_the_users_connections_or_reach_the_one_named() {
        let fixture = Fixture::new();
        let alice = fixture.connect("alice").await;
        let alice_phone = fixture.connect_as(&alice.handle.user).await;
        let bob = fixture.connect("bob").await;
        let room = Room { id: RoomId::random(), name: "a & b".into(), ..Room::default() };
        let matched = UserEvent::Matched { conn: alice_phone.handle.id, room };
        fixture.hub.deliver_user(alice.handle.user.id, &matched);
        assert_eq!((alice.summary(), alice_phone.summary()), (Vec::new(), vec!["matched".to_owned()]));

        // alice's two connections hold different tokens (see the fixture).
        let alice_laptop = fixture.connect_as(&alice.handle.user).await;
        let by_token = UserEvent::Close { code: 1008, reason: "logged out".into(), except: None, token: Some(fixture.token_of(&alice_laptop)) };
        fixture.hub.deliver_user(alice.handle.user.id, &by_token);
        assert!(alice_laptop.handle.closing().is_cancelled(), "the revoked token's connection closes");
        assert!(!alice.handle.closing().is_cancelled() && !alice_phone.handle.closing().is_cancelled());

        let close = UserEvent::Close { code: 1008, reason: "logged out everywhere".into(), except: Some(alice.handle.id), token: None };
        fixture.hub.deliver_user(alice.handle.user.id, &close);
        assert!(!alice.handle.closing().is_cancelled(), "the connection that asked stays");
        assert!(alice_phone.handle.closing().is_cancelled());
        let request = alice_phone.inbox.close_request().unwrap();
        assert_eq!((request.code, request.reason.as_ref()), (1008, "logged out everywhere"));
        assert!(!bob.handle.closing().is_cancelled());
    }
}
