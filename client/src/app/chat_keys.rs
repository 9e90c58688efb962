//! Keys, mouse and paste on the chat screen: editing and sending, commands,
//! switching rooms, scrollback (fetching older history at the top).

use super::command::{Command, HELP, Parsed, parse};
use super::{App, Effect, Pending, RoomView};
use crate::net::NetCmd;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use heartlink_protocol::{Body, ClientMsg, ClientMsgId, PageLimit};

/// Lines the mouse wheel scrolls per notch.
const WHEEL_LINES: usize = 3;

impl App {
    pub(super) fn chat_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let page = usize::from(self.size.1.saturating_sub(8)).max(1);
        match key.code {
            KeyCode::Char('c') if ctrl => vec![Effect::Quit],
            KeyCode::Char('r') if ctrl => vec![Effect::Net(NetCmd::RetryNow)],
            KeyCode::Char('n') if ctrl => self.switch_room(1),
            KeyCode::Char('p') if ctrl => self.switch_room(-1),
            KeyCode::Down if alt => self.switch_room(1),
            KeyCode::Up if alt => self.switch_room(-1),
            KeyCode::Char(digit @ '1'..='9') if alt => self.select_room(digit as usize - '1' as usize),
            KeyCode::Enter if alt => self.edit(|input| input.insert('\n')),
            KeyCode::Enter => self.submit(),
            KeyCode::PageUp => self.scroll_up(page),
            KeyCode::PageDown => self.scroll_down(page),
            KeyCode::Up => self.scroll_up(1),
            KeyCode::Down => self.scroll_down(1),
            KeyCode::Esc => self.scroll_down(usize::MAX),
            KeyCode::F(1) => self.help(),
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
            super::Screen::Chat => {
                // A pasted CR LF is one line break, not two.
                let text = text.replace("\r\n", "\n").replace('\r', "\n");
                self.edit(|input| input.insert_str(&text))
            }
        }
    }

    fn edit(&mut self, change: impl FnOnce(&mut super::Input)) -> Vec<Effect> {
        change(&mut self.input);
        self.typed().into_iter().collect()
    }

    fn submit(&mut self) -> Vec<Effect> {
        let line = self.input.take();
        if line.trim().is_empty() {
            return Vec::new();
        }
        let mut effects: Vec<Effect> = self.stop_typing().into_iter().collect();
        match parse(&line) {
            Parsed::Message(text) => effects.extend(self.send_message(&text)),
            Parsed::Command(command) => effects.extend(self.command(command)),
            Parsed::Invalid(reason) => self.notify(reason, true),
        }
        effects
    }

    fn send_message(&mut self, text: &str) -> Vec<Effect> {
        let expanded = crate::emoji::expand(text);
        let body = match Body::try_from(expanded.clone()) {
            Ok(body) => body,
            Err(err) => {
                self.notify(format!("not sent: {}", err.message), true);
                return Vec::new();
            }
        };
        let Some(room) = self.active_room_mut() else {
            self.notify("no room is open: /join <room-id>, /create <name> or /match first", true);
            return Vec::new();
        };
        let id = uuid::Uuid::new_v4().to_string();
        let Ok(client_msg_id) = ClientMsgId::try_from(id.as_str()) else { return Vec::new() };
        room.pending.push(Pending { client_msg_id: id, body: expanded, failed: None });
        room.scroll = 0;
        vec![Effect::Net(NetCmd::send(room.id(), client_msg_id, body))]
    }

    fn command(&mut self, command: Command) -> Vec<Effect> {
        match command {
            Command::Join(id) => {
                if let Some(index) = self.room_index(id) {
                    return self.select_room(index);
                }
                self.rooms.push(RoomView::placeholder(id));
                self.active = Some(self.rooms.len() - 1);
                self.notify(format!("joining {id}…"), false);
                let mut effects = vec![Effect::Net(NetCmd::Join(id))];
                effects.extend(self.save_session());
                effects
            }
            Command::Create(name) => vec![Self::request(ClientMsg::CreateRoom { name })],
            Command::Leave => self.leave_active(),
            Command::Rooms => {
                self.listing_rooms = true;
                vec![Self::request(ClientMsg::ListRooms { cursor: None, limit: None })]
            }
            Command::Match => vec![Self::request(ClientMsg::Match { code: None })],
            Command::CancelMatch => vec![Self::request(ClientMsg::CancelMatch)],
            Command::Help => self.help(),
            Command::Quit => vec![Effect::Quit],
        }
    }

    fn help(&mut self) -> Vec<Effect> {
        for line in HELP {
            self.notify(*line, false);
        }
        Vec::new()
    }

    fn leave_active(&mut self) -> Vec<Effect> {
        let Some(index) = self.active else {
            self.notify("no room is open", true);
            return Vec::new();
        };
        let room = self.rooms.remove(index);
        self.active = if self.rooms.is_empty() { None } else { Some(index.min(self.rooms.len() - 1)) };
        self.notify(format!("left {}", crate::sanitize::sanitize_line(&room.room.name)), false);
        let mut effects = vec![Effect::Net(NetCmd::Leave(room.id()))];
        effects.extend(self.save_session());
        effects
    }

    fn switch_room(&mut self, step: isize) -> Vec<Effect> {
        let count = self.rooms.len();
        if count == 0 {
            return Vec::new();
        }
        let current = self.active.unwrap_or(0) as isize;
        let next = (current + step).rem_euclid(count as isize) as usize;
        self.select_room(next)
    }

    fn select_room(&mut self, index: usize) -> Vec<Effect> {
        if index >= self.rooms.len() || self.active == Some(index) {
            return Vec::new();
        }
        let mut effects: Vec<Effect> = self.stop_typing().into_iter().collect();
        self.active = Some(index);
        effects.extend(self.mark_read());
        effects
    }

    fn scroll_up(&mut self, lines: usize) -> Vec<Effect> {
        let (width, height) = crate::ui::message_pane_size(self.size);
        let offset = self.utc_offset_secs;
        let me = self.me.clone();
        let Some(room) = self.active_room_mut() else { return Vec::new() };
        // Counting stops one row past what could change the outcome, so a
        // notch of the wheel does not wrap the whole scrollback.
        let enough = room.scroll.saturating_add(lines).saturating_add(height).saturating_add(1);
        let total = crate::ui::timeline_height(room, width, offset, me.as_ref(), enough);
        let top = total.saturating_sub(height);
        room.scroll = room.scroll.saturating_add(lines).min(top);
        if room.scroll < top || !room.has_older || room.loading_older {
            return Vec::new();
        }
        // At the top with more on the server: fetch the page before the oldest held.
        room.loading_older = true;
        let before_seq = room.oldest_seq();
        let limit = PageLimit::try_from(50).ok();
        vec![Self::request(ClientMsg::History { room_id: room.id(), before_seq, limit })]
    }

    fn scroll_down(&mut self, lines: usize) -> Vec<Effect> {
        if let Some(room) = self.active_room_mut() {
            room.scroll = room.scroll.saturating_sub(lines);
        }
        self.mark_read().into_iter().collect()
    }
}
