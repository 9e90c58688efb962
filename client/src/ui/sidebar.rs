//! The side panes: the room list with unread and mention counts (the
//! counts always whole: a long name gives way) coloured by activity, and
//! the member list with presence (`● online`, `◐ away`, `○ last seen`).

use super::text::fit;
use crate::app::App;
use crate::sanitize::sanitize_line;
use heartlink_protocol::{PresenceStatus, RoomKind};
use ratatui::style::Style;
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
        let mentions = if room.mentions > 0 { format!(" @{}", room.mentions) } else { String::new() };
        let room_for_name = width.saturating_sub(key.width() + unread.width() + mentions.width());
        let name = fit(&format!("{mark}{}", app.look.shown(&sanitize_line(&room.room.name))), room_for_name);
        // The activity colour: mentions (and a stranger's messages) first, then new messages.
        let muted = app.muted.contains(&room.id());
        let mut name_style = if room.mentions > 0 || (room.unread > 0 && room.is_pair() && !muted) {
            theme.mention()
        } else if room.unread > 0 {
            theme.active()
        } else if muted || room.ended {
            theme.dim()
        } else {
            Style::default()
        };
        if active == Some(room.id()) {
            name_style = theme.highlight();
        }
        let mut spans = vec![Span::styled(key, theme.dim()), Span::styled(name, name_style)];
        if !unread.is_empty() {
            spans.push(Span::styled(unread, theme.warn()));
        }
        if !mentions.is_empty() {
            spans.push(Span::styled(mentions, theme.mention()));
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
                    let (dot, dot_style, name_style) = match member.status {
                        PresenceStatus::Online => ("● ", theme.ok(), theme.user(member.user.id)),
                        PresenceStatus::Away => ("◐ ", theme.warn(), theme.user(member.user.id)),
                        PresenceStatus::Offline => ("○ ", theme.dim(), theme.dim()),
                    };
                    let seen = member
                        .last_seen
                        .map(|at| format!(" {}", crate::timeline::clock(at, app.utc_offset_secs, &app.look.time_format)))
                        .unwrap_or_default();
                    let name = sanitize_line(&member.user.username);
                    // The time goes first when the pane is too narrow for both.
                    let seen = if name.width().min(6) + seen.width() + 2 <= width { seen } else { String::new() };
                    let name = fit(&name, width.saturating_sub(2 + seen.width()));
                    Line::from(vec![
                        Span::styled(dot, dot_style),
                        Span::styled(name, name_style),
                        Span::styled(seen, theme.dim()),
                    ])
                })
                .collect()
        })
        .unwrap_or_default();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
