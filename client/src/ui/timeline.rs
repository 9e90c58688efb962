//! The message pane: the newest rows of the open room's timeline (see
//! [`super::rows`]) scrolled by the room's offset, plus the typing line.

use super::rows::{Layout, height_up_to, newest_rows, rows_below};
use super::style;
use super::wrap::wrap;
use crate::app::{App, RoomView};
use crate::sanitize::sanitize_line;
use heartlink_protocol::User;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// How many rows the room's timeline takes at `width` (for scrolling),
/// counted only up to `limit`: exact below it, some number ≥ `limit` above.
pub fn timeline_height(room: &RoomView, width: usize, utc_offset: i64, me: Option<&User>, limit: usize) -> usize {
    height_up_to(Layout { room, width, utc_offset, me }, limit)
}

/// How many rows the room's timeline has below message `seq` at `width`
/// (see [`rows_below`]), so the app can keep a scrolled-up view in place.
pub fn timeline_rows_below(room: &RoomView, width: usize, utc_offset: i64, me: Option<&User>, seq: u64) -> usize {
    rows_below(Layout { room, width, utc_offset, me }, seq)
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

    let height = usize::from(area.height);
    let layout = Layout { room, width: usize::from(area.width), utc_offset: app.utc_offset_secs, me };
    // The rows are already wrapped to the pane's width, so they are set
    // straight into the buffer: a Paragraph would re-flow every one of them
    // on each frame, which was a fifth of the TUI's CPU at 200 messages/s.
    let buffer = frame.buffer_mut();
    for (y, row) in (area.y..area.bottom()).zip(visible_rows(layout, height)) {
        buffer.set_line(area.x, y, &row, area.width);
    }
}

/// The rows the pane shows: `height` rows ending `room.scroll` rows above
/// the newest, clamped to the top of the timeline (whose first row is the
/// "loading older" line while a page is being fetched).
pub(super) fn visible_rows(layout: Layout<'_>, height: usize) -> Vec<Line<'static>> {
    let room = layout.room;
    // Enough rows from the newest end to cover the offset and the pane; if
    // the timeline is longer than that, the clamp below never applies, so
    // the tail gives the same window as the whole timeline would.
    let tail = newest_rows(layout, room.scroll.saturating_add(height));
    let mut all = tail.rows;
    if room.loading_older && tail.complete {
        all.insert(0, Line::styled("loading older messages…", style::dim()));
    }
    let end = all.len().saturating_sub(room.scroll.min(all.len().saturating_sub(height)));
    let start = end.saturating_sub(height);
    all.drain(start..end).collect()
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

/// HH:MM of a Unix-ms timestamp at a fixed offset from UTC.
pub fn clock(ts_ms: u64, utc_offset: i64) -> String {
    let secs = i64::try_from(ts_ms / 1000).unwrap_or(0) + utc_offset;
    let of_day = secs.rem_euclid(86_400);
    format!("{:02}:{:02}", of_day / 3600, (of_day % 3600) / 60)
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
}
