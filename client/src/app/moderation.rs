//! Keeping people out (PROTOCOL.md, "Moderation" and "Stranger matching"):
//! `/block` and `/unblock` (a blocked user's messages fold away in shared
//! rooms), `/report`, and for a group room's creator `/kick`, `/ban`,
//! `/unban`; what the server answers, and members leaving — kicked, banned
//! or of their own accord.

use super::{App, Effect};
use crate::sanitize::sanitize_line;
use heartlink_protocol::{ClientMsg, LeaveReason, ReportReason, RoomId, User};

impl App {
    /// `/block`: the open stranger chat's peer; `/block NAME`: a member of the open room.
    pub(super) fn block(&mut self, name: Option<String>) -> Vec<Effect> {
        let Some(room) = self.active_room() else {
            self.notify("no room is open: /block blocks the stranger, or /block <name> a member", true);
            return Vec::new();
        };
        let room_id = room.id();
        match name {
            None if room.is_pair() => vec![Self::request(ClientMsg::Block { user_id: None, room_id: Some(room_id) })],
            None => {
                self.notify("usage: /block <name> (in a stranger chat, /block alone blocks the stranger)", true);
                Vec::new()
            }
            Some(name) => match room.member_named(&name).cloned() {
                Some(user) if self.me.as_ref().is_some_and(|me| me.id == user.id) => {
                    self.notify("you cannot block yourself", true);
                    Vec::new()
                }
                Some(user) => vec![Self::request(ClientMsg::Block { user_id: Some(user.id), room_id: None })],
                None => {
                    self.notify(format!("no member of this room is called {}", sanitize_line(&name)), true);
                    Vec::new()
                }
            },
        }
    }

    /// `/unblock NAME`: someone on the blocked list.
    pub(super) fn unblock(&mut self, name: &str) -> Vec<Effect> {
        let name = name.trim_start_matches('@');
        let found = self.blocked.values().find(|user| user.username.eq_ignore_ascii_case(name)).cloned();
        match found {
            Some(user) => vec![Self::request(ClientMsg::Unblock { user_id: user.id })],
            None => {
                let list: Vec<String> = self.blocked.values().map(|user| sanitize_line(&user.username)).collect();
                let known = if list.is_empty() { "you have blocked nobody".to_owned() } else { format!("blocked: {}", list.join(", ")) };
                self.notify(format!("{} is not blocked — {known}", sanitize_line(name)), true);
                Vec::new()
            }
        }
    }

    /// `/report [reason]`: the open room, and the selected message if there is one.
    pub(super) fn report(&mut self, reason: ReportReason) -> Vec<Effect> {
        let Some(room) = self.active_room() else {
            self.notify("no room is open: /report reports the open room", true);
            return Vec::new();
        };
        let (room_id, seq) = (room.id(), room.selected);
        vec![Self::request(ClientMsg::Report { room_id, seq, reason })]
    }

    /// `/kick NAME`, `/ban NAME`: a member of the open group room (the server checks I created it).
    pub(super) fn remove_member(&mut self, name: &str, ban: bool) -> Vec<Effect> {
        let command = if ban { "/ban" } else { "/kick" };
        let Some(room) = self.active_room().filter(|room| !room.is_pair()) else {
            self.notify(format!("{command} works in a group room you created"), true);
            return Vec::new();
        };
        let room_id = room.id();
        let Some(user) = room.member_named(name).cloned() else {
            self.notify(format!("no member of this room is called {}", sanitize_line(name)), true);
            return Vec::new();
        };
        let user_id = user.id;
        vec![Self::request(if ban { ClientMsg::Ban { room_id, user_id } } else { ClientMsg::Kick { room_id, user_id } })]
    }

    /// `/unban NAME`: someone banned from the open room. The protocol has
    /// no list of a room's bans, so the name is looked up among the bans
    /// seen this session, the members and the senders of the messages held.
    pub(super) fn unban(&mut self, name: &str) -> Vec<Effect> {
        let Some(room) = self.active_room().filter(|room| !room.is_pair()) else {
            self.notify("/unban works in a group room you created", true);
            return Vec::new();
        };
        let room_id = room.id();
        let name = name.trim_start_matches('@');
        let found = room
            .banned
            .iter()
            .chain(room.members.iter().map(|member| &member.user))
            .chain(room.messages.values().map(|message| &message.sender))
            .find(|user| user.username.eq_ignore_ascii_case(name))
            .cloned();
        match found {
            Some(user) => vec![Self::request(ClientMsg::Unban { room_id, user_id: user.id })],
            None => {
                self.notify(format!("{} is not known here: /unban needs a name seen in this room", sanitize_line(name)), true);
                Vec::new()
            }
        }
    }

    /// `blocked{user}`: their messages fold away; a stranger chat with them is over.
    pub(super) fn blocked(&mut self, user: User) {
        let name = sanitize_line(&user.username);
        self.blocked.insert(user.id, user);
        self.notify(format!("blocked {name}: you will not see their messages nor be matched with them"), false);
    }

    pub(super) fn unblocked(&mut self, user: &User) {
        self.blocked.remove(&user.id);
        self.notify(format!("unblocked {}", sanitize_line(&user.username)), false);
    }

    pub(super) fn reported(&mut self, room_id: RoomId) {
        if let Some(room) = self.room_mut(room_id) {
            room.selected = None;
        }
        self.notify("reported — thank you; the operator will look at it", false);
    }

    /// `kicked` / `banned` / `unbanned`: the creator's request went through.
    pub(super) fn moderated(&mut self, room_id: RoomId, user: User, what: &str) {
        let Some(room) = self.room_mut(room_id) else { return };
        let name = sanitize_line(&user.username);
        match what {
            "banned" => {
                room.banned.retain(|known| known.id != user.id);
                room.banned.push(user);
            }
            "unbanned" => room.banned.retain(|known| known.id != user.id),
            _ => {}
        }
        room.notice(format!("{name} {what}"));
    }

    /// `user_left{room_id, user, reason}`.
    pub(super) fn member_left(&mut self, room_id: RoomId, user: &User, reason: Option<LeaveReason>) -> Vec<Effect> {
        if self.me.as_ref().is_some_and(|me| me.id == user.id) {
            // Removed by the creator, or our other device left the room: it closes here too.
            if let Some(room) = self.remove_room(room_id) {
                let name = sanitize_line(&room.room.name);
                let text = match reason {
                    Some(LeaveReason::Kicked) => format!("you were removed from {name} by its creator"),
                    Some(LeaveReason::Banned) => format!("you were banned from {name} by its creator"),
                    None => format!("you left {name} on another device"),
                };
                self.notify(text, reason.is_some());
            }
            let mut effects = self.save_outbox();
            effects.extend(self.save_session());
            return effects;
        }
        if let Some(room) = self.room_mut(room_id) {
            room.remove_member(user.id);
            let name = sanitize_line(&user.username);
            if reason == Some(LeaveReason::Banned) {
                room.banned.retain(|known| known.id != user.id);
                room.banned.push(user.clone());
            }
            room.notice(match reason {
                Some(LeaveReason::Kicked) => format!("{name} was removed by the room's creator"),
                Some(LeaveReason::Banned) => format!("{name} was banned by the room's creator"),
                None => format!("{name} left"),
            });
        }
        Vec::new()
    }
}
