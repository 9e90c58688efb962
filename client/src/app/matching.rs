//! Chatting with a stranger (PROTOCOL.md, "Stranger matching"): `/match
//! [code]` and the wait (shown with its time and code), `/cancel`, the
//! anonymous pair room with its banner, `/reveal`, `/end`, `/next`, and the
//! server's answers. An ended chat stays readable but takes no input.

use super::{App, Effect, RoomView};
use crate::events::NetCmd;
use crate::sanitize::sanitize_line;
use heartlink_protocol::{ClientMsg, MatchCode, Room, RoomId, User};
use tokio::time::Instant;

/// Waiting for a stranger since `since` (with the `code`, if one was given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchWait {
    pub code: Option<MatchCode>,
    pub since: Instant,
}

impl App {
    /// `/match [code]`.
    pub(super) fn start_match(&mut self, code: Option<MatchCode>) -> Vec<Effect> {
        self.last_match_code = code.clone();
        self.matching = Some(MatchWait { code: code.clone(), since: self.now });
        vec![Self::request(ClientMsg::Match { code })]
    }

    /// `/cancel`.
    pub(super) fn cancel_match(&mut self) -> Vec<Effect> {
        if self.matching.is_none() {
            self.notify("you are not waiting for a match", false);
            return Vec::new();
        }
        vec![Self::request(ClientMsg::CancelMatch)]
    }

    /// The open room if it is a pair room, else a notice saying what the command needs.
    fn pair_room(&mut self, command: &str) -> Option<RoomId> {
        match self.active_room() {
            Some(room) if room.is_pair() => Some(room.id()),
            _ => {
                self.notify(format!("{command} works in a chat with a stranger (/match starts one)"), true);
                None
            }
        }
    }

    /// `/end`: ends the open stranger chat for both.
    pub(super) fn end_match(&mut self) -> Vec<Effect> {
        let Some(room_id) = self.pair_room("/end") else { return Vec::new() };
        if self.active_room().is_some_and(|room| room.ended) {
            self.notify("this chat has already ended — /leave closes it, /match finds someone new", false);
            return Vec::new();
        }
        self.ending.insert(room_id);
        vec![Self::request(ClientMsg::EndMatch { room_id })]
    }

    /// `/next`: ends the open stranger chat (if it is still on) and waits for the next stranger.
    pub(super) fn next_match(&mut self, code: Option<MatchCode>) -> Vec<Effect> {
        let mut effects = Vec::new();
        if let Some(room) = self.active_room().filter(|room| room.is_pair() && !room.ended) {
            let room_id = room.id();
            self.ending.insert(room_id);
            effects.push(Self::request(ClientMsg::EndMatch { room_id }));
        }
        let code = code.or_else(|| self.last_match_code.clone());
        effects.extend(self.start_match(code));
        effects
    }

    /// `/reveal`: my name goes to the stranger once they `/reveal` too.
    pub(super) fn reveal(&mut self) -> Vec<Effect> {
        let Some(room_id) = self.pair_room("/reveal") else { return Vec::new() };
        vec![Self::request(ClientMsg::Reveal { room_id })]
    }

    pub(super) fn match_waiting(&mut self) {
        let code = self.matching.as_ref().and_then(|wait| wait.code.clone());
        if self.matching.is_none() {
            self.matching = Some(MatchWait { code: code.clone(), since: self.now });
        }
        let text = match code {
            Some(code) => format!("waiting for someone who types /match {code}… (/cancel stops)"),
            None => "waiting for a stranger to chat with… (/cancel stops)".to_owned(),
        };
        self.notify(text, false);
    }

    pub(super) fn match_stopped(&mut self, expired: bool) {
        self.matching = None;
        let text = if expired {
            "nobody was found to chat with in 10 minutes — /match to try again"
        } else {
            "stopped waiting for a match"
        };
        self.notify(text, expired);
    }

    /// `matched{room}`: the pair room opens, with the stranger's alias as its name.
    pub(super) fn matched(&mut self, room: Room) -> Vec<Effect> {
        self.matching = None;
        let notice = format!("matched with a stranger: {} — say hello", sanitize_line(&room.name));
        self.enter_room(room, notice)
    }

    pub(super) fn reveal_pending(&mut self, room_id: RoomId) {
        if let Some(room) = self.room_mut(room_id) {
            let name = sanitize_line(&room.room.name);
            room.notice(format!("you asked to reveal: {name} sees your name once they /reveal too"));
        }
    }

    /// `revealed{room_id, peer}`: both agreed; the room takes the peer's name.
    pub(super) fn revealed(&mut self, room_id: RoomId, peer: User) {
        let Some(room) = self.room_mut(room_id) else { return };
        let alias = sanitize_line(&room.room.name);
        room.notice(format!("{alias} is {}", sanitize_line(&peer.username)));
        room.room.name = peer.username.clone();
        room.revealed = Some(peer);
        self.sort_rooms();
    }

    /// `match_ended{room_id, by}`: the room turns read-only.
    pub(super) fn match_ended(&mut self, room_id: RoomId, by: &User) {
        let mine = self.ending.remove(&room_id) || self.me.as_ref().is_some_and(|me| me.id == by.id);
        let Some(room) = self.room_mut(room_id) else { return };
        if room.ended {
            return;
        }
        room.ended = true;
        room.typing.clear();
        let who = if mine { "you".to_owned() } else { sanitize_line(&by.username) };
        room.alert(format!("{who} ended this chat — it stays readable; /match finds someone new, /leave closes it"));
    }

    /// A room we were just put in (created, matched): open it, join it, save it.
    pub(super) fn enter_room(&mut self, room: Room, notice: String) -> Vec<Effect> {
        let id = room.id;
        match self.room_mut(id) {
            Some(view) => view.room = room,
            None => self.add_room(RoomView::new(room)),
        }
        self.sort_rooms();
        if let Some(view) = self.room_mut(id) {
            view.subscribed = true;
        }
        self.open(id);
        self.notify(notice, false);
        let mut effects = vec![Effect::Net(NetCmd::Join(id))];
        effects.extend(self.save_session());
        effects
    }

    /// The status bar's word on a wait: `matching 4242 · 0:42`.
    pub fn match_status(&self) -> Option<String> {
        let wait = self.matching.as_ref()?;
        let secs = self.now.saturating_duration_since(wait.since).as_secs();
        let code = wait.code.as_ref().map(|code| format!(" {code}")).unwrap_or_default();
        Some(format!("matching{code} · {}:{:02} · /cancel", secs / 60, secs % 60))
    }

    /// The banner over a pair room's messages.
    pub fn banner(&self) -> Option<String> {
        let room = self.active_room().filter(|room| room.is_pair())?;
        let name = sanitize_line(&room.room.name);
        Some(if room.ended {
            "this chat has ended — /match for someone new, /leave to close it".to_owned()
        } else if room.revealed.is_some() {
            format!("chatting with {name} (revealed) — /next, /end, /block, /report")
        } else {
            format!("you are chatting with a stranger: {name} — /next, /end, /block, /report")
        })
    }
}
