//! App::update tests for the conversation features: selecting a message
//! and replying, editing, deleting and reacting to it (by key and by
//! command), the emoji picker, relations replayed by a resume, mentions
//! (highlight, `@` + Tab, the bell and notification, `/mute`), presence
//! (away, last seen) and the "new since you left" mark.

use super::fixtures::*;
use super::*;
use heartlink_protocol::{PresenceStatus, RelKind, RelatesTo, ServerMsg};

/// Alice in "general" with bob's two messages and one of hers.
fn chat_with_three() -> (App, RoomId) {
    let (mut app, room) = chat_app();
    let messages = vec![
        message(room, 1, &bob(), "first from bob", "b1"),
        message(room, 2, &alice(), "mine", "a2"),
        message(room, 3, &bob(), "newest from bob", "b3"),
    ];
    server(&mut app, joined(room, messages));
    (app, room)
}

fn relates(effects: &[Effect]) -> Vec<(String, Option<RelatesTo>)> {
    sends(effects).into_iter().map(|out| (out.body.as_str().to_owned(), out.relates_to)).collect()
}

#[test]
fn up_and_down_from_an_empty_input_move_the_selection() {
    let (mut app, _) = chat_with_three();
    app.update(key(KeyCode::Up));
    assert_eq!(app.rooms[0].selected, Some(3), "the newest first");
    assert_eq!(app.selected_number(), Some(1));
    app.update(key(KeyCode::Up));
    app.update(key(KeyCode::Up));
    app.update(key(KeyCode::Up));
    assert_eq!(app.rooms[0].selected, Some(1), "stays on the oldest");
    app.update(key(KeyCode::Down));
    assert_eq!(app.rooms[0].selected, Some(2));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.rooms[0].selected, None, "Esc lets go");
    type_text(&mut app, "draft");
    app.update(key(KeyCode::Up));
    assert_eq!(app.rooms[0].selected, None, "with text in the input the arrows scroll");
}

#[test]
fn selecting_past_the_oldest_message_held_fetches_older_history() {
    let (mut app, room) = chat_app();
    let mut reply = joined(room, vec![message(room, 50, &bob(), "only one", "b50")]);
    if let ServerMsg::Joined { has_more, .. } = &mut reply {
        *has_more = true;
    }
    server(&mut app, reply);
    let effects = app.update(key(KeyCode::Up));
    assert!(requests(&effects).iter().any(|r| matches!(r, ClientMsg::History { before_seq: Some(50), .. })), "{effects:?}");
}

#[test]
fn r_replies_to_the_selected_message_and_the_reply_quotes_it() {
    let (mut app, room) = chat_with_three();
    app.update(key(KeyCode::Up));
    app.update(char_key('r'));
    assert!(app.compose_line().is_some_and(|line| line.contains("replying to bob: newest from bob")), "{:?}", app.compose_line());
    let effects = enter_line(&mut app, "agreed :+1:");
    assert_eq!(relates(&effects), [("agreed 👍".to_owned(), Some(RelatesTo { seq: 3, rel: RelKind::Reply }))]);
    assert!(app.compose.is_none() && app.input.is_empty());
    // Esc while replying goes back to a plain message and keeps the text.
    app.update(key(KeyCode::Up));
    app.update(char_key('r'));
    type_text(&mut app, "hm");
    app.update(key(KeyCode::Esc));
    assert!(app.compose.is_none());
    assert_eq!(app.input.text(), "hm");
    let _ = room;
}

#[test]
fn e_edits_my_own_message_only_and_an_unchanged_edit_sends_nothing() {
    let (mut app, _) = chat_with_three();
    app.update(key(KeyCode::Up));
    app.update(char_key('e'));
    assert!(app.compose.is_none(), "bob's message is not mine to edit");
    assert!(notices(&app).last().is_some_and(|n| n.contains("only your own")));
    app.update(key(KeyCode::Up));
    assert_eq!(app.rooms[0].selected, Some(2));
    app.update(char_key('e'));
    assert_eq!(app.input.text(), "mine", "the text to change");
    assert!(app.update(key(KeyCode::Enter)).iter().all(|e| !matches!(e, Effect::Net(NetCmd::Send(_)))), "nothing changed");
    enter_line(&mut app, "/edit 2");
    app.update(key(KeyCode::End));
    type_text(&mut app, " (fixed)");
    let effects = app.update(key(KeyCode::Enter));
    assert_eq!(relates(&effects), [("mine (fixed)".to_owned(), Some(RelatesTo { seq: 2, rel: RelKind::Edit }))]);
}

#[test]
fn d_asks_before_deleting_and_the_deletion_has_an_empty_body() {
    let (mut app, room) = chat_with_three();
    if let Some(view) = app.room_mut(room) {
        view.room.created_by = Some(bob().id);
    }
    app.update(key(KeyCode::Up));
    app.update(char_key('d'));
    assert!(app.prompt.is_none(), "not mine, not my room");
    assert!(notices(&app).last().is_some_and(|n| n.contains("only your own")));
    app.update(key(KeyCode::Up));
    app.update(char_key('d'));
    assert!(matches!(&app.prompt, Some(Prompt::Delete { seq: 2, preview, .. }) if preview == "mine"), "{:?}", app.prompt);
    assert!(app.update(char_key('n')).is_empty(), "no keeps it");
    assert_eq!(app.rooms[0].selected, Some(2));
    app.update(char_key('d'));
    let effects = app.update(char_key('y'));
    assert_eq!(relates(&effects), [(String::new(), Some(RelatesTo { seq: 2, rel: RelKind::Delete }))]);
}

#[test]
fn the_creator_may_delete_any_message_of_the_room() {
    let (mut app, _) = chat_with_three();
    enter_line(&mut app, "/delete 1");
    assert!(matches!(&app.prompt, Some(Prompt::Delete { seq: 3, .. })), "{:?}", app.prompt);
}

#[test]
fn plus_opens_the_picker_typing_filters_and_enter_reacts() {
    let (mut app, _) = chat_with_three();
    app.update(key(KeyCode::Up));
    app.update(char_key('+'));
    let Some(Overlay::Emoji(picker)) = &app.overlay else { panic!("the picker: {:?}", app.overlay) };
    assert_eq!(picker.choices()[0], ("👍", "+1"), "the usual reactions first");
    type_text(&mut app, "heart");
    let Some(Overlay::Emoji(picker)) = &app.overlay else { panic!() };
    assert_eq!(picker.choices()[0].0, "❤️");
    app.update(key(KeyCode::Right));
    app.update(key(KeyCode::Left));
    let effects = app.update(key(KeyCode::Enter));
    assert_eq!(relates(&effects), [("❤️".to_owned(), Some(RelatesTo { seq: 3, rel: RelKind::React }))]);
    assert!(app.overlay.is_none());
    // Esc closes without reacting.
    app.update(key(KeyCode::Up));
    app.update(char_key('+'));
    assert!(app.update(key(KeyCode::Esc)).is_empty());
    assert!(app.overlay.is_none());
}

#[test]
fn commands_reply_edit_delete_and_react_by_number() {
    let (mut app, _) = chat_with_three();
    let effects = enter_line(&mut app, "/react 1 :tada:");
    assert_eq!(relates(&effects), [("🎉".to_owned(), Some(RelatesTo { seq: 3, rel: RelKind::React }))]);
    let effects = enter_line(&mut app, "/react 3 👍");
    assert_eq!(relates(&effects), [("👍".to_owned(), Some(RelatesTo { seq: 1, rel: RelKind::React }))]);
    let effects = enter_line(&mut app, "/reply 3 about that");
    assert_eq!(relates(&effects), [("about that".to_owned(), Some(RelatesTo { seq: 1, rel: RelKind::Reply }))]);
    enter_line(&mut app, "/reply 2");
    assert_eq!(app.compose, Some(Compose::Reply { room: app.rooms[0].id(), seq: 2 }));
    app.update(key(KeyCode::Esc));
    assert!(enter_line(&mut app, "/react 9 👍").is_empty());
    assert!(notices(&app).last().is_some_and(|n| n.contains("no message number 9")));
    for bad in ["/react 1 notanemoji", "/react x 👍", "/reply 0", "/edit", "/delete -1"] {
        app.input.take();
        assert!(enter_line(&mut app, bad).is_empty(), "{bad}");
        assert_eq!(app.input.text(), bad, "a mistyped command stays in the input");
        app.input.take();
    }
}

#[test]
fn relations_replayed_by_a_resume_or_paged_in_before_their_target_apply_once() {
    let (mut app, room) = chat_app();
    let react = relation(room, 5, &bob(), 2, RelKind::React, "🔥");
    let edit = relation(room, 6, &alice(), 2, RelKind::Edit, "hello, edited");
    // The reaction and the edit arrive live before the page holding their target.
    server(&mut app, ServerMsg::ChatMessage(react.clone()));
    server(&mut app, ServerMsg::ChatMessage(edit.clone()));
    assert_eq!(app.rooms[0].unread, 0, "a reaction or an edit is not an unread message");
    let page = vec![message(room, 1, &bob(), "hi", "b1"), message(room, 2, &alice(), "hello", "a2")];
    server(&mut app, ServerMsg::History { room_id: room, messages: page, has_more: false });
    // A resume replays everything after the last seq held.
    server(&mut app, joined(room, vec![react, edit]));
    let annotations = app.rooms[0].annotations(2);
    assert_eq!(annotations.edited.as_deref(), Some("hello, edited"));
    assert_eq!(annotations.reactions.len(), 1);
    assert_eq!(annotations.reactions[0].users, [bob().id], "once, not toggled off by the replay");
}

#[test]
fn a_pending_relation_survives_a_restart_in_the_outbox() {
    let (mut app, _) = chat_with_three();
    let effects = enter_line(&mut app, "/react 1 👍");
    let Some(Effect::SaveOutbox(outbox)) = effects.iter().find(|e| matches!(e, Effect::SaveOutbox(_))) else { panic!("{effects:?}") };
    assert_eq!(outbox.messages[0].relates_to, Some(RelatesTo { seq: 3, rel: RelKind::React }));
    let (_, effects) = App::resume(session(&[outbox.messages[0].room_id]), outbox.messages.clone(), t0());
    assert_eq!(relates(&effects), [("👍".to_owned(), Some(RelatesTo { seq: 3, rel: RelKind::React }))]);
}

#[test]
fn at_and_tab_complete_member_names_and_tab_again_cycles() {
    let (mut app, room) = chat_app();
    server(&mut app, ServerMsg::UserJoined { room_id: room, user: User { id: UserId(uuid::Uuid::from_u128(0xb0b2)), username: "bobby".into() } });
    type_text(&mut app, "hi @b");
    app.update(key(KeyCode::Tab));
    assert_eq!(app.input.text(), "hi @bob ");
    app.update(key(KeyCode::Tab));
    assert_eq!(app.input.text(), "hi @bobby ");
    type_text(&mut app, "x");
    app.update(key(KeyCode::Tab));
    assert_eq!(app.input.text(), "hi @bobby x", "no @ before the cursor's word: nothing to complete");
    app.input.take();
    type_text(&mut app, "@al");
    app.update(key(KeyCode::Tab));
    assert_eq!(app.input.text(), "@al", "my own name is not offered");
}

#[test]
fn a_mention_elsewhere_rings_notifies_and_counts_and_mute_silences_it() {
    let (mut app, first) = chat_app();
    let second = room_id(2);
    enter_line(&mut app, &format!("/join {second}"));
    server(&mut app, joined_named(second, "zeta"));
    app.update(ctrl('p'));
    assert_eq!(app.active_id(), Some(first));
    let effects = server(&mut app, ServerMsg::ChatMessage(message(second, 1, &bob(), "just chatting", "b1")));
    assert!(!effects.contains(&Effect::Bell), "a plain message rings nothing by default");
    let effects = server(&mut app, ServerMsg::ChatMessage(message(second, 2, &bob(), "hey @Alice look", "b2")));
    assert!(effects.contains(&Effect::Bell));
    assert!(effects.iter().any(|e| matches!(e, Effect::Notify { title, body } if title.contains("zeta") && body.contains("bob: hey @Alice"))));
    let zeta = app.room_index(second).unwrap();
    assert_eq!((app.rooms[zeta].unread, app.rooms[zeta].mentions), (2, 1));
    // The server's `mentions` count as well, with no @ in the text (a reply to me).
    let mut replied = message(second, 3, &bob(), "see above", "b3");
    replied.mentions = vec![alice().id];
    assert!(server(&mut app, ServerMsg::ChatMessage(replied)).contains(&Effect::Bell));
    app.update(ctrl('n'));
    assert_eq!((app.rooms[zeta].unread, app.rooms[zeta].mentions), (0, 0), "seen");
    let effects = enter_line(&mut app, "/mute");
    assert!(effects.iter().any(|e| matches!(e, Effect::SaveSession(s) if s.muted == [second])));
    app.update(ctrl('p'));
    let effects = server(&mut app, ServerMsg::ChatMessage(message(second, 4, &bob(), "@alice again", "b4")));
    assert!(!effects.iter().any(|e| matches!(e, Effect::Bell | Effect::Notify { .. })), "muted: {effects:?}");
    assert_eq!(app.rooms[zeta].mentions, 1, "still counted");
    // A mention in the room on screen rings nothing.
    let effects = server(&mut app, ServerMsg::ChatMessage(message(first, 1, &bob(), "@alice here", "g1")));
    assert!(!effects.contains(&Effect::Bell));
}

#[test]
fn presence_shows_away_and_last_seen_and_my_status_follows_idling_and_away() {
    let (mut app, _) = chat_app();
    server(&mut app, ServerMsg::Presence { user: bob(), online: true, status: Some(PresenceStatus::Away), last_seen: None, room_id: None });
    let member = |app: &App| app.rooms[0].members.iter().find(|m| m.user == bob()).cloned().unwrap();
    assert_eq!(member(&app).status, PresenceStatus::Away);
    let seen = (14 * 3600 + 2 * 60) * 1000;
    server(&mut app, ServerMsg::Presence { user: bob(), online: false, status: Some(PresenceStatus::Offline), last_seen: Some(seen), room_id: None });
    assert_eq!((member(&app).status, member(&app).last_seen), (PresenceStatus::Offline, Some(seen)));
    assert_eq!(notices(&app)[notices(&app).len() - 2..], ["bob is away".to_owned(), "bob went offline (last seen 14:02)".to_owned()]);
    // Mine: ten idle minutes make me away, the next key brings me back.
    let set_status = |effects: &[Effect]| requests(effects).into_iter().find_map(|r| match r {
        ClientMsg::SetStatus { status } => Some(status),
        _ => None,
    });
    assert_eq!(set_status(&app.update(Msg::Tick { now: t0() + Duration::from_secs(599) })), None);
    assert_eq!(set_status(&app.update(Msg::Tick { now: t0() + Duration::from_secs(600) })), Some(PresenceStatus::Away));
    assert_eq!(set_status(&app.update(char_key('x'))), Some(PresenceStatus::Online));
    app.input.take();
    // /away holds through key presses until /back; a reconnect says it again.
    assert_eq!(set_status(&enter_line(&mut app, "/away")), Some(PresenceStatus::Away));
    assert_eq!(set_status(&app.update(char_key('x'))), None);
    app.input.take();
    assert_eq!(set_status(&app.update(Msg::Net(NetEvent::Resynced))), Some(PresenceStatus::Away));
    assert_eq!(set_status(&enter_line(&mut app, "/back")), Some(PresenceStatus::Online));
}

#[test]
fn a_pair_rooms_presence_applies_to_that_room_only() {
    let (mut app, general) = chat_app();
    let pair = room_id(9);
    server(&mut app, ServerMsg::Matched { room: pair_room(pair, "quiet-otter") });
    let otter = User { id: bob().id, username: "quiet-otter".into() };
    let members = vec![heartlink_protocol::Member { user: otter.clone(), online: true, ..Default::default() }];
    server(&mut app, ServerMsg::Joined { room: pair_room(pair, "quiet-otter"), members, last_seq: 0, messages: vec![], has_more: false, reads: vec![], members_cursor: None });
    server(&mut app, ServerMsg::Presence { user: otter, online: false, status: None, last_seen: None, room_id: Some(pair) });
    let general_bob = app.room_mut(general).unwrap().members.iter().find(|m| m.user == bob()).unwrap().status;
    assert_eq!(general_bob, PresenceStatus::Online, "the alias is not bob elsewhere");
}

#[test]
fn leaving_a_room_sets_the_new_since_you_left_mark() {
    let (mut app, first) = chat_with_three();
    let second = room_id(2);
    enter_line(&mut app, &format!("/join {second}"));
    server(&mut app, joined_named(second, "zeta"));
    assert_eq!(app.room_mut(first).unwrap().since_left, Some(3), "marked where I left it");
    server(&mut app, ServerMsg::ChatMessage(message(first, 4, &bob(), "while away", "b4")));
    app.update(ctrl('p'));
    assert_eq!(app.active_id(), Some(first));
    assert_eq!(app.rooms[0].since_left, Some(3), "the line stays above what came while I was away");
}

#[test]
fn login_reopens_the_room_that_was_on_screen() {
    let rooms = [room_id(1), room_id(2), room_id(3)];
    let form = LoginForm::new(Mode::Login, "ws://h:1/ws".into(), Some("alice".into()), None);
    let (app, _) = App::login_into(form, &rooms, Some(room_id(2)), Vec::new(), t0());
    assert_eq!(app.active_id(), Some(room_id(2)));
}
