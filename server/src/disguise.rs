//! Anonymity in pair rooms: the one place that rewrites what a viewer sees
//! of their stranger. Until both revealed, every frame of a pair room shows
//! the peer as `user{alias id, alias}`; the room object is named after the
//! peer as shown and has no `created_by`.
//!
//! [`apply`] walks every variant of [`ServerMsg`] with no wildcard arm: a new
//! frame type does not compile until it says which of its fields name users
//! of a room. It is applied at the edge, per viewer: by the session to its
//! direct replies and by the hub to what it delivers in a pair room.

use crate::store::{PairRecord, UserSummary};
use crate::wire;
use heartlink_protocol::{ChatMessage, Member, ReadMarker, Room, RoomId, RoomKind, ServerMsg, User, UserId};

/// What one user of a pair room sees of the other.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PairView {
    pub room: RoomId,
    /// The other user's account.
    pub peer: User,
    /// How the other user is shown: their alias until both revealed.
    pub shown: User,
    /// The chat ended (the room is read-only).
    pub ended: bool,
}

/// A pair room's two views, as the hub keeps them for delivery.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PairMask {
    pub room: RoomId,
    /// (viewer, what that viewer sees) for each of the two users.
    views: [(UserId, PairView); 2],
}

fn user(summary: &UserSummary) -> User {
    wire::user(summary.clone())
}

impl PairMask {
    /// The views of a stored pair.
    pub fn new(pair: &PairRecord) -> Self {
        let [first, second] = &pair.members;
        let view = |peer: &crate::store::PairMemberRecord| PairView {
            room: pair.room,
            peer: user(&peer.user),
            shown: user(&pair.shown(peer)),
            ended: pair.ended.is_some(),
        };
        Self { room: pair.room, views: [(first.user.id, view(second)), (second.user.id, view(first))] }
    }

    /// What `viewer` sees; `None` for anyone but the two.
    pub fn view(&self, viewer: UserId) -> Option<&PairView> {
        self.views.iter().find(|(id, _)| *id == viewer).map(|(_, view)| view)
    }

    /// The two users, each with what they see.
    pub fn views(&self) -> impl Iterator<Item = (UserId, &PairView)> {
        self.views.iter().map(|(id, view)| (*id, view))
    }

    /// Whether the chat ended.
    pub fn ended(&self) -> bool {
        self.views[0].1.ended
    }
}

/// The rooms `msg` shows something of, whose views [`apply`] may need.
pub fn rooms_in(msg: &ServerMsg) -> Vec<RoomId> {
    match msg {
        ServerMsg::RoomCreated { room } | ServerMsg::Joined { room, .. } | ServerMsg::Matched { room } => vec![room.id],
        ServerMsg::Rooms { rooms, .. } => rooms.iter().filter(|row| row.room.kind == RoomKind::Pair).map(|row| row.room.id).collect(),
        ServerMsg::UserJoined { room_id, .. }
        | ServerMsg::UserLeft { room_id, .. }
        | ServerMsg::History { room_id, .. }
        | ServerMsg::Typing { room_id, .. }
        | ServerMsg::ReadReceipt { room_id, .. }
        | ServerMsg::Members { room_id, .. }
        | ServerMsg::MatchEnded { room_id, .. }
        | ServerMsg::Kicked { room_id, .. }
        | ServerMsg::Banned { room_id, .. }
        | ServerMsg::Unbanned { room_id, .. } => vec![*room_id],
        ServerMsg::ChatMessage(message) => vec![message.room_id],
        ServerMsg::Presence { room_id, .. } => room_id.iter().copied().collect(),
        // Users shown here are already as the viewer knows them (blocks keep
        // the alias they were made under) or carry no user at all.
        ServerMsg::ConnectionEstablished { .. }
        | ServerMsg::Left { .. }
        | ServerMsg::Ack { .. }
        | ServerMsg::RoomActivity { .. }
        | ServerMsg::MatchWaiting
        | ServerMsg::MatchCancelled
        | ServerMsg::MatchExpired
        | ServerMsg::RevealPending { .. }
        | ServerMsg::Revealed { .. }
        | ServerMsg::Blocked { .. }
        | ServerMsg::Unblocked { .. }
        | ServerMsg::Reported { .. }
        | ServerMsg::Pong
        | ServerMsg::Error { .. } => Vec::new(),
    }
}

/// Rewrites `msg` for one viewer: in every part of it that belongs to a
/// room `view_of` has a view for, the peer appears as shown.
pub fn apply<'a>(msg: &mut ServerMsg, view_of: impl Fn(RoomId) -> Option<&'a PairView>) {
    match msg {
        ServerMsg::RoomCreated { room } | ServerMsg::Matched { room } => {
            if let Some(view) = view_of(room.id) {
                apply_room(room, view);
            }
        }
        ServerMsg::Joined { room, members, messages, reads, members_cursor, .. } => {
            if let Some(view) = view_of(room.id) {
                apply_room(room, view);
                // A member cursor holds a member's account id; a pair room's
                // two members always fit one page (`listing.rs`).
                *members_cursor = None;
                apply_members(members, view);
                apply_messages(messages, view);
                reads.iter_mut().for_each(|ReadMarker { user, .. }| apply_user(user, view));
            }
        }
        ServerMsg::Rooms { rooms, .. } => {
            for row in rooms {
                if let Some(view) = view_of(row.room.id) {
                    apply_room(&mut row.room, view);
                }
            }
        }
        ServerMsg::UserJoined { room_id, user }
        | ServerMsg::UserLeft { room_id, user, .. }
        | ServerMsg::Typing { room_id, user, .. }
        | ServerMsg::ReadReceipt { room_id, user, .. }
        | ServerMsg::MatchEnded { room_id, by: user }
        | ServerMsg::Kicked { room_id, user }
        | ServerMsg::Banned { room_id, user }
        | ServerMsg::Unbanned { room_id, user } => {
            if let Some(view) = view_of(*room_id) {
                apply_user(user, view);
            }
        }
        ServerMsg::Presence { user, room_id: Some(room_id), .. } => {
            if let Some(view) = view_of(*room_id) {
                apply_user(user, view);
            }
        }
        ServerMsg::History { room_id, messages, .. } => {
            if let Some(view) = view_of(*room_id) {
                apply_messages(messages, view);
            }
        }
        ServerMsg::Members { room_id, members, has_more, cursor } => {
            if let Some(view) = view_of(*room_id) {
                (*has_more, *cursor) = (false, None);
                apply_members(members, view);
            }
        }
        ServerMsg::ChatMessage(message) => {
            if let Some(view) = view_of(message.room_id) {
                apply_message(message, view);
            }
        }
        // No room of a pair: nothing to rewrite (see `rooms_in`).
        ServerMsg::Presence { room_id: None, .. }
        | ServerMsg::ConnectionEstablished { .. }
        | ServerMsg::Left { .. }
        | ServerMsg::Ack { .. }
        | ServerMsg::RoomActivity { .. }
        | ServerMsg::MatchWaiting
        | ServerMsg::MatchCancelled
        | ServerMsg::MatchExpired
        | ServerMsg::RevealPending { .. }
        | ServerMsg::Revealed { .. }
        | ServerMsg::Blocked { .. }
        | ServerMsg::Unblocked { .. }
        | ServerMsg::Reported { .. }
        | ServerMsg::Pong
        | ServerMsg::Error { .. } => {}
    }
}

/// `msg` as `viewer`, one of the pair of `mask`, sees it.
pub fn seen_by(mut msg: ServerMsg, mask: &PairMask, viewer: UserId) -> ServerMsg {
    if let Some(view) = mask.view(viewer) {
        apply(&mut msg, |room| (room == view.room).then_some(view));
    }
    msg
}

fn apply_user(user: &mut User, view: &PairView) {
    if user.id == view.peer.id {
        *user = view.shown.clone();
    }
}

fn apply_room(room: &mut Room, view: &PairView) {
    room.name.clone_from(&view.shown.username);
    room.created_by = None;
    room.ended = view.ended;
}

fn apply_members(members: &mut [Member], view: &PairView) {
    members.iter_mut().for_each(|member| apply_user(&mut member.user, view));
}

fn apply_messages(messages: &mut [ChatMessage], view: &PairView) {
    messages.iter_mut().for_each(|message| apply_message(message, view));
}

fn apply_message(message: &mut ChatMessage, view: &PairView) {
    apply_user(&mut message.sender, view);
    for mention in &mut message.mentions {
        if *mention == view.peer.id {
            *mention = view.shown.id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{PairMemberRecord, PairRecord};
    use heartlink_protocol::RoomSummary;

    fn summary(name: &str) -> UserSummary {
        UserSummary { id: UserId::random(), username: name.into() }
    }

    fn pair() -> PairRecord {
        let member = |name: &str, alias: &str| PairMemberRecord { user: summary(name), alias: summary(alias), revealed: false };
        PairRecord { room: RoomId::random(), members: [member("alice", "quiet-otter"), member("bob", "brave-fox")], ended: None }
    }

    #[test]
    fn every_user_of_the_pair_room_is_shown_as_the_alias_and_nothing_else_changes() {
        let pair = pair();
        let mask = PairMask::new(&pair);
        let (alice, bob) = (user(&pair.members[0].user), user(&pair.members[1].user));
        let view = mask.view(alice.id).unwrap().clone();
        assert_eq!(view.shown.username, "brave-fox");
        let room = Room { id: pair.room, name: "stranger chat".into(), kind: RoomKind::Pair, created_by: Some(bob.id), ..Room::default() };
        let other_room = Room { id: RoomId::random(), name: "general".into(), created_by: Some(bob.id), ..Room::default() };
        let message = |room_id| ChatMessage { room_id, sender: bob.clone(), mentions: vec![alice.id, bob.id], ..ChatMessage::default() };
        let mut frames = vec![
            ServerMsg::Matched { room: room.clone() },
            ServerMsg::ChatMessage(message(pair.room)),
            ServerMsg::Typing { room_id: pair.room, user: bob.clone(), active: true },
            ServerMsg::Presence { user: bob.clone(), online: true, status: None, last_seen: None, room_id: Some(pair.room) },
            ServerMsg::Rooms { rooms: vec![RoomSummary { room: room.clone(), ..RoomSummary::default() }], has_more: false, cursor: None },
        ];
        let views = |id: RoomId| (id == pair.room).then_some(&view);
        for frame in &mut frames {
            apply(frame, views);
            let json = serde_json::to_string(frame).unwrap();
            assert!(!json.contains(&bob.id.to_string()) && !json.contains("\"bob\""), "{json}");
            assert!(json.contains("brave-fox"), "{json}");
        }
        assert!(serde_json::to_string(&frames[1]).unwrap().contains(&alice.id.to_string()), "the viewer stays themself");

        // Another room's frames are left alone.
        let mut elsewhere = ServerMsg::ChatMessage(message(other_room.id));
        apply(&mut elsewhere, views);
        assert_eq!(elsewhere, ServerMsg::ChatMessage(message(other_room.id)));
    }

    #[test]
    fn after_both_reveal_the_peer_is_shown_as_themself_and_an_end_shows_on_the_room() {
        let mut pair = pair();
        pair.members.iter_mut().for_each(|member| member.revealed = true);
        pair.ended = Some(crate::store::PairEndRecord { by: pair.members[0].user.id, at: 1 });
        let mask = PairMask::new(&pair);
        assert!(mask.ended());
        let bob = mask.view(pair.members[0].user.id).unwrap();
        assert_eq!(bob.shown, bob.peer);
        let mut matched = ServerMsg::Matched { room: Room { id: pair.room, ..Room::default() } };
        apply(&mut matched, |_| Some(bob));
        let ServerMsg::Matched { room } = matched else { unreachable!() };
        assert_eq!((room.name.as_str(), room.ended), ("bob", true));
    }
}
