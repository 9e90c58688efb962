//! The side panes: the room list with unread counts (the count always
//! whole: a long name gives way), and the member list with online/offline.

use super::text::fit;
use crate::app::App;
use crate::sanitize::sanitize_line;
use heartlink_protocol::RoomKind;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use unicode_width::UnicodeWidthStr;

pub fn render_rooms(app: &App, frame: &mut Frame, area: Rect) {
    if area.width == 0 {
        return;
    }
    let theme = &app.look.theme;
    let block = Block::default().borders(Borders::RIGHT).title(Span::styled("Rooms", theme.title()));
    let width = usize::from(block.inner(area).width);
    let mut lines = Vec::new();
    if app.rooms.is_empty() {
        lines.push(Line::styled("(none yet)", theme.dim()));
    }
    let active = app.active_id();
    for (index, room) in app.rooms.iter().enumerate() {
        let mark = match room.room.kind {
            RoomKind::Group => "#",
            RoomKind::Pair => "♥",
        };
        let key = if index < 9 { format!("{} ", index + 1) } else { "  ".to_owned() };
        let unread = if room.unread > 0 { format!(" ({})", room.unread) } else { String::new() };
        let room_for_name = width.saturating_sub(key.width() + unread.width());
        let name = fit(&format!("{mark}{}", app.look.shown(&sanitize_line(&room.room.name))), room_for_name);
        let mut name_style = if room.unread > 0 { theme.bold() } else { ratatui::style::Style::default() };
        if active == Some(room.id()) {
            name_style = theme.highlight();
        }
        let mut spans = vec![Span::styled(key, theme.dim()), Span::styled(name, name_style)];
        if !unread.is_empty() {
            spans.push(Span::styled(unread, theme.warn()));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

pub fn render_members(app: &App, frame: &mut Frame, area: Rect) {
    if area.width == 0 {
        return;
    }
    let theme = &app.look.theme;
    let block = Block::default().borders(Borders::LEFT).title(Span::styled("Members", theme.title()));
    let width = usize::from(block.inner(area).width);
    let lines: Vec<Line> = app
        .active_room()
        .map(|room| {
            room.members
                .iter()
                .map(|member| {
                    let (dot, dot_style) = if member.online { ("● ", theme.ok()) } else { ("○ ", theme.dim()) };
                    let name_style = if member.online { theme.user(member.user.id) } else { theme.dim() };
                    let name = fit(&sanitize_line(&member.user.username), width.saturating_sub(2));
                    Line::from(vec![Span::styled(dot, dot_style), Span::styled(name, name_style)])
                })
                .collect()
        })
        .unwrap_or_default();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
