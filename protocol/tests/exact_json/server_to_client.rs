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
        blocked: vec![bob()],
    };
    let literal = format!(
        r#"{{"type":"connection_established","user":{{"id":"{ALICE_ID}","username":"alice"}},
        "token":"{token}","session_id":"{SESSION_ID}","heartbeat_secs":30,"server_version":"0.1.0",
        "protocol":1,"blocked":[{{"id":"{BOB_ID}","username":"bob"}}],"ref":"login-1"}}"#
    );
    server_case(&literal, &msg, Some("login-1"));
    // A server before wave 2 sends no `blocked`.
    let old = format!(
        r#"{{"type":"connection_established","user":{{"id":"{ALICE_ID}","username":"alice"}},
        "token":"{token}","session_id":"{SESSION_ID}","heartbeat_secs":30,"server_version":"0.1.0","protocol":1}}"#
    );
    assert!(matches!(decode_server(&old).unwrap().msg, ServerMsg::ConnectionEstablished { blocked, .. } if blocked.is_empty()));
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
        members: vec![
            Member { user: alice(), online: true, ..Member::default() },
            Member { user: bob(), online: false, ..Member::default() },
        ],
        last_seq: 2,
        messages: vec![message(1), message(2)],
        has_more: false,
        reads: vec![ReadMarker { user: bob(), seq: 1 }],
        members_cursor: None,
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
        members_cursor: None,
    };
    assert_eq!(decode_server(&literal).unwrap().msg, expected);
}

#[test]
fn joined_with_more_members_than_listed() {
    let msg = ServerMsg::Joined {
        room: group_room(),
        members: vec![Member { user: alice(), online: true, ..Member::default() }],
        last_seq: 0,
        messages: vec![],
        has_more: false,
        reads: vec![],
        members_cursor: Some("c-100".to_owned()),
    };
    let literal = format!(
        r#"{{"type":"joined","room":{ROOM_JSON},"members":[{{"user":{{"id":"{ALICE_ID}","username":"alice"}},"online":true}}],
        "last_seq":0,"messages":[],"has_more":false,"reads":[],"members_cursor":"c-100"}}"#
    );
    server_case(&literal, &msg, None);
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
    server_case(&literal, &ServerMsg::UserLeft { room_id: room_id(), user: bob(), reason: None }, None);
    let kicked = format!(
        r#"{{"type":"user_left","room_id":"{ROOM_ID}","user":{{"id":"{BOB_ID}","username":"bob"}},"reason":"kicked"}}"#
    );
    let msg = ServerMsg::UserLeft { room_id: room_id(), user: bob(), reason: Some(LeaveReason::Kicked) };
    server_case(&kicked, &msg, None);
}

#[test]
fn presence() {
    let literal = format!(r#"{{"type":"presence","user":{{"id":"{BOB_ID}","username":"bob"}},"online":false}}"#);
    let plain = ServerMsg::Presence { user: bob(), online: false, status: None, last_seen: None, room_id: None };
    server_case(&literal, &plain, None);
    let literal = format!(
        r#"{{"type":"presence","user":{{"id":"{BOB_ID}","username":"bob"}},"online":false,"status":"offline",
        "last_seen":1700000000500,"room_id":"{ROOM_ID}"}}"#
    );
    let full = ServerMsg::Presence {
        user: bob(),
        online: false,
        status: Some(PresenceStatus::Offline),
        last_seen: Some(1_700_000_000_500),
        room_id: Some(room_id()),
    };
    server_case(&literal, &full, None);
}

#[test]
fn chat_message() {
    let mut literal = parse(&message_json(3));
    literal["type"] = "chat_message".into();
    server_case(&literal.to_string(), &ServerMsg::ChatMessage(message(3)), None);
}

#[test]
fn ack() {
    let msg =
        ServerMsg::Ack { room_id: room_id(), client_msg_id: "c-3".to_owned(), seq: 3, ts: 1_700_000_001_003, call: None };
    let literal = format!(
        r#"{{"type":"ack","room_id":"{ROOM_ID}","client_msg_id":"c-3","seq":3,"ts":1700000001003,"ref":"s3"}}"#
    );
    server_case(&literal, &msg, Some("s3"));
}

#[test]
fn ack_of_a_call_invitation() {
    let call_id = "7e2d3c4b-5a69-4f78-9e8d-2c3b4d5e6f70";
    let call = CallInfo {
        call_id: call_id.parse().unwrap(),
        action: CallAction::Invite,
        url: Some(format!("https://meet.example/{call_id}")),
        expires_at: Some(1_700_000_061_000),
    };
    let msg = ServerMsg::Ack { room_id: room_id(), client_msg_id: "c-4".to_owned(), seq: 4, ts: 1, call: Some(call) };
    let literal = format!(
        r#"{{"type":"ack","room_id":"{ROOM_ID}","client_msg_id":"c-4","seq":4,"ts":1,
        "call":{{"call_id":"{call_id}","action":"invite","url":"https://meet.example/{call_id}","expires_at":1700000061000}}}}"#
    );
    server_case(&literal, &msg, None);
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
    let rooms = vec![RoomSummary { room: group_room(), last_seq: 5, read_seq: 3, mentions: 1 }];
    let msg = ServerMsg::Rooms { rooms: rooms.clone(), has_more: false, cursor: None };
    let literal = format!(
        r#"{{"type":"rooms","rooms":[{{"room":{ROOM_JSON},"last_seq":5,"read_seq":3,"mentions":1}}],"ref":"lr"}}"#
    );
    server_case(&literal, &msg, Some("lr"));
    let page = ServerMsg::Rooms { rooms, has_more: true, cursor: Some("k2".to_owned()) };
    let literal = format!(
        r#"{{"type":"rooms","rooms":[{{"room":{ROOM_JSON},"last_seq":5,"read_seq":3,"mentions":1}}],
        "has_more":true,"cursor":"k2"}}"#
    );
    server_case(&literal, &page, None);
}

#[test]
fn members_page() {
    let msg = ServerMsg::Members {
        room_id: room_id(),
        members: vec![Member { user: bob(), online: true, status: Some(PresenceStatus::Online), last_seen: None }],
        has_more: true,
        cursor: Some("m2".to_owned()),
    };
    let literal = format!(
        r#"{{"type":"members","room_id":"{ROOM_ID}","members":[{{"user":{{"id":"{BOB_ID}","username":"bob"}},
        "online":true,"status":"online"}}],"has_more":true,"cursor":"m2"}}"#
    );
    server_case(&literal, &msg, None);
}

#[test]
fn room_activity() {
    let literal = format!(r#"{{"type":"room_activity","room_id":"{ROOM_ID}","last_seq":40,"mentions":1}}"#);
    server_case(&literal, &ServerMsg::RoomActivity { room_id: room_id(), last_seq: 40, mentions: 1 }, None);
}

#[test]
fn matching_events() {
    server_case(r#"{"type":"match_expired"}"#, &ServerMsg::MatchExpired, None);
    let user = format!(r#"{{"id":"{BOB_ID}","username":"bob"}}"#);
    let cases = [
        (format!(r#"{{"type":"reveal_pending","room_id":"{ROOM_ID}"}}"#), ServerMsg::RevealPending { room_id: room_id() }),
        (
            format!(r#"{{"type":"revealed","room_id":"{ROOM_ID}","peer":{user}}}"#),
            ServerMsg::Revealed { room_id: room_id(), peer: bob() },
        ),
        (
            format!(r#"{{"type":"match_ended","room_id":"{ROOM_ID}","by":{user}}}"#),
            ServerMsg::MatchEnded { room_id: room_id(), by: bob() },
        ),
        (format!(r#"{{"type":"blocked","user":{user}}}"#), ServerMsg::Blocked { user: bob() }),
        (format!(r#"{{"type":"unblocked","user":{user}}}"#), ServerMsg::Unblocked { user: bob() }),
        (format!(r#"{{"type":"reported","room_id":"{ROOM_ID}"}}"#), ServerMsg::Reported { room_id: room_id() }),
    ];
    for (literal, msg) in cases {
        server_case(&literal, &msg, None);
    }
}

#[test]
fn moderation_replies() {
    let user = format!(r#"{{"id":"{BOB_ID}","username":"bob"}}"#);
    let cases = [
        ("kicked", ServerMsg::Kicked { room_id: room_id(), user: bob() }),
        ("banned", ServerMsg::Banned { room_id: room_id(), user: bob() }),
        ("unbanned", ServerMsg::Unbanned { room_id: room_id(), user: bob() }),
    ];
    for (kind, msg) in cases {
        server_case(&format!(r#"{{"type":"{kind}","room_id":"{ROOM_ID}","user":{user},"ref":"k"}}"#), &msg, Some("k"));
    }
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
    let room = Room { name: "quiet-otter".to_owned(), kind: RoomKind::Pair, created_by: None, ..group_room() };
    let literal = format!(
        r#"{{"type":"matched","room":{{"id":"{ROOM_ID}","name":"quiet-otter","kind":"pair","created_at":1700000000123}}}}"#
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
    let banned = ServerMsg::error(ErrorCode::Banned, "this account is banned");
    server_case(r#"{"type":"error","code":"banned","message":"this account is banned"}"#, &banned, None);
    let not_ready = ServerMsg::error(ErrorCode::NotReady, "upload not complete");
    server_case(r#"{"type":"error","code":"not_ready","message":"upload not complete"}"#, &not_ready, None);
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
