//! The help overlay: the commands and the configured keys in a box laid
//! out for 80 columns, drawn over the chat screen and closed with Esc.

use crate::app::{App, HELP};
use crate::settings::Action;
use crate::timeline::{Logical, wrap};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Clear, Paragraph};

/// The box is at most this wide: it fits an 80-column terminal.
const MAX_WIDTH: u16 = 78;
/// The command column.
const COMMAND_WIDTH: usize = 17;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.look.theme;
    let width = area.width.min(MAX_WIDTH);
    let inner_width = usize::from(width.saturating_sub(2));
    let keys = &app.settings.keys;
    let key = |action: Action| keys.get(action).label();
    let key_lines = [
        ("Enter".to_owned(), format!("send · {} new line · Tab completes @name", key(Action::Newline))),
        (
            format!("{} {}", key(Action::NextRoom), key(Action::PreviousRoom)),
            format!("next / previous room · Alt+1…9 · {}: mentions first", key(Action::NextActive)),
        ),
        ("↑ ↓".to_owned(), "select a message: e edit · r reply · d delete · + react".to_owned()),
        ("PageUp PageDown".to_owned(), "scroll (Ctrl+↑ ↓, the wheel) · Esc: the newest".to_owned()),
        (format!("{} {}", key(Action::Reconnect), key(Action::Quit)), "reconnect now; quit (asks if messages are unsent)".to_owned()),
    ];
    let mut rows = Vec::new();
    let commands = HELP.iter().map(|(command, what)| ((*command).to_owned(), (*what).to_owned()));
    for (left, right) in commands.chain(key_lines) {
        let spans = vec![Span::styled(format!("{left:<COMMAND_WIDTH$}"), theme.bold()), Span::raw(right)];
        rows.extend(wrap(Logical::from_spans(spans, COMMAND_WIDTH), inner_width));
    }
    rows.extend(wrap(Logical::from_spans(vec![Span::styled("Esc closes this help.", theme.dim())], 0), inner_width));
    let height = (rows.len() as u16 + 2).min(area.height);
    let [_, column, _] = Layout::horizontal([Constraint::Fill(1), Constraint::Length(width), Constraint::Fill(1)]).areas(area);
    let [_, boxed, _] = Layout::vertical([Constraint::Fill(1), Constraint::Length(height), Constraint::Fill(1)]).areas(column);
    frame.render_widget(Clear, boxed);
    let block = Block::bordered().title(Span::styled(" heartlink help ", theme.title()));
    let lines: Vec<_> = rows.into_iter().map(|row| row.line).collect();
    frame.render_widget(Paragraph::new(lines).block(block), boxed);
}
