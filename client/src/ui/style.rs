//! Colours: a stable colour per user, and the styles shared by the panes.

use heartlink_protocol::UserId;
use ratatui::style::{Color, Modifier, Style};

/// Colours readable on dark and light backgrounds alike.
const USER_COLORS: [Color; 10] = [
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::LightRed,
    Color::LightGreen,
    Color::LightBlue,
    Color::LightMagenta,
];

/// The same user gets the same colour in every session and on every
/// machine: it is derived from the user id (FNV-1a), not from the order
/// users appeared in.
pub fn user_color(user: UserId) -> Color {
    let hash = user.as_bytes().iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let index = (hash % USER_COLORS.len() as u64) as usize;
    USER_COLORS.get(index).copied().unwrap_or(Color::White)
}

pub fn dim() -> Style {
    Style::default().fg(Color::DarkGray)
}

pub fn alert() -> Style {
    Style::default().fg(Color::Red)
}

pub fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

pub fn title() -> Style {
    Style::default().fg(Color::Cyan).add_modifier(Modifier::BOLD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_keeps_their_colour() {
        let id = UserId::random();
        assert_eq!(user_color(id), user_color(id));
        let colours: std::collections::HashSet<Color> = (0..50).map(|_| user_color(UserId::random())).collect();
        assert!(colours.len() > 3, "{colours:?}");
    }
}
