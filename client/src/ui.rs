//! Drawing: a pure function from [`App`] to a frame.
//!
//! Every string that came from the network goes through
//! [`crate::sanitize`] here or before it was stored, so no escape sequence
//! or bidi override from a message ever reaches the terminal.

mod help;
mod images;
mod layout;
mod login;
mod picker;
mod sidebar;
mod status;
mod text;
mod timeline;

pub use layout::{MIN_HEIGHT, MIN_WIDTH, message_pane_size};

use crate::app::{App, Overlay, Screen};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

/// Draws the whole screen. Returns the message pane's size (columns,
/// rows), which the app needs to scroll by pages and count rows.
pub fn render(app: &App, frame: &mut Frame) -> (usize, usize) {
    let area = frame.area();
    if layout::too_small(area) {
        render_too_small(app, frame, area);
        return app.pane;
    }
    match &app.screen {
        Screen::Login(form) => {
            let [body, status] = layout::login(area);
            login::render(form, &app.look.theme, frame, body);
            status::render(app, frame, status);
            app.pane
        }
        Screen::Chat => {
            let mut prompt = status::prompt_rows(app, area.width);
            if prompt.is_empty() {
                prompt = status::transfer_rows(app, area.width);
            }
            let areas = layout::Chat::new(area, app.input.text(), prompt.len() as u16);
            sidebar::render_rooms(app, frame, areas.rooms);
            // A stranger chat's banner takes the pane's first rows (two at most).
            let mut messages = areas.messages;
            if let Some(banner) = app.call_banner().or_else(|| app.banner()).filter(|_| messages.height > 2) {
                let rows = timeline::banner_rows(app, &banner, messages.width);
                let [top, rest] = Layout::vertical([Constraint::Length(rows.len() as u16), Constraint::Min(1)]).areas(messages);
                timeline::render_banner(frame, top, rows);
                messages = rest;
            }
            timeline::render(app, frame, areas.header, messages);
            sidebar::render_members(app, frame, areas.members);
            if prompt.is_empty() {
                timeline::render_typing(app, frame, areas.typing);
            } else {
                frame.render_widget(Paragraph::new(prompt), areas.typing);
            }
            status::render_input(app, frame, areas.input);
            status::render(app, frame, areas.status);
            match &app.overlay {
                Some(Overlay::Help) => help::render(app, frame, area),
                Some(Overlay::Emoji(picker)) => picker::render(app, picker, frame, area),
                None => {}
            }
            (usize::from(messages.width), usize::from(messages.height))
        }
    }
}

/// Below the smallest usable size: say so, instead of a screen without
/// its input box.
fn render_too_small(app: &App, frame: &mut Frame, area: Rect) {
    let text = format!("terminal too small ({}×{}): at least {MIN_WIDTH}×{MIN_HEIGHT}", area.width, area.height);
    let [_, middle, _] = Layout::vertical([Constraint::Fill(1), Constraint::Length(area.height.min(3)), Constraint::Fill(1)]).areas(area);
    let paragraph = Paragraph::new(Line::styled(text, app.look.theme.alert())).wrap(Wrap { trim: true }).centered();
    frame.render_widget(paragraph, middle);
}

#[cfg(test)]
mod tests;
