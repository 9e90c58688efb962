//! The side panes: the room list with unread counts, and the member list
//! with online/offline.

use super::style;
use crate::app::App;
use crate::sanitize::sanitize_line;
use heartlink_protocol::RoomKind;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

pub fn render_rooms(app: &App, frame: &mut Frame, area: Rect) {
    if area.width == 0 {
        return;
    }
    let block = Block::default().borders(Borders::RIGHT).title(Span::styled("Rooms", style::title()));
    let mut lines = Vec::new();
    if app.rooms.is_empty() {
        lines.push(Line::styled("(none yet)", style::dim()));
    }
    for (index, room) in app.rooms.iter().enumerate() {
        let active = app.active == Some(index);
        let mark = match room.room.kind {
            RoomKind::Group => "#",
            RoomKind::Pair => "♥",
        };
        let key = if index < 9 { format!("{} ", index + 1) } else { "  ".to_owned() };
        let mut name_style = if room.unread > 0 { style::bold() } else { Style::default() };
        if active {
            name_style = name_style.bg(Color::Blue).fg(Color::White).add_modifier(Modifier::BOLD);
        }
        let mut spans = vec![
            Span::styled(key, style::dim()),
            Span::styled(format!("{mark}{}", sanitize_line(&room.room.name)), name_style),
        ];
        if room.unread > 0 {
            spans.push(Span::styled(format!(" ({})", room.unread), Style::default().fg(Color::Yellow)));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

pub fn render_members(app: &App, frame: &mut Frame, area: Rect) {
    if area.width == 0 {
        return;
    }
    let block = Block::default().borders(Borders::LEFT).title(Span::styled("Members", style::title()));
    let lines: Vec<Line> = app
        .active_room()
        .map(|room| {
            room.members
                .iter()
                .map(|member| {
                    let (dot, dot_style) =
                        if member.online { ("● ", Style::default().fg(Color::Green)) } else { ("○ ", style::dim()) };
                    let name_style = if member.online {
                        Style::default().fg(style::user_color(member.user.id))
                    } else {
                        style::dim()
                    };
                    Line::from(vec![
                        Span::styled(dot, dot_style),
                        Span::styled(sanitize_line(&member.user.username), name_style),
                    ])
                })
                .collect()
        })
        .unwrap_or_default();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
