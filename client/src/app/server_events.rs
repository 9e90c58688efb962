//! Applying the server's messages to the model: rooms, members, presence,
//! chat messages (deduplicated by seq), acks, history, typing, receipts.

use super::{App, Effect, RoomView, TYPING_SHOWN};
use crate::events::NetCmd;
use crate::settings::Bell;
use crate::sanitize::sanitize_line;
use heartlink_protocol::{ChatMessage, Member, ReadMarker, Room, RoomId, RoomSummary, ServerMsg, User};

/// `joined`'s fields, gathered so the handler takes one argument.
struct JoinedReply {
    room: Room,
    members: Vec<Member>,
    messages: Vec<ChatMessage>,
    has_more: bool,
    reads: Vec<ReadMarker>,
}

impl App {
    pub(super) fn server_msg(&mut self, msg: ServerMsg) -> Vec<Effect> {
        match msg {
            ServerMsg::Joined { room, members, messages, has_more, reads, .. } => {
                return self.joined(JoinedReply { room, members, messages, has_more, reads });
            }
            ServerMsg::ChatMessage(message) => return self.chat_message(message),
            ServerMsg::Ack { room_id, client_msg_id, seq, ts, .. } => {
                let me = self.me.clone();
                if let (Some(room), Some(me)) = (self.room_mut(room_id), me) {
                    if room.acked(&client_msg_id, seq, ts, &me) {
                        return self.save_outbox();
                    }
                }
            }
            ServerMsg::History { room_id, messages, has_more } => self.history(room_id, messages, has_more),
            ServerMsg::UserJoined { room_id, user } => self.member_joined(room_id, user),
            ServerMsg::UserLeft { room_id, user, .. } => return self.member_left(room_id, &user),
            ServerMsg::Left { room_id } => drop(self.remove_room(room_id)),
            ServerMsg::Presence { user, online, .. } => self.presence(&user, online),
            ServerMsg::Typing { room_id, user, active } => self.typing(room_id, user, active),
            ServerMsg::ReadReceipt { room_id, user, seq } => self.read_receipt(room_id, user, seq),
            ServerMsg::Rooms { rooms, .. } => self.rooms_listed(rooms),
            ServerMsg::RoomCreated { room } => return self.room_created(room),
            ServerMsg::Matched { room } => return self.matched(room),
            ServerMsg::MatchWaiting => self.notify("waiting for someone to match with… (/cancel to stop)", false),
            ServerMsg::MatchCancelled => self.notify("stopped waiting for a match", false),
            ServerMsg::Error { message, .. } => self.notify(format!("server: {}", sanitize_line(&message)), true),
            // Wave 2 events this client does not show yet.
            ServerMsg::ConnectionEstablished { .. }
            | ServerMsg::Pong
            | ServerMsg::Members { .. }
            | ServerMsg::RoomActivity { .. }
            | ServerMsg::MatchExpired
            | ServerMsg::RevealPending { .. }
            | ServerMsg::Revealed { .. }
            | ServerMsg::MatchEnded { .. }
            | ServerMsg::Blocked { .. }
            | ServerMsg::Unblocked { .. }
            | ServerMsg::Reported { .. }
            | ServerMsg::Kicked { .. }
            | ServerMsg::Banned { .. }
            | ServerMsg::Unbanned { .. } => {}
        }
        Vec::new()
    }

    fn joined(&mut self, reply: JoinedReply) -> Vec<Effect> {
        let me = self.me.as_ref().map(|me| me.id);
        let catching_up = self.catching_up;
        let room_id = reply.room.id;
        let Some(room) = self.room_mut(room_id) else { return Vec::new() };
        let first = !room.joined;
        if first || room.messages.is_empty() {
            room.has_older = reply.has_more;
        }
        room.joined = true;
        room.room = reply.room;
        room.return_to = None;
        let newcomers = room.set_members(reply.members);
        room.set_reads(reply.reads.into_iter().filter(|marker| Some(marker.user.id) != me).collect());
        let pending_before = room.pending.len();
        let loaded = reply.messages.into_iter().filter(|m| room.insert(m.clone(), me)).count();
        let echoes = pending_before != room.pending.len();
        if catching_up {
            room.missed += loaded;
        }
        let name = sanitize_line(&room.room.name);
        if first {
            let count = room.members.len();
            let names: Vec<String> = room.members.iter().map(|m| sanitize_line(&m.user.username)).collect();
            let noun = if count == 1 { "member" } else { "members" };
            room.notice(format!("joined {name} — {count} {noun}: {}", names.join(", ")));
        } else {
            // Joins we missed while disconnected.
            for user in newcomers.into_iter().filter(|user| Some(user.id) != me) {
                room.notice(format!("{} joined", sanitize_line(&user.username)));
            }
        }
        // The room's name is known now: it moves to its place in the list.
        self.sort_rooms();
        if echoes { self.save_outbox() } else { Vec::new() }
    }

    fn chat_message(&mut self, message: ChatMessage) -> Vec<Effect> {
        let me = self.me.clone();
        let me_id = me.as_ref().map(|me| me.id);
        let active = self.active;
        let (focused, bell) = (self.focused, self.settings.bell);
        let Some(room) = self.room_mut(message.room_id) else { return Vec::new() };
        let sender = message.sender.id;
        room.typing.remove(&sender);
        let pending_before = room.pending.len();
        let mention = me.as_ref().is_some_and(|me| mentions(&message.body, &me.username))
            || room.room.kind == heartlink_protocol::RoomKind::Pair;
        let new = room.insert(message, me_id);
        let echo = pending_before != room.pending.len();
        let mut effects = Vec::new();
        if new && Some(sender) != me_id {
            let out_of_view = active != Some(room.id()) || room.scroll > 0 || !focused;
            if out_of_view {
                room.unread += u64::from(active != Some(room.id()) || room.scroll > 0);
                let ring = match bell {
                    Bell::All => true,
                    Bell::Mentions => mention,
                    Bell::Off => false,
                };
                if ring {
                    effects.push(Effect::Bell);
                }
            }
        }
        if echo {
            effects.extend(self.save_outbox());
        }
        effects
    }

    fn history(&mut self, room_id: RoomId, messages: Vec<ChatMessage>, has_more: bool) {
        let me = self.me.as_ref().map(|me| me.id);
        let Some(room) = self.room_mut(room_id) else { return };
        room.loading_older = false;
        room.has_older = has_more;
        for message in messages {
            room.insert(message, me);
        }
    }

    fn member_joined(&mut self, room_id: RoomId, user: User) {
        let Some(room) = self.room_mut(room_id) else { return };
        let name = sanitize_line(&user.username);
        room.add_member(user);
        room.notice(format!("{name} joined"));
    }

    fn member_left(&mut self, room_id: RoomId, user: &User) -> Vec<Effect> {
        if self.me.as_ref().is_some_and(|me| me.id == user.id) {
            // Our other device left this room: it is closed here too.
            if let Some(room) = self.remove_room(room_id) {
                self.notify(format!("you left {} on another device", sanitize_line(&room.room.name)), false);
            }
            let mut effects = self.save_outbox();
            effects.extend(self.save_session());
            return effects;
        }
        if let Some(room) = self.room_mut(room_id) {
            room.remove_member(user.id);
            room.notice(format!("{} left", sanitize_line(&user.username)));
        }
        Vec::new()
    }

    fn presence(&mut self, user: &User, online: bool) {
        let name = sanitize_line(&user.username);
        for room in &mut self.rooms {
            if room.set_online(user.id, online) {
                room.notice(if online { format!("{name} is online") } else { format!("{name} went offline") });
            }
        }
    }

    fn typing(&mut self, room_id: RoomId, user: User, active: bool) {
        let until = self.now + TYPING_SHOWN;
        let Some(room) = self.room_mut(room_id) else { return };
        if active {
            room.typing.insert(user.id, (user.username, until));
        } else {
            room.typing.remove(&user.id);
        }
    }

    fn read_receipt(&mut self, room_id: RoomId, user: User, seq: u64) {
        let mine = self.me.as_ref().is_some_and(|me| me.id == user.id);
        let Some(room) = self.room_mut(room_id) else { return };
        if mine {
            // Read on another device: nothing here is unread any more.
            if seq >= room.newest_seq() {
                room.unread = 0;
            }
            room.read_sent = room.read_sent.max(seq);
        } else {
            room.read_receipt(user, seq);
        }
    }

    fn rooms_listed(&mut self, rooms: Vec<RoomSummary>) {
        let active = self.active;
        let me = self.me.as_ref().map(|me| me.id);
        for summary in &rooms {
            if let Some(room) = self.room_mut(summary.room.id) {
                if Some(room.id()) != active {
                    room.unread = room.unread_after(summary.read_seq.max(room.read_sent), summary.last_seq, me);
                }
            }
        }
        self.member_rooms = rooms.clone();
        if !std::mem::take(&mut self.listing_rooms) {
            return;
        }
        if rooms.is_empty() {
            self.notify("you are in no rooms yet: /create <name>, /join <room-id> or /match", false);
        }
        for summary in rooms {
            let unread = summary.last_seq.saturating_sub(summary.read_seq);
            let name = sanitize_line(&summary.room.name);
            self.notify(format!("{name} — {} ({unread} unread)", summary.room.id), false);
        }
    }

    fn room_created(&mut self, room: Room) -> Vec<Effect> {
        let notice = format!("created {} — share its id so others can /join it: {}", sanitize_line(&room.name), room.id);
        self.enter_room(room, notice)
    }

    fn matched(&mut self, room: Room) -> Vec<Effect> {
        let notice = format!("matched! you are now in {}", sanitize_line(&room.name));
        self.enter_room(room, notice)
    }

    /// A room we were just put in (created, matched): open it, join it, save it.
    fn enter_room(&mut self, room: Room, notice: String) -> Vec<Effect> {
        let id = room.id;
        self.open_room(room);
        self.notify(notice, false);
        let mut effects = vec![Effect::Net(NetCmd::Join(id))];
        effects.extend(self.save_session());
        effects
    }

    fn open_room(&mut self, room: Room) {
        let id = room.id;
        match self.room_mut(id) {
            Some(view) => {
                view.room = room;
                self.sort_rooms();
            }
            None => self.add_room(RoomView::new(room)),
        }
        self.open(id);
    }
}

/// Whether `body` names `username` as `@username` (case-insensitive, a
/// whole name: `@bobby` does not name bob).
pub(super) fn mentions(body: &str, username: &str) -> bool {
    let body = body.to_lowercase();
    let wanted = format!("@{}", username.to_lowercase());
    body.match_indices(&wanted).any(|(at, _)| {
        let after = body[at + wanted.len()..].chars().next();
        !after.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
    })
}
