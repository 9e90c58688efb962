//! Drawing: a pure function from [`App`] to a frame.
//!
//! Every string that came from the network goes through
//! [`crate::sanitize`] here or before it was stored, so no escape sequence
//! or bidi override from a message ever reaches the terminal.

mod layout;
mod login;
mod rows;
mod sidebar;
mod status;
mod style;
mod timeline;
mod wrap;

pub use layout::message_pane_size;
pub use timeline::{clock, timeline_height, timeline_rows_below};

use crate::app::{App, Screen};
use ratatui::Frame;

/// Draws the whole screen.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    match &app.screen {
        Screen::Login(form) => {
            let [body, status] = layout::login(area);
            login::render(form, frame, body);
            status::render(app, frame, status);
        }
        Screen::Chat => {
            let areas = layout::Chat::new(area, app.input.text());
            sidebar::render_rooms(app, frame, areas.rooms);
            timeline::render(app, frame, areas.header, areas.messages);
            sidebar::render_members(app, frame, areas.members);
            timeline::render_typing(app, frame, areas.typing);
            status::render_input(app, frame, areas.input);
            status::render(app, frame, areas.status);
        }
    }
}

#[cfg(test)]
mod tests;
