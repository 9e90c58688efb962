//! The real side of `model.rs`: a heartlink-server process, the founder's
//! observer connection (a member joined to every room, so it sees every
//! event) and one connection per registered actor, plus the checks that
//! compare what the server says with the model.

use super::state::{ACTORS, Event, Model, ROOMS, Who};
use heartlink_tests::{QUIET, TestServer, WsClient};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// `joined` lists at most this many messages when `since` is absent (PROTOCOL.md).
const JOIN_LATEST: usize = 50;

/// One authenticated connection and what it needs to come back after a restart.
#[derive(Debug)]
pub struct Conn {
    pub client: WsClient,
    pub token: String,
    pub user: Value,
}

impl Conn {
    async fn register(url: &str, username: &str) -> Self {
        let (client, established) = WsClient::register(url, username).await;
        Self::from(client, &established)
    }

    fn from(client: WsClient, established: &Value) -> Self {
        let token = established["token"].as_str().expect("token").to_owned();
        Self { client, token, user: established["user"].clone() }
    }
}

#[derive(Debug)]
pub struct World {
    /// `None` only while a restart has it on a blocking thread.
    server: Option<TestServer>,
    founder: Conn,
    actors: Vec<Option<Conn>>,
    pub room_ids: Vec<Value>,
    next_msg: u64,
    last_new_member: Instant,
}

/// How long a frame the model predicts may take. Shorter than the harness's
/// own `WAIT`, so that a missing frame fails here, saying which one.
const FRAME_WAIT: Duration = Duration::from_secs(8);

/// Frames this test does not model: presence follows every connect and
/// disconnect (restarts, registrations), room activity every message in a
/// room a member's connection has not joined; the e2e tests cover both.
fn unmodelled(frame: &Value) -> bool {
    frame["type"] == "presence" || frame["type"] == "room_activity"
}

/// The next frame that is not [`unmodelled`]. `what` names the awaited frame.
pub async fn next_frame(client: &mut WsClient, what: &str) -> Value {
    let next = async {
        loop {
            let frame = client.recv().await;
            if !unmodelled(&frame) {
                return frame;
            }
        }
    };
    match tokio::time::timeout(FRAME_WAIT, next).await {
        Ok(frame) => frame,
        Err(_) => panic!("no {what} within {FRAME_WAIT:?}"),
    }
}

/// Sends `request` and returns its reply (the next frame but presence). A
/// `rate_limited` answer (every request but `send` counts against 50/s per
/// connection, and the checks after each step make several) means "not
/// performed": wait as told and send it again, as a client should.
pub async fn request(client: &mut WsClient, request: &Value) -> Value {
    for _ in 0..50 {
        client.send(request.clone()).await;
        let reply = next_frame(client, &format!("reply to {request}")).await;
        if reply["code"] != "rate_limited" {
            return reply;
        }
        let wait = reply["retry_after_ms"].as_u64().expect("rate_limited has retry_after_ms");
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
    panic!("{request} was still rate limited after 50 tries");
}

/// Nothing but [`unmodelled`] frames is pending or arrives within [`QUIET`].
async fn assert_no_events(client: &mut WsClient, who: Who) {
    // A `ping` barrier: an event pending before it would come first. (Not
    // `WsClient::sync`: the ping may be rate limited after a long sequence.)
    let reply = request(client, &json!({"type": "ping"})).await;
    assert_eq!(reply, json!({"type": "pong"}), "{who:?} got an unexpected event");
    let deadline = tokio::time::Instant::now() + QUIET;
    while let Ok(Ok(frame)) = tokio::time::timeout_at(deadline, client.recv_or_closed()).await {
        assert!(unmodelled(&frame), "{who:?} got an unexpected event: {frame}");
    }
}

/// `actual` has every field of `expected` with the same value.
fn assert_fields(actual: &Value, expected: &Value, what: &str) {
    for (key, value) in expected.as_object().expect("expected is an object") {
        assert_eq!(&actual[key], value, "{what}: field `{key}` differs in {actual}");
    }
}

impl World {
    /// A fresh server (sends unlimited: the model sends in bursts), the
    /// founder and its rooms.
    pub async fn start() -> Self {
        let server = TestServer::start(&["--send-rate", "0"]);
        let mut founder = Conn::register(&server.url, "founder").await;
        let mut room_ids = Vec::new();
        for n in 0..ROOMS {
            let room = founder.client.create_room(&format!("room {n}")).await;
            room_ids.push(room["id"].clone());
        }
        let mut world = Self {
            server: Some(server),
            founder,
            actors: (0..ACTORS).map(|_| None).collect(),
            room_ids,
            next_msg: 0,
            last_new_member: Instant::now(),
        };
        world.founder_joins_all(&Model::new()).await;
        world
    }

    fn url(&self) -> &str {
        &self.server.as_ref().expect("server is here between steps").url
    }

    pub fn client(&mut self, who: Who) -> &mut WsClient {
        match who {
            Who::Founder => &mut self.founder.client,
            Who::Actor(a) => &mut self.actors[a].as_mut().expect("actor is registered").client,
        }
    }

    fn user(&self, who: Who) -> &Value {
        match who {
            Who::Founder => &self.founder.user,
            Who::Actor(a) => &self.actors[a].as_ref().expect("actor is registered").user,
        }
    }

    pub fn fresh_client_msg_id(&mut self) -> String {
        self.next_msg += 1;
        format!("m{}", self.next_msg)
    }

    pub async fn register(&mut self, actor: usize) {
        self.actors[actor] = Some(Conn::register(self.url(), &format!("actor{actor}")).await);
    }

    pub async fn register_taken(&mut self, actor: usize) {
        let mut client = WsClient::connect(self.url()).await;
        let request = json!({"type": "register", "username": format!("actor{actor}"), "password": "password123"});
        client.expect_error(request, "username_taken").await;
    }

    /// The server orders `members` by join time in milliseconds (ties by
    /// user id, server/src/store/sled_store/rooms.rs), so two joins within one
    /// millisecond may be listed in either order. The model keeps new
    /// memberships 2 ms apart so that it checks the order it can rely on.
    pub async fn space_new_membership(&mut self) {
        let since = self.last_new_member.elapsed();
        if since < Duration::from_millis(2) {
            tokio::time::sleep(Duration::from_millis(2) - since).await;
        }
        self.last_new_member = Instant::now();
    }

    fn message_json(&self, model: &Model, room: usize, seq: u64) -> Value {
        let message = &model.rooms[room].messages[usize::try_from(seq - 1).expect("small seq")];
        json!({
            "room_id": self.room_ids[room],
            "seq": message.seq,
            "sender": self.user(message.sender),
            "body": message.body,
            "ts": message.ts,
            "client_msg_id": message.client_msg_id,
        })
    }

    fn assert_messages(&self, actual: &Value, model: &Model, room: usize, skip: usize, what: &str) {
        let actual = actual.as_array().expect("messages is a list");
        let expected = &model.rooms[room].messages[skip..];
        let seqs: Vec<&Value> = actual.iter().map(|m| &m["seq"]).collect();
        assert_eq!(actual.len(), expected.len(), "{what}: room {room} has seqs {seqs:?}, model {}", expected.len());
        for (message, model_message) in actual.iter().zip(expected) {
            assert_fields(message, &self.message_json(model, room, model_message.seq), what);
        }
    }

    /// A `joined` reply agrees with the model: room, members in membership
    /// order (all online: every registered user keeps a connection), last
    /// seq and the latest messages.
    pub fn assert_joined(&self, joined: &Value, model: &Model, room: usize) {
        assert_eq!(joined["type"], "joined", "{joined}");
        assert_eq!(joined["room"]["id"], self.room_ids[room], "{joined}");
        let expected: Vec<Value> =
            model.rooms[room].members.iter().map(|who| json!({"user": self.user(*who), "online": true, "status": "online"})).collect();
        assert_eq!(joined["members"], Value::from(expected), "members of room {room}");
        let count = model.rooms[room].messages.len();
        assert_eq!(joined["last_seq"], count, "last_seq of room {room}");
        assert_eq!(joined["has_more"], count > JOIN_LATEST, "has_more of room {room}");
        self.assert_messages(&joined["messages"], model, room, count.saturating_sub(JOIN_LATEST), "joined");
    }

    /// Each recipient's next event is the predicted one.
    pub async fn expect_events(&mut self, events: &[(Who, Event)], model: &Model) {
        for (who, event) in events {
            let expected = match *event {
                Event::ChatMessage { room, seq } => {
                    let mut message = self.message_json(model, room, seq);
                    message["type"] = json!("chat_message");
                    message
                }
                Event::UserJoined { room, who } => {
                    json!({"type": "user_joined", "room_id": self.room_ids[room], "user": self.user(who)})
                }
                Event::UserLeft { room, who } => {
                    json!({"type": "user_left", "room_id": self.room_ids[room], "user": self.user(who)})
                }
            };
            let frame = next_frame(self.client(*who), &format!("{event:?} for {who:?}")).await;
            assert_fields(&frame, &expected, &format!("event for {who:?}"));
        }
    }

    /// After every step: each user's rooms and their last seqs, and each
    /// room's whole history, as the model has them.
    pub async fn assert_state(&mut self, model: &Model) {
        let users = std::iter::once(Who::Founder).chain((0..ACTORS).filter(|a| model.registered[*a]).map(Who::Actor));
        for who in users.collect::<Vec<_>>() {
            let client = self.client(who);
            let reply = request(client, &json!({"type": "list_rooms"})).await;
            assert_eq!(reply["type"], "rooms", "{reply}");
            let mut actual: Vec<(String, u64)> = reply["rooms"]
                .as_array()
                .expect("rooms list")
                .iter()
                .map(|r| (r["room"]["id"].to_string(), r["last_seq"].as_u64().expect("last_seq")))
                .collect();
            actual.sort();
            let mut expected: Vec<(String, u64)> = (0..ROOMS)
                .filter(|r| model.is_member(who, *r))
                .map(|r| (self.room_ids[r].to_string(), model.rooms[r].messages.len() as u64))
                .collect();
            expected.sort();
            assert_eq!(actual, expected, "rooms and last seqs of {who:?}");
        }
        for room in 0..ROOMS {
            let history_of = json!({"type": "history", "room_id": self.room_ids[room], "limit": 100});
            let history = request(&mut self.founder.client, &history_of).await;
            assert_eq!(history["type"], "history", "{history}");
            assert_eq!(history["has_more"], false, "{history}");
            self.assert_messages(&history["messages"], model, room, 0, "history");
        }
    }

    /// The observer joins every room (after the start and each restart).
    async fn founder_joins_all(&mut self, model: &Model) {
        for room in 0..ROOMS {
            let join = json!({"type": "join", "room_id": self.room_ids[room]});
            let joined = request(&mut self.founder.client, &join).await;
            self.assert_joined(&joined, model, room);
        }
    }

    /// SIGTERM, every connection closed with 1001 and nothing unexpected
    /// before it, the server back on the same data dir, everyone resumed.
    pub async fn restart(&mut self, model: &Model) {
        // `terminate` blocks until the process exits, and the server waits
        // (up to 2 s each) for the clients to answer its close frames, so the
        // clients read their closes while another thread waits for the exit.
        let mut server = self.server.take().expect("server is running");
        let stopping = tokio::task::spawn_blocking(move || {
            let status = server.terminate();
            (server, status)
        });
        let connected: Vec<Who> = std::iter::once(Who::Founder)
            .chain((0..ACTORS).filter(|a| self.actors[*a].is_some()).map(Who::Actor))
            .collect();
        for who in connected {
            let client = self.client(who);
            let (closed, before) = client.expect_close().await;
            // Reading on sends our reply to the close and sees the socket end.
            let _ = client.recv_or_closed().await;
            // Presence and room activity (a coalesced notice, held up to a
            // second) are not part of the model.
            let before: Vec<Value> =
                before.into_iter().filter(|f| f["type"] != "presence" && f["type"] != "room_activity").collect();
            assert!(before.is_empty(), "{who:?} got unexpected events before the shutdown: {before:?}");
            assert_eq!(closed.code, 1001, "{who:?} closed with {closed:?}");
        }
        let (mut server, status) = stopping.await.expect("terminate thread");
        assert!(status.success(), "server exited with {status} on SIGTERM");
        server.restart(false);
        let url = server.url.clone();
        self.server = Some(server);
        let (client, established) = WsClient::resume(&url, &self.founder.token).await;
        assert_eq!(established["user"], self.founder.user);
        self.founder.client = client;
        for conn in self.actors.iter_mut().flatten() {
            let (client, established) = WsClient::resume(&url, &conn.token).await;
            assert_eq!(established["user"], conn.user, "resume after restart");
            conn.client = client;
        }
        // After everyone is back, so that `joined` lists every member online.
        self.founder_joins_all(model).await;
    }

    /// At the end: no connection has an event the model did not predict.
    pub async fn assert_no_stray_events(&mut self) {
        // All at once: each waits out the QUIET window.
        let founder = std::iter::once((Who::Founder, &mut self.founder));
        let actors = self.actors.iter_mut().enumerate().filter_map(|(a, conn)| Some((Who::Actor(a), conn.as_mut()?)));
        let checks = founder.chain(actors).map(|(who, conn)| assert_no_events(&mut conn.client, who));
        futures_util::future::join_all(checks).await;
    }
}
