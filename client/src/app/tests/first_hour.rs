//! App::update tests for what a new user ran into in the first hour:
//! input that must not be lost, failed commands that must change nothing,
//! read markers, the room order, reconnect nudges.

use super::fixtures::*;
use super::*;
use crate::session::UnsentMessage;
use heartlink_protocol::{ReadMarker, RoomSummary, ServerMsg};

fn refused_join(app: &mut App, id: RoomId) {
    let refused = NetEvent::Refused { request: RequestKind::Join(id), code: ErrorCode::NotFound, message: "no".into() };
    app.update(Msg::Net(refused));
}

#[test]
fn a_paste_over_the_limit_stays_in_the_input_and_can_go_as_numbered_parts() {
    let (mut app, _) = chat_app();
    let text = vec!["x".repeat(99); 100].join("\n");
    app.update(Msg::Paste(text.clone()));
    let effects = app.update(key(KeyCode::Enter));
    assert!(effects.is_empty(), "nothing sent yet: {effects:?}");
    assert_eq!(app.input.text(), text, "the input is kept");
    let Some(Prompt::SplitLong { parts, .. }) = &app.prompt else { panic!("expected the offer: {:?}", app.prompt) };
    assert_eq!(parts.len(), 3);
    // "n" keeps editing: the input is still there.
    app.update(char_key('n'));
    assert!(app.prompt.is_none() && app.input.text() == text);
    app.update(key(KeyCode::Enter));
    app.update(char_key('q'));
    assert!(app.prompt.is_some(), "a stray key does not answer the question");
    let effects = app.update(char_key('y'));
    let sent: Vec<String> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Net(NetCmd::Send(out)) => Some(out.body.as_str().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 3);
    assert!(sent[0].starts_with("(1/3) ") && sent[2].starts_with("(3/3) "));
    assert!(app.input.is_empty());
}

#[test]
fn a_refused_message_or_command_keeps_the_input() {
    let (mut app, _) = chat_app();
    type_text(&mut app, "/join");
    app.update(key(KeyCode::Enter));
    assert_eq!(app.input.text(), "/join", "fix the typo, not retype it");
}

#[test]
fn a_failed_join_does_not_change_the_open_room() {
    let (mut app, general) = chat_app();
    let other = room_id(5);
    enter_line(&mut app, &format!("/join {other}"));
    server(&mut app, joined_named(other, "aaa first in order"));
    app.update(ctrl('p'));
    let before = app.active_id();
    assert!(before.is_some());
    let ghost = room_id(9);
    enter_line(&mut app, &format!("/join {ghost}"));
    assert_eq!(app.active_id(), Some(ghost), "shown while joining");
    refused_join(&mut app, ghost);
    assert_eq!(app.active_id(), before, "back in the room that was open");
    let effects = enter_line(&mut app, "/leave");
    assert!(effects.iter().any(|e| matches!(e, Effect::Net(NetCmd::Leave(id)) if Some(*id) == before)));
    assert_ne!(before, Some(ghost));
    let _ = general;
}

/// A `joined` reply for a room called `name`.
#[test]
fn quitting_with_unsent_messages_asks_first() {
    let (mut app, _) = chat_app();
    app.update(Msg::Net(NetEvent::State(ConnState::Reconnecting { attempt: 1, retry_at: None })));
    enter_line(&mut app, "typed offline");
    assert!(app.update(ctrl('c')).is_empty(), "not quit yet");
    assert_eq!(app.prompt, Some(Prompt::QuitWithUnsent { unsent: 1 }));
    app.update(key(KeyCode::Esc));
    assert!(app.prompt.is_none());
    enter_line(&mut app, "/quit");
    assert_eq!(app.update(char_key('y')), [Effect::Quit]);
    let (mut idle, _) = chat_app();
    assert_eq!(idle.update(ctrl('c')), [Effect::Quit], "nothing unsent: no question");
}

#[test]
fn the_outbox_is_saved_on_every_change_and_restored_with_the_same_ids() {
    let (mut app, room) = chat_app();
    let effects = enter_line(&mut app, "keep me");
    let Some(Effect::SaveOutbox(outbox)) = effects.iter().find(|e| matches!(e, Effect::SaveOutbox(_))) else { panic!("{effects:?}") };
    assert_eq!(outbox.account.username, "alice");
    assert_eq!(outbox.messages[0].body, "keep me");
    let id = outbox.messages[0].client_msg_id.clone();
    let effects = server(&mut app, ServerMsg::Ack { room_id: room, client_msg_id: id.clone(), seq: 1, ts: 1, call: None });
    assert!(effects.iter().any(|e| matches!(e, Effect::SaveOutbox(o) if o.messages.is_empty())), "{effects:?}");

    let unsent = vec![UnsentMessage { room_id: room, client_msg_id: id.clone(), body: "keep me".into(), relates_to: None, attachment: None, call: None }];
    let (app, effects) = App::resume(session(&[room]), unsent, t0());
    assert_eq!(app.rooms[0].pending[0].client_msg_id, id);
    assert!(effects.iter().any(|e| matches!(e, Effect::Net(NetCmd::Send(out)) if out.client_msg_id.as_str() == id)));
}

#[test]
fn a_password_login_sends_the_restored_outbox_only_for_its_account() {
    let room = room_id(1);
    let unsent = vec![UnsentMessage { room_id: room, client_msg_id: "c-1".into(), body: "hi".into(), relates_to: None, attachment: None, call: None }];
    let form = LoginForm::new(Mode::Login, "ws://127.0.0.1:7878/ws".into(), Some("alice".into()), None);
    let (mut app, _) = App::login(form.clone(), &[room], unsent.clone(), t0());
    let effects = app.update(Msg::Net(authenticated(false)));
    assert!(effects.iter().any(|e| matches!(e, Effect::Net(NetCmd::Send(out)) if out.client_msg_id.as_str() == "c-1")));
    let (mut other, _) = App::login(form, &[room], unsent, t0());
    let mallory = NetEvent::Authenticated {
        user: heartlink_protocol::User { id: heartlink_protocol::UserId(uuid::Uuid::from_u128(66)), username: "mallory".into() },
        token: TOKEN.into(),
        server: "ws://127.0.0.1:7878/ws".into(),
        servers: "ws://127.0.0.1:7878/ws".into(),
        reconnect: false,
        blocked: vec![],
    };
    let effects = other.update(Msg::Net(mallory));
    assert!(!effects.iter().any(|e| matches!(e, Effect::Net(NetCmd::Send(_)))), "alice's words are not sent as mallory");
}

#[test]
fn own_messages_are_read_by_their_sender() {
    let (mut app, room) = chat_app();
    let messages = vec![message(room, 1, &alice(), "from me", "a1"), message(room, 2, &bob(), "from bob", "b2")];
    server(&mut app, joined(room, messages));
    // Bob's marker at his own message says he read alice's before it.
    server(&mut app, ServerMsg::ReadReceipt { room_id: room, user: bob(), seq: 2 });
    let reads = crate::timeline::read_lines(&app.rooms[0], Some(alice().id));
    assert_eq!(reads.get(&1).map(Vec::as_slice), Some(&["bob".to_owned()][..]), "under alice's message, not bob's own");
    assert!(!reads.contains_key(&2));
    // My own messages sent from elsewhere (a script) never count as unread.
    let other = room_id(2);
    enter_line(&mut app, &format!("/join {other}"));
    let sent_by_script = (1..=3).map(|seq| message(other, seq, &alice(), "scripted", &format!("s{seq}"))).collect();
    server(&mut app, joined(other, sent_by_script));
    app.update(ctrl('p'));
    let summary = |id, last_seq| RoomSummary { room: room_fixture(id), last_seq, read_seq: 0, ..RoomSummary::default() };
    server(&mut app, ServerMsg::Rooms { rooms: vec![summary(other, 3)], has_more: false, cursor: None });
    assert_eq!(app.rooms.iter().find(|r| r.id() == other).map(|r| r.unread), Some(0));
    let _ = ReadMarker { user: bob(), seq: 0 };
}

fn room_fixture(id: RoomId) -> heartlink_protocol::Room {
    room(id, "general")
}

#[test]
fn room_numbers_stay_put_when_a_room_is_left_and_joined_again() {
    let (mut app, _) = chat_app();
    for (n, name) in [(2, "zebra"), (3, "alpha")] {
        let id = room_id(n);
        enter_line(&mut app, &format!("/join {id}"));
        server(&mut app, joined_named(id, name));
    }
    let order = |app: &App| app.rooms.iter().map(|r| r.room.name.clone()).collect::<Vec<_>>();
    assert_eq!(order(&app), ["alpha", "general", "zebra"]);
    app.update(Msg::Key(KeyEvent::new(KeyCode::Char('3'), KeyModifiers::ALT)));
    enter_line(&mut app, "/leave");
    let zebra = room_id(2);
    enter_line(&mut app, &format!("/join {zebra}"));
    server(&mut app, joined_named(zebra, "zebra"));
    assert_eq!(order(&app), ["alpha", "general", "zebra"], "Alt+3 is zebra again");
    // The session remembers the open room; a resume opens it, not room 1.
    let effects = app.update(Msg::Key(KeyEvent::new(KeyCode::Char('2'), KeyModifiers::ALT)));
    let Some(Effect::SaveSession(saved)) = effects.iter().find(|e| matches!(e, Effect::SaveSession(_))) else { panic!("{effects:?}") };
    assert_eq!(saved.active, Some(room_id(1)));
    let (resumed, _) = App::resume(saved.clone(), Vec::new(), t0());
    assert_eq!(resumed.active_id(), Some(room_id(1)));
}

#[test]
fn join_by_name_opens_a_room_of_ours_and_refuses_others_without_moving() {
    let (mut app, general) = chat_app();
    let lounge = room_id(4);
    let summary = RoomSummary { room: room(lounge, "Lounge"), last_seq: 0, read_seq: 0, ..RoomSummary::default() };
    server(&mut app, ServerMsg::Rooms { rooms: vec![summary], has_more: false, cursor: None });
    let effects = enter_line(&mut app, "/join lounge");
    assert!(effects.iter().any(|e| matches!(e, Effect::Net(NetCmd::Join(id)) if *id == lounge)));
    assert_eq!(app.active_id(), Some(lounge));
    enter_line(&mut app, "/join general");
    assert_eq!(app.active_id(), Some(general), "an open room by name");
    app.input.take();
    enter_line(&mut app, "/join nowhere");
    assert_eq!(app.active_id(), Some(general));
    assert!(app.active_room().is_some_and(|r| r.notices.last().is_some_and(|n| n.alert && n.text.contains("no room called nowhere"))));
}

#[test]
fn id_shows_the_whole_id_and_copies_it() {
    let (mut app, room) = chat_app();
    let effects = enter_line(&mut app, "/id");
    assert_eq!(effects, [Effect::Copy(room.to_string())]);
    assert!(app.active_room().is_some_and(|r| r.notices.last().is_some_and(|n| n.text.ends_with(&room.to_string()))));
}

#[test]
fn a_key_or_the_focus_cuts_a_reconnect_wait_short_but_not_on_every_key() {
    let (mut app, _) = chat_app();
    let waiting = ConnState::Reconnecting { attempt: 3, retry_at: Some(t0() + Duration::from_secs(12)) };
    app.update(Msg::Net(NetEvent::State(waiting)));
    let retry = |effects: &[Effect]| effects.iter().any(|e| matches!(e, Effect::Net(NetCmd::RetryNow)));
    assert!(retry(&app.update(char_key('h'))), "the user is back: try now");
    assert!(!retry(&app.update(char_key('i'))), "not once per key");
    app.update(Msg::Tick { now: t0() + Duration::from_secs(3) });
    assert!(retry(&app.update(Msg::Focus(true))), "the terminal got the focus back");
    app.update(Msg::Net(NetEvent::State(ConnState::Connected)));
    app.update(Msg::Tick { now: t0() + Duration::from_secs(9) });
    assert!(!retry(&app.update(char_key('!'))), "connected: nothing to cut short");
}

#[test]
fn create_offline_says_when_it_can_work() {
    let (mut app, _) = chat_app();
    let waiting = ConnState::Reconnecting { attempt: 2, retry_at: Some(t0() + Duration::from_secs(4)) };
    app.update(Msg::Net(NetEvent::State(waiting)));
    app.update(Msg::Net(NetEvent::NotSent { what: "create_room" }));
    let notice = app.rooms[0].notices.last().map(|n| n.text.clone());
    assert_eq!(notice.as_deref(), Some("/create needs a connection — reconnecting in 4s (Ctrl+R: now)"));
}

#[test]
fn a_mention_rings_the_bell_when_out_of_view() {
    let (mut app, room) = chat_app();
    app.update(Msg::Focus(false));
    let effects = server(&mut app, ServerMsg::ChatMessage(message(room, 1, &bob(), "hey @alice look", "b1")));
    assert!(effects.contains(&Effect::Bell));
    let effects = server(&mut app, ServerMsg::ChatMessage(message(room, 2, &bob(), "hey @alicex", "b2")));
    assert!(!effects.contains(&Effect::Bell), "another name");
    app.update(Msg::Focus(true));
    let effects = server(&mut app, ServerMsg::ChatMessage(message(room, 3, &bob(), "@alice again", "b3")));
    assert!(!effects.contains(&Effect::Bell), "on screen: no bell");
}

#[test]
fn help_is_an_overlay_that_esc_closes() {
    let (mut app, _) = chat_app();
    let notices = app.rooms[0].notices.len();
    app.update(key(KeyCode::F(1)));
    assert_eq!(app.overlay, Some(Overlay::Help));
    assert_eq!(app.rooms[0].notices.len(), notices, "nothing appended to the chat");
    app.update(key(KeyCode::Esc));
    assert_eq!(app.overlay, None);
}
