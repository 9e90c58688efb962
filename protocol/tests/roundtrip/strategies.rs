//! proptest strategies for every message and field of the protocol. Incoming
//! fields are generated from the rules of PROTOCOL.md ("Limits") and then
//! built through the validating constructors, so a strategy that drifts from
//! the rules fails loudly instead of testing nothing. Outgoing strings are
//! any text at all: the server may send anything a user typed.

use heartlink_protocol::{
    Attachment, AttachmentKind, AttachmentRef, Body, CallAction, CallId, CallInfo, CallRequest, CallRequestAction,
    ChatMessage, ClientMsg, ClientMsgId, ErrorCode, LeaveReason, ListLimit, MatchCode, MediaId, Member, PageLimit,
    Password, PresenceStatus, ReadMarker, RelKind, RelatesTo, ReportReason, RequestRef, Room, RoomId, RoomKind,
    RoomName, RoomSummary, Secret, ServerMsg, SessionId, User, UserId, Username,
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
        .prop_filter("no format characters", |s| !s.chars().any(heartlink_protocol::is_format_char))
        .prop_map(|s| RoomName::try_from(s).expect("generated a valid room name"))
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![4 => no_control(0, 40, true), 1 => length(0, 4000).prop_flat_map(|n| no_control(n, n, true))]
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

fn media_id() -> impl Strategy<Value = MediaId> {
    any::<[u8; 16]>().prop_map(MediaId::from_bytes)
}

fn call_id() -> impl Strategy<Value = CallId> {
    any::<[u8; 16]>().prop_map(CallId::from_bytes)
}

fn list_limit() -> impl Strategy<Value = Option<ListLimit>> {
    option::of((1..=200u32).prop_map(|n| ListLimit::try_from(n).expect("1-200 is a valid limit")))
}

fn relates_to() -> impl Strategy<Value = RelatesTo> {
    let rel = prop_oneof![Just(RelKind::Reply), Just(RelKind::Edit), Just(RelKind::Delete), Just(RelKind::React)];
    (seq(), rel).prop_map(|(seq, rel)| RelatesTo { seq, rel })
}

fn attachment_ref() -> impl Strategy<Value = AttachmentRef> {
    (media_id(), option::of(any::<u32>()), option::of(vec(any::<u8>(), 0..130)))
        .prop_map(|(media_id, duration_ms, waveform)| AttachmentRef { media_id, duration_ms, waveform })
}

fn call_request() -> impl Strategy<Value = CallRequest> {
    let action = prop_oneof![
        Just(CallRequestAction::Invite),
        Just(CallRequestAction::Accept),
        Just(CallRequestAction::Decline),
        Just(CallRequestAction::Cancel),
    ];
    (action, option::of(call_id())).prop_map(|(action, call_id)| CallRequest { action, call_id })
}

fn send() -> impl Strategy<Value = ClientMsg> {
    (room_id(), client_msg_id(), body(), option::of(attachment_ref()), option::of(call_request()), option::of(relates_to()))
        .prop_map(|(room_id, client_msg_id, body, attachment, call, relates_to)| ClientMsg::Send {
            room_id,
            client_msg_id,
            body,
            attachment,
            call,
            relates_to,
        })
}

fn status() -> impl Strategy<Value = PresenceStatus> {
    prop_oneof![Just(PresenceStatus::Online), Just(PresenceStatus::Away), Just(PresenceStatus::Offline)]
}

fn match_code() -> impl Strategy<Value = MatchCode> {
    "[0-9]{4,8}".prop_map(|s| MatchCode::try_from(s).expect("generated a valid code"))
}

fn report_reason() -> impl Strategy<Value = ReportReason> {
    length(1, 1000)
        .prop_flat_map(|n| no_control(n, n, true))
        .prop_filter("not blank", |s| !s.trim().is_empty())
        .prop_map(|s| ReportReason::try_from(s).expect("generated a valid reason"))
}

/// The wave-2 moderation and matching requests.
fn moderation_msg() -> impl Strategy<Value = ClientMsg> {
    prop_oneof![
        room_id().prop_map(|room_id| ClientMsg::Reveal { room_id }),
        room_id().prop_map(|room_id| ClientMsg::EndMatch { room_id }),
        (option::of(user_id()), option::of(room_id())).prop_map(|(user_id, room_id)| ClientMsg::Block { user_id, room_id }),
        user_id().prop_map(|user_id| ClientMsg::Unblock { user_id }),
        (room_id(), option::of(seq()), report_reason())
            .prop_map(|(room_id, seq, reason)| ClientMsg::Report { room_id, seq, reason }),
        (room_id(), user_id()).prop_map(|(room_id, user_id)| ClientMsg::Kick { room_id, user_id }),
        (room_id(), user_id()).prop_map(|(room_id, user_id)| ClientMsg::Ban { room_id, user_id }),
        (room_id(), user_id()).prop_map(|(room_id, user_id)| ClientMsg::Unban { room_id, user_id }),
    ]
}

/// Every client message.
pub fn client_msg() -> impl Strategy<Value = ClientMsg> {
    prop_oneof![
        1 => (username(), password()).prop_map(|(username, password)| ClientMsg::Register { username, password }),
        1 => (text(), text()).prop_map(|(username, p)| ClientMsg::Login { username, password: Secret::new(p) }),
        1 => (text(), any::<bool>()).prop_map(|(token, presence)| ClientMsg::Resume { token: Secret::new(token), presence }),
        1 => any::<bool>().prop_map(|everywhere| ClientMsg::Logout { everywhere }),
        1 => room_name().prop_map(|name| ClientMsg::CreateRoom { name }),
        1 => (room_id(), option::of(seq())).prop_map(|(room_id, since)| ClientMsg::Join { room_id, since }),
        1 => room_id().prop_map(|room_id| ClientMsg::Leave { room_id }),
        1 => send(),
        1 => (room_id(), option::of(seq()), option::of(1..=100u32)).prop_map(|(room_id, before_seq, limit)| {
            let limit = limit.map(|n| PageLimit::try_from(n).expect("1-100 is a valid limit"));
            ClientMsg::History { room_id, before_seq, limit }
        }),
        1 => (room_id(), any::<bool>()).prop_map(|(room_id, active)| ClientMsg::Typing { room_id, active }),
        1 => (room_id(), seq()).prop_map(|(room_id, seq)| ClientMsg::Read { room_id, seq }),
        1 => (option::of(text()), list_limit()).prop_map(|(cursor, limit)| ClientMsg::ListRooms { cursor, limit }),
        1 => option::of(match_code()).prop_map(|code| ClientMsg::Match { code }),
        1 => Just(ClientMsg::CancelMatch),
        1 => Just(ClientMsg::Ping),
        1 => (room_id(), option::of(text()), list_limit())
            .prop_map(|(room_id, cursor, limit)| ClientMsg::Members { room_id, cursor, limit }),
        1 => status().prop_map(|status| ClientMsg::SetStatus { status }),
        8 => moderation_msg(),
    ]
}

fn user() -> impl Strategy<Value = User> {
    (user_id(), text()).prop_map(|(id, username)| User { id, username })
}

fn room() -> impl Strategy<Value = Room> {
    let kind = prop_oneof![Just(RoomKind::Group), Just(RoomKind::Pair)];
    (room_id(), text(), kind, option::of(user_id()), seq())
        .prop_map(|(id, name, kind, created_by, created_at)| Room { id, name, kind, created_by, created_at, ended: false })
}

fn attachment() -> impl Strategy<Value = Attachment> {
    let kind = prop_oneof![Just(AttachmentKind::Image), Just(AttachmentKind::Voice), Just(AttachmentKind::File)];
    let dims = (option::of(any::<u32>()), option::of(any::<u32>()), option::of(any::<u32>()));
    (media_id(), text(), text(), seq(), text(), kind, dims, option::of(vec(any::<u8>(), 0..4))).prop_map(
        |(media_id, name, mime, size, sha256, kind, (width, height, duration_ms), waveform)| Attachment {
            media_id,
            name,
            mime,
            size,
            sha256,
            kind,
            width,
            height,
            duration_ms,
            waveform,
        },
    )
}

fn call_info() -> impl Strategy<Value = CallInfo> {
    let action = prop_oneof![
        Just(CallAction::Invite),
        Just(CallAction::Accept),
        Just(CallAction::Decline),
        Just(CallAction::Cancel),
        Just(CallAction::Missed),
    ];
    (call_id(), action, option::of(text()), option::of(seq()))
        .prop_map(|(call_id, action, url, expires_at)| CallInfo { call_id, action, url, expires_at })
}

fn chat_message() -> impl Strategy<Value = ChatMessage> {
    let base = (room_id(), seq(), user(), text(), seq(), text());
    let extra = (
        option::of(attachment()),
        option::of(call_info()),
        option::of(relates_to()),
        vec(user_id(), 0..3),
        any::<bool>(),
    );
    (base, extra).prop_map(
        |((room_id, seq, sender, body, ts, client_msg_id), (attachment, call, relates_to, mentions, deleted))| {
            let (attachment, call) = (attachment.map(Box::new), call.map(Box::new));
            ChatMessage { room_id, seq, sender, body, ts, client_msg_id, attachment, call, relates_to, mentions, deleted }
        },
    )
}

fn member() -> impl Strategy<Value = Member> {
    (user(), any::<bool>(), option::of(status()), option::of(seq()))
        .prop_map(|(user, online, status, last_seen)| Member { user, online, status, last_seen })
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    proptest::sample::select(ErrorCode::ALL.to_vec())
}

fn joined() -> impl Strategy<Value = ServerMsg> {
    let reads = vec((user(), seq()).prop_map(|(user, seq)| ReadMarker { user, seq }), 0..3);
    (room(), vec(member(), 0..4), seq(), vec(chat_message(), 0..4), any::<bool>(), reads, option::of(text())).prop_map(
        |(room, members, last_seq, messages, has_more, reads, members_cursor)| ServerMsg::Joined {
            room,
            members,
            last_seq,
            messages,
            has_more,
            reads,
            members_cursor,
        },
    )
}

fn connection_established() -> impl Strategy<Value = ServerMsg> {
    (user(), text(), any::<[u8; 16]>(), seq(), text(), any::<u32>(), vec(user(), 0..3)).prop_map(
        |(user, token, session, heartbeat_secs, server_version, protocol, blocked)| ServerMsg::ConnectionEstablished {
            user,
            token,
            session_id: SessionId::from_bytes(session),
            heartbeat_secs,
            server_version,
            protocol,
            blocked,
        },
    )
}

fn leave_reason() -> impl Strategy<Value = Option<LeaveReason>> {
    option::of(prop_oneof![Just(LeaveReason::Kicked), Just(LeaveReason::Banned)])
}

fn presence() -> impl Strategy<Value = ServerMsg> {
    (user(), any::<bool>(), option::of(status()), option::of(seq()), option::of(room_id())).prop_map(
        |(user, online, status, last_seen, room_id)| ServerMsg::Presence { user, online, status, last_seen, room_id },
    )
}

/// The wave-2 server messages about matching and moderation.
fn moderation_event() -> impl Strategy<Value = ServerMsg> {
    prop_oneof![
        Just(ServerMsg::MatchExpired),
        room_id().prop_map(|room_id| ServerMsg::RevealPending { room_id }),
        (room_id(), user()).prop_map(|(room_id, peer)| ServerMsg::Revealed { room_id, peer }),
        (room_id(), user()).prop_map(|(room_id, by)| ServerMsg::MatchEnded { room_id, by }),
        user().prop_map(|user| ServerMsg::Blocked { user }),
        user().prop_map(|user| ServerMsg::Unblocked { user }),
        room_id().prop_map(|room_id| ServerMsg::Reported { room_id }),
        (room_id(), user()).prop_map(|(room_id, user)| ServerMsg::Kicked { room_id, user }),
        (room_id(), user()).prop_map(|(room_id, user)| ServerMsg::Banned { room_id, user }),
        (room_id(), user()).prop_map(|(room_id, user)| ServerMsg::Unbanned { room_id, user }),
    ]
}

/// Every server message.
pub fn server_msg() -> impl Strategy<Value = ServerMsg> {
    let summary = (room(), seq(), seq(), seq())
        .prop_map(|(room, last_seq, read_seq, mentions)| RoomSummary { room, last_seq, read_seq, mentions });
    prop_oneof![
        1 => connection_established(),
        1 => room().prop_map(|room| ServerMsg::RoomCreated { room }),
        1 => joined(),
        1 => room_id().prop_map(|room_id| ServerMsg::Left { room_id }),
        1 => (room_id(), user()).prop_map(|(room_id, user)| ServerMsg::UserJoined { room_id, user }),
        1 => (room_id(), user(), leave_reason())
            .prop_map(|(room_id, user, reason)| ServerMsg::UserLeft { room_id, user, reason }),
        1 => presence(),
        1 => chat_message().prop_map(ServerMsg::ChatMessage),
        1 => (room_id(), text(), seq(), seq(), option::of(call_info())).prop_map(|(room_id, client_msg_id, seq, ts, call)| {
            ServerMsg::Ack { room_id, client_msg_id, seq, ts, call }
        }),
        1 => (room_id(), vec(chat_message(), 0..4), any::<bool>())
            .prop_map(|(room_id, messages, has_more)| ServerMsg::History { room_id, messages, has_more }),
        1 => (room_id(), user(), any::<bool>()).prop_map(|(room_id, user, active)| ServerMsg::Typing { room_id, user, active }),
        1 => (room_id(), user(), seq()).prop_map(|(room_id, user, seq)| ServerMsg::ReadReceipt { room_id, user, seq }),
        1 => (vec(summary, 0..4), any::<bool>(), option::of(text()))
            .prop_map(|(rooms, has_more, cursor)| ServerMsg::Rooms { rooms, has_more, cursor }),
        1 => Just(ServerMsg::MatchWaiting),
        1 => Just(ServerMsg::MatchCancelled),
        1 => room().prop_map(|room| ServerMsg::Matched { room }),
        1 => Just(ServerMsg::Pong),
        1 => (error_code(), text(), option::of(seq()))
            .prop_map(|(code, message, retry_after_ms)| ServerMsg::Error { code, message, retry_after_ms }),
        1 => (room_id(), vec(member(), 0..3), any::<bool>(), option::of(text()))
            .prop_map(|(room_id, members, has_more, cursor)| ServerMsg::Members { room_id, members, has_more, cursor }),
        1 => (room_id(), seq(), seq())
            .prop_map(|(room_id, last_seq, mentions)| ServerMsg::RoomActivity { room_id, last_seq, mentions }),
        10 => moderation_event(),
    ]
}
