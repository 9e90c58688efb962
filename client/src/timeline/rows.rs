//! The room's timeline as screen rows, built from the newest end: messages
//! in seq order with notices, read markers, the "new since you left" line
//! and pending own messages woven in; the edits, deletions and reactions
//! among the messages change the ones they apply to instead of showing, and
//! the messages of blocked users fold into one line per run. A redraw only
//! needs the rows it shows, so only the messages that cover the pane (plus
//! the scroll offset) are formatted, sanitized and wrapped — the cost of a
//! frame does not grow with the scrollback.

#[cfg(test)]
pub(super) use super::message::time_width;
pub(super) use super::message::{indented_line, message_lines, notice_line, pending_lines};
use super::Appearance;
use super::message::since_left_line;
use super::wrap::{Logical, Row, wrap};
use crate::app::{RoomView, shows_as_message};
use crate::sanitize::sanitize_line;
use heartlink_protocol::{User, UserId};
use std::collections::BTreeMap;

/// What to lay out: the room, the pane width, how to show times and own
/// messages, and whose messages to fold away (blocked users).
#[derive(Debug, Clone, Copy)]
pub struct Layout<'a> {
    pub room: &'a RoomView,
    pub width: usize,
    pub utc_offset: i64,
    pub me: Option<&'a User>,
    pub look: &'a Appearance,
    pub blocked: &'a BTreeMap<UserId, User>,
    /// Images, the voice message playing, the wall clock.
    pub media: &'a crate::app::MediaView,
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
/// or below their marker that someone else sent and that shows as a line
/// (a member's own message says nothing about what they read of others'),
/// never for me.
pub fn read_lines(room: &RoomView, me: Option<UserId>) -> BTreeMap<u64, Vec<String>> {
    let mut shown: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (user, (name, marker)) in &room.reads {
        if Some(*user) == me {
            continue;
        }
        let at = room
            .messages
            .range(..=*marker)
            .rev()
            .find(|(_, message)| message.sender.id != *user && shows_as_message(message));
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
/// larger, since notices keep the order they were added in. Relations
/// (edit, delete, react) have no lines of their own; a run of messages from
/// blocked users is one line; the "new since you left" line goes above the
/// first message after the room's `since_left` mark that someone else sent.
fn walk_back(layout: Layout<'_>, floor: Option<u64>, mut visit: impl FnMut(Logical) -> bool) -> bool {
    let Layout { room, me, look, blocked, width, .. } = layout;
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
    let mut hidden = 0usize; // blocked messages below, not yet folded into their line
    let fold = |hidden: &mut usize| -> Vec<Logical> {
        let count = std::mem::take(hidden);
        if count == 0 {
            return Vec::new();
        }
        let noun = if count == 1 { "message" } else { "messages" };
        vec![indented_line(look, &format!("{count} {noun} from a blocked user"), look.theme.dim())]
    };
    let mark = room.since_left.unwrap_or(u64::MAX);
    // Messages are numbered as `/reply N` counts them: 1 is the newest
    // shown message that is not deleted nor folded away.
    let mut numbered = 0usize;
    let mut new_below = false; // a message from someone else after the mark is below
    let mut mark_shown = false;
    for (seq, message) in room.messages.iter().rev() {
        let notices = notices_from(*seq);
        let at_floor = floor.is_some_and(|floor| *seq <= floor);
        let mark_here = *seq <= mark && new_below && !mark_shown;
        // Whatever goes above the folded run (it is newer) ends the run.
        if (mark_here || at_floor || !notices.is_empty()) && !feed(fold(&mut hidden)) {
            return false;
        }
        if mark_here {
            mark_shown = true;
            if !feed(vec![since_left_line(look, width)]) {
                return false;
            }
        }
        if !feed(notices) || at_floor {
            return false;
        }
        if !shows_as_message(message) {
            continue;
        }
        if blocked.contains_key(&message.sender.id) {
            hidden += 1;
            continue;
        }
        new_below |= *seq > mark && Some(message.sender.id) != me_id;
        let deleted = message.deleted || room.annotations(*seq).deleted;
        let nth = (!deleted).then(|| {
            numbered += 1;
            numbered
        });
        let mut lines = message_lines(layout, message, None, nth);
        if let Some(names) = reads.get(seq) {
            lines.push(indented_line(look, &format!("✓ read by {}", names.join(", ")), look.theme.dim()));
        }
        if !feed(fold(&mut hidden)) || !feed(lines) {
            return false;
        }
    }
    feed(fold(&mut hidden)) && feed(notices_from(0))
}

#[cfg(test)]
mod tests;
