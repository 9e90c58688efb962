//! Property tests: every `ClientMsg` and `ServerMsg` variant, with any valid
//! field values and any `ref`, survives encode → decode unchanged, and its
//! JSON carries the right `type`. The exact-JSON tests pin the shape of one
//! example per message; these cover the values nobody thought to write down
//! (escapes, astral characters, u64 extremes, empty lists, boundary lengths).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// A subdirectory, so cargo does not build it as a test target of its own.
#[path = "roundtrip/strategies.rs"]
mod strategies;

use heartlink_protocol::{ClientMsg, ServerMsg, decode_request, decode_server, encode_request, encode_server};
use proptest::prelude::*;
use serde_json::Value;
use strategies::{client_msg, request_ref, server_msg};

/// Which variant a message is. No wildcard arm: a new variant does not
/// compile until it is listed here, and `every_variant_is_generated` then
/// fails until the strategies generate it.
fn client_variant(msg: &ClientMsg) -> usize {
    match msg {
        ClientMsg::Register { .. } => 0,
        ClientMsg::Login { .. } => 1,
        ClientMsg::Resume { .. } => 2,
        ClientMsg::Logout { .. } => 3,
        ClientMsg::CreateRoom { .. } => 4,
        ClientMsg::Join { .. } => 5,
        ClientMsg::Leave { .. } => 6,
        ClientMsg::Send { .. } => 7,
        ClientMsg::History { .. } => 8,
        ClientMsg::Typing { .. } => 9,
        ClientMsg::Read { .. } => 10,
        ClientMsg::ListRooms { .. } => 11,
        ClientMsg::Match { .. } => 12,
        ClientMsg::CancelMatch => 13,
        ClientMsg::Ping => 14,
        ClientMsg::Members { .. } => 15,
        ClientMsg::SetStatus { .. } => 16,
        ClientMsg::Reveal { .. } => 17,
        ClientMsg::EndMatch { .. } => 18,
        ClientMsg::Block { .. } => 19,
        ClientMsg::Unblock { .. } => 20,
        ClientMsg::Report { .. } => 21,
        ClientMsg::Kick { .. } => 22,
        ClientMsg::Ban { .. } => 23,
        ClientMsg::Unban { .. } => 24,
    }
}
/// The wire `type` of each client variant, in [`client_variant`] order, as PROTOCOL.md spells them.
const CLIENT_TYPES: [&str; 25] = [
    "register", "login", "resume", "logout", "create_room", "join", "leave", "send", "history", "typing", "read",
    "list_rooms", "match", "cancel_match", "ping", "members", "set_status", "reveal", "end_match", "block", "unblock",
    "report", "kick", "ban", "unban",
];
const CLIENT_VARIANTS: usize = CLIENT_TYPES.len();

/// As [`client_variant`], for the other direction.
fn server_variant(msg: &ServerMsg) -> usize {
    match msg {
        ServerMsg::ConnectionEstablished { .. } => 0,
        ServerMsg::RoomCreated { .. } => 1,
        ServerMsg::Joined { .. } => 2,
        ServerMsg::Left { .. } => 3,
        ServerMsg::UserJoined { .. } => 4,
        ServerMsg::UserLeft { .. } => 5,
        ServerMsg::Presence { .. } => 6,
        ServerMsg::ChatMessage(_) => 7,
        ServerMsg::Ack { .. } => 8,
        ServerMsg::History { .. } => 9,
        ServerMsg::Typing { .. } => 10,
        ServerMsg::ReadReceipt { .. } => 11,
        ServerMsg::Rooms { .. } => 12,
        ServerMsg::MatchWaiting => 13,
        ServerMsg::MatchCancelled => 14,
        ServerMsg::Matched { .. } => 15,
        ServerMsg::Pong => 16,
        ServerMsg::Error { .. } => 17,
        ServerMsg::Members { .. } => 18,
        ServerMsg::RoomActivity { .. } => 19,
        ServerMsg::MatchExpired => 20,
        ServerMsg::RevealPending { .. } => 21,
        ServerMsg::Revealed { .. } => 22,
        ServerMsg::MatchEnded { .. } => 23,
        ServerMsg::Blocked { .. } => 24,
        ServerMsg::Unblocked { .. } => 25,
        ServerMsg::Reported { .. } => 26,
        ServerMsg::Kicked { .. } => 27,
        ServerMsg::Banned { .. } => 28,
        ServerMsg::Unbanned { .. } => 29,
    }
}
/// The wire `type` of each server variant, in [`server_variant`] order.
const SERVER_TYPES: [&str; 30] = [
    "connection_established", "room_created", "joined", "left", "user_joined", "user_left", "presence",
    "chat_message", "ack", "history", "typing", "read_receipt", "rooms", "match_waiting", "match_cancelled",
    "matched", "pong", "error", "members", "room_activity", "match_expired", "reveal_pending", "revealed",
    "match_ended", "blocked", "unblocked", "reported", "kicked", "banned", "unbanned",
];
const SERVER_VARIANTS: usize = SERVER_TYPES.len();

fn wire_type(text: &str) -> String {
    let value: Value = serde_json::from_str(text).expect("encoder wrote JSON");
    value["type"].as_str().expect("encoder wrote a string `type`").to_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn client_messages_round_trip(msg in client_msg(), reference in proptest::option::of(request_ref())) {
        let text = encode_request(&msg, reference.as_ref());
        prop_assert_eq!(wire_type(&text), CLIENT_TYPES[client_variant(&msg)]);
        let request = decode_request(&text).map_err(|err| TestCaseError::fail(format!("{err} for {text}")))?;
        prop_assert_eq!(&request.msg, &msg);
        prop_assert_eq!(request.reference, reference);
    }

    #[test]
    fn client_messages_ignore_unknown_fields(msg in client_msg(), extra in any::<i64>()) {
        // PROTOCOL.md: unknown fields are ignored (new optional fields stay compatible).
        let mut value: Value = serde_json::from_str(&encode_request(&msg, None)).unwrap();
        value["x_future_field"] = Value::from(extra);
        let request = decode_request(&value.to_string()).map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert_eq!(request.msg, msg);
    }

    #[test]
    fn server_messages_round_trip(msg in server_msg(), reference in proptest::option::of(request_ref())) {
        let text = encode_server(&msg, reference.as_ref());
        // `encode_server` answers `internal` instead of failing; that must never
        // be what a real message turns into.
        prop_assert!(!text.contains("the server could not encode its reply"), "{}", text);
        let frame = decode_server(&text).map_err(|err| TestCaseError::fail(format!("{err} for {text}")))?;
        prop_assert_eq!(&frame.msg, &msg);
        prop_assert_eq!(frame.reference.as_deref(), reference.as_ref().map(|r| r.as_str()));
        prop_assert_eq!(wire_type(&text), SERVER_TYPES[server_variant(&msg)]);
    }
}

/// The strategies reach every variant; without this the round trips could
/// silently skip a message.
#[test]
fn every_variant_is_generated() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (client, server) = (client_msg(), server_msg());
    let (mut seen_client, mut seen_server) = ([false; CLIENT_VARIANTS], [false; SERVER_VARIANTS]);
    // 1000 draws over 25-30 equally weighted arms: a missed variant is a
    // strategy bug, not bad luck (the deterministic runner makes it repeatable).
    for _ in 0..1000 {
        seen_client[client_variant(&client.new_tree(&mut runner).unwrap().current())] = true;
        seen_server[server_variant(&server.new_tree(&mut runner).unwrap().current())] = true;
    }
    let missing_client: Vec<usize> = (0..CLIENT_VARIANTS).filter(|i| !seen_client[*i]).collect();
    let missing_server: Vec<usize> = (0..SERVER_VARIANTS).filter(|i| !seen_server[*i]).collect();
    assert!(missing_client.is_empty(), "client variants never generated: {missing_client:?}");
    assert!(missing_server.is_empty(), "server variants never generated: {missing_server:?}");
}
