//! Server → client: one test per row of PROTOCOL.md's second table.

use super::*;

#[test]
fn connection_established() {
    let token = "0f".repeat(32);
    let msg = ServerMsg::ConnectionEstablished {
        user: alice(),
        token: token.clone(),
        session_id: SESSION_ID.parse::<SessionId>().unwrap(),
        heartbeat_secs: 30,
        server_version: "0.1.0".to_owned(),
        protocol: 1,
    };
    let literal = format!(
        r#"{{"type":"connection_established","user":{{"id":"{ALICE_ID}","username":"alice"}},
        "token":"{token}","session_id":"{SESSION_ID}","heartbeat_secs":30,"server_version":"0.1.0",
        "protocol":1,"ref":"login-1"}}"#
    );
    server_case(&literal, &msg, Some("login-1"));
}

#[test]
fn room_created() {
    let literal = format!(r#"{{"type":"room_created","room":{ROOM_JSON},"ref":"c1"}}"#);
    server_case(&literal, &ServerMsg::RoomCreated { room: group_room() }, Some("c1"));
}

#[test]
fn joined_with_reads_extension() {
    let msg = ServerMsg::Joined {
        room: group_room(),
        members: vec![Member { user: alice(), online: true }, Member { user: bob(), online: false }],
        last_seq: 2,
        messages: vec![message(1), message(2)],
        has_more: false,
        reads: vec![ReadMarker { user: bob(), seq: 1 }],
    };
    let literal = format!(
        r#"{{"type":"joined","room":{ROOM_JSON},
        "members":[{{"user":{{"id":"{ALICE_ID}","username":"alice"}},"online":true}},
                   {{"user":{{"id":"{BOB_ID}","username":"bob"}},"online":false}}],
        "last_seq":2,"messages":[{},{}],"has_more":false,
        "reads":[{{"user":{{"id":"{BOB_ID}","username":"bob"}},"seq":1}}]}}"#,
        message_json(1),
        message_json(2)
    );
    server_case(&literal, &msg, None);
}

#[test]
fn joined_without_reads_decodes_as_no_reads() {
    // A version-1 server that predates the `reads` extension.
    let literal =
        format!(r#"{{"type":"joined","room":{ROOM_JSON},"members":[],"last_seq":0,"messages":[],"has_more":false}}"#);
    let expected = ServerMsg::Joined {
        room: group_room(),
        members: vec![],
        last_seq: 0,
        messages: vec![],
        has_more: false,
        reads: vec![],
    };
    assert_eq!(decode_server(&literal).unwrap().msg, expected);
}

#[test]
fn left() {
    let literal = format!(r#"{{"type":"left","room_id":"{ROOM_ID}","ref":"bye"}}"#);
    server_case(&literal, &ServerMsg::Left { room_id: room_id() }, Some("bye"));
}

#[test]
fn user_joined() {
    let literal =
        format!(r#"{{"type":"user_joined","room_id":"{ROOM_ID}","user":{{"id":"{BOB_ID}","username":"bob"}}}}"#);
    server_case(&literal, &ServerMsg::UserJoined { room_id: room_id(), user: bob() }, None);
}

#[test]
fn user_left() {
    let literal =
        format!(r#"{{"type":"user_left","room_id":"{ROOM_ID}","user":{{"id":"{BOB_ID}","username":"bob"}}}}"#);
    server_case(&literal, &ServerMsg::UserLeft { room_id: room_id(), user: bob() }, None);
}

#[test]
fn presence() {
    let literal = format!(r#"{{"type":"presence","user":{{"id":"{BOB_ID}","username":"bob"}},"online":false}}"#);
    server_case(&literal, &ServerMsg::Presence { user: bob(), online: false }, None);
}

#[test]
fn chat_message() {
    let mut literal = parse(&message_json(3));
    literal["type"] = "chat_message".into();
    server_case(&literal.to_string(), &ServerMsg::ChatMessage(message(3)), None);
}

#[test]
fn ack() {
    let msg = ServerMsg::Ack { room_id: room_id(), client_msg_id: "c-3".to_owned(), seq: 3, ts: 1_700_000_001_003 };
    let literal = format!(
        r#"{{"type":"ack","room_id":"{ROOM_ID}","client_msg_id":"c-3","seq":3,"ts":1700000001003,"ref":"s3"}}"#
    );
    server_case(&literal, &msg, Some("s3"));
}

#[test]
fn history() {
    let msg = ServerMsg::History { room_id: room_id(), messages: vec![message(4), message(5)], has_more: true };
    let literal = format!(
        r#"{{"type":"history","room_id":"{ROOM_ID}","messages":[{},{}],"has_more":true,"ref":"h"}}"#,
        message_json(4),
        message_json(5)
    );
    server_case(&literal, &msg, Some("h"));
}

#[test]
fn typing() {
    let literal = format!(
        r#"{{"type":"typing","room_id":"{ROOM_ID}","user":{{"id":"{BOB_ID}","username":"bob"}},"active":true}}"#
    );
    server_case(&literal, &ServerMsg::Typing { room_id: room_id(), user: bob(), active: true }, None);
}

#[test]
fn read_receipt() {
    let literal = format!(
        r#"{{"type":"read_receipt","room_id":"{ROOM_ID}","user":{{"id":"{BOB_ID}","username":"bob"}},"seq":5}}"#
    );
    server_case(&literal, &ServerMsg::ReadReceipt { room_id: room_id(), user: bob(), seq: 5 }, None);
}

#[test]
fn rooms() {
    let msg = ServerMsg::Rooms { rooms: vec![RoomSummary { room: group_room(), last_seq: 5, read_seq: 3 }] };
    let literal =
        format!(r#"{{"type":"rooms","rooms":[{{"room":{ROOM_JSON},"last_seq":5,"read_seq":3}}],"ref":"lr"}}"#);
    server_case(&literal, &msg, Some("lr"));
}

#[test]
fn match_waiting() {
    server_case(r#"{"type":"match_waiting","ref":"m"}"#, &ServerMsg::MatchWaiting, Some("m"));
}

#[test]
fn match_cancelled() {
    server_case(r#"{"type":"match_cancelled"}"#, &ServerMsg::MatchCancelled, None);
}

#[test]
fn matched_pair_room() {
    let room = Room { name: "alice & bob".to_owned(), kind: RoomKind::Pair, ..group_room() };
    let literal = format!(
        r#"{{"type":"matched","room":{{"id":"{ROOM_ID}","name":"alice & bob","kind":"pair",
        "created_by":"{ALICE_ID}","created_at":1700000000123}}}}"#
    );
    server_case(&literal, &ServerMsg::Matched { room }, None);
}

#[test]
fn pong() {
    server_case(r#"{"type":"pong","ref":"p-1"}"#, &ServerMsg::Pong, Some("p-1"));
    server_case(r#"{"type":"pong"}"#, &ServerMsg::Pong, None);
}

#[test]
fn error() {
    let msg = ServerMsg::error(ErrorCode::NotFound, "no such room");
    server_case(r#"{"type":"error","code":"not_found","message":"no such room","ref":"j"}"#, &msg, Some("j"));
    server_case(r#"{"type":"error","code":"not_found","message":"no such room"}"#, &msg, None);
}

#[test]
fn error_rate_limited_with_retry_after_ms() {
    let msg = ServerMsg::rate_limited("too many messages", 250);
    let literal =
        r#"{"type":"error","code":"rate_limited","message":"too many messages","retry_after_ms":250,"ref":"s9"}"#;
    server_case(literal, &msg, Some("s9"));
}

#[test]
fn unknown_fields_from_a_newer_server_are_ignored() {
    let frame = decode_server(r#"{"type":"pong","ref":"p","added_in_v2":true}"#).unwrap();
    assert_eq!((frame.msg, frame.reference.as_deref()), (ServerMsg::Pong, Some("p")));
}
