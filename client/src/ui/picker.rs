//! The emoji picker: a box over the bottom of the chat screen with what was
//! typed and the matching emoji in columns, the chosen one highlighted.

use super::text::fit;
use crate::app::{App, Picker};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

/// One choice's cell: the emoji (two columns), a space and its name.
const CELL: usize = 20;
const MAX_WIDTH: u16 = 78;

pub fn render(app: &App, picker: &Picker, frame: &mut Frame, area: Rect) {
    let theme = &app.look.theme;
    let width = area.width.min(MAX_WIDTH);
    let inner = usize::from(width.saturating_sub(2));
    let columns = (inner / CELL).max(1);
    let choices = picker.choices();
    let mut lines = vec![Line::from(vec![
        Span::styled("search: ", theme.dim()),
        Span::raw(picker.filter.clone()),
        Span::styled("▏", theme.dim()),
    ])];
    if choices.is_empty() {
        lines.push(Line::styled("no emoji by that name", theme.dim()));
    }
    for (row, chunk) in choices.chunks(columns).enumerate() {
        let mut spans = Vec::new();
        for (column, (emoji, code)) in chunk.iter().enumerate() {
            let emoji = app.look.shown(emoji);
            let label = fit(&format!("{emoji} {code}"), CELL - 1);
            let padded = format!("{label}{}", " ".repeat(CELL.saturating_sub(label.width())));
            let style = if row * columns + column == picker.index { theme.highlight() } else { ratatui::style::Style::default() };
            spans.push(Span::styled(padded, style));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::styled("type to search · arrows choose · Enter react · Esc close", theme.dim()));
    let height = (lines.len() as u16 + 2).min(area.height);
    let [_, column, _] = Layout::horizontal([Constraint::Fill(1), Constraint::Length(width), Constraint::Fill(1)]).areas(area);
    let [_, boxed, _] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(height), Constraint::Length(4.min(area.height))]).areas(column);
    frame.render_widget(Clear, boxed);
    let block = Block::bordered().title(Span::styled(" react with ", theme.title()));
    frame.render_widget(Paragraph::new(lines).block(block), boxed);
}
