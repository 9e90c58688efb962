//! The message pane: the newest rows of the open room's timeline (see
//! [`crate::timeline`]) scrolled by the room's offset, with links made
//! clickable (OSC 8), the pane's header, the home view and the typing line.

use super::text::fit;
use crate::app::App;
use crate::sanitize::sanitize_line;
use crate::timeline::{Appearance, Layout, Row, visible_rows, wrap};
use ratatui::Frame;
use ratatui::buffer::{Buffer, CellDiffOption};
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::num::NonZeroU16;
use unicode_width::UnicodeWidthStr;

pub fn render(app: &App, frame: &mut Frame, header: Rect, area: Rect) {
    let me = app.me.as_ref();
    let Some(room) = app.active_room() else {
        render_home(app, frame, header, area);
        return;
    };
    let look = &app.look;
    frame.render_widget(Paragraph::new(header_line(app, usize::from(header.width))), header);

    let height = usize::from(area.height);
    let layout = Layout { room, width: usize::from(area.width), utc_offset: app.utc_offset_secs, me, look, blocked: &app.blocked, media: &app.media };
    // The rows are already wrapped to the pane's width, so they are set
    // straight into the buffer: a Paragraph would re-flow every one of them
    // on each frame, which was a fifth of the TUI's CPU at 200 messages/s.
    let rows = visible_rows(layout, height);
    let buffer = frame.buffer_mut();
    for (y, row) in (area.y..area.bottom()).zip(&rows) {
        buffer.set_line(area.x, y, &row.line, area.width);
        for link in &row.links {
            hyperlink(buffer, area, y, link);
        }
    }
    super::images::render(app, frame, area, &rows);
}

/// The header: the room's name, the scroll marker while scrolled up, and
/// the room's id when it fits whole (a cut id cannot be shared: `/id`
/// shows and copies it). Nothing is cut mid-word.
fn header_line(app: &App, width: usize) -> Line<'static> {
    let Some(room) = app.active_room() else { return Line::default() };
    let theme = &app.look.theme;
    let name = app.look.shown(&sanitize_line(&room.room.name));
    let marker = match room.scroll {
        0 => "",
        _ if name.width().min(12) + 26 <= width => "  ↑ scrolled (Esc: newest)",
        _ => "  ↑ Esc",
    };
    let name = fit(&name, width.saturating_sub(marker.width()));
    let mut spans = vec![Span::styled(name.clone(), theme.title())];
    let id = format!("  id {}", room.id());
    if name.width() + id.width() + marker.width() <= width {
        spans.push(Span::styled(id, theme.dim()));
    } else if name.width() + 5 + marker.width() <= width {
        spans.push(Span::styled("  /id", theme.dim()));
    }
    if !marker.is_empty() {
        spans.push(Span::styled(marker, theme.alert()));
    }
    Line::from(spans)
}

/// Makes a row's link cells one OSC 8 hyperlink: the opening sequence
/// rides on the first cell and the closing one on the last, each cell
/// keeping the width of its own character so the layout does not move.
fn hyperlink(buffer: &mut Buffer, area: Rect, y: u16, link: &crate::timeline::Link) {
    let start = area.x.saturating_add(u16::try_from(link.x).unwrap_or(u16::MAX));
    let end = start.saturating_add(u16::try_from(link.width).unwrap_or(0)).min(area.right());
    // The cells that start a character (a wide one covers the next cell too).
    let mut cells = Vec::new();
    let mut x = start;
    while x < end {
        let width = buffer[(x, y)].symbol().width().max(1);
        cells.push((x, width));
        x = x.saturating_add(u16::try_from(width).unwrap_or(1));
    }
    let (Some(&(first, first_width)), Some(&(last, last_width))) = (cells.first(), cells.last()) else { return };
    let open = format!("\x1b]8;;{}\x1b\\", link.url);
    let close = "\x1b]8;;\x1b\\";
    let forced = |width: usize| CellDiffOption::ForcedWidth(NonZeroU16::new(u16::try_from(width).unwrap_or(1)).unwrap_or(NonZeroU16::MIN));
    if first == last {
        let cell = &mut buffer[(first, y)];
        let symbol = format!("{open}{}{close}", cell.symbol());
        cell.set_symbol(&symbol).set_diff_option(forced(first_width));
        return;
    }
    let cell = &mut buffer[(first, y)];
    let symbol = format!("{open}{}", cell.symbol());
    cell.set_symbol(&symbol).set_diff_option(forced(first_width));
    let cell = &mut buffer[(last, y)];
    let symbol = format!("{}{close}", cell.symbol());
    cell.set_symbol(&symbol).set_diff_option(forced(last_width));
}

/// What the home view says, one phrase per line so that no width breaks a
/// command from what it does.
const WELCOME: &[(&str, &str)] = &[
    ("/create <name>", "makes a room"),
    ("/join <room-id>", "joins one (or /join <name> for one of yours)"),
    ("/match", "pairs you with someone"),
    ("F1", "lists everything"),
];

fn render_home(app: &App, frame: &mut Frame, header: Rect, area: Rect) {
    let look: &Appearance = &app.look;
    frame.render_widget(Paragraph::new(Line::styled("heartlink", look.theme.title())), header);
    let width = usize::from(area.width);
    let mut rows: Vec<Row> = vec![Row::styled("No room open.", look.theme.bold())];
    for (command, what) in WELCOME {
        let spans = vec![Span::styled(format!("{command:<17}"), look.theme.bold()), Span::raw(*what)];
        rows.extend(wrap(crate::timeline::Logical::from_spans(spans, 17), width));
    }
    for notice in &app.home {
        let style = if notice.alert { look.theme.alert() } else { look.theme.dim() };
        let spans = vec![Span::styled(look.shown(&sanitize_line(&notice.text)), style)];
        rows.extend(wrap(crate::timeline::Logical::from_spans(spans, 2), width));
    }
    let skip = rows.len().saturating_sub(usize::from(area.height));
    let buffer = frame.buffer_mut();
    for (y, row) in (area.y..area.bottom()).zip(rows.into_iter().skip(skip)) {
        buffer.set_line(area.x, y, &row.line, area.width);
    }
}

/// The stranger chat's banner wrapped to the pane (two rows at most, the
/// second cut): who this is and what can be done.
pub fn banner_rows(app: &App, text: &str, width: u16) -> Vec<Line<'static>> {
    let theme = &app.look.theme;
    let ended = app.active_room().is_some_and(|room| room.ended);
    let style = if ended { theme.alert() } else { theme.highlight() };
    let width = usize::from(width);
    let logical = crate::timeline::Logical::from_spans(vec![Span::raw(app.look.shown(&format!(" {text}")))], 1);
    let mut rows: Vec<String> = wrap(logical, width).into_iter().map(|row| row.line.to_string()).collect();
    if rows.len() > 2 {
        let rest = rows.split_off(1).join(" ");
        rows.push(fit(&rest, width));
    }
    rows.into_iter()
        .map(|row| {
            let pad = width.saturating_sub(row.width());
            Line::styled(format!("{row}{}", " ".repeat(pad)), style)
        })
        .collect()
}

pub fn render_banner(frame: &mut Frame, area: Rect, rows: Vec<Line<'static>>) {
    frame.render_widget(Paragraph::new(rows), area);
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
    let style = app.look.theme.dim().add_modifier(Modifier::ITALIC);
    let text = fit(&format!(" {text}"), usize::from(area.width));
    frame.render_widget(Paragraph::new(Line::styled(text, style)), area);
}
