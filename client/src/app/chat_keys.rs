//! Keys, mouse and paste on the chat screen: editing and sending (an input
//! that cannot be sent is kept, never emptied; a reply or an edit goes as
//! its relation), switching rooms, scrollback (fetching older history at
//! the top), selecting messages, the overlays and prompts.

use super::command::{Parsed, parse};
use super::{App, Effect, Overlay, Pending, Prompt, split_long};
use crate::events::{ConnState, NetCmd};
use crate::settings::Action;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use heartlink_protocol::limits::BODY_CHARS;
use heartlink_protocol::{Body, ClientMsgId, ErrorCode};
use tokio::time::Duration;

/// Lines the mouse wheel scrolls per notch.
const WHEEL_LINES: usize = 3;
/// A key press or the focus coming back cuts a reconnect wait short, but
/// not more often than this (typing while the server is down must not
/// turn into a connection attempt per key).
const NUDGE_SPACING: Duration = Duration::from_secs(2);

impl App {
    pub(super) fn chat_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if self.prompt.is_some() {
            return self.prompt_key(key);
        }
        if self.recording.is_some() {
            return self.recording_key(&key);
        }
        let mut effects = self.nudge_reconnect();
        if let Some(Overlay::Emoji(picker)) = self.overlay.take() {
            effects.extend(self.picker_key(key, picker));
            return effects;
        }
        if self.overlay.is_some() {
            // Esc (or the help key again) closes the overlay; other keys go on as usual.
            if key.code == KeyCode::Esc || self.settings.keys.action(&key) == Some(Action::Help) {
                self.overlay = None;
                return effects;
            }
        }
        if key.code != KeyCode::Tab {
            self.end_completion();
        }
        if let Some(action) = self.settings.keys.action(&key) {
            effects.extend(self.action(action));
            return effects;
        }
        if let Some(selected) = self.selection_key(&key) {
            effects.extend(selected);
            return effects;
        }
        effects.extend(self.plain_key(key));
        effects
    }

    fn action(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Quit => self.quit(),
            Action::Help => self.help(),
            Action::NextRoom => self.switch_room(1),
            Action::PreviousRoom => self.switch_room(-1),
            Action::Reconnect => vec![Effect::Net(NetCmd::RetryNow)],
            Action::Newline => self.edit(|input| input.insert('\n')),
            Action::NextActive => self.next_active_room(),
        }
    }

    fn plain_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let page = self.pane.1.max(1);
        match key.code {
            KeyCode::Down if alt => self.switch_room(1),
            KeyCode::Up if alt => self.switch_room(-1),
            KeyCode::Char(digit @ '1'..='9') if alt => self.select_room(digit as usize - '1' as usize),
            KeyCode::Enter => self.submit(),
            KeyCode::PageUp => self.scroll_up(page),
            KeyCode::PageDown => self.scroll_down(page),
            // From an empty input the arrows select messages; Ctrl+arrows always scroll.
            KeyCode::Up if self.input.is_empty() && !ctrl => self.select_older(),
            KeyCode::Down if self.input.is_empty() && !ctrl && self.has_selection() => self.select_newer(),
            KeyCode::Up => self.scroll_up(1),
            KeyCode::Down => self.scroll_down(1),
            KeyCode::Tab if super::attachments::path_argument(self.input.text()).is_some() => self.complete_path(),
            KeyCode::Tab => self.complete_name(),
            KeyCode::Esc if self.cancel_compose() => Vec::new(),
            KeyCode::Esc => {
                if let Some(room) = self.active_room_mut() {
                    room.selected = None;
                }
                self.scroll_down(usize::MAX)
            }
            KeyCode::Left => self.edit(super::Input::left),
            KeyCode::Right => self.edit(super::Input::right),
            KeyCode::Home => self.edit(super::Input::home),
            KeyCode::End => self.edit(super::Input::end),
            KeyCode::Char('a') if ctrl => self.edit(super::Input::home),
            KeyCode::Char('e') if ctrl => self.edit(super::Input::end),
            KeyCode::Char('u') if ctrl => self.edit(|input| drop(input.take())),
            KeyCode::Char('w') if ctrl => self.edit(super::Input::delete_word),
            KeyCode::Backspace => self.edit(super::Input::backspace),
            KeyCode::Delete => self.edit(super::Input::delete),
            KeyCode::Char(c) if !ctrl => self.edit(|input| input.insert(c)),
            _ => Vec::new(),
        }
    }

    /// While waiting to reconnect, the user being here (a key, the focus
    /// back) is a reason to try now rather than at the end of the backoff.
    pub(super) fn nudge_reconnect(&mut self) -> Vec<Effect> {
        let waiting = matches!(self.conn, ConnState::Reconnecting { retry_at: Some(at), .. } if at > self.now);
        let spaced = self.last_nudge.is_none_or(|at| self.now.duration_since(at) >= NUDGE_SPACING);
        if !waiting || !spaced {
            return Vec::new();
        }
        self.last_nudge = Some(self.now);
        vec![Effect::Net(NetCmd::RetryNow)]
    }

    pub(super) fn mouse(&mut self, mouse: MouseEvent) -> Vec<Effect> {
        match mouse.kind {
            MouseEventKind::ScrollUp => self.scroll_up(WHEEL_LINES),
            MouseEventKind::ScrollDown => self.scroll_down(WHEEL_LINES),
            _ => Vec::new(),
        }
    }

    pub(super) fn paste(&mut self, text: &str) -> Vec<Effect> {
        match &mut self.screen {
            super::Screen::Login(_) => Vec::new(),
            super::Screen::Chat if self.prompt.is_some() => Vec::new(),
            super::Screen::Chat => {
                // A pasted CR LF is one line break, not two.
                let text = text.replace("\r\n", "\n").replace('\r', "\n");
                // A file dropped on the terminal arrives as its path: offer to send it.
                if let Some(path) = super::attachments::pasted_path(&text).filter(|_| self.input.is_empty() && self.active.is_some()) {
                    self.prompt = Some(Prompt::UploadPasted { path });
                    return Vec::new();
                }
                self.edit(|input| input.insert_str(&text))
            }
        }
    }

    fn edit(&mut self, change: impl FnOnce(&mut super::Input)) -> Vec<Effect> {
        change(&mut self.input);
        self.typed().into_iter().collect()
    }

    /// Enter: a message, a command, or — if it cannot be sent as it is —
    /// a reason, with the input left as it was.
    fn submit(&mut self) -> Vec<Effect> {
        let line = self.input.text().to_owned();
        if line.trim().is_empty() {
            return Vec::new();
        }
        match parse(&line) {
            Parsed::Message(text) => self.submit_message(&text),
            Parsed::Command(command) => {
                self.input.take();
                let mut effects: Vec<Effect> = self.stop_typing().into_iter().collect();
                effects.extend(self.command(command));
                effects
            }
            Parsed::Invalid(reason) => {
                self.notify(reason, true);
                Vec::new()
            }
        }
    }

    fn submit_message(&mut self, text: &str) -> Vec<Effect> {
        let Some(room) = self.active_room() else {
            self.notify("no room is open: /join <room-id>, /create <name> or /match first", true);
            return Vec::new();
        };
        if room.ended {
            // The text stays in the input: it can go to another room.
            self.notify("this chat has ended — /match for someone new, /leave to close it", true);
            return Vec::new();
        }
        let expanded = crate::emoji::expand(text);
        let compose = self.composing_here();
        match Body::try_from(expanded.clone()) {
            Ok(_) => {
                self.input.take();
                self.compose = None;
                let mut effects: Vec<Effect> = self.stop_typing().into_iter().collect();
                let unchanged_edit = matches!(compose, Some(super::Compose::Edit { seq, .. })
                    if self.active_room().and_then(|room| room.current_body(seq)).as_deref() == Some(expanded.as_str()));
                if !unchanged_edit {
                    effects.extend(self.send_related(&expanded, compose.map(super::Compose::relates_to)));
                }
                effects
            }
            Err(err) if err.code == ErrorCode::TooLarge => {
                let chars = expanded.chars().count();
                let parts = split_long(&expanded, *BODY_CHARS.end());
                self.prompt = Some(Prompt::SplitLong { chars, parts, text: expanded });
                Vec::new()
            }
            Err(err) => {
                self.notify(format!("not sent: {} — edit the message and press Enter again", err.message), true);
                Vec::new()
            }
        }
    }

    /// Queues one message (already expanded and checked) in the open room.
    pub(super) fn send_message(&mut self, text: &str) -> Vec<Effect> {
        self.send_related(text, None)
    }

    /// Queues a message in the open room, applied to another one when
    /// `relates_to` says so (a reply, an edit, a deletion, a reaction).
    pub(super) fn send_related(&mut self, text: &str, relates_to: Option<heartlink_protocol::RelatesTo>) -> Vec<Effect> {
        let Ok(body) = Body::try_from(text.to_owned()) else { return Vec::new() };
        let Some(room) = self.active_room_mut() else { return Vec::new() };
        let id = uuid::Uuid::new_v4().to_string();
        let Ok(client_msg_id) = ClientMsgId::try_from(id.as_str()) else { return Vec::new() };
        room.pending.push(Pending { client_msg_id: id, body: text.to_owned(), relates_to, attachment: None, call: None, failed: None });
        room.scroll = 0;
        let outgoing = crate::events::Outgoing::new(room.id(), client_msg_id, body).relating(relates_to);
        let mut effects = vec![Effect::Net(NetCmd::Send(outgoing))];
        effects.extend(self.save_outbox());
        effects
    }

    pub(super) fn help(&mut self) -> Vec<Effect> {
        self.overlay = Some(Overlay::Help);
        Vec::new()
    }

    fn switch_room(&mut self, step: isize) -> Vec<Effect> {
        let count = self.rooms.len();
        if count == 0 {
            return Vec::new();
        }
        let current = self.active_index().unwrap_or(0) as isize;
        let next = (current + step).rem_euclid(count as isize) as usize;
        self.select_room(next)
    }

    pub(super) fn select_room(&mut self, index: usize) -> Vec<Effect> {
        match self.rooms.get(index) {
            Some(room) => {
                let id = room.id();
                self.select_room_id(id)
            }
            None => Vec::new(),
        }
    }

    /// Opens a room of the list: the one left keeps a "new since you left"
    /// mark at its newest message; a room not joined here yet is joined.
    pub(super) fn select_room_id(&mut self, id: heartlink_protocol::RoomId) -> Vec<Effect> {
        if self.active == Some(id) || self.room_index(id).is_none() {
            return Vec::new();
        }
        let mut effects: Vec<Effect> = self.stop_typing().into_iter().collect();
        self.open(id);
        if let Some(room) = self.room_mut(id).filter(|room| !room.subscribed) {
            room.subscribed = true;
            effects.push(Effect::Net(NetCmd::Join(id)));
        }
        effects.extend(self.mark_read());
        effects.extend(self.save_session());
        effects
    }

    fn has_selection(&self) -> bool {
        self.active_room().is_some_and(|room| room.selected.is_some())
    }

    fn scroll_up(&mut self, lines: usize) -> Vec<Effect> {
        let (width, height) = self.pane;
        let (offset, me, look) = (self.utc_offset_secs, self.me.clone(), self.look.clone());
        let blocked = std::mem::take(&mut self.blocked);
        let media = std::mem::take(&mut self.media);
        let Some(room) = self.active_room_mut() else {
            self.blocked = blocked;
            self.media = media;
            return Vec::new();
        };
        // Counting stops one row past what could change the outcome, so a
        // notch of the wheel does not wrap the whole scrollback.
        let enough = room.scroll.saturating_add(lines).saturating_add(height).saturating_add(1);
        let layout = crate::timeline::Layout { room, width, utc_offset: offset, me: me.as_ref(), look: &look, blocked: &blocked, media: &media };
        let total = crate::timeline::height_up_to(layout, enough);
        let top = total.saturating_sub(height);
        room.scroll = room.scroll.saturating_add(lines).min(top);
        let at_top = room.scroll >= top;
        self.blocked = blocked;
        self.media = media;
        // At the top with more on the server: fetch the page before the oldest held.
        if at_top { self.fetch_older() } else { Vec::new() }
    }

    fn scroll_down(&mut self, lines: usize) -> Vec<Effect> {
        if let Some(room) = self.active_room_mut() {
            room.scroll = room.scroll.saturating_sub(lines);
        }
        self.mark_read().into_iter().collect()
    }
}
