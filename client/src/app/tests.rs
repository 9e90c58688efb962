//! `App::update` unit tests: one per behaviour of the issue. No I/O: the
//! tests feed messages and look at the model and the returned effects.

pub(crate) mod fixtures;
mod conversation;
mod first_hour;
mod hotlist;
mod media;
mod strangers;

use super::*;
use crate::events::RequestKind;
use crossterm::event::{KeyCode, KeyModifiers};
use fixtures::*;
use heartlink_protocol::{ErrorCode, ServerMsg};
use tokio::time::Duration;

#[test]
fn resume_opens_the_chat_screen_at_once_and_rejoins_the_saved_rooms() {
    let room = room_id(1);
    let (app, effects) = App::resume(session(&[room]), Vec::new(), t0());
    assert!(matches!(app.screen, Screen::Chat));
    assert!(matches!(&effects[0], Effect::Net(NetCmd::Authenticate { auth: Auth::Resume { .. }, .. })));
    assert!(matches!(effects[1], Effect::Net(NetCmd::Join(id)) if id == room));
    assert_eq!(app.rooms.len(), 1);
    assert_eq!(app.active_index(), Some(0));
}

#[test]
fn a_wrong_password_gets_a_one_line_reason_and_another_try() {
    let form = LoginForm::new(Mode::Login, "ws://h:1/ws".into(), Some("alice".into()), None);
    let (mut app, _) = App::login(form, &[], Vec::new(), t0());
    type_text(&mut app, "secret123");
    let effects = app.update(key(KeyCode::Enter));
    assert!(matches!(&effects[0], Effect::Net(NetCmd::Authenticate { auth: Auth::Login { username, .. }, .. }) if username == "alice"));
    let failed = NetEvent::AuthFailed { reason: "wrong username or password".into(), session_expired: false };
    app.update(Msg::Net(failed));
    let Screen::Login(form) = &app.screen else { panic!("expected the login screen") };
    assert_eq!(form.error.as_deref(), Some("wrong username or password"));
    assert_eq!((form.focus, form.password_len(), form.busy), (Field::Password, 0, false));

    type_text(&mut app, "right-one");
    app.update(key(KeyCode::Enter));
    let effects = app.update(Msg::Net(authenticated(false)));
    assert!(matches!(app.screen, Screen::Chat));
    let Some(Effect::SaveSession(saved)) = effects.first() else { panic!("expected the session saved: {effects:?}") };
    assert_eq!((saved.username.as_str(), saved.token.as_str()), ("alice", TOKEN));
}

#[test]
fn register_checks_the_fields_before_asking_the_server() {
    let form = LoginForm::new(Mode::Register, "ws://h:1/ws".into(), Some("a!".into()), None);
    let (mut app, _) = App::login(form, &[], Vec::new(), t0());
    type_text(&mut app, "short");
    assert!(app.update(key(KeyCode::Enter)).is_empty());
    let Screen::Login(form) = &app.screen else { panic!() };
    assert!(form.error.as_deref().is_some_and(|e| e.contains("username")), "{form:?}");
}

#[test]
fn a_revoked_token_leads_to_the_login_screen_with_the_reason() {
    let (mut app, _) = App::resume(session(&[]), Vec::new(), t0());
    let reason = "your saved session has expired or was revoked — please log in again";
    app.update(Msg::Net(NetEvent::AuthFailed { reason: reason.into(), session_expired: true }));
    let Screen::Login(form) = &app.screen else { panic!("expected the login screen") };
    assert_eq!(form.error.as_deref(), Some(reason));
    assert_eq!(form.username, "alice");
    assert_eq!(form.focus, Field::Password);
}

#[test]
fn own_message_is_pending_until_its_echo_and_ack_and_emoji_expand() {
    let (mut app, room) = chat_app();
    type_text(&mut app, "hi :heart:");
    let effects = app.update(key(KeyCode::Enter));
    let Some(Effect::Net(NetCmd::Send(outgoing))) = effects.iter().find(|e| matches!(e, Effect::Net(NetCmd::Send(_)))) else {
        panic!("expected a send: {effects:?}")
    };
    assert_eq!(outgoing.body.as_str(), "hi ❤️");
    let id = outgoing.client_msg_id.to_string();
    assert_eq!(app.rooms[0].pending.len(), 1);
    assert!(app.input.is_empty());
    server(&mut app, ServerMsg::ChatMessage(message(room, 1, &alice(), "hi ❤️", &id)));
    assert!(app.rooms[0].pending.is_empty());
    server(&mut app, ServerMsg::Ack { room_id: room, client_msg_id: id, seq: 1, ts: 5, call: None });
    assert_eq!(app.rooms[0].messages.len(), 1);
    assert_eq!(app.rooms[0].unread, 0, "own messages are not unread");
}

#[test]
fn an_ack_without_echo_turns_the_pending_copy_into_the_message() {
    let (mut app, room) = chat_app();
    type_text(&mut app, "quick");
    let effects = app.update(key(KeyCode::Enter));
    let id = sent_id(&effects);
    server(&mut app, ServerMsg::Ack { room_id: room, client_msg_id: id, seq: 4, ts: 5, call: None });
    assert!(app.rooms[0].pending.is_empty());
    assert_eq!(app.rooms[0].messages[&4].body, "quick");
}

#[test]
fn messages_typed_offline_are_queued_and_shown_pending() {
    let (mut app, _) = chat_app();
    app.update(Msg::Net(NetEvent::State(ConnState::Reconnecting { attempt: 1, retry_at: None })));
    type_text(&mut app, "offline words");
    let effects = app.update(key(KeyCode::Enter));
    assert!(effects.iter().any(|e| matches!(e, Effect::Net(NetCmd::Send(_)))), "the net task keeps it in the outbox");
    assert_eq!(app.rooms[0].pending[0].body, "offline words");
    assert!(app.rooms[0].notices.iter().any(|n| n.text.contains("connection lost")));
}

#[test]
fn every_message_is_kept_once_by_seq_whatever_the_path() {
    let (mut app, room) = chat_app();
    server(&mut app, ServerMsg::ChatMessage(message(room, 2, &bob(), "two", "b2")));
    server(&mut app, ServerMsg::ChatMessage(message(room, 2, &bob(), "two", "b2")));
    server(&mut app, joined(room, vec![message(room, 1, &bob(), "one", "b1"), message(room, 2, &bob(), "two", "b2")]));
    let bodies: Vec<&str> = app.rooms[0].messages.values().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["one", "two"]);
}

#[test]
fn a_reconnect_reports_how_many_missed_messages_the_rejoin_loaded() {
    let (mut app, room) = chat_app();
    server(&mut app, ServerMsg::ChatMessage(message(room, 1, &bob(), "before", "b1")));
    app.update(Msg::Net(NetEvent::State(ConnState::Reconnecting { attempt: 0, retry_at: Some(t0()) })));
    app.update(Msg::Net(NetEvent::State(ConnState::Reconnecting { attempt: 1, retry_at: None })));
    app.update(Msg::Net(authenticated(true)));
    app.update(Msg::Net(NetEvent::State(ConnState::Connected)));
    let missed = (1..=3).map(|seq| message(room, seq, &bob(), "m", &format!("b{seq}"))).collect();
    server(&mut app, joined(room, missed));
    let effects = app.update(Msg::Net(NetEvent::Resynced));
    assert!(app.rooms[0].notices.iter().any(|n| n.text == "reconnected — 2 missed messages loaded"), "{:?}", app.rooms[0].notices);
    assert!(effects.iter().any(|e| matches!(e, Effect::Net(NetCmd::Request(ClientMsg::ListRooms { .. })))));
}

#[test]
fn joins_leaves_and_presence_become_notices_and_member_state() {
    let (mut app, room) = chat_app();
    server(&mut app, ServerMsg::UserJoined { room_id: room, user: bob() });
    assert!(app.rooms[0].members.iter().any(|m| m.user == bob() && m.online));
    server(&mut app, ServerMsg::Presence { user: bob(), online: false, status: None, last_seen: None, room_id: None });
    server(&mut app, ServerMsg::Presence { user: bob(), online: false, status: None, last_seen: None, room_id: None });
    assert!(app.rooms[0].members.iter().any(|m| m.user == bob() && !m.online));
    server(&mut app, ServerMsg::UserLeft { room_id: room, user: bob(), reason: None });
    let texts: Vec<&str> = app.rooms[0].notices.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(&texts[texts.len() - 3..], ["bob joined", "bob went offline", "bob left"]);
    assert!(!app.rooms[0].members.iter().any(|m| m.user == bob()));
}

#[test]
fn typing_is_sent_while_typing_and_stops_after_five_idle_seconds() {
    let (mut app, room) = chat_app();
    let typing = |effects: &[Effect], active: bool| {
        effects.iter().any(|e| matches!(e, Effect::Net(NetCmd::Request(ClientMsg::Typing { room_id, active: a })) if *room_id == room && *a == active))
    };
    assert!(typing(&app.update(char_key('h')), true));
    assert!(!typing(&app.update(char_key('i')), true), "not repeated on every key");
    app.update(Msg::Tick { now: t0() + Duration::from_secs(4) });
    assert!(typing(&app.update(char_key('!')), true), "repeated while typing goes on");
    assert!(!typing(&app.update(Msg::Tick { now: t0() + Duration::from_secs(8) }), false));
    assert!(typing(&app.update(Msg::Tick { now: t0() + Duration::from_secs(9) }), false));
    assert!(app.update(char_key('/')).is_empty() || app.input.text().starts_with("hi!"));
}

#[test]
fn others_typing_shows_until_stopped_or_expired() {
    let (mut app, room) = chat_app();
    server(&mut app, ServerMsg::Typing { room_id: room, user: bob(), active: true });
    assert_eq!(app.rooms[0].typing.len(), 1);
    app.update(Msg::Tick { now: t0() + Duration::from_secs(11) });
    assert!(app.rooms[0].typing.is_empty(), "an indicator that is not repeated expires");
    server(&mut app, ServerMsg::Typing { room_id: room, user: bob(), active: true });
    server(&mut app, ServerMsg::ChatMessage(message(room, 1, &bob(), "done", "b1")));
    assert!(app.rooms[0].typing.is_empty(), "a message ends the typing line");
}

#[test]
fn unread_counts_grow_in_other_rooms_and_clear_when_switching_with_a_read_marker() {
    let (mut app, first) = chat_app();
    let second = room_id(2);
    enter_line(&mut app, &format!("/join {second}"));
    server(&mut app, joined(second, vec![]));
    app.update(ctrl('p'));
    assert_eq!(app.active_index(), Some(0));
    server(&mut app, ServerMsg::ChatMessage(message(second, 1, &bob(), "psst", "b1")));
    server(&mut app, ServerMsg::ChatMessage(message(second, 2, &bob(), "psst", "b2")));
    assert_eq!(app.rooms[1].unread, 2);
    let effects = app.update(ctrl('n'));
    assert_eq!(app.rooms[1].unread, 0);
    assert!(effects.iter().any(|e| matches!(e, Effect::Net(NetCmd::Request(ClientMsg::Read { room_id, seq: 2 })) if *room_id == second)));
    assert_ne!(first, second);
}

#[test]
fn where_others_have_read_up_to_is_tracked_forward_only() {
    let (mut app, room) = chat_app();
    server(&mut app, ServerMsg::ReadReceipt { room_id: room, user: bob(), seq: 3 });
    server(&mut app, ServerMsg::ReadReceipt { room_id: room, user: bob(), seq: 2 });
    assert_eq!(app.rooms[0].readers_at(3), ["bob"]);
}

#[test]
fn commands_create_join_leave_match_rooms_help_quit() {
    let (mut app, _) = chat_app();
    let effects = enter_line(&mut app, "/create lounge");
    assert!(matches!(&effects[..], [Effect::Net(NetCmd::Request(ClientMsg::CreateRoom { name }))] if name.as_str() == "lounge"));
    let lounge = room_id(7);
    let effects = server(&mut app, ServerMsg::RoomCreated { room: room(lounge, "lounge") });
    assert!(effects.iter().any(|e| matches!(e, Effect::Net(NetCmd::Join(id)) if *id == lounge)));
    assert!(app.active_room().is_some_and(|r| r.notices.iter().any(|n| n.text.contains(&lounge.to_string()))));
    let effects = enter_line(&mut app, "/leave");
    assert!(effects.iter().any(|e| matches!(e, Effect::Net(NetCmd::Leave(id)) if *id == lounge)));
    assert!(effects.iter().any(|e| matches!(e, Effect::SaveSession(s) if !s.rooms.contains(&lounge))));
    assert!(matches!(&enter_line(&mut app, "/match")[..], [Effect::Net(NetCmd::Request(ClientMsg::Match { .. }))]));
    let pair = room_id(8);
    let effects = server(&mut app, ServerMsg::Matched { room: room(pair, "alice & bob") });
    assert!(effects.iter().any(|e| matches!(e, Effect::Net(NetCmd::Join(id)) if *id == pair)));
    assert!(matches!(&enter_line(&mut app, "/rooms")[..], [Effect::Net(NetCmd::Request(ClientMsg::ListRooms { .. }))]));
    enter_line(&mut app, "/join");
    assert!(app.active_room().is_some_and(|r| r.notices.last().is_some_and(|n| n.alert && n.text.contains("usage"))));
    app.input.take();
    enter_line(&mut app, "/help");
    assert_eq!(app.overlay, Some(Overlay::Help));
    app.update(key(KeyCode::Esc));
    assert!(matches!(&enter_line(&mut app, "/quit")[..], [Effect::Quit]));
    assert!(matches!(&app.update(ctrl('r'))[..], [Effect::Net(NetCmd::RetryNow)]));
}

#[test]
fn refusals_are_shown_in_plain_language() {
    let (mut app, room) = chat_app();
    let ghost = room_id(9);
    enter_line(&mut app, &format!("/join {ghost}"));
    let refused = NetEvent::Refused { request: RequestKind::Join(ghost), code: ErrorCode::NotFound, message: "x".into() };
    app.update(Msg::Net(refused));
    assert!(app.room_index(ghost).is_none());
    assert!(app.active_room().is_some_and(|r| r.notices.iter().any(|n| n.text == format!("there is no room with id {ghost}"))));

    type_text(&mut app, "too big");
    let id = sent_id(&app.update(key(KeyCode::Enter)));
    let refused = NetEvent::Refused { request: RequestKind::Send { room_id: room, client_msg_id: id }, code: ErrorCode::TooLarge, message: "x".into() };
    app.update(Msg::Net(refused));
    assert_eq!(app.rooms[0].pending[0].failed.as_deref(), Some("not sent: the message is too long"));
    app.update(Msg::Net(NetEvent::NotSent { what: "create_room" }));
    assert!(app.rooms[0].notices.last().is_some_and(|n| n.alert && n.text == "/create needs a connection — try again"));
}

#[test]
fn scrolling_to_the_top_fetches_older_history_once() {
    let (mut app, room) = chat_app();
    let messages = (51..=100).map(|seq| message(room, seq, &bob(), "line", &format!("b{seq}"))).collect();
    server(&mut app, ServerMsg::Joined { room: self::fixtures::room(room, "general"), members: vec![], last_seq: 100, messages, has_more: true, reads: vec![], members_cursor: None });
    let history = |effects: &[Effect]| effects.iter().any(|e| matches!(e, Effect::Net(NetCmd::Request(ClientMsg::History { before_seq: Some(51), .. }))));
    let mut fetched = 0;
    for _ in 0..10 {
        fetched += usize::from(history(&app.update(key(KeyCode::PageUp))));
    }
    assert_eq!(fetched, 1, "one fetch at the top, not one per key");
    assert!(app.rooms[0].scroll > 0);
    let older = (1..=50).map(|seq| message(room, seq, &bob(), "old", &format!("b{seq}"))).collect();
    server(&mut app, ServerMsg::History { room_id: room, messages: older, has_more: false });
    assert_eq!(app.rooms[0].messages.len(), 100);
    assert!(!app.rooms[0].loading_older && !app.rooms[0].has_older);
    app.update(key(KeyCode::Esc));
    assert_eq!(app.rooms[0].scroll, 0);
    app.update(Msg::Mouse(crossterm::event::MouseEvent { kind: crossterm::event::MouseEventKind::ScrollUp, column: 0, row: 0, modifiers: KeyModifiers::NONE }));
    assert_eq!(app.rooms[0].scroll, 3);
}

#[test]
fn alt_enter_makes_a_new_line_and_paste_keeps_line_breaks() {
    let (mut app, _) = chat_app();
    type_text(&mut app, "one");
    app.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT)));
    app.update(Msg::Paste("two\r\nthree".into()));
    assert_eq!(app.input.text(), "one\ntwo\nthree");
}
