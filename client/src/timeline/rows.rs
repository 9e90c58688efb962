//! The room's timeline as screen rows, built from the newest end: messages
//! in seq order with notices, read markers and pending own messages woven
//! in. A redraw only needs the rows it shows, so only the messages that
//! cover the pane (plus the scroll offset) are formatted, sanitized and
//! wrapped — the cost of a frame does not grow with the scrollback.

use super::Appearance;
use super::wrap::{Logical, Piece, Row, wrap};
use crate::app::RoomView;
use crate::sanitize::{sanitize, sanitize_line};
use heartlink_protocol::{ChatMessage, User, UserId};
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;
use std::collections::BTreeMap;
use std::sync::Arc;
use unicode_width::UnicodeWidthStr;

/// A message's text hangs under its first character when it starts within
/// this share of the pane; otherwise (long names, narrow panes) under the name.
const HANG_UNDER_TEXT_MAX: usize = 3;

/// What to lay out: the room, the pane width and how to show times and
/// own messages.
#[derive(Debug, Clone, Copy)]
pub struct Layout<'a> {
    pub room: &'a RoomView,
    pub width: usize,
    pub utc_offset: i64,
    pub me: Option<&'a User>,
    pub look: &'a Appearance,
}

/// The newest rows of a timeline.
#[derive(Debug)]
pub struct Tail {
    /// In display order (oldest first); at least the `want` asked for
    /// unless the timeline is shorter.
    pub rows: Vec<Row>,
    /// Whether `rows` is the whole timeline.
    pub complete: bool,
}

/// The newest `want` rows or more (whole messages are wrapped, so the
/// oldest one may add a few above), or the whole timeline if it is shorter.
pub fn newest_rows(layout: Layout<'_>, want: usize) -> Tail {
    let mut chunks: Vec<Vec<Row>> = Vec::new();
    let mut count = 0;
    let complete = walk_back(layout, None, |logical| {
        let rows = wrap(logical, layout.width);
        count += rows.len();
        chunks.push(rows);
        count < want
    });
    Tail { rows: chunks.into_iter().rev().flatten().collect(), complete }
}

/// The rows the pane shows: `height` rows ending `room.scroll` rows above
/// the newest, clamped to the top of the timeline (whose first row is the
/// "loading older" line while a page is being fetched).
pub fn visible_rows(layout: Layout<'_>, height: usize) -> Vec<Row> {
    let room = layout.room;
    // Enough rows from the newest end to cover the offset and the pane; if
    // the timeline is longer than that, the clamp below never applies, so
    // the tail gives the same window as the whole timeline would.
    let tail = newest_rows(layout, room.scroll.saturating_add(height));
    let mut all = tail.rows;
    if room.loading_older && tail.complete {
        all.insert(0, Row::styled("loading older messages…", layout.look.theme.dim()));
    }
    let end = all.len().saturating_sub(room.scroll.min(all.len().saturating_sub(height)));
    let start = end.saturating_sub(height);
    all.drain(start..end).collect()
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
/// above (the scroll offset counts from the bottom). The cost is that of
/// the rows below, not the scrollback.
pub fn rows_below(layout: Layout<'_>, seq: u64) -> usize {
    let mut count = 0;
    walk_back(layout, Some(seq), |logical| {
        count += wrap(logical, layout.width).len();
        true
    });
    count
}

/// Where each member's read marker is shown: under the newest message at
/// or below their marker that someone else sent (a member's own message
/// says nothing about what they read of others'), never for me.
pub fn read_lines(room: &RoomView, me: Option<UserId>) -> BTreeMap<u64, Vec<String>> {
    let mut shown: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (user, (name, marker)) in &room.reads {
        if Some(*user) == me {
            continue;
        }
        let at = room.messages.range(..=*marker).rev().find(|(_, message)| message.sender.id != *user);
        if let Some((seq, _)) = at {
            shown.entry(*seq).or_default().push(sanitize_line(name));
        }
    }
    for names in shown.values_mut() {
        names.sort_unstable();
    }
    shown
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
    let Layout { room, me, look, .. } = layout;
    let me_id = me.map(|me| me.id);
    let mut feed = |lines: Vec<Logical>| lines.into_iter().rev().all(&mut visit);
    for pending in room.pending.iter().rev() {
        if !feed(pending_lines(layout, pending)) {
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
            room.notices[first..unplaced].iter().map(|notice| notice_line(look, &notice.text, notice.alert)).collect();
        unplaced = first;
        lines
    };
    let reads = if room.reads.is_empty() { BTreeMap::new() } else { read_lines(room, me_id) };
    for (seq, message) in room.messages.iter().rev() {
        if !feed(notices_from(*seq)) {
            return false;
        }
        if floor.is_some_and(|floor| *seq <= floor) {
            return false;
        }
        let mut lines = message_lines(layout, message, None);
        if let Some(names) = reads.get(seq) {
            let indent = " ".repeat(time_width(look) + 1);
            let text = format!("{indent}✓ read by {}", names.join(", "));
            lines.push(Logical::from_spans(vec![Span::styled(text, look.theme.dim())], indent.len()));
        }
        if !feed(lines) {
            return false;
        }
    }
    feed(notices_from(0))
}

fn pending_lines(layout: Layout<'_>, pending: &crate::app::Pending) -> Vec<Logical> {
    let Layout { room, me, look, .. } = layout;
    let status = match &pending.failed {
        Some(reason) => Span::styled(format!("  ✗ {}", sanitize_line(reason)), look.theme.alert()),
        None => Span::styled("  (sending…)", look.theme.dim()),
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
    message_lines(layout, &fake, Some(status))
}

fn notice_line(look: &Appearance, text: &str, alert: bool) -> Logical {
    let style = if alert { look.theme.alert() } else { look.theme.dim() };
    let mark = if alert { "  ! " } else { "  — " };
    Logical::from_spans(vec![Span::styled(format!("{mark}{}", look.shown(&sanitize_line(text))), style)], mark.width())
}

/// The width of a formatted time (the same for every time in a format
/// whose fields are padded, which strftime's are).
fn time_width(look: &Appearance) -> usize {
    super::clock(0, 0, &look.time_format).width()
}

/// A message as logical lines: "HH:MM name: body", continuation lines
/// hanging under the text. `status` (pending / failed) marks an own
/// message not yet acked.
fn message_lines(layout: Layout<'_>, message: &ChatMessage, status: Option<Span<'static>>) -> Vec<Logical> {
    let Layout { width, utc_offset, me, look, .. } = layout;
    let time = if status.is_some() {
        // Not stored yet, so no time: the format's shape, digits dashed.
        super::clock(0, 0, &look.time_format).chars().map(|c| if c.is_alphanumeric() { '-' } else { c }).collect()
    } else {
        super::clock(message.ts, utc_offset, &look.time_format)
    };
    let mut name_style = look.theme.user(message.sender.id).add_modifier(Modifier::BOLD);
    if me.is_some_and(|me| me.id == message.sender.id) {
        name_style = name_style.add_modifier(Modifier::UNDERLINED);
    }
    let body_style = if status.is_some() { look.theme.dim() } else { Style::default() };
    let name = look.shown(&sanitize_line(&message.sender.username));
    let body = look.shown(&sanitize(&message.body));
    let text_column = time.width() + 1 + name.width() + 2;
    let hang = if text_column * HANG_UNDER_TEXT_MAX <= width { text_column } else { time.width() + 1 };
    let mut lines = Vec::new();
    for (index, text) in body.split('\n').enumerate() {
        let mut pieces = if index == 0 {
            vec![
                Piece::new(Span::styled(format!("{time} "), look.theme.dim())),
                Piece::new(Span::styled(name.clone(), name_style)),
                Piece::new(Span::raw(": ")),
            ]
        } else {
            vec![Piece::new(Span::raw(" ".repeat(hang)))]
        };
        pieces.extend(linked(text, body_style, look));
        lines.push(Logical { pieces, hang });
    }
    if let (Some(status), Some(last)) = (status, lines.last_mut()) {
        last.pieces.push(Piece::new(status));
    }
    lines
}

/// Text split into plain runs and links (http, https), each link styled
/// and carrying its URL so the screen can make it clickable (OSC 8).
fn linked(text: &str, style: Style, look: &Appearance) -> Vec<Piece> {
    if !text.contains("://") {
        return vec![Piece::new(Span::styled(text.to_owned(), style))];
    }
    let mut finder = linkify::LinkFinder::new();
    finder.kinds(&[linkify::LinkKind::Url]);
    finder
        .spans(text)
        .map(|span| {
            let url = span.kind().is_some() && (span.as_str().starts_with("https://") || span.as_str().starts_with("http://"));
            if url {
                Piece { span: Span::styled(span.as_str().to_owned(), look.theme.link()), link: Some(Arc::from(span.as_str())) }
            } else {
                Piece::new(Span::styled(span.as_str().to_owned(), style))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
