//! Snapshots of the conversation features and stranger chats: replies,
//! edits, deletions and reactions; a selected message; the room list with
//! unread and mention counts; presence; the emoji picker; a stranger
//! chat's banner; a blocked user's messages folded away; the "new since
//! you left" line.

use super::screen_at;
use crate::app::tests_support::*;
use crate::app::{App, Msg};
use heartlink_protocol::{Member, PresenceStatus, RelKind, RoomSummary, ServerMsg};

fn conversation() -> (App, heartlink_protocol::RoomId) {
    let (mut app, room) = chat_app();
    resize(&mut app, 100, 30);
    let messages = vec![
        message(room, 1, &bob(), "who is up for lunch?", "b1"),
        relation(room, 2, &alice(), 1, RelKind::Reply, "me! where @bob?"),
        message(room, 3, &bob(), "the usual place, 12:30", "b3"),
        relation(room, 4, &alice(), 3, RelKind::React, "👍"),
        relation(room, 5, &carol(), 3, RelKind::React, "👍"),
        relation(room, 6, &carol(), 3, RelKind::React, "❤️"),
        message(room, 7, &bob(), "I typo'd teh time", "b7"),
        relation(room, 8, &bob(), 7, RelKind::Edit, "I fixed the time: 12:45"),
        message(room, 9, &carol(), "something I regret", "c9"),
        relation(room, 10, &carol(), 9, RelKind::Delete, ""),
        message(room, 11, &bob(), "@alice see you there", "b11"),
    ];
    server(&mut app, joined(room, messages));
    (app, room)
}

#[test]
fn replies_edits_deletions_reactions_and_mentions() {
    let (app, _) = conversation();
    let shown = screen_at(&app, 100, 30);
    assert!(shown.contains("↳ bob: who is up for lunch?"), "the reply quotes: {shown}");
    assert!(shown.contains("👍 2  ❤️ 1"), "reactions counted under the message: {shown}");
    assert!(shown.contains("I fixed the time: 12:45 (edited)") && !shown.contains("teh"), "{shown}");
    assert!(shown.contains("carol: message deleted") && !shown.contains("regret"), "{shown}");
    insta::assert_snapshot!(shown);
}

#[test]
fn a_message_deleted_before_it_was_loaded_shows_as_deleted() {
    let (mut app, room) = chat_app();
    let mut gone = message(room, 1, &bob(), "", "b1");
    gone.deleted = true;
    server(&mut app, ServerMsg::History { room_id: room, messages: vec![gone], has_more: false });
    assert!(screen_at(&app, 80, 24).contains("bob: message deleted"));
}

#[test]
fn a_selected_message_and_the_input_says_what_the_keys_do() {
    let (mut app, _) = conversation();
    app.update(key(crossterm::event::KeyCode::Up));
    app.update(key(crossterm::event::KeyCode::Up));
    let shown = screen_at(&app, 100, 30);
    assert!(shown.contains("message 2 selected · e edit · r reply · d delete · + react"), "{shown}");
    insta::assert_snapshot!(shown);
}

#[test]
fn my_own_reaction_and_the_selected_message_are_highlighted() {
    use ratatui::style::Modifier;
    let (mut app, _) = conversation();
    app.update(key(crossterm::event::KeyCode::Up));
    app.update(key(crossterm::event::KeyCode::Up));
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 30)).unwrap();
    terminal.draw(|frame| {
        let _ = super::render(&app, frame);
    })
    .unwrap();
    let buffer = terminal.backend().buffer();
    // The cell where `text` starts (cells hold whole graphemes, some none).
    let find = |text: &str| {
        (0..30u16).find_map(|y| {
            let mut row = String::new();
            let mut starts = Vec::new();
            for x in 0..100u16 {
                starts.push((row.len(), x));
                row.push_str(buffer[(x, y)].symbol());
            }
            let at = row.find(text)?;
            starts.iter().rev().find(|(byte, _)| *byte <= at).map(|(_, x)| (*x, y))
        })
    };
    let (x, y) = find("👍").unwrap();
    assert_ne!(buffer[(x, y)].bg, ratatui::style::Color::Reset, "alice's own 👍 is highlighted");
    let (x, y) = find("❤").unwrap();
    assert_eq!(buffer[(x, y)].bg, ratatui::style::Color::Reset, "carol's ❤️ is not");
    let (x, y) = find("I fixed the time").unwrap_or_else(|| panic!("{}", super::screen_at(&app, 100, 30)));
    assert!(buffer[(x, y)].modifier.contains(Modifier::REVERSED), "message 2 is selected");
    let (x, y) = find("see you there").unwrap();
    assert!(!buffer[(x, y)].modifier.contains(Modifier::REVERSED));
    let (x, y) = find("@alice").unwrap();
    assert_eq!(buffer[(x, y)].fg, app.look.theme.mention().fg.unwrap(), "my name is picked out");
}

#[test]
fn the_emoji_picker_filters_by_name() {
    let (mut app, _) = conversation();
    app.update(key(crossterm::event::KeyCode::Up));
    app.update(char_key('+'));
    type_text(&mut app, "hear");
    let shown = screen_at(&app, 100, 30);
    assert!(shown.contains("react with") && shown.contains("search: hear") && shown.contains("❤️ heart"), "{shown}");
    insta::assert_snapshot!(shown);
}

#[test]
fn the_room_list_shows_every_room_with_unread_and_mention_counts() {
    let (mut app, general) = conversation();
    app.update(Msg::Net(crate::events::NetEvent::Resynced));
    let rooms = vec![
        RoomSummary { room: room(general, "general"), last_seq: 11, read_seq: 11, mentions: 0 },
        RoomSummary { room: room(room_id(2), "design"), last_seq: 40, read_seq: 35, mentions: 2 },
        RoomSummary { room: room(room_id(3), "random"), last_seq: 9, read_seq: 6, mentions: 0 },
        RoomSummary { room: room(room_id(4), "quiet"), last_seq: 3, read_seq: 3, mentions: 0 },
    ];
    server(&mut app, ServerMsg::Rooms { rooms, has_more: false, cursor: None });
    server(&mut app, ServerMsg::RoomActivity { room_id: room_id(3), last_seq: 10, mentions: 1 });
    let away = Member { user: carol(), online: true, status: Some(PresenceStatus::Away), last_seen: None };
    let gone = Member {
        user: heartlink_protocol::User { id: heartlink_protocol::UserId(uuid::Uuid::from_u128(0xda5e)), username: "dave".into() },
        online: false,
        status: Some(PresenceStatus::Offline),
        last_seen: Some((14 * 3600 + 2 * 60) * 1000),
    };
    server(&mut app, ServerMsg::Members { room_id: general, members: vec![away, gone], has_more: false, cursor: None });
    let shown = screen_at(&app, 100, 30);
    assert!(shown.contains("#design (5) @2") && shown.contains("#random (4) @1"), "{shown}");
    assert!(shown.contains("◐ carol") && shown.contains("○ dave 14:02"), "{shown}");
    insta::assert_snapshot!(shown);
}

#[test]
fn a_stranger_chat_has_a_banner_and_an_ended_one_says_so() {
    let (mut app, _) = chat_app();
    resize(&mut app, 100, 30);
    let pair = room_id(9);
    server(&mut app, ServerMsg::Matched { room: pair_room(pair, "quiet-otter") });
    let otter = heartlink_protocol::User { id: heartlink_protocol::UserId(uuid::Uuid::from_u128(0x0770)), username: "quiet-otter".into() };
    server(&mut app, ServerMsg::ChatMessage(message(pair, 1, &otter, "hi stranger", "o1")));
    let shown = screen_at(&app, 100, 30);
    assert!(shown.contains("you are chatting with a stranger: quiet-otter —") && shown.contains("/block, /report"), "{shown}");
    insta::assert_snapshot!("stranger_chat", shown);
    server(&mut app, ServerMsg::MatchEnded { room_id: pair, by: otter });
    let shown = screen_at(&app, 100, 30);
    assert!(shown.contains("this chat has ended") && shown.contains("quiet-otter ended this chat"), "{shown}");
    insta::assert_snapshot!("stranger_chat_ended", shown);
}

#[test]
fn a_blocked_users_messages_are_one_line_and_a_hostile_alias_is_harmless() {
    let (mut app, room) = chat_app();
    server(&mut app, ServerMsg::Blocked { user: carol() });
    for (seq, sender, body) in [(1, carol(), "spam"), (2, carol(), "more spam"), (3, bob(), "hello"), (4, carol(), "spam")] {
        server(&mut app, ServerMsg::ChatMessage(message(room, seq, &sender, body, &format!("m{seq}"))));
    }
    let shown = screen_at(&app, 80, 24);
    assert!(shown.contains("2 messages from a blocked user") && shown.contains("1 message from a blocked user"), "{shown}");
    assert!(!shown.contains("spam"), "{shown}");
    let pair = room_id(9);
    server(&mut app, ServerMsg::Matched { room: pair_room(pair, "evil\u{1b}]0;x\u{7}\u{202e}otter") });
    let shown = screen_at(&app, 80, 24);
    assert!(!shown.contains('\u{1b}') && !shown.contains('\u{202e}') && shown.contains("evil␛]0;x␇⟨U+202E⟩otter"), "{shown}");
}

#[test]
fn the_new_since_you_left_line_sits_above_what_came_while_away() {
    let (mut app, general) = chat_app();
    server(&mut app, joined(general, vec![message(general, 1, &bob(), "before you left", "b1")]));
    let other = room_id(2);
    crate::app::tests_support::enter_line(&mut app, &format!("/join {other}"));
    server(&mut app, ServerMsg::ChatMessage(message(general, 2, &bob(), "while you were away", "b2")));
    app.update(crate::app::tests_support::ctrl('n'));
    let shown = screen_at(&app, 80, 24);
    let line = shown.lines().position(|l| l.contains("new since you left")).unwrap_or_else(|| panic!("{shown}"));
    let before = shown.lines().position(|l| l.contains("before you left")).unwrap();
    let after = shown.lines().position(|l| l.contains("while you were away")).unwrap();
    assert!(before < line && line < after, "{shown}");
}

/// An image and a file as cards, the image drawn inline with half-blocks
/// (what tmux and CI get), and a voice message with its waveform.
#[test]
fn image_card_with_half_blocks_80x24() {
    use crate::app::ImageState;
    use crate::events::media::Picture;
    use heartlink_protocol::{Attachment, AttachmentKind, ChatMessage, MediaId};
    let (mut app, room) = chat_app();
    let file = |kind, name: &str, id: u128| Attachment {
        media_id: MediaId(uuid::Uuid::from_u128(id)),
        name: name.into(),
        mime: "image/png".into(),
        size: 12_345,
        sha256: String::new(),
        kind,
        width: Some(400),
        height: Some(200),
        duration_ms: Some(7_400),
        waveform: Some(vec![10, 40, 120, 250, 180, 90, 30, 5]),
    };
    let image = file(AttachmentKind::Image, "sunset\u{202e}gnp.png", 1);
    let with = |seq, attachment: Attachment, body: &str| ChatMessage { attachment: Some(Box::new(attachment)), ..message(room, seq, &bob(), body, &format!("a{seq}")) };
    let messages = vec![
        with(1, Attachment { width: None, height: None, mime: "application/pdf".into(), size: 2_345_678, ..file(AttachmentKind::File, "report.pdf", 2) }, "the report"),
        with(2, Attachment { width: None, height: None, ..file(AttachmentKind::Voice, "voice.flac", 3) }, ""),
        with(3, image.clone(), ""),
    ];
    server(&mut app, joined(room, messages));
    // A picture as the worker makes it for a terminal without graphics: half-blocks.
    let pixels = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(400, 200, |x, y| image::Rgb([(x / 2) as u8, y as u8, 200])));
    let (cols, rows) = crate::timeline::image_cells(400, 200);
    let sliced = ratatui_image::sliced::SlicedProtocol::new(&ratatui_image::picker::Picker::halfblocks(), pixels, Some(ratatui::layout::Size::new(cols, rows))).unwrap();
    app.media.images.insert(image.media_id, ImageState::Ready(Picture(std::sync::Arc::new(sliced))));
    let shown = screen_at(&app, 80, 24);
    // The pane is 40 columns: the names give way, the commands stay; the bidi override shows as a placeholder.
    assert!(shown.contains("📷 sunset⟨") && shown.contains("/save 1 /open 1") && !shown.contains('\u{202e}'), "{shown}");
    assert!(shown.contains("📎 report.") && shown.contains("/save 3 /open 3") && shown.contains("▶ 0:07") && shown.contains("/play 2"), "{shown}");
    assert!(shown.contains('▀') || shown.contains('▄'), "half-blocks drawn:\n{shown}");
    insta::assert_snapshot!(shown);
}
