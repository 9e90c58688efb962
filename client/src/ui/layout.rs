//! Where each part of the screen goes. Below [`MIN_WIDTH`]×[`MIN_HEIGHT`]
//! the screen says it is too small; above, parts give way in order (the
//! side panes, the typing line, the header) so that the messages, the
//! input box and the status bar always show.

use ratatui::layout::{Constraint, Layout, Rect};

const ROOMS_WIDTH: u16 = 22;
const MEMBERS_WIDTH: u16 = 18;
/// Below these widths the side panes give way to the messages.
const MEMBERS_MIN_TOTAL: u16 = 70;
const ROOMS_MIN_TOTAL: u16 = 50;
/// The input box grows with Alt+Enter lines up to this many.
const INPUT_MAX_LINES: u16 = 5;
/// The smallest terminal the chat screen is drawn in: one row of
/// messages, the input box (3) and the status bar.
pub const MIN_WIDTH: u16 = 20;
pub const MIN_HEIGHT: u16 = 5;

/// The chat screen's areas (an area of height 0 is not drawn).
#[derive(Debug, Clone, Copy)]
pub struct Chat {
    pub rooms: Rect,
    pub header: Rect,
    pub messages: Rect,
    pub members: Rect,
    /// The typing line, or the prompt's rows when a question is asked.
    pub typing: Rect,
    pub input: Rect,
    pub status: Rect,
}

impl Chat {
    /// `extra` rows are asked for under the messages (a prompt; 1 = the typing line).
    pub fn new(area: Rect, input: &str, extra: u16) -> Self {
        let input_lines = (input.split('\n').count() as u16).clamp(1, INPUT_MAX_LINES);
        // Priority: the status bar, the input box (at least one line), one
        // row of messages, the typing line or prompt, the header, then
        // everything else to the messages.
        let input_height = (input_lines + 2).min(area.height.saturating_sub(2)).max(3);
        let remaining = area.height.saturating_sub(1 + input_height);
        let typing = extra.max(1).min(remaining.saturating_sub(1));
        let header = u16::from(remaining.saturating_sub(typing) >= 2);
        let [main, typing, input, status] = Layout::vertical([
            Constraint::Min(1),
            Constraint::Length(typing),
            Constraint::Length(input_height),
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
        let [header, messages] = Layout::vertical([Constraint::Length(header), Constraint::Min(1)]).areas(center);
        Self { rooms, header, messages, members, typing, input, status }
    }
}

/// The login screen: the form and the status bar.
pub fn login(area: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area)
}

/// Whether the terminal is too small for any screen.
pub fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

/// (width, height) of the message pane in a terminal of `size` with this
/// input and prompt: what the tui loop tells the app after each frame.
pub fn message_pane_size(size: (u16, u16), input: &str, extra: u16) -> (usize, usize) {
    let chat = Chat::new(Rect::new(0, 0, size.0, size.1), input, extra);
    (usize::from(chat.messages.width), usize::from(chat.messages.height))
}
