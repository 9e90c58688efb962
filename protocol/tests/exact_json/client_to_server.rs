//! Client → server: one test per row of PROTOCOL.md's first table.

use super::*;

#[test]
fn register() {
    let msg = ClientMsg::Register {
        username: Username::try_from("alice").unwrap(),
        password: Password::try_from("correct horse").unwrap(),
    };
    client_case(r#"{"type":"register","username":"alice","password":"correct horse"}"#, msg, None);
}

#[test]
fn login() {
    let msg = ClientMsg::Login { username: "alice".to_owned(), password: Secret::new("correct horse") };
    client_case(r#"{"type":"login","username":"alice","password":"correct horse","ref":"l1"}"#, msg, Some("l1"));
}

#[test]
fn resume() {
    let token = "ab".repeat(32);
    let msg = ClientMsg::Resume { token: Secret::new(token.clone()), presence: true };
    client_case(&format!(r#"{{"type":"resume","token":"{token}"}}"#), msg, None);
    let script = ClientMsg::Resume { token: Secret::new(token.clone()), presence: false };
    client_case(&format!(r#"{{"type":"resume","token":"{token}","presence":false}}"#), script, None);
}

#[test]
fn logout() {
    client_case(r#"{"type":"logout"}"#, ClientMsg::Logout { everywhere: false }, None);
    client_case(r#"{"type":"logout","everywhere":true}"#, ClientMsg::Logout { everywhere: true }, None);
}

#[test]
fn create_room() {
    let msg = ClientMsg::CreateRoom { name: RoomName::try_from("general").unwrap() };
    client_case(r#"{"type":"create_room","name":"general","ref":"c1"}"#, msg, Some("c1"));
}

#[test]
fn join_without_and_with_since() {
    let plain = ClientMsg::Join { room_id: room_id(), since: None };
    client_case(&format!(r#"{{"type":"join","room_id":"{ROOM_ID}"}}"#), plain, None);
    let since = ClientMsg::Join { room_id: room_id(), since: Some(41) };
    client_case(&format!(r#"{{"type":"join","room_id":"{ROOM_ID}","since":41,"ref":"j"}}"#), since, Some("j"));
}

#[test]
fn leave() {
    client_case(&format!(r#"{{"type":"leave","room_id":"{ROOM_ID}"}}"#), ClientMsg::Leave { room_id: room_id() }, None);
}

#[test]
fn send() {
    let msg = ClientMsg::Send {
        room_id: room_id(),
        client_msg_id: ClientMsgId::try_from("c-1").unwrap(),
        body: Body::try_from("hi\nthere").unwrap(),
        attachment: None,
        call: None,
        relates_to: None,
    };
    let literal =
        format!(r#"{{"type":"send","room_id":"{ROOM_ID}","client_msg_id":"c-1","body":"hi\nthere","ref":"s1"}}"#);
    client_case(&literal, msg, Some("s1"));
}

#[test]
fn history_with_and_without_paging_fields() {
    let plain = ClientMsg::History { room_id: room_id(), before_seq: None, limit: None };
    client_case(&format!(r#"{{"type":"history","room_id":"{ROOM_ID}"}}"#), plain, None);
    let paged = ClientMsg::History { room_id: room_id(), before_seq: Some(51), limit: Some(20.try_into().unwrap()) };
    let literal = format!(r#"{{"type":"history","room_id":"{ROOM_ID}","before_seq":51,"limit":20}}"#);
    client_case(&literal, paged, None);
}

#[test]
fn typing() {
    let msg = ClientMsg::Typing { room_id: room_id(), active: true };
    client_case(&format!(r#"{{"type":"typing","room_id":"{ROOM_ID}","active":true}}"#), msg, None);
}

#[test]
fn read() {
    let msg = ClientMsg::Read { room_id: room_id(), seq: 9 };
    client_case(&format!(r#"{{"type":"read","room_id":"{ROOM_ID}","seq":9}}"#), msg, None);
}

#[test]
fn send_with_attachment_call_or_relation() {
    let id = ClientMsgId::try_from("c-2").unwrap();
    let media = "6f1d2c3b-4a59-4e68-8d7c-1b2a3c4d5e6f";
    let voice = ClientMsg::Send {
        room_id: room_id(),
        client_msg_id: id.clone(),
        body: Body::default(),
        attachment: Some(AttachmentRef { media_id: media.parse().unwrap(), duration_ms: Some(7000), waveform: Some(vec![1, 9]) }),
        call: None,
        relates_to: None,
    };
    let literal = format!(
        r#"{{"type":"send","room_id":"{ROOM_ID}","client_msg_id":"c-2","body":"",
        "attachment":{{"media_id":"{media}","duration_ms":7000,"waveform":[1,9]}}}}"#
    );
    client_case(&literal, voice, None);
    // `body` may be left out where it may be empty.
    let decoded = decode_request(&format!(
        r#"{{"type":"send","room_id":"{ROOM_ID}","client_msg_id":"c-2","call":{{"action":"invite"}}}}"#
    ))
    .unwrap();
    let invite = CallRequest { action: CallRequestAction::Invite, call_id: None };
    assert!(matches!(decoded.msg, ClientMsg::Send { call: Some(call), ref body, .. } if call == invite && body.is_empty()));
    let react = ClientMsg::Send {
        room_id: room_id(),
        client_msg_id: id,
        body: Body::try_from("👍").unwrap(),
        attachment: None,
        call: None,
        relates_to: Some(RelatesTo { seq: 4, rel: RelKind::React }),
    };
    let literal = format!(
        r#"{{"type":"send","room_id":"{ROOM_ID}","client_msg_id":"c-2","body":"👍","relates_to":{{"seq":4,"rel":"react"}}}}"#
    );
    client_case(&literal, react, None);
}

#[test]
fn list_rooms() {
    client_case(r#"{"type":"list_rooms","ref":"lr"}"#, ClientMsg::ListRooms { cursor: None, limit: None }, Some("lr"));
    let page = ClientMsg::ListRooms { cursor: Some("k1".to_owned()), limit: Some(50.try_into().unwrap()) };
    client_case(r#"{"type":"list_rooms","cursor":"k1","limit":50}"#, page, None);
}

#[test]
fn members() {
    let msg = ClientMsg::Members { room_id: room_id(), cursor: Some("m1".to_owned()), limit: None };
    client_case(&format!(r#"{{"type":"members","room_id":"{ROOM_ID}","cursor":"m1"}}"#), msg, None);
}

#[test]
fn set_status() {
    let msg = ClientMsg::SetStatus { status: PresenceStatus::Away };
    client_case(r#"{"type":"set_status","status":"away"}"#, msg, None);
}

#[test]
fn match_request() {
    client_case(r#"{"type":"match"}"#, ClientMsg::Match { code: None }, None);
    let coded = ClientMsg::Match { code: Some("4242".try_into().unwrap()) };
    client_case(r#"{"type":"match","code":"4242"}"#, coded, None);
    assert_eq!(decode_request(r#"{"type":"match","code":"42"}"#).unwrap_err().code, ErrorCode::BadRequest);
}

#[test]
fn reveal_end_match_block_unblock() {
    client_case(&format!(r#"{{"type":"reveal","room_id":"{ROOM_ID}"}}"#), ClientMsg::Reveal { room_id: room_id() }, None);
    client_case(
        &format!(r#"{{"type":"end_match","room_id":"{ROOM_ID}"}}"#),
        ClientMsg::EndMatch { room_id: room_id() },
        None,
    );
    let by_room = ClientMsg::Block { user_id: None, room_id: Some(room_id()) };
    client_case(&format!(r#"{{"type":"block","room_id":"{ROOM_ID}"}}"#), by_room, None);
    let by_user = ClientMsg::Block { user_id: Some(bob().id), room_id: None };
    client_case(&format!(r#"{{"type":"block","user_id":"{BOB_ID}"}}"#), by_user, None);
    client_case(&format!(r#"{{"type":"unblock","user_id":"{BOB_ID}"}}"#), ClientMsg::Unblock { user_id: bob().id }, None);
}

#[test]
fn report() {
    let msg = ClientMsg::Report { room_id: room_id(), seq: Some(7), reason: "insults".try_into().unwrap() };
    client_case(&format!(r#"{{"type":"report","room_id":"{ROOM_ID}","seq":7,"reason":"insults"}}"#), msg, None);
    let long = format!(r#"{{"type":"report","room_id":"{ROOM_ID}","reason":"{}"}}"#, "x".repeat(1001));
    assert_eq!(decode_request(&long).unwrap_err().code, ErrorCode::TooLarge);
}

#[test]
fn kick_ban_unban() {
    let cases = [
        ("kick", ClientMsg::Kick { room_id: room_id(), user_id: bob().id }),
        ("ban", ClientMsg::Ban { room_id: room_id(), user_id: bob().id }),
        ("unban", ClientMsg::Unban { room_id: room_id(), user_id: bob().id }),
    ];
    for (kind, msg) in cases {
        client_case(&format!(r#"{{"type":"{kind}","room_id":"{ROOM_ID}","user_id":"{BOB_ID}"}}"#), msg, None);
    }
}

#[test]
fn cancel_match() {
    client_case(r#"{"type":"cancel_match"}"#, ClientMsg::CancelMatch, None);
}

#[test]
fn ping() {
    client_case(r#"{"type":"ping","ref":"p-1"}"#, ClientMsg::Ping, Some("p-1"));
}

#[test]
fn unknown_fields_are_ignored() {
    let request = decode_request(r#"{"type":"ping","ref":"x","future":{"nested":[1,2]}}"#).unwrap();
    assert_eq!(request, Request { msg: ClientMsg::Ping, reference: reference(Some("x")) });
}

#[test]
fn ref_of_64_chars_is_kept_and_65_is_refused() {
    let ok = "r".repeat(64);
    let request = decode_request(&format!(r#"{{"type":"ping","ref":"{ok}"}}"#)).unwrap();
    assert_eq!(request.reference.unwrap().as_str(), ok);
    let refused = decode_request(&format!(r#"{{"type":"ping","ref":"{}"}}"#, "r".repeat(65))).unwrap_err();
    assert_eq!(refused.code, ErrorCode::BadRequest);
}

#[test]
fn bad_requests_keep_the_ref_for_the_error_reply() {
    for literal in [
        r#"{"type":"dance","ref":"q"}"#,
        r#"{"type":"send","room_id":"9a4c6e21-7d3b-4a58-b2f9-c1e0d8f6a247","body":"x","ref":"q"}"#,
        r#"{"type":"typing","room_id":"9a4c6e21-7d3b-4a58-b2f9-c1e0d8f6a247","active":"yes","ref":"q"}"#,
        r#"{"type":"join","room_id":"not-a-uuid","ref":"q"}"#,
        r#"{"type":"history","room_id":"9a4c6e21-7d3b-4a58-b2f9-c1e0d8f6a247","limit":0,"ref":"q"}"#,
    ] {
        let err = decode_request(literal).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadRequest, "{literal}");
        assert_eq!(err.reference.as_ref().map(RequestRef::as_str), Some("q"), "{literal}");
        let reply = parse(&encode_server(&err.to_reply(), err.reference.as_ref()));
        assert_eq!(
            (&reply["type"], &reply["code"], &reply["ref"]),
            (&"error".into(), &"bad_request".into(), &"q".into())
        );
    }
}
