//! Shortcuts for the requests most tests make. Each sends one request and
//! waits for the reply docs/PROTOCOL.md documents, so a test reads as the
//! conversation it checks. `sync` is the barrier used to prove an absence:
//! once the `pong` is back, the server has handled everything sent before it.

use crate::WsClient;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long a test listens, after a barrier, to prove that an event did not
/// arrive. Events caused by *another* connection may still be in flight when
/// the barrier returns; this window covers that.
pub const QUIET: Duration = Duration::from_millis(300);

/// The password `WsClient::register` gives every account.
pub const PASSWORD: &str = "password123";

/// Milliseconds since the Unix epoch, as in `ts` and `created_at`.
pub fn now_ms() -> u64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock after 1970");
    u64::try_from(since_epoch.as_millis()).expect("time fits in u64")
}

impl WsClient {
    /// Connects and logs in, expecting `connection_established`.
    pub async fn login(url: &str, username: &str, password: &str) -> (Self, Value) {
        let mut client = Self::connect(url).await;
        let request = json!({"type": "login", "username": username, "password": password});
        let established = client.request(request, "connection_established").await;
        (client, established)
    }

    /// Connects and resumes with `token`, expecting `connection_established`.
    pub async fn resume(url: &str, token: &str) -> (Self, Value) {
        let mut client = Self::connect(url).await;
        let established = client.request(json!({"type": "resume", "token": token}), "connection_established").await;
        (client, established)
    }

    /// Sends `request`; the next frame must be of type `reply` (returned).
    pub async fn request(&mut self, request: Value, reply: &str) -> Value {
        self.send(request.clone()).await;
        let value = self.recv().await;
        assert_eq!(value["type"], reply, "{request} should be answered with {reply}, got {value}");
        value
    }

    /// Sends `request`; the next frame must be an `error` with `code` (returned).
    pub async fn expect_error(&mut self, request: Value, code: &str) -> Value {
        let error = self.request(request.clone(), "error").await;
        assert_eq!(error["code"], code, "{request} should fail with {code}, got {error}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "error without a message: {error}");
        error
    }

    /// Creates a group room; returns the `room` object.
    pub async fn create_room(&mut self, name: &str) -> Value {
        let created = self.request(json!({"type": "create_room", "name": name}), "room_created").await;
        created["room"].clone()
    }

    /// Joins a room (without `since`); returns the `joined` frame.
    pub async fn join(&mut self, room_id: &Value) -> Value {
        self.request(json!({"type": "join", "room_id": room_id}), "joined").await
    }

    /// Sends a message on a joined connection; the sender sees its own
    /// `chat_message` and then the `ack` (PROTOCOL.md, Decisions). Returns the ack.
    pub async fn post(&mut self, room_id: &Value, client_msg_id: &str, body: &str) -> Value {
        self.send(json!({"type": "send", "room_id": room_id, "client_msg_id": client_msg_id, "body": body})).await;
        let echo = self.recv_type("chat_message").await;
        let ack = self.recv_type("ack").await;
        assert_eq!((&echo["client_msg_id"], &echo["body"]), (&json!(client_msg_id), &json!(body)), "{echo}");
        assert_eq!((&ack["room_id"], &ack["client_msg_id"]), (room_id, &json!(client_msg_id)), "{ack}");
        assert_eq!((&ack["seq"], &ack["ts"]), (&echo["seq"], &echo["ts"]), "ack {ack} vs echo {echo}");
        ack
    }

    /// Round trip through the server (`ping` → `pong` with a fresh `ref`);
    /// returns the frames that arrived before the `pong`.
    pub async fn sync(&mut self) -> Vec<Value> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let reference = format!("sync-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        self.send(json!({"type": "ping", "ref": reference})).await;
        let mut before = Vec::new();
        loop {
            let value = self.recv().await;
            if value["type"] == "pong" && value["ref"] == reference.as_str() {
                return before;
            }
            before.push(value);
        }
    }

    /// Asserts that nothing is pending for this connection: nothing before a
    /// `ping`'s `pong`, and nothing for [`QUIET`] after it.
    pub async fn assert_quiet(&mut self) {
        let pending = self.sync().await;
        assert!(pending.is_empty(), "expected no events, got {pending:?}");
        self.expect_silence(QUIET).await;
    }
}

/// Requests one connection may send at once without meeting the
/// per-connection limit (PROTOCOL.md: burst 100), with room for a `join`.
const PIPELINE: usize = 90;

/// Posts messages `client_msg_id = body = format!("{prefix}{n}")` for `n` in
/// `range` to a room, as the user holding `token`: through fresh connections
/// that each join and pipeline up to [`PIPELINE`] sends. Needs a server with
/// `--send-rate 0` beyond 20 messages. Returns the acks, in order of `n`.
pub async fn post_many(
    url: &str,
    token: &str,
    room_id: &Value,
    prefix: &str,
    range: std::ops::Range<usize>,
) -> Vec<Value> {
    let numbers: Vec<usize> = range.collect();
    let mut acks = Vec::with_capacity(numbers.len());
    for batch in numbers.chunks(PIPELINE) {
        let (mut client, _) = WsClient::resume(url, token).await;
        // A `room_activity` for the previous connection's sends may reach
        // this one (not joined yet) before its `joined`.
        client.send(json!({"type": "join", "room_id": room_id})).await;
        let (_, skipped) = client.recv_until("joined").await;
        assert!(skipped.iter().all(|frame| frame["type"] == "room_activity"), "before joined: {skipped:?}");
        for n in batch {
            let id = format!("{prefix}{n}");
            client.send(json!({"type": "send", "room_id": room_id, "client_msg_id": id, "body": id})).await;
        }
        let mut by_id = std::collections::HashMap::new();
        while by_id.len() < batch.len() {
            let frame = client.recv().await;
            assert_ne!(frame["type"], "error", "a pipelined send failed: {frame}");
            if frame["type"] == "ack" {
                by_id.insert(frame["client_msg_id"].as_str().expect("client_msg_id").to_owned(), frame);
            }
        }
        acks.extend(batch.iter().map(|n| by_id.remove(&format!("{prefix}{n}")).expect("one ack per send")));
    }
    acks
}
