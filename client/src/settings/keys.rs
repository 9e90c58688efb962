//! Configurable keys: the chat screen's actions and the key each is bound
//! to, written like `ctrl-n`, `alt-enter`, `f1`.

use super::{SettingsError, bad};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// An action a key can be bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Quit,
    Help,
    NextRoom,
    PreviousRoom,
    Reconnect,
    Newline,
    /// The next room with mentions, then with unread messages (weechat's hotlist).
    NextActive,
}

impl Action {
    pub const ALL: [Action; 7] =
        [Self::Quit, Self::Help, Self::NextRoom, Self::PreviousRoom, Self::Reconnect, Self::Newline, Self::NextActive];

    /// The action's name in the config file.
    pub fn name(self) -> &'static str {
        match self {
            Self::Quit => "quit",
            Self::Help => "help",
            Self::NextRoom => "next_room",
            Self::PreviousRoom => "previous_room",
            Self::Reconnect => "reconnect",
            Self::Newline => "newline",
            Self::NextActive => "next_active",
        }
    }
}

/// One key with its modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyBinding {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl KeyBinding {
    const fn new(code: KeyCode, modifiers: KeyModifiers) -> Self {
        Self { code, modifiers }
    }

    /// Whether a key press is this key. Shift is ignored for characters
    /// (it is already in the character), letters match in either case.
    pub fn matches(&self, key: &KeyEvent) -> bool {
        let relevant = KeyModifiers::CONTROL | KeyModifiers::ALT;
        let (code, wanted_shift) = match (self.code, key.code) {
            (KeyCode::Char(a), KeyCode::Char(b)) => (a.eq_ignore_ascii_case(&b), false),
            (a, b) => (a == b, self.modifiers.contains(KeyModifiers::SHIFT)),
        };
        let shift_ok = !wanted_shift || key.modifiers.contains(KeyModifiers::SHIFT);
        code && shift_ok && (key.modifiers & relevant) == (self.modifiers & relevant)
    }

    /// Parses `ctrl-n`, `alt-enter`, `ctrl-alt-x`, `f1`, `pageup`, `x`.
    pub fn parse(text: &str) -> Option<Self> {
        let lower = text.trim().to_ascii_lowercase();
        let mut parts: Vec<&str> = lower.split('-').collect();
        // `alt--` / `-` name the minus key itself.
        if lower.ends_with("--") || lower == "-" {
            parts.retain(|part| !part.is_empty());
            parts.push("-");
        }
        let (key, modifier_names) = parts.split_last()?;
        let mut modifiers = KeyModifiers::NONE;
        for name in modifier_names {
            modifiers |= match *name {
                "ctrl" | "control" | "c" => KeyModifiers::CONTROL,
                "alt" | "meta" | "m" => KeyModifiers::ALT,
                "shift" | "s" => KeyModifiers::SHIFT,
                _ => return None,
            };
        }
        let code = match *key {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "insert" | "ins" => KeyCode::Insert,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "space" => KeyCode::Char(' '),
            f if f.len() > 1 && f.starts_with('f') => KeyCode::F(f[1..].parse().ok().filter(|n| (1..=12).contains(n))?),
            single => {
                let mut chars = single.chars();
                let c = chars.next()?;
                if chars.next().is_some() {
                    return None;
                }
                KeyCode::Char(c)
            }
        };
        Some(Self { code, modifiers })
    }
}

impl KeyBinding {
    /// The key as the screen names it: `Ctrl+N`, `Alt+Enter`, `F1`.
    pub fn label(&self) -> String {
        let text = self.to_string();
        text.split('-')
            .filter(|part| !part.is_empty())
            .map(|part| {
                let mut chars = part.chars();
                match (chars.next(), part) {
                    (_, "pageup") => "PageUp".to_owned(),
                    (_, "pagedown") => "PageDown".to_owned(),
                    (Some(first), _) => first.to_uppercase().chain(chars).collect(),
                    (None, _) => String::new(),
                }
            })
            .collect::<Vec<_>>()
            .join("+")
    }
}

impl std::fmt::Display for KeyBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (modifier, name) in [(KeyModifiers::CONTROL, "ctrl-"), (KeyModifiers::ALT, "alt-"), (KeyModifiers::SHIFT, "shift-")] {
            if self.modifiers.contains(modifier) {
                f.write_str(name)?;
            }
        }
        match self.code {
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::PageUp => f.write_str("pageup"),
            KeyCode::PageDown => f.write_str("pagedown"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// The key of each action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    bindings: [(Action, KeyBinding); 7],
}

impl Default for Keys {
    fn default() -> Self {
        let ctrl = KeyModifiers::CONTROL;
        Self {
            bindings: [
                (Action::Quit, KeyBinding::new(KeyCode::Char('c'), ctrl)),
                (Action::Help, KeyBinding::new(KeyCode::F(1), KeyModifiers::NONE)),
                (Action::NextRoom, KeyBinding::new(KeyCode::Char('n'), ctrl)),
                (Action::PreviousRoom, KeyBinding::new(KeyCode::Char('p'), ctrl)),
                (Action::Reconnect, KeyBinding::new(KeyCode::Char('r'), ctrl)),
                (Action::Newline, KeyBinding::new(KeyCode::Enter, KeyModifiers::ALT)),
                (Action::NextActive, KeyBinding::new(KeyCode::Char('a'), KeyModifiers::ALT)),
            ],
        }
    }
}

impl Keys {
    pub fn get(&self, action: Action) -> KeyBinding {
        self.bindings.iter().find(|(a, _)| *a == action).map_or(KeyBinding::new(KeyCode::Null, KeyModifiers::NONE), |(_, b)| *b)
    }

    pub fn iter(&self) -> impl Iterator<Item = (Action, KeyBinding)> + '_ {
        self.bindings.iter().copied()
    }

    /// The action a key press is bound to, if any.
    pub fn action(&self, key: &KeyEvent) -> Option<Action> {
        self.bindings.iter().find(|(_, binding)| binding.matches(key)).map(|(action, _)| *action)
    }

    pub(super) fn set(&mut self, action: &str, key: &str) -> Result<(), SettingsError> {
        let name = format!("keys.{action}");
        let Some(action) = Action::ALL.into_iter().find(|a| a.name() == action) else {
            return Err(bad(&name, key, "an action: quit, help, next_room, previous_room, reconnect, newline, next_active"));
        };
        let binding = KeyBinding::parse(key).ok_or_else(|| bad(&name, key, "a key such as ctrl-n, alt-enter or f1"))?;
        if let Some(slot) = self.bindings.iter_mut().find(|(a, _)| *a == action) {
            slot.1 = binding;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_print_and_match() {
        for text in ["ctrl-n", "alt-enter", "f1", "ctrl-alt-x", "pageup", "space", "alt--"] {
            let binding = KeyBinding::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(KeyBinding::parse(&binding.to_string()), Some(binding), "{text}");
        }
        for text in ["", "ctrl-", "hyper-x", "f13", "ab"] {
            assert_eq!(KeyBinding::parse(text), None, "{text}");
        }
        let ctrl_n = KeyBinding::parse("Ctrl-N").unwrap();
        assert!(ctrl_n.matches(&KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL)));
        assert!(!ctrl_n.matches(&KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE)));
        assert!(!ctrl_n.matches(&KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL | KeyModifiers::ALT)));
        assert_eq!(KeyBinding::parse("ctrl-c").unwrap().label(), "Ctrl+C");
        assert_eq!(KeyBinding::parse("alt-enter").unwrap().label(), "Alt+Enter");
        assert_eq!(KeyBinding::parse("f1").unwrap().label(), "F1");
        let keys = Keys::default();
        assert_eq!(keys.action(&KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT)), Some(Action::Newline));
        assert_eq!(keys.action(&KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)), None);
    }
}
