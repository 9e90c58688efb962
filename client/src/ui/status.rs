//! The status bar (connection state, server, user, key hints) and the
//! input box with the terminal cursor.

use super::style;
use crate::app::App;
use crate::net::ConnState;
use crate::sanitize::sanitize_line;
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use unicode_width::UnicodeWidthStr;

/// The connection state in words, with the countdown while reconnecting.
pub fn state_text(app: &App) -> String {
    match app.conn {
        ConnState::Reconnecting { retry_at: Some(at), .. } => {
            let left = at.saturating_duration_since(app.now);
            let secs = left.as_millis().div_ceil(1000);
            format!("reconnecting in {secs}s (Ctrl+R: now)")
        }
        ConnState::Reconnecting { retry_at: None, .. } => "reconnecting…".to_owned(),
        other => other.word().to_owned(),
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let colour = match app.conn {
        ConnState::Connected => Color::Green,
        ConnState::Connecting | ConnState::Reconnecting { .. } => Color::Yellow,
        ConnState::Offline => Color::Red,
    };
    let user = if app.username.is_empty() { "not logged in".to_owned() } else { sanitize_line(&app.username) };
    let line = Line::from(vec![
        Span::styled(format!(" {} ", state_text(app)), Style::default().fg(Color::Black).bg(colour)),
        Span::raw(format!(" {user} @ {} ", sanitize_line(&app.server))),
        Span::styled("│ F1 help · Ctrl+C quit", style::dim()),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

pub fn render_input(app: &App, frame: &mut Frame, area: Rect) {
    let title = match app.active_room() {
        Some(room) => format!(" to {} · Enter send · Alt+Enter new line ", sanitize_line(&room.room.name)),
        None => " /help for commands ".to_owned(),
    };
    let block = Block::bordered().title(Span::styled(title, style::dim()));
    let inner = block.inner(area);
    // The input is the user's own text but may hold pasted control characters.
    let text = crate::sanitize::sanitize(app.input.text());
    let lines: Vec<Line> = text.split('\n').map(|line| Line::raw(line.to_owned())).collect();
    let before = crate::sanitize::sanitize(app.input.before_cursor());
    let row = before.matches('\n').count();
    let column = before.rsplit('\n').next().map_or(0, UnicodeWidthStr::width);
    let skip = (row + 1).saturating_sub(usize::from(inner.height));
    let visible: Vec<Line> = lines.into_iter().skip(skip).collect();
    frame.render_widget(Paragraph::new(visible).block(block), area);
    let x = inner.x.saturating_add(u16::try_from(column).unwrap_or(u16::MAX)).min(inner.right().saturating_sub(1));
    let y = inner.y.saturating_add(u16::try_from(row - skip).unwrap_or(0));
    frame.set_cursor_position(Position::new(x, y));
}
