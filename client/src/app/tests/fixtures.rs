//! Fixed ids, users and messages for the app tests and the screen snapshots.

use super::*;
use crate::session::Session;
use crate::events::Outgoing;
use heartlink_protocol::{ChatMessage, Member, RelKind, RelatesTo, Room, RoomKind, RoomSummary, ServerMsg, User, UserId};

pub const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// One fixed instant, so tests can compute every later time from it.
pub fn t0() -> Instant {
    static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *T0.get_or_init(Instant::now)
}

pub fn room_id(n: u128) -> RoomId {
    RoomId(uuid::Uuid::from_u128(0x1000 + n))
}

pub fn alice() -> User {
    User { id: UserId(uuid::Uuid::from_u128(0xa11ce)), username: "alice".into() }
}

pub fn bob() -> User {
    User { id: UserId(uuid::Uuid::from_u128(0xb0b)), username: "bob".into() }
}

pub fn room(id: RoomId, name: &str) -> Room {
    Room { id, name: name.into(), kind: RoomKind::Group, created_by: Some(alice().id), created_at: 0, ended: false }
}

pub fn session(rooms: &[RoomId]) -> Session {
    Session { server: "ws://127.0.0.1:7878/ws".into(), username: "alice".into(), token: TOKEN.into(), rooms: rooms.to_vec(), active: None, muted: vec![] }
}

/// 09:41 UTC plus `seq` minutes.
pub fn message(room_id: RoomId, seq: u64, sender: &User, body: &str, client_msg_id: &str) -> ChatMessage {
    let ts = (9 * 3600 + 41 * 60 + seq * 60) * 1000;
    ChatMessage {
        room_id,
        seq,
        sender: sender.clone(),
        body: body.into(),
        ts,
        client_msg_id: client_msg_id.into(),
        ..ChatMessage::default()
    }
}

pub fn joined(room_id: RoomId, messages: Vec<ChatMessage>) -> ServerMsg {
    let last_seq = messages.iter().map(|m| m.seq).max().unwrap_or(0);
    let members = vec![
        Member { user: alice(), online: true, ..Member::default() },
        Member { user: bob(), online: true, ..Member::default() },
    ];
    ServerMsg::Joined { room: room(room_id, "general"), members, last_seq, messages, has_more: false, reads: vec![], members_cursor: None }
}

pub fn authenticated(reconnect: bool) -> NetEvent {
    NetEvent::Authenticated { user: alice(), token: TOKEN.into(), server: "ws://127.0.0.1:7878/ws".into(), servers: "ws://127.0.0.1:7878/ws".into(), reconnect, blocked: vec![] }
}

/// Alice, connected, in room "general" with bob.
pub fn chat_app() -> (App, RoomId) {
    let room = room_id(1);
    let (mut app, _) = App::resume(session(&[room]), Vec::new(), t0());
    resize(&mut app, 80, 24);
    app.update(Msg::Net(authenticated(false)));
    app.update(Msg::Net(NetEvent::State(ConnState::Connected)));
    server(&mut app, joined(room, vec![]));
    app.update(Msg::Net(NetEvent::Resynced));
    (app, room)
}

/// A terminal of `width`×`height`, and the pane size the view reports for it.
pub fn resize(app: &mut App, width: u16, height: u16) {
    app.update(Msg::Resize { width, height });
    let (pane_width, pane_height) = crate::ui::message_pane_size((width, height), "", 1);
    app.update(Msg::PaneSize { width: pane_width, height: pane_height });
}

pub fn server(app: &mut App, msg: ServerMsg) -> Vec<Effect> {
    app.update(Msg::Net(NetEvent::Server(msg)))
}

pub fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub fn char_key(c: char) -> Msg {
    key(KeyCode::Char(c))
}

pub fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(char_key(c));
    }
}

/// Types a line and presses Enter; returns the effects of the Enter.
pub fn enter_line(app: &mut App, text: &str) -> Vec<Effect> {
    type_text(app, text);
    app.update(key(KeyCode::Enter))
}

pub fn sent_id(effects: &[Effect]) -> String {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Net(NetCmd::Send(out)) => Some(out.client_msg_id.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no send in {effects:?}"))
}

pub fn carol() -> User {
    User { id: UserId(uuid::Uuid::from_u128(0xca401)), username: "carol".into() }
}

pub fn joined_named(id: RoomId, name: &str) -> ServerMsg {
    match joined(id, vec![]) {
        ServerMsg::Joined { members, last_seq, messages, has_more, reads, members_cursor, .. } => {
            ServerMsg::Joined { room: room(id, name), members, last_seq, messages, has_more, reads, members_cursor }
        }
        other => other,
    }
}

/// A reply, edit, deletion or reaction from `sender` to message `target`.
pub fn relation(room_id: RoomId, seq: u64, sender: &User, target: u64, rel: RelKind, body: &str) -> ChatMessage {
    ChatMessage { relates_to: Some(RelatesTo { seq: target, rel }), ..message(room_id, seq, sender, body, &format!("rel-{seq}")) }
}

/// A pair room as the server shows it to alice: named after the stranger's alias, no creator.
pub fn pair_room(id: RoomId, alias: &str) -> Room {
    Room { id, name: alias.into(), kind: RoomKind::Pair, created_by: None, created_at: 0, ended: false }
}

pub fn summary(room: Room, last_seq: u64, read_seq: u64, mentions: u64) -> RoomSummary {
    RoomSummary { room, last_seq, read_seq, mentions }
}

/// The one-off requests among the effects.
pub fn requests(effects: &[Effect]) -> Vec<ClientMsg> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Net(NetCmd::Request(msg)) => Some(msg.clone()),
            _ => None,
        })
        .collect()
}

/// The messages queued for sending among the effects.
pub fn sends(effects: &[Effect]) -> Vec<Outgoing> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Net(NetCmd::Send(out)) => Some(out.clone()),
            _ => None,
        })
        .collect()
}

/// The texts of the open room's notices.
pub fn notices(app: &App) -> Vec<String> {
    app.active_room().map(|room| room.notices.iter().map(|n| n.text.clone()).collect()).unwrap_or_default()
}
