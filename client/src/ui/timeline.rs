//! The message pane: messages in seq order with notices, read markers and
//! pending own messages woven in, wrapped to the pane's width by display
//! width (wide characters and emoji take two columns), plus the typing line.

use super::style;
use crate::app::{App, RoomView};
use crate::sanitize::{sanitize, sanitize_line};
use heartlink_protocol::{ChatMessage, User, UserId};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Continuation lines of a multi-line message start under the body.
const INDENT: &str = "      ";

/// How many rows the room's timeline takes at `width` (for scrolling).
pub fn timeline_height(room: &RoomView, width: usize, utc_offset: i64, me: Option<&User>) -> usize {
    rows(room, width, utc_offset, me).len()
}

pub fn render(app: &App, frame: &mut Frame, header: Rect, area: Rect) {
    let me = app.me.as_ref();
    let Some(room) = app.active_room() else {
        render_home(app, frame, header, area);
        return;
    };
    let mut title = vec![Span::styled(sanitize_line(&room.room.name), style::title())];
    title.push(Span::styled(format!("  id {}", room.id()), style::dim()));
    if room.scroll > 0 {
        title.push(Span::styled("  ↑ scrolled (Esc: newest)", style::alert()));
    }
    frame.render_widget(Paragraph::new(Line::from(title)), header);

    let mut all = rows(room, usize::from(area.width), app.utc_offset_secs, me);
    if room.loading_older {
        all.insert(0, Line::styled("loading older messages…", style::dim()));
    }
    let height = usize::from(area.height);
    let end = all.len().saturating_sub(room.scroll.min(all.len().saturating_sub(height)));
    let start = end.saturating_sub(height);
    let visible: Vec<Line> = all.drain(start..end).collect();
    frame.render_widget(Paragraph::new(visible), area);
}

fn render_home(app: &App, frame: &mut Frame, header: Rect, area: Rect) {
    frame.render_widget(Paragraph::new(Line::styled("heartlink", style::title())), header);
    let mut lines = vec![
        Line::from("No room open. /create <name> makes one, /join <room-id> joins one,"),
        Line::from("/match pairs you with someone, /help lists everything."),
    ];
    for notice in &app.home {
        let style = if notice.alert { style::alert() } else { style::dim() };
        lines.push(Line::styled(sanitize_line(&notice.text), style));
    }
    let rows: Vec<Line> = lines.into_iter().flat_map(|line| wrap(line.spans, usize::from(area.width))).collect();
    let skip = rows.len().saturating_sub(usize::from(area.height));
    frame.render_widget(Paragraph::new(rows.into_iter().skip(skip).collect::<Vec<_>>()), area);
}

/// The line under the messages saying who is typing.
pub fn render_typing(app: &App, frame: &mut Frame, area: Rect) {
    let Some(room) = app.active_room() else { return };
    let names: Vec<String> = room.typing.values().map(|(name, _)| sanitize_line(name)).collect();
    let text = match names.as_slice() {
        [] => return,
        [one] => format!("{one} is typing…"),
        [one, two] => format!("{one} and {two} are typing…"),
        many => format!("{} people are typing…", many.len()),
    };
    let style = style::dim().add_modifier(Modifier::ITALIC);
    frame.render_widget(Paragraph::new(Line::styled(format!(" {text}"), style)), area);
}

/// The room's whole timeline as screen rows.
fn rows(room: &RoomView, width: usize, utc_offset: i64, me: Option<&User>) -> Vec<Line<'static>> {
    let me_id = me.map(|me| me.id);
    let mut logical: Vec<Vec<Span<'static>>> = Vec::new();
    let mut notices = room.notices.iter().peekable();
    for (seq, message) in &room.messages {
        while let Some(notice) = notices.next_if(|notice| notice.after_seq < *seq) {
            logical.push(notice_line(&notice.text, notice.alert));
        }
        logical.extend(message_lines(message, utc_offset, me_id, None));
        let readers = room.readers_at(*seq);
        if !readers.is_empty() {
            let names: Vec<String> = readers.iter().map(|name| sanitize_line(name)).collect();
            logical.push(vec![Span::styled(format!("{INDENT}✓ read by {}", names.join(", ")), style::dim())]);
        }
    }
    for notice in notices {
        logical.push(notice_line(&notice.text, notice.alert));
    }
    for pending in &room.pending {
        let status = match &pending.failed {
            Some(reason) => Span::styled(format!("  ✗ {}", sanitize_line(reason)), style::alert()),
            None => Span::styled("  (sending…)", style::dim()),
        };
        let fake = ChatMessage {
            room_id: room.id(),
            seq: 0,
            sender: me.cloned().unwrap_or_else(|| User { id: UserId(uuid::Uuid::nil()), username: "you".into() }),
            body: pending.body.clone(),
            ts: 0,
            client_msg_id: String::new(),
        };
        logical.extend(message_lines(&fake, utc_offset, me_id, Some(status)));
    }
    logical.into_iter().flat_map(|spans| wrap(spans, width)).collect()
}

fn notice_line(text: &str, alert: bool) -> Vec<Span<'static>> {
    let style = if alert { style::alert() } else { style::dim() };
    let mark = if alert { "  ! " } else { "  — " };
    vec![Span::styled(format!("{mark}{}", sanitize_line(text)), style)]
}

/// A message as logical lines: "HH:MM name: body", continuation lines indented.
/// `status` (pending / failed) marks an own message not yet acked.
fn message_lines(
    message: &ChatMessage,
    utc_offset: i64,
    me: Option<UserId>,
    status: Option<Span<'static>>,
) -> Vec<Vec<Span<'static>>> {
    let time = if status.is_some() { "--:--".to_owned() } else { clock(message.ts, utc_offset) };
    let own = me == Some(message.sender.id);
    let mut name_style = Style::default().fg(style::user_color(message.sender.id)).add_modifier(Modifier::BOLD);
    if own {
        name_style = name_style.add_modifier(Modifier::UNDERLINED);
    }
    let body_style = if status.is_some() { style::dim() } else { Style::default() };
    let body = sanitize(&message.body);
    let mut lines = Vec::new();
    for (index, text) in body.split('\n').enumerate() {
        let mut spans = if index == 0 {
            vec![
                Span::styled(format!("{time} "), style::dim()),
                Span::styled(sanitize_line(&message.sender.username), name_style),
                Span::raw(": "),
            ]
        } else {
            vec![Span::raw(INDENT)]
        };
        spans.push(Span::styled(text.to_owned(), body_style));
        lines.push(spans);
    }
    if let (Some(status), Some(last)) = (status, lines.last_mut()) {
        last.push(status);
    }
    lines
}

/// HH:MM of a Unix-ms timestamp at a fixed offset from UTC.
pub fn clock(ts_ms: u64, utc_offset: i64) -> String {
    let secs = i64::try_from(ts_ms / 1000).unwrap_or(0) + utc_offset;
    let of_day = secs.rem_euclid(86_400);
    format!("{:02}:{:02}", of_day / 3600, (of_day % 3600) / 60)
}

/// Breaks styled spans into rows of at most `width` columns by display
/// width: at spaces when a word fits on the next row (so an id stays whole
/// and can be copied), inside the word when it is longer than a row, and
/// never through a wide character or an emoji.
fn wrap(spans: Vec<Span<'static>>, width: usize) -> Vec<Line<'static>> {
    let width = width.max(2);
    let graphemes: Vec<(&str, Style)> =
        spans.iter().flat_map(|span| span.content.graphemes(true).map(move |g| (g, span.style))).collect();
    let mut rows = RowBuilder::default();
    for word in graphemes.chunk_by(|a, b| a.0.trim().is_empty() == b.0.trim().is_empty()) {
        let word_width: usize = word.iter().map(|(g, _)| g.width()).sum();
        let blank = word.iter().all(|(g, _)| g.trim().is_empty());
        if rows.used + word_width > width && rows.used > 0 && word_width <= width {
            rows.break_row();
            if blank {
                continue;
            }
        }
        for (grapheme, style) in word {
            if rows.used + grapheme.width() > width && rows.used > 0 {
                rows.break_row();
            }
            rows.push(grapheme, *style);
        }
    }
    rows.finish()
}

/// Accumulates graphemes into styled spans and rows.
#[derive(Default)]
struct RowBuilder {
    rows: Vec<Line<'static>>,
    row: Vec<Span<'static>>,
    piece: String,
    style: Style,
    used: usize,
}

impl RowBuilder {
    fn push(&mut self, grapheme: &str, style: Style) {
        if style != self.style && !self.piece.is_empty() {
            self.row.push(Span::styled(std::mem::take(&mut self.piece), self.style));
        }
        self.style = style;
        self.piece.push_str(grapheme);
        self.used += grapheme.width();
    }

    fn break_row(&mut self) {
        if !self.piece.is_empty() {
            self.row.push(Span::styled(std::mem::take(&mut self.piece), self.style));
        }
        self.rows.push(Line::from(std::mem::take(&mut self.row)));
        self.used = 0;
    }

    fn finish(mut self) -> Vec<Line<'static>> {
        self.break_row();
        self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_formats_hours_and_minutes_at_an_offset() {
        assert_eq!(clock(0, 0), "00:00");
        assert_eq!(clock((13 * 3600 + 7 * 60) * 1000 + 999, 0), "13:07");
        assert_eq!(clock(0, -3600), "23:00");
    }

    #[test]
    fn wrapping_respects_display_width_of_wide_characters() {
        let rows = wrap(vec![Span::raw("ab❤️😀cd")], 4);
        let texts: Vec<String> = rows.iter().map(|row| row.to_string()).collect();
        assert_eq!(texts, ["ab❤️", "😀cd"]);
        assert!(rows.iter().all(|row| row.width() <= 4));
        let rows = wrap(vec![Span::raw("id: "), Span::styled("0123456789", style::dim())], 12);
        let texts: Vec<String> = rows.iter().map(|row| row.to_string()).collect();
        assert_eq!(texts, ["id: ", "0123456789"], "a word that fits a row is not split");
        assert_eq!(wrap(vec![], 10).len(), 1, "an empty line still takes a row");
    }
}
