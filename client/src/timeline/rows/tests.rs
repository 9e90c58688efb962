//! The rows a pane shows, built from the newest end, must equal the window
//! the old renderer cut out of the fully wrapped timeline — at several
//! widths and scroll offsets, with wide characters, emoji, long wrapped
//! bodies, multi-line bodies, notices (including out-of-order anchors),
//! read markers and pending messages.

use super::*;
use crate::app::tests_support::*;
use crate::app::{Msg, Notice, Pending};
use crossterm::event::KeyCode;
use heartlink_protocol::ServerMsg;
use ratatui::text::Span;

/// The old renderer: the whole timeline as rows, oldest first.
fn full_rows(layout: Layout<'_>) -> Vec<Row> {
    let Layout { room, width, me, look, .. } = layout;
    let reads = read_lines(room, me.map(|me| me.id));
    let mut logical: Vec<Logical> = Vec::new();
    let mut notices = room.notices.iter().peekable();
    for (seq, message) in &room.messages {
        while let Some(notice) = notices.next_if(|notice| notice.after_seq < *seq) {
            logical.push(notice_line(look, &notice.text, notice.alert));
        }
        logical.extend(message_lines(layout, message, None, None));
        if let Some(names) = reads.get(seq) {
            let indent = " ".repeat(time_width(look) + 1);
            let text = format!("{indent}✓ read by {}", names.join(", "));
            logical.push(Logical::from_spans(vec![Span::styled(text, look.theme.dim())], indent.len()));
        }
    }
    for notice in notices {
        logical.push(notice_line(look, &notice.text, notice.alert));
    }
    for pending in &room.pending {
        logical.extend(pending_lines(layout, pending));
    }
    logical.into_iter().flat_map(|line| wrap(line, width)).collect()
}

/// The old renderer's window over the whole timeline.
fn old_window(layout: Layout<'_>, height: usize) -> Vec<Row> {
    let mut all = full_rows(layout);
    if layout.room.loading_older {
        all.insert(0, Row::styled("loading older messages…", layout.look.theme.dim()));
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
    room.pending.push(Pending { client_msg_id: "p1".into(), body: "pending ❤️ one\nwith two lines".into(), relates_to: None, attachment: None, call: None, failed: None });
    room.pending.push(Pending { client_msg_id: "p2".into(), body: "refused".into(), relates_to: None, attachment: None, call: None, failed: Some("too long".into()) });
    (app, room)
}

#[test]
fn visible_rows_equal_the_old_full_wrap_at_any_width_and_offset() {
    let (app, mut room) = long_room(60);
    let total_at_20 = full_rows(Layout { room: &room, width: 20, utc_offset: 0, me: app.me.as_ref(), look: &app.look, blocked: &Default::default(), media: &Default::default() }).len();
    for loading in [false, true] {
        room.loading_older = loading;
        for width in [2, 3, 7, 20, 41, 80, 160] {
            for height in [0, 1, 5, 24, 48] {
                for scroll in [0, 1, 2, 7, 23, 50, 200, total_at_20 - 30, total_at_20, usize::MAX / 2, usize::MAX] {
                    room.scroll = scroll;
                    let layout = Layout { room: &room, width, utc_offset: 3600, me: app.me.as_ref(), look: &app.look, blocked: &Default::default(), media: &Default::default() };
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
            let layout = Layout { room: &room, width: 30, utc_offset: 0, me: app.me.as_ref(), look: &app.look, blocked: &Default::default(), media: &Default::default() };
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
        let layout = Layout { room: &room, width, utc_offset: 0, me: app.me.as_ref(), look: &app.look, blocked: &Default::default(), media: &Default::default() };
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
    let layout = Layout { room: &room, width: 80, utc_offset: 0, me: app.me.as_ref(), look: &app.look, blocked: &Default::default(), media: &Default::default() };
    let tail = newest_rows(layout, 48);
    assert!(!tail.complete);
    // The longest body wraps to a handful of rows; a tail ending within one
    // message of the 48 asked for proves the walk stopped early.
    assert!((48..60).contains(&tail.rows.len()), "{}", tail.rows.len());
    assert_eq!(tail.rows, full_rows(layout)[full_rows(layout).len() - tail.rows.len()..]);
}

fn carol() -> heartlink_protocol::User {
    heartlink_protocol::User { id: heartlink_protocol::UserId(uuid::Uuid::from_u128(0xca401)), username: "carol".into() }
}

/// What the open room's message pane shows at the app's terminal size.
fn pane(app: &crate::app::App) -> Vec<Row> {
    let (width, height) = app.pane;
    let layout = Layout { room: &app.rooms[0], width, utc_offset: app.utc_offset_secs, me: app.me.as_ref(), look: &app.look, blocked: &Default::default(), media: &Default::default() };
    visible_rows(layout, height)
}

fn text(rows: &[Row]) -> Vec<String> {
    rows.iter().map(|row| row.line.to_string()).collect()
}

/// Ctrl+↑: one row up (plain ↑ from an empty input selects a message).
fn line_up() -> Msg {
    Msg::Key(crossterm::event::KeyEvent::new(KeyCode::Up, crossterm::event::KeyModifiers::CONTROL))
}

/// A room of 60 messages at `size`, scrolled up `up` rows with the arrow key.
fn scrolled_room(size: (u16, u16), up: usize) -> (crate::app::App, heartlink_protocol::RoomId) {
    let (mut app, room_id) = chat_app();
    resize(&mut app, size.0, size.1);
    let messages = (1..=60).map(|seq| message(room_id, seq, &bob(), BODIES[usize::try_from(seq).unwrap() % BODIES.len()], "x")).collect();
    server(&mut app, joined(room_id, messages));
    server(&mut app, ServerMsg::ReadReceipt { room_id, user: bob(), seq: 60 });
    for _ in 0..up {
        app.update(line_up());
    }
    assert_eq!(app.rooms[0].scroll, up);
    (app, room_id)
}

#[test]
fn new_messages_do_not_move_a_scrolled_up_view() {
    // 80 columns shows the side panes, 40 does not: the pane width differs.
    for size in [(80, 24), (40, 20)] {
        for up in [1, 5, 17] {
            let (mut app, room_id) = scrolled_room(size, up);
            let before = pane(&app);
            let arrivals = [
                ServerMsg::ChatMessage(message(room_id, 61, &bob(), BODIES[3], "n1")),
                ServerMsg::ChatMessage(message(room_id, 62, &bob(), BODIES[5], "n2")),
                ServerMsg::ChatMessage(message(room_id, 63, &bob(), BODIES[2], "n3")),
                ServerMsg::UserJoined { room_id, user: alice() },
                // Bob's marker moves from 60 to the newest message.
                ServerMsg::ReadReceipt { room_id, user: bob(), seq: 63 },
                // Carol's first marker lands above the view.
                ServerMsg::ReadReceipt { room_id, user: carol(), seq: 20 },
                ServerMsg::ChatMessage(message(room_id, 64, &bob(), "short", "n4")),
            ];
            for (index, arrival) in arrivals.into_iter().enumerate() {
                server(&mut app, arrival);
                assert_eq!(text(&pane(&app)), text(&before), "size {size:?}, up {up}, after arrival {index}");
            }
            assert!(app.rooms[0].scroll > up + 6, "the wrapped messages added several rows each");
            assert_eq!(app.rooms[0].unread, 4, "they still count as unread");
        }
    }
}

#[test]
fn an_own_echo_replacing_its_pending_copy_keeps_the_view_too() {
    let (mut app, room_id) = scrolled_room((80, 24), 0);
    for c in BODIES[3].chars() {
        app.update(Msg::Key(crossterm::event::KeyEvent::from(KeyCode::Char(c))));
    }
    app.update(key(KeyCode::Enter));
    let id = app.rooms[0].pending[0].client_msg_id.clone();
    // Far enough up that the pending copy is below the view.
    for _ in 0..6 {
        app.update(line_up());
    }
    let before = pane(&app);
    server(&mut app, ServerMsg::ChatMessage(message(room_id, 61, &alice(), BODIES[3], &id)));
    server(&mut app, ServerMsg::Ack { room_id, client_msg_id: id, seq: 61, ts: 5, call: None });
    assert_eq!(text(&pane(&app)), text(&before));
}

#[test]
fn at_the_bottom_new_messages_show() {
    let (mut app, room_id) = scrolled_room((80, 24), 0);
    server(&mut app, ServerMsg::ChatMessage(message(room_id, 61, &bob(), "the very newest", "n1")));
    assert_eq!(app.rooms[0].scroll, 0);
    let rows = text(&pane(&app));
    assert!(rows.last().is_some_and(|row| row.ends_with("bob: the very newest")), "{rows:?}");
}

#[test]
fn older_history_arriving_at_the_top_keeps_the_view() {
    let (mut app, room_id) = scrolled_room((100, 30), 0);
    app.rooms[0].has_older = true;
    let older = (1..=60).map(|seq| message(room_id, seq + 100, &bob(), BODIES[3], "x")).collect::<Vec<_>>();
    // The 60 held messages become seq 101..=160 so older ones can come before them.
    app.rooms[0].messages = older.into_iter().map(|m| (m.seq, m)).collect();
    for page in 0..40 {
        app.update(key(KeyCode::PageUp));
        if app.rooms[0].loading_older {
            assert!(page > 0);
            break;
        }
    }
    assert!(app.rooms[0].loading_older, "reached the top");
    // The fixture joined an empty room, so its join notice is anchored
    // before every message and would sit above the paged-in history.
    app.rooms[0].notices.clear();
    let before = text(&pane(&app));
    assert_eq!(before[0], "loading older messages…");
    let history = (51..=100).map(|seq| message(room_id, seq, &bob(), BODIES[5], "h")).collect();
    server(&mut app, ServerMsg::History { room_id, messages: history, has_more: true });
    // The "loading" line gives way to the page's last row; nothing else moves.
    let after = text(&pane(&app));
    assert!(after[0].contains("ります。"), "the page's last row: {after:?}");
    assert_eq!(&after[1..], &before[1..]);
    server(&mut app, ServerMsg::ChatMessage(message(room_id, 161, &bob(), BODIES[1], "n1")));
    assert_eq!(text(&pane(&app)), after);
}
