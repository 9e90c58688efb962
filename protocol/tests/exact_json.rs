//! One exact-JSON test per message of docs/PROTOCOL.md, both directions, and
//! per object type. Each literal is written from the document's field lists;
//! the test checks that the crate encodes exactly that object (compared as
//! `serde_json::Value`, so key order does not matter) and decodes it back.

// A test that unwraps fails with the reason, which is what a test should do;
// the helpers below are not `#[test]` functions, so clippy needs telling.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use heartlink_protocol::{
    Attachment, AttachmentKind, AttachmentRef, Body, CallAction, CallInfo, CallRequest, CallRequestAction,
    ChatMessage, ClientMsg, ClientMsgId, ErrorCode, LeaveReason, Member, PROTOCOL_VERSION, Password, PresenceStatus,
    ReadMarker, RelKind, RelatesTo, Request, RequestRef, Room, RoomId, RoomKind, RoomName, RoomSummary, Secret,
    ServerMsg, SessionId, User, UserId, Username, decode_request, decode_server, encode_request, encode_server,
};
use serde_json::Value;

const ALICE_ID: &str = "0b7f3c52-6a1e-4d8e-9c4b-2f5a7e9d1c30";
const BOB_ID: &str = "5e2d8a14-3b9c-4f70-8e61-a4c2d9b7f013";
const ROOM_ID: &str = "9a4c6e21-7d3b-4a58-b2f9-c1e0d8f6a247";
const SESSION_ID: &str = "d3e5f7a9-1b2c-4d6e-8f0a-b2c4d6e8f0a1";

fn parse(literal: &str) -> Value {
    serde_json::from_str(literal).unwrap_or_else(|err| panic!("test literal is not JSON ({err}): {literal}"))
}

fn reference(text: Option<&str>) -> Option<RequestRef> {
    text.map(|text| RequestRef::try_from(text).unwrap())
}

/// `msg` (with `ref`) encodes to exactly `literal`, and `literal` decodes to `msg`.
fn server_case(literal: &str, msg: &ServerMsg, reply_to: Option<&str>) {
    let encoded = encode_server(msg, reference(reply_to).as_ref());
    assert_eq!(parse(&encoded), parse(literal), "encoding of {msg:?}");
    let frame = decode_server(literal).unwrap();
    assert_eq!(&frame.msg, msg, "decoding of {literal}");
    assert_eq!(frame.reference.as_deref(), reply_to, "ref of {literal}");
}

/// `msg` (with `ref`) encodes to exactly `literal`, and `literal` decodes to `msg`.
fn client_case(literal: &str, msg: ClientMsg, with_ref: Option<&str>) {
    let encoded = encode_request(&msg, reference(with_ref).as_ref());
    assert_eq!(parse(&encoded), parse(literal), "encoding of {msg:?}");
    let request = decode_request(literal).unwrap();
    assert_eq!(request, Request { msg, reference: reference(with_ref) }, "decoding of {literal}");
}

fn alice() -> User {
    User { id: ALICE_ID.parse().unwrap(), username: "alice".to_owned() }
}

fn bob() -> User {
    User { id: BOB_ID.parse().unwrap(), username: "bob".to_owned() }
}

fn room_id() -> RoomId {
    ROOM_ID.parse().unwrap()
}

fn group_room() -> Room {
    Room {
        id: room_id(),
        name: "general".to_owned(),
        kind: RoomKind::Group,
        created_by: Some(ALICE_ID.parse::<UserId>().unwrap()),
        created_at: 1_700_000_000_123,
        ended: false,
    }
}

const ROOM_JSON: &str = r#"{"id":"9a4c6e21-7d3b-4a58-b2f9-c1e0d8f6a247","name":"general","kind":"group",
    "created_by":"0b7f3c52-6a1e-4d8e-9c4b-2f5a7e9d1c30","created_at":1700000000123}"#;

fn message(seq: u64) -> ChatMessage {
    ChatMessage {
        room_id: room_id(),
        seq,
        sender: alice(),
        body: format!("hello {seq}\n\twith ❤️"),
        ts: 1_700_000_001_000 + seq,
        client_msg_id: format!("c-{seq}"),
        ..ChatMessage::default()
    }
}

fn message_json(seq: u64) -> String {
    format!(
        r#"{{"room_id":"{ROOM_ID}","seq":{seq},"sender":{{"id":"{ALICE_ID}","username":"alice"}},
        "body":"hello {seq}\n\twith ❤️","ts":{},"client_msg_id":"c-{seq}"}}"#,
        1_700_000_001_000 + seq
    )
}

mod objects {
    use super::*;

    fn object_case<T>(literal: &str, value: &T)
    where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        assert_eq!(serde_json::to_value(value).unwrap(), parse(literal));
        assert_eq!(&serde_json::from_str::<T>(literal).unwrap(), value);
    }

    #[test]
    fn user() {
        object_case(&format!(r#"{{"id":"{ALICE_ID}","username":"alice"}}"#), &alice());
    }

    #[test]
    fn room_group_and_pair() {
        object_case(ROOM_JSON, &group_room());
        // Since wave 2 a pair room is named after the peer's alias and has no creator.
        let pair = Room { name: "quiet-otter".to_owned(), kind: RoomKind::Pair, created_by: None, ..group_room() };
        let literal = format!(r#"{{"id":"{ROOM_ID}","name":"quiet-otter","kind":"pair","created_at":1700000000123}}"#);
        object_case(&literal, &pair);
        // Extension: an ended stranger chat says so; `ended` is absent while it is on.
        let ended = Room { ended: true, ..pair };
        let literal = format!(r#"{{"id":"{ROOM_ID}","name":"quiet-otter","kind":"pair","created_at":1700000000123,"ended":true}}"#);
        object_case(&literal, &ended);
    }

    #[test]
    fn member() {
        let literal = format!(r#"{{"user":{{"id":"{BOB_ID}","username":"bob"}},"online":true}}"#);
        object_case(&literal, &Member { user: bob(), online: true, ..Member::default() });
        let away = format!(r#"{{"user":{{"id":"{BOB_ID}","username":"bob"}},"online":true,"status":"away"}}"#);
        object_case(&away, &Member { user: bob(), online: true, status: Some(PresenceStatus::Away), last_seen: None });
        let gone = format!(
            r#"{{"user":{{"id":"{BOB_ID}","username":"bob"}},"online":false,"status":"offline","last_seen":1700000000999}}"#
        );
        let offline =
            Member { user: bob(), online: false, status: Some(PresenceStatus::Offline), last_seen: Some(1_700_000_000_999) };
        object_case(&gone, &offline);
    }

    #[test]
    fn chat_message_object() {
        object_case(&message_json(7), &message(7));
    }

    const MEDIA_ID: &str = "6f1d2c3b-4a59-4e68-8d7c-1b2a3c4d5e6f";
    const CALL_ID: &str = "7e2d3c4b-5a69-4f78-9e8d-2c3b4d5e6f70";

    #[test]
    fn chat_message_with_an_image_and_mentions() {
        let sha = "ab".repeat(32);
        let msg = ChatMessage {
            body: "look".to_owned(),
            attachment: Some(Box::new(Attachment {
                media_id: MEDIA_ID.parse().unwrap(),
                name: "cat.png".to_owned(),
                mime: "image/png".to_owned(),
                size: 2048,
                sha256: sha.clone(),
                kind: AttachmentKind::Image,
                width: Some(640),
                height: Some(480),
                duration_ms: None,
                waveform: None,
            })),
            mentions: vec![BOB_ID.parse().unwrap()],
            ..message(8)
        };
        let literal = format!(
            r#"{{"room_id":"{ROOM_ID}","seq":8,"sender":{{"id":"{ALICE_ID}","username":"alice"}},"body":"look",
            "ts":1700000001008,"client_msg_id":"c-8",
            "attachment":{{"media_id":"{MEDIA_ID}","name":"cat.png","mime":"image/png","size":2048,
            "sha256":"{sha}","kind":"image","width":640,"height":480}},"mentions":["{BOB_ID}"]}}"#
        );
        object_case(&literal, &msg);
    }

    #[test]
    fn chat_message_voice_call_relation_deleted() {
        let voice = Attachment {
            media_id: MEDIA_ID.parse().unwrap(),
            name: "note.ogg".to_owned(),
            mime: "audio/ogg".to_owned(),
            size: 9000,
            sha256: "cd".repeat(32),
            kind: AttachmentKind::Voice,
            width: None,
            height: None,
            duration_ms: Some(7000),
            waveform: Some(vec![0, 128, 255]),
        };
        let voice_json = format!(
            r#"{{"media_id":"{MEDIA_ID}","name":"note.ogg","mime":"audio/ogg","size":9000,"sha256":"{}",
            "kind":"voice","duration_ms":7000,"waveform":[0,128,255]}}"#,
            "cd".repeat(32)
        );
        object_case(&voice_json, &voice);

        let invite = CallInfo {
            call_id: CALL_ID.parse().unwrap(),
            action: CallAction::Invite,
            url: Some(format!("https://meet.jit.si/heartlink-{CALL_ID}")),
            expires_at: Some(1_700_000_060_000),
        };
        let invite_json = format!(
            r#"{{"call_id":"{CALL_ID}","action":"invite","url":"https://meet.jit.si/heartlink-{CALL_ID}",
            "expires_at":1700000060000}}"#
        );
        object_case(&invite_json, &invite);
        let missed = CallInfo { call_id: CALL_ID.parse().unwrap(), action: CallAction::Missed, url: None, expires_at: None };
        object_case(&format!(r#"{{"call_id":"{CALL_ID}","action":"missed"}}"#), &missed);

        let reply = ChatMessage { relates_to: Some(RelatesTo { seq: 3, rel: RelKind::Reply }), ..message(9) };
        let mut literal = parse(&message_json(9));
        literal["relates_to"] = parse(r#"{"seq":3,"rel":"reply"}"#);
        object_case(&literal.to_string(), &reply);

        let deleted = ChatMessage { body: String::new(), deleted: true, ..message(3) };
        let mut literal = parse(&message_json(3));
        literal["body"] = "".into();
        literal["deleted"] = true.into();
        object_case(&literal.to_string(), &deleted);
    }

    #[test]
    fn relation_kinds_and_leave_reasons_spell_as_documented() {
        for (rel, word) in [(RelKind::Reply, "reply"), (RelKind::Edit, "edit"), (RelKind::Delete, "delete"), (RelKind::React, "react")] {
            assert_eq!(serde_json::to_value(rel).unwrap(), word);
        }
        assert_eq!(serde_json::to_value(LeaveReason::Kicked).unwrap(), "kicked");
        assert_eq!(serde_json::to_value(LeaveReason::Banned).unwrap(), "banned");
        assert_eq!(serde_json::to_value(PresenceStatus::Away).unwrap(), "away");
        assert_eq!(serde_json::to_value(AttachmentKind::File).unwrap(), "file");
        assert_eq!(serde_json::to_value(CallRequestAction::Decline).unwrap(), "decline");
    }

    #[test]
    fn room_summary() {
        let literal = format!(r#"{{"room":{ROOM_JSON},"last_seq":12,"read_seq":0,"mentions":2}}"#);
        object_case(&literal, &RoomSummary { room: group_room(), last_seq: 12, read_seq: 0, mentions: 2 });
    }

    #[test]
    fn read_marker() {
        let literal = format!(r#"{{"user":{{"id":"{BOB_ID}","username":"bob"}},"seq":4}}"#);
        object_case(&literal, &ReadMarker { user: bob(), seq: 4 });
    }

    #[test]
    fn ids_are_lowercase_hyphenated_uuids() {
        let id: RoomId = ROOM_ID.to_uppercase().parse().unwrap();
        assert_eq!(serde_json::to_value(id).unwrap(), Value::String(ROOM_ID.to_owned()));
        assert_eq!(id.to_string(), ROOM_ID);
    }

    #[test]
    fn every_error_code_has_its_documented_spelling() {
        let documented = [
            "bad_request",
            "unauthorized",
            "forbidden",
            "not_found",
            "rate_limited",
            "too_large",
            "username_taken",
            "invalid_username",
            "weak_password",
            "bad_credentials",
            "registration_closed",
            "internal",
            // Wave 2 additions.
            "banned",
            "not_ready",
        ];
        let spelled: Vec<Value> = ErrorCode::ALL.iter().map(|code| serde_json::to_value(code).unwrap()).collect();
        let documented: Vec<Value> = documented.iter().map(|code| Value::String((*code).to_owned())).collect();
        assert_eq!(spelled, documented);
    }

    #[test]
    fn protocol_version_is_one() {
        assert_eq!(PROTOCOL_VERSION, 1);
    }
}

#[path = "exact_json/client_to_server.rs"]
mod client_to_server;
#[path = "exact_json/server_to_client.rs"]
mod server_to_client;
