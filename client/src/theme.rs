//! Colours: the styles the panes share, a stable colour per user, and how
//! a colour is shown on terminals with fewer colours (a 16-colour fallback)
//! or none at all (`NO_COLOR`). Pure data; `settings` fills it from the
//! config file.

use heartlink_protocol::UserId;
use ratatui::style::{Color, Modifier, Style};

/// How many colours the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    /// 24-bit colour: every colour as configured.
    TrueColor,
    /// The xterm 256-colour palette: RGB colours map to its 6×6×6 cube.
    Palette256,
    /// The 16 ANSI colours: everything maps to the nearest of them.
    Ansi16,
    /// No colour at all (`NO_COLOR`): bold, underline and reverse only.
    None,
}

impl ColorMode {
    /// What the environment says: `NO_COLOR` (any non-empty value, see
    /// no-color.org) wins, then `COLORTERM=truecolor|24bit`, then a `TERM`
    /// naming 256 colours; anything else gets the 16 colours every terminal has.
    pub fn detect(no_color: Option<&str>, colorterm: Option<&str>, term: Option<&str>) -> Self {
        if no_color.is_some_and(|value| !value.is_empty()) {
            Self::None
        } else if colorterm.is_some_and(|value| value == "truecolor" || value == "24bit") {
            Self::TrueColor
        } else if term.is_some_and(|value| value.contains("256color")) {
            Self::Palette256
        } else {
            Self::Ansi16
        }
    }
}

/// The configurable colours, by role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Palette {
    /// Pane titles and the app name.
    pub title: Color,
    /// Times, hints, notices, offline members.
    pub dim: Color,
    /// Errors, refusals, the scroll marker.
    pub alert: Color,
    /// The open room in the room list (background).
    pub highlight: Color,
    /// Online members, the `connected` state.
    pub ok: Color,
    /// `connecting` / `reconnecting`, unread counts, pending work.
    pub warn: Color,
    /// Links in messages.
    pub link: Color,
    /// User names, one per user (chosen by user id).
    pub users: Vec<Color>,
}

impl Default for Palette {
    fn default() -> Self {
        Self {
            title: Color::Cyan,
            // Grey 244 reads on dark and light backgrounds; DarkGray (its
            // 16-colour fallback) vanishes on some dark themes.
            dim: Color::Indexed(244),
            alert: Color::Red,
            highlight: Color::Blue,
            ok: Color::Green,
            warn: Color::Yellow,
            link: Color::Blue,
            users: vec![
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
            ],
        }
    }
}

/// The styles of the screen: a palette shown in a colour mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub palette: Palette,
    pub mode: ColorMode,
}

impl Default for Theme {
    fn default() -> Self {
        Self { palette: Palette::default(), mode: ColorMode::Ansi16 }
    }
}

impl Theme {
    /// A colour as this terminal can show it (`None`: no colour at all).
    pub fn color(&self, color: Color) -> Option<Color> {
        match self.mode {
            ColorMode::TrueColor => Some(color),
            ColorMode::Palette256 => Some(to_256(color)),
            ColorMode::Ansi16 => Some(to_16(color)),
            ColorMode::None => None,
        }
    }

    fn fg(&self, color: Color) -> Style {
        match self.color(color) {
            Some(color) => Style::default().fg(color),
            None => Style::default(),
        }
    }

    pub fn dim(&self) -> Style {
        self.fg(self.palette.dim)
    }

    pub fn alert(&self) -> Style {
        let style = self.fg(self.palette.alert);
        if self.mode == ColorMode::None { style.add_modifier(Modifier::BOLD) } else { style }
    }

    pub fn warn(&self) -> Style {
        self.fg(self.palette.warn)
    }

    pub fn ok(&self) -> Style {
        self.fg(self.palette.ok)
    }

    pub fn bold(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    pub fn title(&self) -> Style {
        self.fg(self.palette.title).add_modifier(Modifier::BOLD)
    }

    pub fn link(&self) -> Style {
        self.fg(self.palette.link).add_modifier(Modifier::UNDERLINED)
    }

    /// The open room in the room list: a coloured bar, or reversed without colour.
    pub fn highlight(&self) -> Style {
        match self.color(self.palette.highlight) {
            Some(bg) => Style::default().bg(bg).fg(to_16(Color::White)).add_modifier(Modifier::BOLD),
            None => Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        }
    }

    /// `@you` in a message, the mention count in the room list.
    pub fn mention(&self) -> Style {
        self.fg(self.palette.alert).add_modifier(Modifier::BOLD)
    }

    /// A room with new messages in the room list (bold, in the unread colour).
    pub fn active(&self) -> Style {
        self.fg(self.palette.warn).add_modifier(Modifier::BOLD)
    }

    /// A status bar badge in `color` (the connection state).
    pub fn badge(&self, color: Color) -> Style {
        match self.color(color) {
            Some(bg) => Style::default().fg(Color::Black).bg(bg),
            None => Style::default().add_modifier(Modifier::REVERSED),
        }
    }

    /// The same user gets the same colour in every session and on every
    /// machine: it is derived from the user id (FNV-1a), not from the order
    /// users appeared in.
    pub fn user(&self, user: UserId) -> Style {
        let hash = user.as_bytes().iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
        });
        let count = self.palette.users.len().max(1) as u64;
        let color = self.palette.users.get((hash % count) as usize).copied().unwrap_or(Color::Reset);
        self.fg(color)
    }
}

/// The 16 ANSI colours with the RGB values of xterm's default palette.
const ANSI: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

const CUBE: [u8; 6] = [0, 95, 135, 175, 215, 255];

/// The RGB value of a palette index (xterm's 256 colours).
fn indexed_rgb(index: u8) -> (u8, u8, u8) {
    match index {
        0..=15 => ANSI.get(usize::from(index)).map_or((0, 0, 0), |(_, rgb)| *rgb),
        16..=231 => {
            let n = index - 16;
            let level = |i: u8| CUBE.get(usize::from(i)).copied().unwrap_or(0);
            (level(n / 36), level((n / 6) % 6), level(n % 6))
        }
        _ => {
            let grey = 8 + (index - 232) * 10;
            (grey, grey, grey)
        }
    }
}

fn distance(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| u32::from(x.abs_diff(y)).pow(2);
    d(a.0, b.0) + d(a.1, b.1) + d(a.2, b.2)
}

/// The nearest of the 16 ANSI colours.
pub fn to_16(color: Color) -> Color {
    let rgb = match color {
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Indexed(index) if index < 16 => return ANSI.get(usize::from(index)).map_or(color, |(c, _)| *c),
        Color::Indexed(index) => indexed_rgb(index),
        named => return named,
    };
    ANSI.iter().min_by_key(|(_, ansi)| distance(rgb, *ansi)).map_or(Color::Reset, |(c, _)| *c)
}

/// An RGB colour as the nearest entry of the 6×6×6 cube (others unchanged).
pub fn to_256(color: Color) -> Color {
    let Color::Rgb(r, g, b) = color else { return color };
    let level = |v: u8| CUBE.iter().enumerate().min_by_key(|(_, c)| c.abs_diff(v)).map_or(0, |(i, _)| i as u8);
    Color::Indexed(16 + 36 * level(r) + 6 * level(g) + level(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_keeps_their_colour() {
        let theme = Theme::default();
        let id = UserId::random();
        assert_eq!(theme.user(id), theme.user(id));
        let colours: std::collections::HashSet<Style> = (0..50).map(|_| theme.user(UserId::random())).collect();
        assert!(colours.len() > 3, "{colours:?}");
    }

    #[test]
    fn colours_fall_back_to_sixteen_and_vanish_with_no_color() {
        assert_eq!(to_16(Color::Rgb(250, 10, 10)), Color::LightRed);
        assert_eq!(to_16(Color::Indexed(244)), Color::DarkGray);
        assert_eq!(to_16(Color::Indexed(4)), Color::Blue);
        assert_eq!(to_16(Color::Cyan), Color::Cyan);
        assert_eq!(to_256(Color::Rgb(255, 0, 0)), Color::Indexed(196));
        let sixteen = Theme { mode: ColorMode::Ansi16, ..Theme::default() };
        assert_eq!(sixteen.dim().fg, Some(Color::DarkGray));
        let none = Theme { mode: ColorMode::None, ..Theme::default() };
        for style in [none.dim(), none.alert(), none.title(), none.highlight(), none.user(UserId::random())] {
            assert_eq!((style.fg, style.bg), (None, None), "{style:?}");
        }
        assert!(none.highlight().add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn the_environment_picks_the_mode_and_no_color_wins() {
        assert_eq!(ColorMode::detect(Some("1"), Some("truecolor"), Some("xterm-256color")), ColorMode::None);
        assert_eq!(ColorMode::detect(Some(""), Some("truecolor"), None), ColorMode::TrueColor);
        assert_eq!(ColorMode::detect(None, None, Some("screen-256color")), ColorMode::Palette256);
        assert_eq!(ColorMode::detect(None, None, Some("linux")), ColorMode::Ansi16);
    }
}
