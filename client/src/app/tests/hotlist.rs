//! App::update tests for the room list: every room of the user from
//! `list_rooms` (paged), counts kept by `room_activity`, rooms joined only
//! when opened, `Alt+A` in hotlist order.

use super::fixtures::*;
use super::*;
use heartlink_protocol::{ListLimit, ServerMsg};

fn rooms_page(rooms: Vec<RoomSummary>, cursor: Option<&str>) -> ServerMsg {
    ServerMsg::Rooms { rooms, has_more: cursor.is_some(), cursor: cursor.map(str::to_owned) }
}

/// Alice in "general" (joined), and the list naming two more rooms of hers.
fn listed() -> (App, RoomId, RoomId, RoomId) {
    let (mut app, general) = chat_app();
    let (busy, quiet) = (room_id(2), room_id(3));
    app.update(Msg::Net(NetEvent::Resynced));
    let first = vec![summary(room(general, "general"), 0, 0, 0), summary(room(busy, "busy"), 12, 4, 2)];
    let effects = server(&mut app, rooms_page(first, Some("c1")));
    let next = requests(&effects);
    assert_eq!(next, [ClientMsg::ListRooms { cursor: Some("c1".into()), limit: ListLimit::try_from(100).ok() }], "the next page");
    assert_eq!(app.rooms.len(), 1, "nothing applied before the last page");
    server(&mut app, rooms_page(vec![summary(room(quiet, "quiet"), 3, 3, 0)], None));
    (app, general, busy, quiet)
}

#[test]
fn every_room_of_the_list_shows_with_its_counts_but_is_joined_only_when_opened() {
    let (mut app, _, busy, quiet) = listed();
    let names: Vec<&str> = app.rooms.iter().map(|room| room.room.name.as_str()).collect();
    assert_eq!(names, ["busy", "general", "quiet"]);
    let busy_view = &app.rooms[0];
    assert_eq!((busy_view.unread, busy_view.mentions, busy_view.subscribed), (8, 2, false));
    assert_eq!(app.rooms[2].unread, 0);
    let effects = app.update(Msg::Key(KeyEvent::new(KeyCode::Char('1'), KeyModifiers::ALT)));
    assert_eq!(app.active_id(), Some(busy));
    assert!(effects.iter().any(|e| matches!(e, Effect::Net(NetCmd::Join(id)) if *id == busy)), "{effects:?}");
    assert!(effects.iter().any(|e| matches!(e, Effect::SaveSession(s) if s.rooms.contains(&busy) && !s.rooms.contains(&quiet))));
}

#[test]
fn room_activity_keeps_the_counts_of_rooms_not_joined_and_rings_for_a_mention() {
    let (mut app, _, busy, quiet) = listed();
    let effects = server(&mut app, ServerMsg::RoomActivity { room_id: quiet, last_seq: 5, mentions: 0 });
    assert!(!effects.contains(&Effect::Bell));
    let effects = server(&mut app, ServerMsg::RoomActivity { room_id: busy, last_seq: 13, mentions: 1 });
    assert!(effects.contains(&Effect::Bell));
    let view = |app: &App, id| app.rooms[app.room_index(id).unwrap()].clone();
    assert_eq!((view(&app, quiet).unread, view(&app, busy).unread, view(&app, busy).mentions), (2, 9, 3));
    // A repeated or older activity changes nothing.
    assert!(server(&mut app, ServerMsg::RoomActivity { room_id: busy, last_seq: 13, mentions: 1 }).is_empty());
    assert_eq!(view(&app, busy).mentions, 3);
    // A room joined on another device: listed again to learn its name.
    let new = room_id(7);
    let effects = server(&mut app, ServerMsg::RoomActivity { room_id: new, last_seq: 1, mentions: 0 });
    assert!(requests(&effects).iter().any(|r| matches!(r, ClientMsg::ListRooms { cursor: None, .. })));
    assert!(app.room_index(new).is_some());
}

#[test]
fn alt_a_goes_to_mentions_first_then_unread_and_says_when_there_is_nothing() {
    let (mut app, general, busy, quiet) = listed();
    server(&mut app, ServerMsg::RoomActivity { room_id: quiet, last_seq: 9, mentions: 0 });
    let alt_a = Msg::Key(KeyEvent::new(KeyCode::Char('a'), KeyModifiers::ALT));
    app.update(alt_a.clone());
    assert_eq!(app.active_id(), Some(busy), "mentions first");
    app.update(alt_a.clone());
    assert_eq!(app.active_id(), Some(quiet), "then unread");
    app.update(alt_a.clone());
    assert_eq!(app.active_id(), Some(quiet), "nothing left");
    assert!(notices(&app).last().is_some_and(|n| n.contains("no room has new messages")));
    assert_ne!(general, quiet);
}

#[test]
fn a_room_left_on_another_device_leaves_the_list() {
    let (mut app, general, busy, _) = listed();
    app.update(Msg::Net(NetEvent::Resynced));
    server(&mut app, rooms_page(vec![summary(room(general, "general"), 0, 0, 0)], None));
    assert!(app.room_index(busy).is_none());
    assert!(app.room_index(general).is_some());
}

#[test]
fn a_server_that_never_stops_paging_is_not_followed_forever() {
    let (mut app, _) = chat_app();
    app.update(Msg::Net(NetEvent::Resynced));
    let mut asked = 0;
    for page in 0..150u128 {
        let rooms = (0..100).map(|n| summary(room(room_id(1000 + page * 100 + n), "r"), 0, 0, 0)).collect();
        let effects = server(&mut app, rooms_page(rooms, Some("more")));
        if requests(&effects).is_empty() {
            break;
        }
        asked += 1;
    }
    assert_eq!(asked, 99, "100 pages at most");
    assert_eq!(app.rooms.len(), 10_001, "the pages held, and general");
}

#[test]
fn list_rooms_mentions_and_read_marker_set_the_counts_and_the_mark() {
    let (mut app, general) = chat_app();
    server(&mut app, joined(general, (1..=5).map(|seq| message(general, seq, &bob(), "m", "b")).collect()));
    app.update(Msg::Net(NetEvent::Resynced));
    server(&mut app, rooms_page(vec![summary(room(general, "general"), 5, 2, 1)], None));
    assert_eq!(app.rooms[0].since_left, Some(2), "the line goes after what I had read");
}
