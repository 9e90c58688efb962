//! Writing a reply or an edit in the input line, and `@` + Tab completing
//! a member's name. While replying or editing, a line above the input says
//! so; Enter sends the text as that relation, Esc goes back to a plain
//! message (an edit's text is dropped, a reply's kept).

use super::{App, Effect};
use heartlink_protocol::{RelKind, RelatesTo, RoomId};

/// What Enter does with the input besides sending a plain message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compose {
    Reply { room: RoomId, seq: u64 },
    Edit { room: RoomId, seq: u64 },
}

impl Compose {
    pub fn room(self) -> RoomId {
        match self {
            Self::Reply { room, .. } | Self::Edit { room, .. } => room,
        }
    }

    pub fn relates_to(self) -> RelatesTo {
        match self {
            Self::Reply { seq, .. } => RelatesTo { seq, rel: RelKind::Reply },
            Self::Edit { seq, .. } => RelatesTo { seq, rel: RelKind::Edit },
        }
    }
}

/// `@` + Tab: the names that matched what was typed after the `@`, and
/// which one the input holds now (Tab again takes the next).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Completion {
    /// The char index of the `@`.
    at: usize,
    names: Vec<String>,
    index: usize,
}

impl App {
    /// `r` on a selected message, or `/reply N`.
    pub(super) fn start_reply(&mut self, seq: u64) -> Vec<Effect> {
        let Some(room) = self.active_room_mut() else { return Vec::new() };
        room.selected = None;
        self.compose = Some(Compose::Reply { room: room.id(), seq });
        Vec::new()
    }

    /// `e` on a selected message, or `/edit N`: only my own text messages;
    /// the input gets their text to change.
    pub(super) fn start_edit(&mut self, seq: u64) -> Vec<Effect> {
        let me = self.me.as_ref().map(|me| me.id);
        let Some(room) = self.active_room_mut() else { return Vec::new() };
        let Some(message) = room.messages.get(&seq) else { return Vec::new() };
        if Some(message.sender.id) != me {
            self.notify("you can edit only your own messages", true);
            return Vec::new();
        }
        let Some(text) = room.current_body(seq) else {
            self.notify("that message was deleted: there is nothing to edit", true);
            return Vec::new();
        };
        room.selected = None;
        let id = room.id();
        self.compose = Some(Compose::Edit { room: id, seq });
        self.input.take();
        self.input.insert_str(&text);
        Vec::new()
    }

    /// Esc while replying or editing: back to a plain message. Returns
    /// whether there was something to cancel.
    pub(super) fn cancel_compose(&mut self) -> bool {
        match self.compose.take() {
            Some(Compose::Edit { .. }) => {
                self.input.take();
                true
            }
            Some(Compose::Reply { .. }) => true,
            None => false,
        }
    }

    /// The relation Enter sends the input as, in the open room (a reply
    /// or edit begun in another room does not follow the user there).
    pub(super) fn composing_here(&self) -> Option<Compose> {
        self.compose.filter(|compose| Some(compose.room()) == self.active_id())
    }

    /// The line above the input while replying or editing.
    pub fn compose_line(&self) -> Option<String> {
        let compose = self.composing_here()?;
        let room = self.active_room()?;
        let (what, seq) = match compose {
            Compose::Reply { seq, .. } => ("replying to", seq),
            Compose::Edit { seq, .. } => ("editing", seq),
        };
        let quoted = match room.messages.get(&seq) {
            Some(message) => {
                let text = room.current_body(seq).unwrap_or_default();
                let first = text.split('\n').next().unwrap_or("");
                format!("{}: {first}", message.sender.username)
            }
            None => "an earlier message".to_owned(),
        };
        Some(crate::sanitize::sanitize_line(&format!("{what} {quoted}")))
    }

    /// Tab: completes the `@name` before the cursor with a member of the
    /// open room; Tab again offers the next match.
    pub(super) fn complete_name(&mut self) -> Vec<Effect> {
        if let Some(mut completion) = self.completion.take() {
            if completion.names.len() > 1 {
                completion.index = (completion.index + 1) % completion.names.len();
                let name = completion.names[completion.index].clone();
                self.replace_word(completion.at, &name);
                self.completion = Some(completion);
            }
            return Vec::new();
        }
        let before: Vec<char> = self.input.before_cursor().chars().collect();
        let Some(at) = before.iter().rposition(|c| *c == '@') else { return Vec::new() };
        let typed: String = before[at + 1..].iter().collect();
        let inside_a_word = at > 0 && before.get(at - 1).is_some_and(|c| !c.is_whitespace());
        if typed.chars().any(char::is_whitespace) || inside_a_word {
            return Vec::new();
        }
        let me = self.me.as_ref().map(|me| me.id);
        let Some(room) = self.active_room() else { return Vec::new() };
        let typed = typed.to_lowercase();
        let mut names: Vec<String> = room
            .members
            .iter()
            .filter(|member| Some(member.user.id) != me && member.user.username.to_lowercase().starts_with(&typed))
            .map(|member| member.user.username.clone())
            .collect();
        names.sort_unstable();
        names.dedup();
        let Some(first) = names.first().cloned() else { return Vec::new() };
        self.replace_word(at, &first);
        self.completion = Some(Completion { at, names, index: 0 });
        Vec::new()
    }

    /// Replaces what follows the `@` at char index `at` up to the cursor with `name` and a space.
    fn replace_word(&mut self, at: usize, name: &str) {
        let text: Vec<char> = self.input.text().chars().collect();
        let cursor = self.input.cursor();
        let head: String = text[..=at.min(text.len().saturating_sub(1))].iter().collect();
        let tail: String = text[cursor.min(text.len())..].iter().collect();
        // Only names of the member list go in (usernames: `a-z 0-9 _ - .`), so nothing to sanitize here.
        let completed = format!("{head}{name} ");
        self.input.take();
        self.input.insert_str(&completed);
        let end = self.input.cursor();
        self.input.insert_str(tail.trim_start_matches(' '));
        while self.input.cursor() > end {
            self.input.left();
        }
    }

    /// Any key but Tab ends a completion.
    pub(super) fn end_completion(&mut self) {
        self.completion = None;
    }
}
