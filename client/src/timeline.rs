//! A room's timeline laid out as screen rows at a given width: shared by
//! the view, which draws the rows, and the app, which counts them to scroll
//! and to keep a scrolled-up view still. No terminal and no I/O here.

mod attachment;
mod message;
mod rows;
mod wrap;

pub use attachment::{IMAGE_COLS, image_cells, waveform_text};
pub use rows::{Layout, Tail, height_up_to, newest_rows, read_lines, rows_below, visible_rows};
pub use wrap::{ImageRow, Link, Logical, Piece, Row, fit, wrap};

use crate::theme::Theme;

/// How text is shown: the colours, the time format, and whether this
/// terminal draws an emoji with VS16 (`❤️`) two columns wide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appearance {
    pub theme: Theme,
    /// strftime-style, checked when the settings are read.
    pub time_format: String,
    /// Measured at start: a terminal (tmux, VTE) that draws `❤️` one column
    /// wide would leave a blank cell after it if the layout counted two, so
    /// there the variation selector is dropped and the text-style heart
    /// (one column on every terminal) is shown instead.
    pub wide_vs16: bool,
}

impl Default for Appearance {
    fn default() -> Self {
        Self { theme: Theme::default(), time_format: "%H:%M".to_owned(), wide_vs16: true }
    }
}

impl Appearance {
    /// `text` as this terminal should get it (see `wide_vs16`).
    pub fn shown(&self, text: &str) -> String {
        if self.wide_vs16 || !text.contains('\u{fe0f}') {
            text.to_owned()
        } else {
            text.replace('\u{fe0f}', "")
        }
    }
}

/// A Unix-ms timestamp at a fixed offset from UTC, in a strftime format.
pub fn clock(ts_ms: u64, utc_offset: i64, format: &str) -> String {
    let offset = i32::try_from(utc_offset).ok().and_then(chrono::FixedOffset::east_opt);
    let time = i64::try_from(ts_ms).ok().and_then(chrono::DateTime::from_timestamp_millis);
    match (time, offset) {
        (Some(time), Some(offset)) => {
            let mut out = String::new();
            // A format the settings check let through cannot fail here; if
            // it ever did, the time is left out rather than the frame lost.
            if std::fmt::Write::write_fmt(&mut out, format_args!("{}", time.with_timezone(&offset).format(format))).is_err() {
                out.clear();
            }
            out
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn clock_formats_hours_and_minutes_at_an_offset() {
        assert_eq!(clock(0, 0, "%H:%M"), "00:00");
        assert_eq!(clock((13 * 3600 + 7 * 60) * 1000 + 999, 0, "%H:%M"), "13:07");
        assert_eq!(clock(0, -3600, "%H:%M"), "23:00");
        assert_eq!(clock((13 * 3600 + 7 * 60 + 5) * 1000, 0, "%I:%M:%S %p"), "01:07:05 PM");
    }

    /// tmux draws `❤️` (U+2764 U+FE0F) one column wide while unicode-width
    /// (and kitty, foot, iTerm2) count two: the measured terminal decides.
    #[test]
    fn vs16_emoji_width_follows_the_terminal() {
        let heart = "❤️";
        assert_eq!(heart.width(), 2, "emoji presentation: two columns by the Unicode tables");
        assert_eq!("❤".width(), 1, "text presentation: one column everywhere");
        let wide = Appearance::default();
        assert_eq!(wide.shown(heart).width(), 2);
        let narrow = Appearance { wide_vs16: false, ..Appearance::default() };
        assert_eq!(narrow.shown(heart), "❤");
        assert_eq!(narrow.shown("a ❤️ b ☕").width(), "a ❤ b ☕".width());
        assert_eq!(narrow.shown("👍").width(), 2, "emoji that are wide without VS16 stay wide");
    }
}
