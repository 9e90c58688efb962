//! The login / register form. The password is shown as dots, never as text.

use crate::app::{Field, LoginForm, Mode};
use crate::sanitize::sanitize_line;
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

const LABEL_WIDTH: u16 = 11;

/// Packs phrases into lines of at most `width` columns, joined by " · ",
/// never breaking inside a phrase (one longer than a line gets its own).
pub fn pack(phrases: &[String], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for phrase in phrases {
        match lines.last_mut() {
            Some(line) if line.width() + 3 + phrase.width() <= width => {
                line.push_str(" · ");
                line.push_str(phrase);
            }
            _ => lines.push(phrase.clone()),
        }
    }
    lines
}

pub fn render(form: &LoginForm, theme: &Theme, frame: &mut Frame, area: Rect) {
    let [_, middle, _] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(13), Constraint::Fill(1)]).areas(area);
    let [_, boxed, _] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Max(72), Constraint::Fill(1)]).areas(middle);
    let (title, action, other) = match form.mode {
        Mode::Login => (" heartlink — log in ", "log in", "F2: create an account instead"),
        Mode::Register => (" heartlink — create an account ", "create the account", "F2: log in instead"),
    };
    let block = Block::bordered().title(Span::styled(title, theme.title()));
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);

    let dots = "•".repeat(form.password_len());
    let fields = [(Field::Server, "Server:", form.server.clone()), (Field::Username, "Username:", form.username.clone()), (Field::Password, "Password:", dots)];
    let mut lines = vec![Line::raw("")];
    let mut cursor = None;
    for (row, (field, label, value)) in fields.into_iter().enumerate() {
        let focused = form.focus == field;
        let marker = if focused { "› " } else { "  " };
        let value = sanitize_line(&value);
        if focused {
            let column = LABEL_WIDTH + 2 + u16::try_from(value.width()).unwrap_or(0);
            cursor = Some((column, u16::try_from(row + 1).unwrap_or(0)));
        }
        let label_style = if focused { theme.bold() } else { theme.dim() };
        lines.push(Line::from(vec![
            Span::raw(marker),
            Span::styled(format!("{label:<width$}", width = usize::from(LABEL_WIDTH)), label_style),
            Span::raw(value),
        ]));
    }
    lines.push(Line::raw(""));
    match (&form.error, form.busy) {
        (_, true) => lines.push(Line::styled("  talking to the server…", theme.warn())),
        (Some(error), false) => lines.push(Line::styled(format!("  {}", sanitize_line(error)), theme.alert())),
        (None, false) => lines.push(Line::raw("")),
    }
    lines.push(Line::raw(""));
    let phrases = [format!("Enter: {action}"), "Tab: next".to_owned(), other.to_owned(), "Esc: quit".to_owned()];
    for hint in pack(&phrases, usize::from(inner.width).saturating_sub(2)) {
        lines.push(Line::styled(format!("  {hint}"), theme.dim()));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    if let Some((column, row)) = cursor {
        let x = inner.x.saturating_add(column).min(inner.right().saturating_sub(1));
        frame.set_cursor_position(Position::new(x, inner.y.saturating_add(row)));
    }
}
