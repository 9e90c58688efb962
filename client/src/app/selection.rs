//! Selecting a message and acting on it: ↑/↓ from an empty input move the
//! selection (older history is fetched past the oldest held), the view
//! follows it; `e` edits, `r` replies, `d` deletes (after a question), `+`
//! opens the emoji picker, Esc lets go. `/reply N`, `/edit N`, `/delete N`
//! and `/react N 👍` do the same to the N-th newest message.

use super::{App, Effect, Overlay, Picker, Prompt};
use crate::timeline::{Layout, height_up_to, rows_below};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use heartlink_protocol::{ClientMsg, PageLimit, RelKind, RelatesTo};

/// What to do with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Act {
    Reply(Option<String>),
    Edit,
    Delete,
    React(Option<String>),
}

impl App {
    /// The messages that can be selected in the open room, oldest first:
    /// those shown as lines, not deleted, not folded away as a blocked user's.
    fn selectable(&self) -> Vec<u64> {
        let Some(room) = self.active_room() else { return Vec::new() };
        room.shown_seqs()
            .filter(|seq| room.messages.get(seq).is_some_and(|m| !self.blocked.contains_key(&m.sender.id)))
            .filter(|seq| !room.annotations(*seq).deleted)
            .collect()
    }

    /// The selected message's N (1 = the newest), as `/reply N` counts.
    pub fn selected_number(&self) -> Option<usize> {
        let seq = self.active_room()?.selected?;
        self.selectable().iter().rev().position(|at| *at == seq).map(|index| index + 1)
    }

    /// The N-th newest selectable message of the open room (1 = the newest).
    pub(super) fn nth_newest(&self, nth: usize) -> Option<u64> {
        self.selectable().into_iter().rev().nth(nth.checked_sub(1)?)
    }

    /// ↑ from an empty input: the message above the selected one (the newest first).
    pub(super) fn select_older(&mut self) -> Vec<Effect> {
        let seqs = self.selectable();
        let Some(room) = self.active_room_mut() else { return Vec::new() };
        let next = match room.selected {
            None => seqs.last().copied(),
            Some(at) => seqs.iter().rev().find(|seq| **seq < at).copied().or(Some(at)),
        };
        room.selected = next;
        let at_oldest = next.is_some() && next == seqs.first().copied();
        let mut effects = self.keep_selected_in_view();
        if at_oldest {
            effects.extend(self.fetch_older());
        }
        effects
    }

    /// ↓: the message below; past the newest, nothing is selected.
    pub(super) fn select_newer(&mut self) -> Vec<Effect> {
        let seqs = self.selectable();
        let Some(room) = self.active_room_mut() else { return Vec::new() };
        let Some(at) = room.selected else { return Vec::new() };
        room.selected = seqs.iter().find(|seq| **seq > at).copied();
        if room.selected.is_none() {
            room.scroll = 0;
            return self.mark_read().into_iter().collect();
        }
        self.keep_selected_in_view()
    }

    /// A key while a message is selected and the input is empty, if it means something.
    pub(super) fn selection_key(&mut self, key: &KeyEvent) -> Option<Vec<Effect>> {
        let seq = self.active_room()?.selected?;
        if !self.input.is_empty() || key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) {
            return None;
        }
        let act = match key.code {
            KeyCode::Char('e') => Act::Edit,
            KeyCode::Char('r') => Act::Reply(None),
            KeyCode::Char('d') => Act::Delete,
            KeyCode::Char('+') => Act::React(None),
            KeyCode::Esc => {
                if let Some(room) = self.active_room_mut() {
                    room.selected = None;
                }
                return Some(Vec::new());
            }
            _ => return None,
        };
        Some(self.act(seq, act))
    }

    /// `/reply N`, `/edit N`, `/delete N`, `/react N 👍`.
    pub(super) fn act_on_nth(&mut self, nth: usize, act: Act) -> Vec<Effect> {
        match self.nth_newest(nth) {
            Some(seq) => self.act(seq, act),
            None => {
                self.notify(format!("there is no message number {nth} here (1 is the newest)"), true);
                Vec::new()
            }
        }
    }

    pub(super) fn act(&mut self, seq: u64, act: Act) -> Vec<Effect> {
        let Some(room) = self.active_room() else { return Vec::new() };
        if room.ended {
            self.notify("this chat has ended", true);
            return Vec::new();
        }
        let room_id = room.id();
        match act {
            Act::Reply(None) => self.start_reply(seq),
            Act::Reply(Some(text)) => self.send_related(&crate::emoji::expand(&text), Some(RelatesTo { seq, rel: RelKind::Reply })),
            Act::Edit => self.start_edit(seq),
            Act::Delete => self.ask_delete(seq),
            Act::React(None) => {
                self.overlay = Some(Overlay::Emoji(Picker::new(room_id, seq)));
                Vec::new()
            }
            Act::React(Some(emoji)) => self.react(seq, &emoji),
        }
    }

    /// Sends a reaction (the server takes back an identical one: a toggle).
    pub(super) fn react(&mut self, seq: u64, emoji: &str) -> Vec<Effect> {
        if let Some(room) = self.active_room_mut() {
            room.selected = None;
        }
        self.send_related(emoji, Some(RelatesTo { seq, rel: RelKind::React }))
    }

    /// `d`: my message, or any in a room I created — after a question.
    fn ask_delete(&mut self, seq: u64) -> Vec<Effect> {
        let me = self.me.as_ref().map(|me| me.id);
        let Some(room) = self.active_room() else { return Vec::new() };
        let Some(message) = room.messages.get(&seq) else { return Vec::new() };
        let creator = room.room.created_by.is_some() && room.room.created_by == me;
        if Some(message.sender.id) != me && !creator {
            self.notify("you can delete only your own messages (or any in a room you created)", true);
            return Vec::new();
        }
        let Some(text) = room.current_body(seq) else {
            self.notify("that message is already deleted", true);
            return Vec::new();
        };
        let preview: String = crate::sanitize::sanitize_line(&text).chars().take(40).collect();
        let room_id = room.id();
        self.prompt = Some(Prompt::Delete { room: room_id, seq, preview });
        Vec::new()
    }

    /// The delete prompt said yes.
    pub(super) fn delete_confirmed(&mut self, room_id: heartlink_protocol::RoomId, seq: u64) -> Vec<Effect> {
        if self.active_id() != Some(room_id) {
            return Vec::new();
        }
        if let Some(room) = self.active_room_mut() {
            room.selected = None;
        }
        self.send_related("", Some(RelatesTo { seq, rel: RelKind::Delete }))
    }

    /// Moves the view so the whole selected message is on screen.
    fn keep_selected_in_view(&mut self) -> Vec<Effect> {
        let (width, height) = self.pane;
        let (offset, me, look) = (self.utc_offset_secs, self.me.clone(), self.look.clone());
        let blocked = self.blocked.clone();
        let Some(room) = self.active_room() else { return Vec::new() };
        let Some(seq) = room.selected else { return Vec::new() };
        let layout = Layout { room, width, utc_offset: offset, me: me.as_ref(), look: &look, blocked: &blocked, media: &self.media };
        let below = rows_below(layout, seq);
        let above_included = match room.shown_seqs().rev().find(|other| *other < seq) {
            Some(older) => rows_below(layout, older),
            None => height_up_to(layout, usize::MAX),
        };
        let bottom = below;
        let top = above_included.max(below + 1);
        let Some(room) = self.active_room_mut() else { return Vec::new() };
        if room.scroll > bottom {
            room.scroll = bottom;
        }
        if top > room.scroll + height {
            room.scroll = top.saturating_sub(height);
        }
        Vec::new()
    }

    /// The page of history before the oldest message held, once at a time.
    pub(super) fn fetch_older(&mut self) -> Vec<Effect> {
        let Some(room) = self.active_room_mut() else { return Vec::new() };
        if !room.has_older || room.loading_older {
            return Vec::new();
        }
        room.loading_older = true;
        let before_seq = room.oldest_seq();
        let limit = PageLimit::try_from(50).ok();
        vec![Self::request(ClientMsg::History { room_id: room.id(), before_seq, limit })]
    }
}
