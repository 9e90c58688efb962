//! The emoji picker that `+` opens on a selected message: the usual
//! reactions at first, then the emoji whose GitHub shortcode holds what is
//! typed (`hea` → ❤️ 😍 💔 …); arrows move, Enter reacts, Esc closes.

use super::{App, Effect};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use heartlink_protocol::RoomId;

/// How many choices the picker lists.
pub const CHOICES: usize = 24;
/// The longest filter (a shortcode is rarely longer).
const FILTER_MAX: usize = 32;

/// The picker's state: the message it reacts to and what was typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picker {
    pub room: RoomId,
    pub seq: u64,
    pub filter: String,
    pub index: usize,
}

impl Picker {
    pub fn new(room: RoomId, seq: u64) -> Self {
        Self { room, seq, filter: String::new(), index: 0 }
    }

    /// (emoji, shortcode) pairs to choose from, in order.
    pub fn choices(&self) -> Vec<(&'static str, &'static str)> {
        if self.filter.is_empty() {
            return crate::emoji::FAVOURITES
                .iter()
                .filter_map(|code| crate::emoji::lookup(code).map(|emoji| (emoji, *code)))
                .collect();
        }
        crate::emoji::search(&self.filter, CHOICES)
    }
}

impl App {
    /// A key while the picker is open.
    pub(super) fn picker_key(&mut self, key: KeyEvent, mut picker: Picker) -> Vec<Effect> {
        let count = picker.choices().len();
        match key.code {
            KeyCode::Esc => return Vec::new(),
            KeyCode::Enter => {
                let Some((emoji, _)) = picker.choices().get(picker.index).copied() else {
                    self.overlay = Some(super::Overlay::Emoji(picker));
                    return Vec::new();
                };
                return if self.active_id() == Some(picker.room) { self.react(picker.seq, emoji) } else { Vec::new() };
            }
            KeyCode::Up | KeyCode::Left | KeyCode::BackTab => picker.index = picker.index.checked_sub(1).unwrap_or(count.saturating_sub(1)),
            KeyCode::Down | KeyCode::Right | KeyCode::Tab => picker.index = if count == 0 { 0 } else { (picker.index + 1) % count },
            KeyCode::Backspace => {
                picker.filter.pop();
                picker.index = 0;
            }
            KeyCode::Char(c)
                if !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                    && picker.filter.chars().count() < FILTER_MAX
                    && (c.is_alphanumeric() || "_+-".contains(c)) =>
            {
                picker.filter.extend(c.to_lowercase());
                picker.index = 0;
            }
            _ => {}
        }
        self.overlay = Some(super::Overlay::Emoji(picker));
        Vec::new()
    }
}
