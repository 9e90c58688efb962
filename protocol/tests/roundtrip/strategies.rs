//! proptest strategies for every message and field of the protocol. Incoming
//! fields are generated from the rules of PROTOCOL.md ("Limits") and then
//! built through the validating constructors, so a strategy that drifts from
//! the rules fails loudly instead of testing nothing. Outgoing strings are
//! any text at all: the server may send anything a user typed.

use heartlink_protocol::{
    Body, ChatMessage, ClientMsg, ClientMsgId, ErrorCode, Member, PageLimit, Password, ReadMarker, RequestRef, Room,
    RoomId, RoomKind, RoomName, RoomSummary, Secret, ServerMsg, SessionId, User, UserId, Username,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// Any text, including controls, quotes, backslashes, NUL and astral characters.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "(?s).{0,12}", "[\"\\\\\u{0}-\u{1f}\u{7f}\u{2028}\u{1f600}]{0,8}"]
}

/// Text of `min..=max` characters with no `Cc` control (tab and newline allowed when asked).
fn no_control(min: usize, max: usize, allow_tab_newline: bool) -> impl Strategy<Value = String> {
    let ch = if allow_tab_newline { "[^\\p{Cc}]|\t|\n" } else { "[^\\p{Cc}]" };
    vec(ch, min..=max).prop_map(|parts| parts.concat())
}

/// A length near either end of `min..=max`, or anywhere between: the
/// boundaries are where validation bugs live.
fn length(min: usize, max: usize) -> impl Strategy<Value = usize> {
    prop_oneof![Just(min), Just(max), min..=max]
}

fn username() -> impl Strategy<Value = Username> {
    "[a-zA-Z0-9_.-]{3,32}".prop_map(|s| Username::try_from(s).expect("generated a valid username"))
}

fn password() -> impl Strategy<Value = Password> {
    // Bytes, not characters, count: 512 two-byte characters are exactly the 1024-byte maximum.
    prop_oneof!["(?s).{8,40}", "x{1024}", "é{4,512}"]
        .prop_map(|s| Password::try_from(s).expect("generated a valid password"))
}

fn room_name() -> impl Strategy<Value = RoomName> {
    length(1, 64)
        .prop_flat_map(|n| no_control(n, n, false))
        .prop_filter("not blank", |s| !s.trim().is_empty())
        .prop_map(|s| RoomName::try_from(s).expect("generated a valid room name"))
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![4 => no_control(1, 40, true), 1 => length(1, 4000).prop_flat_map(|n| no_control(n, n, true))]
        .prop_map(|s| Body::try_from(s).expect("generated a valid body"))
}

fn client_msg_id() -> impl Strategy<Value = ClientMsgId> {
    length(1, 64)
        .prop_flat_map(|n| no_control(n, n, false))
        .prop_map(|s| ClientMsgId::try_from(s).expect("generated a valid client_msg_id"))
}

/// A request `ref`: at most 64 characters of anything.
pub fn request_ref() -> impl Strategy<Value = RequestRef> {
    "(?s).{0,64}".prop_map(|s| RequestRef::try_from(s).expect("generated a valid ref"))
}

fn room_id() -> impl Strategy<Value = RoomId> {
    any::<[u8; 16]>().prop_map(RoomId::from_bytes)
}

fn user_id() -> impl Strategy<Value = UserId> {
    any::<[u8; 16]>().prop_map(UserId::from_bytes)
}

fn seq() -> impl Strategy<Value = u64> {
    // u64::MAX included: serde_json must not round it through f64.
    prop_oneof![Just(0), Just(u64::MAX), any::<u64>(), 0..1000u64]
}

/// Every client message.
pub fn client_msg() -> impl Strategy<Value = ClientMsg> {
    prop_oneof![
        (username(), password()).prop_map(|(username, password)| ClientMsg::Register { username, password }),
        (text(), text()).prop_map(|(username, p)| ClientMsg::Login { username, password: Secret::new(p) }),
        text().prop_map(|token| ClientMsg::Resume { token: Secret::new(token) }),
        Just(ClientMsg::Logout),
        room_name().prop_map(|name| ClientMsg::CreateRoom { name }),
        (room_id(), option::of(seq())).prop_map(|(room_id, since)| ClientMsg::Join { room_id, since }),
        room_id().prop_map(|room_id| ClientMsg::Leave { room_id }),
        (room_id(), client_msg_id(), body())
            .prop_map(|(room_id, client_msg_id, body)| ClientMsg::Send { room_id, client_msg_id, body }),
        (room_id(), option::of(seq()), option::of(1..=100u32)).prop_map(|(room_id, before_seq, limit)| {
            let limit = limit.map(|n| PageLimit::try_from(n).expect("1-100 is a valid limit"));
            ClientMsg::History { room_id, before_seq, limit }
        }),
        (room_id(), any::<bool>()).prop_map(|(room_id, active)| ClientMsg::Typing { room_id, active }),
        (room_id(), seq()).prop_map(|(room_id, seq)| ClientMsg::Read { room_id, seq }),
        Just(ClientMsg::ListRooms),
        Just(ClientMsg::Match),
        Just(ClientMsg::CancelMatch),
        Just(ClientMsg::Ping),
    ]
}

fn user() -> impl Strategy<Value = User> {
    (user_id(), text()).prop_map(|(id, username)| User { id, username })
}

fn room() -> impl Strategy<Value = Room> {
    let kind = prop_oneof![Just(RoomKind::Group), Just(RoomKind::Pair)];
    (room_id(), text(), kind, user_id(), seq())
        .prop_map(|(id, name, kind, created_by, created_at)| Room { id, name, kind, created_by, created_at })
}

fn chat_message() -> impl Strategy<Value = ChatMessage> {
    (room_id(), seq(), user(), text(), seq(), text()).prop_map(|(room_id, seq, sender, body, ts, client_msg_id)| {
        ChatMessage { room_id, seq, sender, body, ts, client_msg_id }
    })
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    proptest::sample::select(ErrorCode::ALL.to_vec())
}

fn joined() -> impl Strategy<Value = ServerMsg> {
    let members = vec((user(), any::<bool>()).prop_map(|(user, online)| Member { user, online }), 0..4);
    let reads = vec((user(), seq()).prop_map(|(user, seq)| ReadMarker { user, seq }), 0..3);
    (room(), members, seq(), vec(chat_message(), 0..4), any::<bool>(), reads).prop_map(
        |(room, members, last_seq, messages, has_more, reads)| ServerMsg::Joined {
            room,
            members,
            last_seq,
            messages,
            has_more,
            reads,
        },
    )
}

fn connection_established() -> impl Strategy<Value = ServerMsg> {
    (user(), text(), any::<[u8; 16]>(), seq(), text(), any::<u32>()).prop_map(
        |(user, token, session, heartbeat_secs, server_version, protocol)| ServerMsg::ConnectionEstablished {
            user,
            token,
            session_id: SessionId::from_bytes(session),
            heartbeat_secs,
            server_version,
            protocol,
        },
    )
}

/// Every server message.
pub fn server_msg() -> impl Strategy<Value = ServerMsg> {
    let summary = (room(), seq(), seq()).prop_map(|(room, last_seq, read_seq)| RoomSummary { room, last_seq, read_seq });
    prop_oneof![
        connection_established(),
        room().prop_map(|room| ServerMsg::RoomCreated { room }),
        joined(),
        room_id().prop_map(|room_id| ServerMsg::Left { room_id }),
        (room_id(), user()).prop_map(|(room_id, user)| ServerMsg::UserJoined { room_id, user }),
        (room_id(), user()).prop_map(|(room_id, user)| ServerMsg::UserLeft { room_id, user }),
        (user(), any::<bool>()).prop_map(|(user, online)| ServerMsg::Presence { user, online }),
        chat_message().prop_map(ServerMsg::ChatMessage),
        (room_id(), text(), seq(), seq())
            .prop_map(|(room_id, client_msg_id, seq, ts)| ServerMsg::Ack { room_id, client_msg_id, seq, ts }),
        (room_id(), vec(chat_message(), 0..4), any::<bool>())
            .prop_map(|(room_id, messages, has_more)| ServerMsg::History { room_id, messages, has_more }),
        (room_id(), user(), any::<bool>()).prop_map(|(room_id, user, active)| ServerMsg::Typing { room_id, user, active }),
        (room_id(), user(), seq()).prop_map(|(room_id, user, seq)| ServerMsg::ReadReceipt { room_id, user, seq }),
        vec(summary, 0..4).prop_map(|rooms| ServerMsg::Rooms { rooms }),
        Just(ServerMsg::MatchWaiting),
        Just(ServerMsg::MatchCancelled),
        room().prop_map(|room| ServerMsg::Matched { room }),
        Just(ServerMsg::Pong),
        (error_code(), text(), option::of(seq()))
            .prop_map(|(code, message, retry_after_ms)| ServerMsg::Error { code, message, retry_after_ms }),
    ]
}
