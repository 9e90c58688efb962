//! The rows a pane shows, built from the newest end, must equal the window
//! the old renderer cut out of the fully wrapped timeline — at several
//! widths and scroll offsets, with wide characters, emoji, long wrapped
//! bodies, multi-line bodies, notices (including out-of-order anchors),
//! read markers and pending messages.

use super::*;
use crate::app::tests_support::*;
use crate::app::{Notice, Pending};
use crate::ui::timeline::visible_rows;
use heartlink_protocol::ServerMsg;

/// The old renderer: the whole timeline as rows, oldest first.
fn full_rows(layout: Layout<'_>) -> Vec<Line<'static>> {
    let Layout { room, width, utc_offset, me } = layout;
    let me_id = me.map(|me| me.id);
    let mut logical: Vec<Logical> = Vec::new();
    let mut notices = room.notices.iter().peekable();
    for (seq, message) in &room.messages {
        while let Some(notice) = notices.next_if(|notice| notice.after_seq < *seq) {
            logical.push(notice_line(&notice.text, notice.alert));
        }
        logical.extend(message_lines(message, utc_offset, me_id, None));
        let readers = room.readers_at(*seq);
        if !readers.is_empty() {
            let names: Vec<String> = readers.iter().map(|name| sanitize_line(name)).collect();
            logical.push(vec![Span::styled(format!("{INDENT}✓ read by {}", names.join(", ")), style::dim())]);
        }
    }
    for notice in notices {
        logical.push(notice_line(&notice.text, notice.alert));
    }
    for pending in &room.pending {
        logical.extend(pending_lines(room, pending, utc_offset, me));
    }
    logical.into_iter().flat_map(|spans| wrap(spans, width)).collect()
}

/// The old renderer's window over the whole timeline.
fn old_window(layout: Layout<'_>, height: usize) -> Vec<Line<'static>> {
    let mut all = full_rows(layout);
    if layout.room.loading_older {
        all.insert(0, Line::styled("loading older messages…", style::dim()));
    }
    let end = all.len().saturating_sub(layout.room.scroll.min(all.len().saturating_sub(height)));
    let start = end.saturating_sub(height);
    all.drain(start..end).collect()
}

const BODIES: [&str; 8] = [
    "short",
    "great — ❤️ 日本語 works too\nand a second line",
    "👩‍👩‍👧👩‍👩‍👧👩‍👩‍👧👩‍👩‍👧👩‍👩‍👧👩‍👩‍👧👩‍👩‍👧👩‍👩‍👧👩‍👩‍👧👩‍👩‍👧👩‍👩‍👧👩‍👩‍👧👩‍👩‍👧👩‍👩‍👧",
    "a fairly long message that has to wrap over several rows at narrow widths, with words of varying length",
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
    "日本語のテキストは二列の幅を取ります。日本語のテキストは二列の幅を取ります。",
    "\u{1b}[2J hostile\tbody\u{202e} with controls\n\nafter a blank line",
    "",
];

/// A room with `count` messages from two senders, notices anchored at
/// several points (one out of order), read markers and pending messages.
fn long_room(count: u64) -> (crate::app::App, RoomView) {
    let (mut app, room_id) = chat_app();
    let me = alice();
    let messages = (1..=count)
        .map(|seq| {
            let sender = if seq % 3 == 0 { me.clone() } else { bob() };
            message(room_id, seq, &sender, BODIES[usize::try_from(seq).unwrap() % BODIES.len()], "x")
        })
        .collect();
    server(&mut app, joined(room_id, messages));
    server(&mut app, ServerMsg::ReadReceipt { room_id, user: bob(), seq: count - 2 });
    let mut room = app.rooms[0].clone();
    for (after_seq, alert) in [(0, false), (5, true), (5, false), (count / 2, false), (3, false), (count, true), (count + 9, false)] {
        room.notices.push(Notice { after_seq, text: format!("notice after {after_seq}"), alert });
    }
    room.pending.push(Pending { client_msg_id: "p1".into(), body: "pending ❤️ one\nwith two lines".into(), failed: None });
    room.pending.push(Pending { client_msg_id: "p2".into(), body: "refused".into(), failed: Some("too long".into()) });
    (app, room)
}

#[test]
fn visible_rows_equal_the_old_full_wrap_at_any_width_and_offset() {
    let (app, mut room) = long_room(60);
    let total_at_20 = full_rows(Layout { room: &room, width: 20, utc_offset: 0, me: app.me.as_ref() }).len();
    for loading in [false, true] {
        room.loading_older = loading;
        for width in [2, 3, 7, 20, 41, 80, 160] {
            for height in [0, 1, 5, 24, 48] {
                for scroll in [0, 1, 2, 7, 23, 50, 200, total_at_20 - 30, total_at_20, usize::MAX / 2, usize::MAX] {
                    room.scroll = scroll;
                    let layout = Layout { room: &room, width, utc_offset: 3600, me: app.me.as_ref() };
                    assert_eq!(
                        visible_rows(layout, height),
                        old_window(layout, height),
                        "width {width}, height {height}, scroll {scroll}, loading {loading}"
                    );
                }
            }
        }
    }
}

#[test]
fn short_and_empty_timelines_match_too() {
    let (app, room_id) = chat_app();
    let mut room = app.rooms[0].clone();
    for step in 0..6u64 {
        for scroll in [0, 1, 3, 100] {
            room.scroll = scroll;
            let layout = Layout { room: &room, width: 30, utc_offset: 0, me: app.me.as_ref() };
            assert_eq!(visible_rows(layout, 10), old_window(layout, 10), "step {step}, scroll {scroll}");
        }
        room.insert(message(room_id, step + 1, &bob(), BODIES[usize::try_from(step).unwrap()], "y"), None);
        room.notice(format!("after {step}"));
    }
}

#[test]
fn the_height_is_exact_below_the_limit_and_at_least_the_limit_above() {
    let (app, room) = long_room(40);
    for width in [5, 33, 80] {
        let layout = Layout { room: &room, width, utc_offset: 0, me: app.me.as_ref() };
        let total = full_rows(layout).len();
        assert_eq!(height_up_to(layout, usize::MAX), total);
        assert_eq!(height_up_to(layout, total + 1), total);
        for limit in [0, 1, 10, total / 2, total] {
            let counted = height_up_to(layout, limit);
            assert!(counted >= limit && counted <= total, "width {width}, limit {limit}: {counted}");
        }
    }
}

#[test]
fn a_frame_wraps_only_the_messages_it_needs() {
    let (app, room) = long_room(5_000);
    let layout = Layout { room: &room, width: 80, utc_offset: 0, me: app.me.as_ref() };
    let tail = newest_rows(layout, 48);
    assert!(!tail.complete);
    // The longest body wraps to a handful of rows; a tail ending within one
    // message of the 48 asked for proves the walk stopped early.
    assert!((48..60).contains(&tail.rows.len()), "{}", tail.rows.len());
    assert_eq!(tail.rows, full_rows(layout)[full_rows(layout).len() - tail.rows.len()..]);
}
