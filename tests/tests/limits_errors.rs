//! Bad input after authentication and the limits of PROTOCOL.md ("Transport",
//! "Limits", "Errors", "Close codes", "Decisions: Limits and abuse").

use heartlink_tests::{TestServer, WsClient};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

async fn alice_in_a_room(server: &TestServer) -> (WsClient, Value, Value) {
    let (mut alice, established) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("general").await;
    alice.join(&room["id"]).await;
    (alice, established, room["id"].clone())
}

#[tokio::test]
async fn bad_frames_get_bad_request_and_the_connection_stays_open() {
    let server = TestServer::start(&[]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let room_id = uuid::Uuid::new_v4().to_string();
    for text in ["{not json", "[1,2]", "\"ping\"", "{}", r#"{"type":5}"#, r#"{"type":"ping","ref":7}"#] {
        alice.send_raw(Message::text(text)).await;
        let error = alice.recv_type("error").await;
        assert_eq!(error["code"], "bad_request", "{text} got {error}");
    }
    let with_ref = [
        json!({"type": "dance", "ref": "unknown"}),
        json!({"type": "create_room", "ref": "missing"}),
        json!({"type": "typing", "room_id": room_id, "active": "yes", "ref": "ill-typed"}),
        json!({"type": "read", "room_id": room_id, "seq": -1, "ref": "negative"}),
        json!({"type": "join", "room_id": "general", "ref": "not-a-uuid"}),
    ];
    for request in with_ref {
        let error = alice.expect_error(request.clone(), "bad_request").await;
        assert_eq!(error["ref"], request["ref"], "the error carries the request's ref");
    }
    alice.send(json!({"type": "ping", "ref": "r".repeat(65)})).await;
    assert_eq!(alice.recv_type("error").await["code"], "bad_request", "a ref over 64 chars");
    // Unknown fields are ignored; the connection still works.
    let pong = alice.request(json!({"type": "ping", "ref": "ok", "future_field": {"x": 1}}), "pong").await;
    assert_eq!(pong, json!({"type": "pong", "ref": "ok"}));
}

#[tokio::test]
async fn a_binary_frame_gets_bad_request_and_the_connection_stays_open() {
    let server = TestServer::start(&[]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    alice.send_raw(Message::binary(b"{\"type\":\"ping\"}".to_vec())).await;
    assert_eq!(alice.recv_type("error").await["code"], "bad_request");
    alice.request(json!({"type": "ping"}), "pong").await;
}

#[tokio::test]
async fn a_frame_over_64_kib_closes_with_1009() {
    let server = TestServer::start(&[]);
    let (mut alice, _, room_id) = alice_in_a_room(&server).await;
    // Within the limit: a 4000-character body of 4-byte characters is 16 KB.
    alice.post(&room_id, "big", &"😀".repeat(4000)).await;
    let huge = json!({"type": "send", "room_id": room_id, "client_msg_id": "huge", "body": "x".repeat(70 * 1024)});
    alice.send(huge).await;
    let (closed, frames) = alice.expect_close().await;
    assert_eq!(closed.code, 1009, "got {closed:?} after {frames:?}");
    assert!(!closed.reason.is_empty(), "a close carries a reason");
}

#[tokio::test]
async fn a_text_frame_that_is_not_utf8_closes_with_1007() {
    let server = TestServer::start(&[]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let invalid = Frame::message(b"{\"type\":\"ping\",\"x\":\"\xff\xfe\"}".to_vec(), OpCode::Data(Data::Text), true);
    alice.send_raw(Message::Frame(invalid)).await;
    let (closed, frames) = alice.expect_close().await;
    assert_eq!(closed.code, 1007, "got {closed:?} after {frames:?}");
    assert!(!closed.reason.is_empty(), "a close carries a reason");
}

#[tokio::test]
async fn sends_are_limited_per_user_with_retry_after_ms() {
    // 2 sends per second per user, burst 4.
    let server = TestServer::start(&["--send-rate", "2"]);
    let (mut alice, established, room_id) = alice_in_a_room(&server).await;
    for n in 1..=5 {
        let id = format!("m{n}");
        alice.send(json!({"type": "send", "room_id": room_id, "client_msg_id": id, "body": id, "ref": id})).await;
    }
    let mut frames = Vec::new();
    while frames.iter().filter(|f: &&Value| f["type"] != "chat_message").count() < 5 {
        frames.push(alice.recv().await);
    }
    let acks: Vec<&Value> = frames.iter().filter(|f| f["type"] == "ack").collect();
    let errors: Vec<&Value> = frames.iter().filter(|f| f["type"] == "error").collect();
    assert_eq!(acks.len(), 4, "the burst is 2N = 4: {frames:?}");
    assert_eq!(errors.len(), 1, "{frames:?}");
    let error = errors[0];
    assert_eq!((&error["code"], &error["ref"]), (&json!("rate_limited"), &json!("m5")), "{error}");
    let retry = error["retry_after_ms"].as_u64().expect("retry_after_ms");
    assert!((1..=500).contains(&retry), "one send refills in 500 ms; retry_after_ms {retry}");

    // The limit is the user's, over all of their connections.
    let (mut phone, _) = WsClient::resume(&server.url, established["token"].as_str().expect("token")).await;
    phone.join(&room_id).await;
    let refused = json!({"type": "send", "room_id": room_id, "client_msg_id": "p1", "body": "from the phone"});
    phone.expect_error(refused, "rate_limited").await;

    // The refused sends were not performed; after the wait, sending works again.
    tokio::time::sleep(Duration::from_millis(retry)).await;
    alice.sync().await;
    assert_eq!(alice.post(&room_id, "m5", "m5").await["seq"], 5);
    let history = alice.request(json!({"type": "history", "room_id": room_id}), "history").await;
    let ids: Vec<&Value> =
        history["messages"].as_array().expect("messages").iter().map(|m| &m["client_msg_id"]).collect();
    assert_eq!(ids, [&json!("m1"), &json!("m2"), &json!("m3"), &json!("m4"), &json!("m5")]);
}

#[tokio::test]
async fn requests_are_limited_per_connection() {
    let server = TestServer::start(&[]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    for n in 0..150 {
        alice.send(json!({"type": "ping", "ref": format!("p{n}")})).await;
    }
    let mut pongs = 0;
    let mut limited = 0;
    for n in 0..150 {
        let frame = alice.recv().await;
        assert_eq!(frame["ref"], format!("p{n}"), "replies come in request order");
        match frame["type"].as_str() {
            Some("pong") => pongs += 1,
            Some("error") => {
                assert_eq!(frame["code"], "rate_limited", "{frame}");
                assert!(frame["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0), "{frame}");
                limited += 1;
            }
            _ => panic!("unexpected {frame}"),
        }
    }
    assert!((100..=140).contains(&pongs), "burst 100 at 50/s: {pongs} pongs, {limited} refused");
    assert!(limited >= 10, "{limited} refused");
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_two_heartbeats() {
    let server = TestServer::start(&["--heartbeat-secs", "1"]);
    let (mut alive, established) = WsClient::register(&server.url, "alice").await;
    assert_eq!(established["heartbeat_secs"], 1);
    let (mut silent, _) = WsClient::register(&server.url, "bob").await;
    let started = Instant::now();
    // The silent client reads nothing, so it answers no Ping; the live one
    // keeps reading (its library answers the Pings) for the same time.
    alive.expect_silence(Duration::from_millis(3500)).await;
    alive.request(json!({"type": "ping"}), "pong").await;
    let (closed, frames) = silent.expect_close().await;
    assert_eq!((closed.code, closed.reason.as_str()), (1001, "heartbeat timeout"), "after {frames:?}");
    assert!(started.elapsed() < Duration::from_secs(8));
}
