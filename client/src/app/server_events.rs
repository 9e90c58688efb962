//! Applying the server's messages to the model: which handler each goes
//! to, and those of rooms, chat messages (deduplicated by seq), acks,
//! history, typing and receipts. Presence, the room list, matching and
//! moderation have their own modules.

use super::timers::TYPING_SHOWN;
use super::{App, Effect, shows_as_message};
use crate::sanitize::sanitize_line;
use heartlink_protocol::{ChatMessage, Member, ReadMarker, RelKind, Room, RoomId, ServerMsg, User};

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
            ServerMsg::Ack { room_id, client_msg_id, seq, ts, call } => {
                let me = self.me.clone();
                if let (Some(room), Some(me)) = (self.room_mut(room_id), me) {
                    if room.acked(&client_msg_id, seq, ts, &me, call) {
                        return self.save_outbox();
                    }
                }
            }
            ServerMsg::History { room_id, messages, has_more } => self.history(room_id, messages, has_more),
            ServerMsg::UserJoined { room_id, user } => self.member_joined(room_id, user),
            ServerMsg::UserLeft { room_id, user, reason } => return self.member_left(room_id, &user, reason),
            ServerMsg::Left { room_id } => drop(self.remove_room(room_id)),
            ServerMsg::Presence { user, online, status, last_seen, room_id } => {
                self.presence(&user, online, status, last_seen, room_id);
            }
            ServerMsg::Typing { room_id, user, active } => self.typing(room_id, user, active),
            ServerMsg::ReadReceipt { room_id, user, seq } => self.read_receipt(room_id, user, seq),
            ServerMsg::Rooms { rooms, has_more, cursor } => return self.rooms_page(rooms, has_more, cursor),
            ServerMsg::Members { room_id, members, .. } => {
                if let Some(room) = self.room_mut(room_id) {
                    room.add_members(members);
                }
            }
            ServerMsg::RoomActivity { room_id, last_seq, mentions } => return self.room_activity(room_id, last_seq, mentions),
            ServerMsg::RoomCreated { room } => return self.room_created(room),
            ServerMsg::Matched { room } => return self.matched(room),
            ServerMsg::MatchWaiting => self.match_waiting(),
            ServerMsg::MatchCancelled => self.match_stopped(false),
            ServerMsg::MatchExpired => self.match_stopped(true),
            ServerMsg::RevealPending { room_id } => self.reveal_pending(room_id),
            ServerMsg::Revealed { room_id, peer } => self.revealed(room_id, peer),
            ServerMsg::MatchEnded { room_id, by } => self.match_ended(room_id, &by),
            ServerMsg::Blocked { user } => self.blocked(user),
            ServerMsg::Unblocked { user } => self.unblocked(&user),
            ServerMsg::Reported { room_id } => self.reported(room_id),
            ServerMsg::Kicked { room_id, user } => self.moderated(room_id, user, "was removed from the room"),
            ServerMsg::Banned { room_id, user } => self.moderated(room_id, user, "banned"),
            ServerMsg::Unbanned { room_id, user } => self.moderated(room_id, user, "unbanned"),
            ServerMsg::Error { message, .. } => self.notify(format!("server: {}", sanitize_line(&message)), true),
            // Handled by the network task.
            ServerMsg::ConnectionEstablished { .. } | ServerMsg::Pong => {}
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
        room.subscribed = true;
        room.room = reply.room;
        // A stranger chat that ended while we were away is read-only from the start.
        room.ended |= room.room.ended;
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
        let focused = self.focused;
        let blocked = self.blocked.contains_key(&message.sender.id);
        let Some(room) = self.room_mut(message.room_id) else { return Vec::new() };
        let sender = message.sender.id;
        room.typing.remove(&sender);
        let pending_before = room.pending.len();
        let mention = me.as_ref().is_some_and(|me| names_me(room, &message, me));
        let shown = shows_as_message(&message);
        let (room_id, pair, name) = (room.id(), room.is_pair(), room.room.name.clone());
        let preview = format!("{}: {}", message.sender.username, message.body);
        let call = message.call.is_some().then(|| message.clone());
        let new = room.insert(message, me_id);
        let echo = pending_before != room.pending.len();
        let mut effects = Vec::new();
        if new && shown && Some(sender) != me_id && !blocked {
            let out_of_view = active != Some(room_id) || room.scroll > 0 || !focused;
            if out_of_view {
                let unseen = active != Some(room_id) || room.scroll > 0;
                room.unread += u64::from(unseen);
                room.mentions += u64::from(unseen && mention);
                effects.extend(self.alert(room_id, mention, pair, &name, &preview));
            }
        }
        if echo {
            effects.extend(self.save_outbox());
        }
        if let Some(call) = call.filter(|_| new && !blocked) {
            effects.extend(self.call_arrived(&call));
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

    fn typing(&mut self, room_id: RoomId, user: User, active: bool) {
        if self.blocked.contains_key(&user.id) {
            return;
        }
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

    fn room_created(&mut self, room: Room) -> Vec<Effect> {
        let notice = format!("created {} — share its id so others can /join it: {}", sanitize_line(&room.name), room.id);
        self.enter_room(room, notice)
    }
}

/// Whether a message is for me: the server's `mentions` name me, or (from
/// a server that does not send them) its text says `@me` or it replies to
/// one of my messages.
fn names_me(room: &super::RoomView, message: &ChatMessage, me: &User) -> bool {
    if message.mentions.contains(&me.id) {
        return true;
    }
    let reply_to_me = message
        .relates_to
        .filter(|relation| relation.rel == RelKind::Reply)
        .and_then(|relation| room.messages.get(&relation.seq))
        .is_some_and(|target| target.sender.id == me.id);
    reply_to_me || (shows_as_message(message) && crate::mention::names(&message.body, &me.username))
}
