//! The room's timeline as screen rows, built from the newest end: messages
//! in seq order with notices, read markers and pending own messages woven
//! in. A redraw only needs the rows it shows, so only the messages that
//! cover the pane (plus the scroll offset) are formatted, sanitized and
//! wrapped — the cost of a frame does not grow with the scrollback.

use super::style;
use super::wrap::wrap;
use crate::app::RoomView;
use crate::sanitize::{sanitize, sanitize_line};
use heartlink_protocol::{ChatMessage, User, UserId};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

/// Continuation lines of a multi-line message start under the body.
const INDENT: &str = "      ";

/// One logical (unwrapped) line of the timeline.
type Logical = Vec<Span<'static>>;

/// What to lay out: the room, the pane width and how to show times and
/// own messages.
#[derive(Debug, Clone, Copy)]
pub struct Layout<'a> {
    pub room: &'a RoomView,
    pub width: usize,
    pub utc_offset: i64,
    pub me: Option<&'a User>,
}

/// The newest rows of a timeline.
#[derive(Debug)]
pub struct Tail {
    /// In display order (oldest first); at least the `want` asked for
    /// unless the timeline is shorter.
    pub rows: Vec<Line<'static>>,
    /// Whether `rows` is the whole timeline.
    pub complete: bool,
}

/// The newest `want` rows or more (whole messages are wrapped, so the
/// oldest one may add a few above), or the whole timeline if it is shorter.
pub fn newest_rows(layout: Layout<'_>, want: usize) -> Tail {
    let mut chunks: Vec<Vec<Line<'static>>> = Vec::new();
    let mut count = 0;
    let complete = walk_back(layout, None, |logical| {
        let rows = wrap(logical, layout.width);
        count += rows.len();
        chunks.push(rows);
        count < want
    });
    Tail { rows: chunks.into_iter().rev().flatten().collect(), complete }
}

/// How many rows the timeline takes, counting only up to `limit`: the
/// result is the exact height when it is below `limit`, else some number
/// ≥ `limit`.
pub fn height_up_to(layout: Layout<'_>, limit: usize) -> usize {
    let mut count = 0;
    walk_back(layout, None, |logical| {
        count += wrap(logical, layout.width).len();
        count < limit
    });
    count
}

/// How many rows the timeline has below message `seq` (the newest with
/// seq ≤ `seq`) and its "read by" line: later messages, the notices
/// anchored after it, pending messages. New messages and notices only ever
/// land there, so the change in this count is how far they push up what is
/// above (the scroll offset counts from the bottom). A read marker moving
/// onto `seq` from an older message leaves it unchanged, as it should: the
/// rows above the older message do not move. The cost is that of the rows
/// below, not the scrollback.
pub fn rows_below(layout: Layout<'_>, seq: u64) -> usize {
    let mut count = 0;
    walk_back(layout, Some(seq), |logical| {
        count += wrap(logical, layout.width).len();
        true
    });
    count
}

/// Feeds the timeline's logical lines to `visit`, newest first, while it
/// returns true. Returns whether every line was visited. With a `floor`,
/// the walk ends just below the newest message with seq ≤ `floor`.
///
/// The order is the reverse of: for each message in seq order, the notices
/// anchored before it, its lines, its "read by" line; then the remaining
/// notices; then the pending own messages. A notice goes after every
/// message with seq ≤ its anchor — or the anchor of an earlier notice, if
/// larger, since notices keep the order they were added in.
fn walk_back(layout: Layout<'_>, floor: Option<u64>, mut visit: impl FnMut(Logical) -> bool) -> bool {
    let Layout { room, utc_offset, me, .. } = layout;
    let me_id = me.map(|me| me.id);
    let mut feed = |lines: Vec<Logical>| lines.into_iter().rev().all(&mut visit);
    for pending in room.pending.iter().rev() {
        if !feed(pending_lines(room, pending, utc_offset, me)) {
            return false;
        }
    }
    let anchors: Vec<u64> = room
        .notices
        .iter()
        .scan(0, |anchor, notice| {
            *anchor = notice.after_seq.max(*anchor);
            Some(*anchor)
        })
        .collect();
    // Notices not yet placed are a prefix; those anchored at or after `seq` leave it.
    let mut unplaced = room.notices.len();
    let mut notices_from = |seq: u64| {
        let first = anchors[..unplaced].partition_point(|anchor| *anchor < seq);
        let lines: Vec<Logical> =
            room.notices[first..unplaced].iter().map(|notice| notice_line(&notice.text, notice.alert)).collect();
        unplaced = first;
        lines
    };
    for (seq, message) in room.messages.iter().rev() {
        if !feed(notices_from(*seq)) {
            return false;
        }
        if floor.is_some_and(|floor| *seq <= floor) {
            return false;
        }
        let mut lines = message_lines(message, utc_offset, me_id, None);
        let readers = room.readers_at(*seq);
        if !readers.is_empty() {
            let names: Vec<String> = readers.iter().map(|name| sanitize_line(name)).collect();
            lines.push(vec![Span::styled(format!("{INDENT}✓ read by {}", names.join(", ")), style::dim())]);
        }
        if !feed(lines) {
            return false;
        }
    }
    feed(notices_from(0))
}

fn pending_lines(room: &RoomView, pending: &crate::app::Pending, utc_offset: i64, me: Option<&User>) -> Vec<Logical> {
    let status = match &pending.failed {
        Some(reason) => Span::styled(format!("  ✗ {}", sanitize_line(reason)), style::alert()),
        None => Span::styled("  (sending…)", style::dim()),
    };
    let fake = ChatMessage {
        room_id: room.id(),
        seq: 0,
        sender: me.cloned().unwrap_or_else(|| User { id: UserId(uuid::Uuid::nil()), username: "you".into() }),
        body: pending.body.clone(),
        ts: 0,
        client_msg_id: String::new(),
        ..ChatMessage::default()
    };
    message_lines(&fake, utc_offset, me.map(|me| me.id), Some(status))
}

fn notice_line(text: &str, alert: bool) -> Logical {
    let style = if alert { style::alert() } else { style::dim() };
    let mark = if alert { "  ! " } else { "  — " };
    vec![Span::styled(format!("{mark}{}", sanitize_line(text)), style)]
}

/// A message as logical lines: "HH:MM name: body", continuation lines indented.
/// `status` (pending / failed) marks an own message not yet acked.
fn message_lines(message: &ChatMessage, utc_offset: i64, me: Option<UserId>, status: Option<Span<'static>>) -> Vec<Logical> {
    let time = if status.is_some() { "--:--".to_owned() } else { super::timeline::clock(message.ts, utc_offset) };
    let own = me == Some(message.sender.id);
    let mut name_style = Style::default().fg(style::user_color(message.sender.id)).add_modifier(Modifier::BOLD);
    if own {
        name_style = name_style.add_modifier(Modifier::UNDERLINED);
    }
    let body_style = if status.is_some() { style::dim() } else { Style::default() };
    let body = sanitize(&message.body);
    let mut lines = Vec::new();
    for (index, text) in body.split('\n').enumerate() {
        let mut spans = if index == 0 {
            vec![
                Span::styled(format!("{time} "), style::dim()),
                Span::styled(sanitize_line(&message.sender.username), name_style),
                Span::raw(": "),
            ]
        } else {
            vec![Span::raw(INDENT)]
        };
        spans.push(Span::styled(text.to_owned(), body_style));
        lines.push(spans);
    }
    if let (Some(status), Some(last)) = (status, lines.last_mut()) {
        last.push(status);
    }
    lines
}

#[cfg(test)]
mod tests;
