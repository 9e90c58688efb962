//! Where each part of the screen goes. Shared with the app, which needs the
//! message pane's size to know when scrollback has reached the top.

use ratatui::layout::{Constraint, Layout, Rect};

const ROOMS_WIDTH: u16 = 20;
const MEMBERS_WIDTH: u16 = 18;
/// Below these widths the side panes give way to the messages.
const MEMBERS_MIN_TOTAL: u16 = 70;
const ROOMS_MIN_TOTAL: u16 = 50;
/// The input box grows with Alt+Enter lines up to this many.
const INPUT_MAX_LINES: u16 = 5;

/// The chat screen's areas.
#[derive(Debug, Clone, Copy)]
pub struct Chat {
    pub rooms: Rect,
    pub header: Rect,
    pub messages: Rect,
    pub members: Rect,
    pub typing: Rect,
    pub input: Rect,
    pub status: Rect,
}

impl Chat {
    pub fn new(area: Rect, input: &str) -> Self {
        let input_lines = (input.split('\n').count() as u16).clamp(1, INPUT_MAX_LINES);
        let [main, typing, input, status] = Layout::vertical([
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(input_lines + 2),
            Constraint::Length(1),
        ])
        .areas(area);
        let rooms_width = if area.width >= ROOMS_MIN_TOTAL { ROOMS_WIDTH } else { 0 };
        let members_width = if area.width >= MEMBERS_MIN_TOTAL { MEMBERS_WIDTH } else { 0 };
        let [rooms, center, members] = Layout::horizontal([
            Constraint::Length(rooms_width),
            Constraint::Min(10),
            Constraint::Length(members_width),
        ])
        .areas(main);
        let [header, messages] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(center);
        Self { rooms, header, messages, members, typing, input, status }
    }
}

/// The login screen: the form and the status bar.
pub fn login(area: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area)
}

/// (width, height) of the message pane for a terminal of `size` with a
/// one-line input.
pub fn message_pane_size(size: (u16, u16)) -> (usize, usize) {
    let chat = Chat::new(Rect::new(0, 0, size.0, size.1), "");
    (usize::from(chat.messages.width), usize::from(chat.messages.height))
}
