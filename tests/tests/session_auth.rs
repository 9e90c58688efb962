//! Session: register, login, resume, logout, the first-frame rules and the
//! login throttle (PROTOCOL.md "Session", "Decisions: Connecting and
//! authenticating").

use heartlink_tests::{PASSWORD, TestServer, WsClient};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn is_uuid(value: &Value) -> bool {
    value.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok_and(|id| id.hyphenated().to_string() == s))
}

fn is_token(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.len() == 64 && s.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)))
}

#[tokio::test]
async fn register_answers_connection_established_with_every_documented_field() {
    let server = TestServer::start(&["--heartbeat-secs", "7"]);
    let mut client = WsClient::connect(&server.url).await;
    let request = json!({"type": "register", "username": "Alice", "password": PASSWORD, "ref": "reg-1"});
    let established = client.request(request, "connection_established").await;
    assert_eq!(established["ref"], "reg-1");
    assert_eq!(established["user"]["username"], "Alice", "the username keeps its case for display");
    assert!(is_uuid(&established["user"]["id"]), "{established}");
    assert!(is_token(&established["token"]), "token must be 64 lowercase hex: {established}");
    assert!(is_uuid(&established["session_id"]), "{established}");
    assert_eq!(established["heartbeat_secs"], 7);
    assert!(established["server_version"].as_str().is_some_and(|v| !v.is_empty()), "{established}");
    assert_eq!(established["protocol"], 1);
    assert_eq!(client.request(json!({"type": "ping", "ref": "p"}), "pong").await, json!({"type": "pong", "ref": "p"}));
}

#[tokio::test]
async fn register_refusals_keep_the_connection_open() {
    let server = TestServer::start(&[]);
    let (_alice, _) = WsClient::register(&server.url, "alice").await;
    let mut client = WsClient::connect(&server.url).await;
    let taken = client
        .expect_error(
            json!({"type": "register", "username": "ALICE", "password": PASSWORD, "ref": "t"}),
            "username_taken",
        )
        .await;
    assert_eq!(taken["ref"], "t");
    for bad in ["ab", "has space", "bang!", "héllo", &"x".repeat(33)] {
        client
            .expect_error(json!({"type": "register", "username": bad, "password": PASSWORD}), "invalid_username")
            .await;
    }
    for weak in ["1234567".to_owned(), "x".repeat(1025)] {
        client.expect_error(json!({"type": "register", "username": "bob", "password": weak}), "weak_password").await;
    }
    client.expect_error(json!({"type": "register", "username": "bob"}), "bad_request").await;
    let long_ok = json!({"type": "register", "username": "b_o.b-32", "password": "x".repeat(1024)});
    let established = client.request(long_ok, "connection_established").await;
    assert_eq!(established["user"]["username"], "b_o.b-32");
}

#[tokio::test]
async fn registration_closed_refuses_new_accounts() {
    let server = TestServer::start(&["--registration", "closed"]);
    let mut client = WsClient::connect(&server.url).await;
    let request = json!({"type": "register", "username": "alice", "password": PASSWORD, "ref": "r"});
    let error = client.expect_error(request, "registration_closed").await;
    assert_eq!(error["ref"], "r");
}

#[tokio::test]
async fn login_succeeds_and_every_failure_looks_the_same() {
    let server = TestServer::start(&[]);
    let (_alice, registered) = WsClient::register(&server.url, "alice").await;
    let mut client = WsClient::connect(&server.url).await;
    let attempts = [("alice", "wrong-password"), ("nobody", PASSWORD), ("no such user!", PASSWORD)];
    let mut messages = Vec::new();
    for (username, password) in attempts {
        let request = json!({"type": "login", "username": username, "password": password, "ref": "l"});
        let error = client.expect_error(request, "bad_credentials").await;
        assert_eq!(error["ref"], "l");
        messages.push(error["message"].clone());
    }
    assert!(
        messages.windows(2).all(|pair| pair[0] == pair[1]),
        "the replies must not tell accounts apart: {messages:?}"
    );
    let established = client
        .request(json!({"type": "login", "username": "alice", "password": PASSWORD}), "connection_established")
        .await;
    assert_eq!(established["user"], registered["user"]);
    assert_ne!(established["token"], registered["token"], "a login issues a new token");
    assert_ne!(established["session_id"], registered["session_id"]);
}

#[tokio::test]
async fn failed_logins_are_throttled_per_username_even_for_the_right_password() {
    let server = TestServer::start(&[]);
    let (_alice, _) = WsClient::register(&server.url, "alice").await;
    let (_bob, _) = WsClient::register(&server.url, "bob").await;
    let mut client = WsClient::connect(&server.url).await;
    let wrong = json!({"type": "login", "username": "alice", "password": "wrong-password"});
    for _ in 0..5 {
        client.expect_error(wrong.clone(), "bad_credentials").await;
    }
    let right = json!({"type": "login", "username": "alice", "password": PASSWORD, "ref": "sixth"});
    let limited = client.expect_error(right, "rate_limited").await;
    assert_eq!(limited["ref"], "sixth");
    let retry = limited["retry_after_ms"].as_u64().expect("rate_limited carries retry_after_ms");
    assert!((1..=60_000).contains(&retry), "retry_after_ms {retry} should be within the minute");
    client.expect_error(wrong, "rate_limited").await;
    // Another username is not affected, on the same connection.
    client.request(json!({"type": "login", "username": "bob", "password": PASSWORD}), "connection_established").await;
}

#[tokio::test]
async fn the_throttle_is_per_address_so_a_guesser_cannot_lock_the_user_out() {
    let server = TestServer::start(&[]);
    let (_alice, _) = WsClient::register(&server.url, "alice").await;
    let elsewhere = std::net::IpAddr::from([127, 0, 0, 2]);
    for username in ["alice", "nobody"] {
        // A connection per username: one connection has at most ten attempts.
        let mut guesser = WsClient::connect_from(&server.url, elsewhere).await;
        let wrong = json!({"type": "login", "username": username, "password": "wrong-password"});
        for _ in 0..5 {
            guesser.expect_error(wrong.clone(), "bad_credentials").await;
        }
        let limited = guesser.expect_error(wrong, "rate_limited").await;
        assert!(limited["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0), "{limited}");
    }
    // Alice, from her own address, is not locked out.
    WsClient::login(&server.url, "alice", PASSWORD).await;
}

#[tokio::test]
async fn a_successful_login_clears_the_failure_count() {
    let server = TestServer::start(&[]);
    let (_alice, _) = WsClient::register(&server.url, "alice").await;
    let wrong = json!({"type": "login", "username": "alice", "password": "wrong-password"});
    let mut client = WsClient::connect(&server.url).await;
    for _ in 0..4 {
        client.expect_error(wrong.clone(), "bad_credentials").await;
    }
    WsClient::login(&server.url, "alice", PASSWORD).await;
    for _ in 0..5 {
        client.expect_error(wrong.clone(), "bad_credentials").await;
    }
    client.expect_error(wrong, "rate_limited").await;
}

#[tokio::test]
async fn resume_answers_the_same_user_and_token() {
    let server = TestServer::start(&[]);
    let (_alice, registered) = WsClient::register(&server.url, "alice").await;
    let token = registered["token"].as_str().expect("token");
    let mut client = WsClient::connect(&server.url).await;
    let resumed =
        client.request(json!({"type": "resume", "token": token, "ref": "again"}), "connection_established").await;
    assert_eq!(resumed["ref"], "again");
    assert_eq!((&resumed["user"], &resumed["token"]), (&registered["user"], &registered["token"]));
    assert_ne!(resumed["session_id"], registered["session_id"], "every connection is its own session");
}

#[tokio::test]
async fn resume_with_a_bad_token_is_unauthorized_and_stays_open() {
    let server = TestServer::start(&[]);
    let mut client = WsClient::connect(&server.url).await;
    for token in ["0".repeat(64), "not-a-token".to_owned()] {
        let error = client.expect_error(json!({"type": "resume", "token": token, "ref": "r"}), "unauthorized").await;
        assert_eq!((&error["message"], &error["ref"]), (&json!("token is invalid, expired or revoked"), &json!("r")));
    }
    client
        .request(json!({"type": "register", "username": "alice", "password": PASSWORD}), "connection_established")
        .await;
}

#[tokio::test]
async fn logout_revokes_the_token_and_closes_with_1000() {
    let server = TestServer::start(&[]);
    let (mut first, registered) = WsClient::register(&server.url, "alice").await;
    let token = registered["token"].as_str().expect("token");
    let (mut second, _) = WsClient::resume(&server.url, token).await;
    first.send(json!({"type": "logout"})).await;
    let (closed, frames) = first.expect_close().await;
    assert_eq!((closed.code, closed.reason.as_str()), (1000, "logged out"), "frames before: {frames:?}");
    let mut again = WsClient::connect(&server.url).await;
    again.expect_error(json!({"type": "resume", "token": token}), "unauthorized").await;
    // Connections already authenticated with that token are closed too.
    let (closed, _) = second.expect_close().await;
    assert_eq!((closed.code, closed.reason.as_str()), (1008, "logged out"));
    // The password still works.
    WsClient::login(&server.url, "alice", PASSWORD).await;
}

#[tokio::test]
async fn authenticating_twice_is_a_bad_request() {
    let server = TestServer::start(&[]);
    let (mut alice, registered) = WsClient::register(&server.url, "alice").await;
    let token = registered["token"].clone();
    alice.expect_error(json!({"type": "resume", "token": token, "ref": "x"}), "bad_request").await;
    alice.expect_error(json!({"type": "login", "username": "alice", "password": PASSWORD}), "bad_request").await;
    alice.expect_error(json!({"type": "register", "username": "other", "password": PASSWORD}), "bad_request").await;
    alice.assert_quiet().await;
}

async fn assert_refused_first_frame(url: &str, frame: tokio_tungstenite::tungstenite::Message) {
    let mut client = WsClient::connect(url).await;
    client.send_raw(frame.clone()).await;
    let (closed, frames) = client.expect_close().await;
    assert_eq!(frames.len(), 1, "{frame:?} should earn one error before the close, got {frames:?}");
    assert_eq!((&frames[0]["type"], &frames[0]["code"]), (&json!("error"), &json!("unauthorized")), "{frame:?}");
    assert_eq!((closed.code, closed.reason.as_str()), (1008, "not authenticated"), "{frame:?} closed with {closed:?}");
    assert!(!closed.reason.is_empty(), "a close carries a reason");
}

#[tokio::test]
async fn a_first_frame_that_does_not_authenticate_is_refused_with_1008() {
    use tokio_tungstenite::tungstenite::Message;
    let server = TestServer::start(&[]);
    for text in [r#"{"type":"ping"}"#, r#"{"type":"list_rooms","ref":"x"}"#, "{not json", r#"{"type":"dance"}"#, "[]"] {
        assert_refused_first_frame(&server.url, Message::text(text)).await;
    }
    assert_refused_first_frame(&server.url, Message::binary(vec![1, 2, 3])).await;
}

#[tokio::test]
async fn no_first_frame_within_the_deadline_closes_with_1008() {
    let server = TestServer::start(&["--auth-timeout-secs", "1"]);
    let mut client = WsClient::connect(&server.url).await;
    let started = Instant::now();
    let (closed, frames) = client.expect_close().await;
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!((&frames[0]["type"], &frames[0]["code"]), (&json!("error"), &json!("unauthorized")));
    assert_eq!((closed.code, closed.reason.as_str()), (1008, "authentication timeout"));
    assert!(started.elapsed() < Duration::from_secs(3), "closed after {:?}", started.elapsed());
}

#[tokio::test]
async fn a_failed_attempt_does_not_extend_the_lifetime_before_login() {
    let server = TestServer::start(&["--auth-timeout-secs", "2"]);
    let (_alice, _) = WsClient::register(&server.url, "alice").await;
    let connected = Instant::now();
    let mut client = WsClient::connect(&server.url).await;
    // Let most of the lifetime pass (time passing is the point here).
    tokio::time::sleep(Duration::from_millis(1300)).await;
    client
        .expect_error(json!({"type": "login", "username": "alice", "password": "wrong-password"}), "bad_credentials")
        .await;
    // The deadline stays where it was: 2 s after connecting, not 2 s after the failure.
    let (closed, frames) = client.expect_close().await;
    let lived = connected.elapsed();
    assert_eq!((closed.code, closed.reason.as_str()), (1008, "authentication timeout"), "{frames:?}");
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["code"], "unauthorized");
    assert!(lived < Duration::from_millis(2900), "the failure extended the lifetime: closed after {lived:?}");
}

#[tokio::test]
async fn a_connection_has_a_bounded_number_of_attempts() {
    let server = TestServer::start(&[]);
    let mut client = WsClient::connect(&server.url).await;
    // Nine refusals of every kind keep the connection open…
    for n in 0..9 {
        let attempt = if n % 2 == 0 {
            json!({"type": "login", "username": "nobody", "password": "wrong-password"})
        } else {
            json!({"type": "register", "username": "no", "password": PASSWORD})
        };
        let code = if n % 2 == 0 { "bad_credentials" } else { "invalid_username" };
        client.expect_error(attempt, code).await;
    }
    // …the tenth is answered, and then the connection is closed with the reason.
    client.send(json!({"type": "resume", "token": "0".repeat(64)})).await;
    let (closed, frames) = client.expect_close().await;
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!((&frames[0]["code"], &frames[1]["code"]), (&json!("unauthorized"), &json!("unauthorized")), "{frames:?}");
    assert!(frames[1]["message"].as_str().unwrap().contains("too many authentication attempts"), "{frames:?}");
    assert_eq!((closed.code, closed.reason.as_str()), (1008, "too many attempts"));
}

#[tokio::test]
async fn a_handshake_on_another_path_gets_404() {
    use tokio_tungstenite::tungstenite::Error;
    let server = TestServer::start(&[]);
    let url = format!("ws://{}/elsewhere", server.addr);
    match tokio::time::timeout(heartlink_tests::WAIT, tokio_tungstenite::connect_async(&url)).await {
        Ok(Err(Error::Http(response))) => assert_eq!(response.status(), 404),
        other => panic!("expected HTTP 404 for {url}, got {other:?}"),
    }
}
