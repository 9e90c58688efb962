//! App::update tests for stranger matching and moderation: `/match
//! [code]` and the wait, the pair room and its banner, `/reveal`, `/end`,
//! `/next`, the read-only ended chat, `/block` (messages folded away),
//! `/unblock`, `/report`, `/kick`, `/ban`, `/unban`, and a banned account.

use super::fixtures::*;
use super::*;
use heartlink_protocol::{LeaveReason, MatchCode, Room, ServerMsg};

fn code(text: &str) -> Option<MatchCode> {
    MatchCode::try_from(text).ok()
}

/// Alice matched with a stranger known to her as quiet-otter (bob underneath).
fn matched() -> (App, RoomId) {
    let (mut app, _) = chat_app();
    let pair = room_id(9);
    let effects = server(&mut app, ServerMsg::Matched { room: pair_room(pair, "quiet-otter") });
    assert!(effects.iter().any(|e| matches!(e, Effect::Net(NetCmd::Join(id)) if *id == pair)));
    (app, pair)
}

fn otter() -> User {
    User { id: UserId(uuid::Uuid::from_u128(0x0770)), username: "quiet-otter".into() }
}

#[test]
fn match_with_a_code_waits_with_the_time_and_code_shown_and_cancel_stops() {
    let (mut app, _) = chat_app();
    let effects = enter_line(&mut app, "/match 4242");
    assert_eq!(requests(&effects), [ClientMsg::Match { code: code("4242") }]);
    server(&mut app, ServerMsg::MatchWaiting);
    assert!(notices(&app).last().is_some_and(|n| n.contains("/match 4242")));
    app.update(Msg::Tick { now: t0() + Duration::from_secs(42) });
    assert_eq!(app.match_status().as_deref(), Some("matching 4242 · 0:42 · /cancel"));
    assert_eq!(requests(&enter_line(&mut app, "/cancel")), [ClientMsg::CancelMatch]);
    server(&mut app, ServerMsg::MatchCancelled);
    assert_eq!(app.match_status(), None);
    enter_line(&mut app, "/match");
    server(&mut app, ServerMsg::MatchExpired);
    assert_eq!(app.match_status(), None);
    assert!(notices(&app).last().is_some_and(|n| n.contains("10 minutes")));
}

#[test]
fn a_code_that_is_not_4_to_8_digits_is_refused_before_sending() {
    let (mut app, _) = chat_app();
    for bad in ["/match 12", "/match 123456789", "/match 12ab", "/next x"] {
        assert!(enter_line(&mut app, bad).is_empty(), "{bad}");
        assert!(notices(&app).last().is_some_and(|n| n.contains("4 to 8 digits")), "{bad}");
        app.input.take();
    }
    assert!(app.matching.is_none());
}

#[test]
fn a_match_opens_the_pair_room_under_the_strangers_alias_with_a_banner() {
    let (app, pair) = matched();
    assert_eq!(app.active_id(), Some(pair));
    assert_eq!(app.banner().as_deref(), Some("you are chatting with a stranger: quiet-otter — /next, /end, /block, /report"));
    assert!(app.matching.is_none());
}

#[test]
fn reveal_is_asked_then_granted_and_the_room_takes_the_peers_name() {
    let (mut app, pair) = matched();
    assert_eq!(requests(&enter_line(&mut app, "/reveal")), [ClientMsg::Reveal { room_id: pair }]);
    server(&mut app, ServerMsg::RevealPending { room_id: pair });
    assert!(notices(&app).last().is_some_and(|n| n.contains("once they /reveal too")));
    server(&mut app, ServerMsg::Revealed { room_id: pair, peer: bob() });
    assert_eq!(app.active_room().map(|room| room.room.name.as_str()), Some("bob"));
    assert!(notices(&app).last().is_some_and(|n| n == "quiet-otter is bob"));
    // Not in a group room.
    app.update(ctrl('n'));
    assert!(enter_line(&mut app, "/reveal").is_empty());
}

#[test]
fn an_ended_chat_is_read_only_and_keeps_what_was_typed() {
    let (mut app, pair) = matched();
    assert_eq!(requests(&enter_line(&mut app, "/end")), [ClientMsg::EndMatch { room_id: pair }]);
    server(&mut app, ServerMsg::MatchEnded { room_id: pair, by: alice() });
    assert!(notices(&app).last().is_some_and(|n| n.starts_with("you ended this chat")));
    let effects = enter_line(&mut app, "still there?");
    assert!(sends(&effects).is_empty());
    assert_eq!(app.input.text(), "still there?");
    assert!(notices(&app).last().is_some_and(|n| n.contains("this chat has ended")));
    assert!(app.banner().is_some_and(|b| b.contains("has ended")));
}

#[test]
fn the_stranger_ending_it_says_so_and_a_refused_send_marks_the_chat_ended() {
    let (mut app, pair) = matched();
    server(&mut app, ServerMsg::MatchEnded { room_id: pair, by: otter() });
    assert!(notices(&app).last().is_some_and(|n| n.starts_with("quiet-otter ended this chat")));
    // After a restart the client does not know; the server's refusal tells it.
    let (mut app, pair) = matched();
    let effects = enter_line(&mut app, "hello?");
    let id = sends(&effects)[0].client_msg_id.to_string();
    let refused = NetEvent::Refused {
        request: RequestKind::Send { room_id: pair, client_msg_id: id },
        code: ErrorCode::Forbidden,
        message: "this chat has ended".into(),
    };
    app.update(Msg::Net(refused));
    assert!(app.active_room().is_some_and(|room| room.ended));
    assert_eq!(app.active_room().unwrap().pending[0].failed.as_deref(), Some("not sent: this chat has ended"));
}

#[test]
fn next_ends_the_chat_and_matches_again_with_the_same_code() {
    let (mut app, _) = chat_app();
    enter_line(&mut app, "/match 4242");
    let pair = room_id(9);
    server(&mut app, ServerMsg::Matched { room: pair_room(pair, "quiet-otter") });
    let effects = enter_line(&mut app, "/next");
    assert_eq!(requests(&effects), [ClientMsg::EndMatch { room_id: pair }, ClientMsg::Match { code: code("4242") }]);
    assert!(app.match_status().is_some());
}

#[test]
fn block_in_a_pair_room_blocks_the_stranger_and_in_a_group_room_a_member_by_name() {
    let (mut app, pair) = matched();
    assert_eq!(requests(&enter_line(&mut app, "/block")), [ClientMsg::Block { user_id: None, room_id: Some(pair) }]);
    app.update(ctrl('n'));
    assert_eq!(requests(&enter_line(&mut app, "/block BOB")), [ClientMsg::Block { user_id: Some(bob().id), room_id: None }]);
    assert!(enter_line(&mut app, "/block alice").is_empty(), "not myself");
    assert!(enter_line(&mut app, "/block nobody").is_empty());
    assert!(notices(&app).last().is_some_and(|n| n.contains("no member")));
}

#[test]
fn a_blocked_users_messages_fold_away_until_unblocked() {
    let (mut app, room) = chat_app();
    let effects = server(&mut app, ServerMsg::Blocked { user: bob() });
    assert!(effects.is_empty());
    let effects = server(&mut app, ServerMsg::ChatMessage(message(room, 1, &bob(), "@alice hello", "b1")));
    assert!(!effects.contains(&Effect::Bell), "no bell for a blocked user");
    server(&mut app, ServerMsg::Typing { room_id: room, user: bob(), active: true });
    assert!(app.rooms[0].typing.is_empty());
    app.update(key(KeyCode::Up));
    assert_eq!(app.rooms[0].selected, None, "their messages cannot be selected");
    assert_eq!(requests(&enter_line(&mut app, "/unblock bob")), [ClientMsg::Unblock { user_id: bob().id }]);
    assert!(enter_line(&mut app, "/unblock carol").is_empty());
    assert!(notices(&app).last().is_some_and(|n| n.contains("carol is not blocked — blocked: bob")));
    server(&mut app, ServerMsg::Unblocked { user: bob() });
    assert!(app.blocked.is_empty());
}

#[test]
fn the_blocked_list_comes_with_the_login() {
    let (mut app, _) = App::resume(session(&[]), Vec::new(), t0());
    let event = NetEvent::Authenticated {
        user: alice(),
        token: TOKEN.into(),
        server: "ws://127.0.0.1:7878/ws".into(),
        servers: "ws://127.0.0.1:7878/ws".into(),
        reconnect: false,
        blocked: vec![carol()],
    };
    app.update(Msg::Net(event));
    assert!(app.blocked.contains_key(&carol().id));
}

#[test]
fn report_sends_the_room_and_the_selected_message_with_the_reason() {
    let (mut app, room) = chat_app();
    server(&mut app, ServerMsg::ChatMessage(message(room, 1, &bob(), "rude words", "b1")));
    app.update(key(KeyCode::Up));
    let effects = enter_line(&mut app, "/report insults");
    let reason = heartlink_protocol::ReportReason::try_from("insults").unwrap();
    assert_eq!(requests(&effects), [ClientMsg::Report { room_id: room, seq: Some(1), reason }]);
    server(&mut app, ServerMsg::Reported { room_id: room });
    assert!(notices(&app).last().is_some_and(|n| n.starts_with("reported")));
    let too_long = format!("/report {}", "x".repeat(1001));
    assert!(enter_line(&mut app, &too_long).is_empty());
}

#[test]
fn kick_ban_and_unban_by_name_and_what_the_room_sees() {
    let (mut app, room) = chat_app();
    assert_eq!(requests(&enter_line(&mut app, "/kick bob")), [ClientMsg::Kick { room_id: room, user_id: bob().id }]);
    assert_eq!(requests(&enter_line(&mut app, "/ban @bob")), [ClientMsg::Ban { room_id: room, user_id: bob().id }]);
    server(&mut app, ServerMsg::UserLeft { room_id: room, user: bob(), reason: Some(LeaveReason::Banned) });
    assert!(notices(&app).last().is_some_and(|n| n == "bob was banned by the room's creator"));
    assert!(app.rooms[0].member_named("bob").is_none());
    assert_eq!(requests(&enter_line(&mut app, "/unban bob")), [ClientMsg::Unban { room_id: room, user_id: bob().id }]);
    assert!(enter_line(&mut app, "/kick nobody").is_empty());
    server(&mut app, ServerMsg::UserJoined { room_id: room, user: carol() });
    server(&mut app, ServerMsg::UserLeft { room_id: room, user: carol(), reason: Some(LeaveReason::Kicked) });
    assert!(notices(&app).last().is_some_and(|n| n == "carol was removed by the room's creator"));
}

#[test]
fn being_kicked_closes_the_room_with_the_reason() {
    let (mut app, room) = chat_app();
    let effects = server(&mut app, ServerMsg::UserLeft { room_id: room, user: alice(), reason: Some(LeaveReason::Kicked) });
    assert!(app.room_index(room).is_none());
    assert!(app.home.last().is_some_and(|n| n.text == "you were removed from general by its creator" && n.alert));
    assert!(effects.iter().any(|e| matches!(e, Effect::SaveSession(s) if s.rooms.is_empty())));
}

#[test]
fn a_banned_account_ends_on_the_login_screen_with_the_reason() {
    let (mut app, _) = chat_app();
    let reason = "this account is banned by the server's operator: spam\u{1b}[2J";
    app.update(Msg::Net(NetEvent::AuthFailed { reason: reason.into(), session_expired: true }));
    let Screen::Login(form) = &app.screen else { panic!("the login screen") };
    assert_eq!(form.error.as_deref(), Some("this account is banned by the server's operator: spam␛[2J"));
}

#[test]
fn a_chat_that_ended_while_away_is_read_only_once_joined() {
    let (mut app, pair) = matched();
    let ended = Room { ended: true, ..pair_room(pair, "quiet-otter") };
    server(&mut app, ServerMsg::Joined { room: ended, members: vec![], last_seq: 0, messages: vec![], has_more: false, reads: vec![], members_cursor: None });
    assert!(app.banner().is_some_and(|banner| banner.contains("has ended")), "{:?}", app.banner());
}
