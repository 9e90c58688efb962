//! The reconnecting client's bookkeeping, without I/O: which rooms to join,
//! the outbox of un-acked messages, every message received (with how often)
//! and everything that breaks a PROTOCOL.md guarantee, recorded for the test
//! to assert on rather than panicking inside the client's task.
//!
//! Connections are numbered (`generation`); a room is joined, and an outbox
//! entry written, at most once per connection, which is what makes the
//! "re-join, then re-send" step after a reconnect happen exactly once.

use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

/// One message as the client holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub seq: u64,
    pub sender_id: String,
    pub client_msg_id: String,
    pub body: String,
    /// How many times the server handed it over (live or in `joined`); 1 is right.
    pub deliveries: u32,
    /// How many of those were live `chat_message` events.
    pub live: u32,
}

#[derive(Debug, Clone, Default)]
struct RoomBook {
    messages: BTreeMap<u64, Seen>,
    /// The connection the last `join` was written on.
    join_written: u64,
    /// The connection the last `joined` arrived on: sends wait for it.
    joined: u64,
    /// The last seq delivered on a connection, to check per-connection order.
    last_on_connection: (u64, u64),
}

#[derive(Debug, Clone)]
struct Outgoing {
    room_id: String,
    client_msg_id: String,
    body: String,
    /// The connection it was last written on (0: not yet).
    written: u64,
}

/// Everything the client knows; tests read a copy via `ReconnectingClient::book`.
#[derive(Debug, Clone)]
pub struct Book {
    pub token: String,
    rooms: BTreeMap<String, RoomBook>,
    outbox: VecDeque<Outgoing>,
    /// Every message queued, in the order the caller sent them: `(room, client_msg_id, body)`.
    pub sent: Vec<(String, String, String)>,
    /// `client_msg_id` → the seq its `ack` named.
    pub acks: BTreeMap<String, u64>,
    /// Acks received in total, retried ones included.
    pub acks_received: u64,
    /// Successful `resume`s (the first connection included).
    pub connects: u64,
    /// The server of each successful `resume`, in order.
    pub connected_to: Vec<String>,
    pub failed_attempts: u64,
    /// When each connection was found dead, and why.
    pub disconnects: Vec<(Instant, String)>,
    /// Messages written again on a later connection.
    pub resent: u64,
    /// Deliveries of a seq the client already held: `room seq`.
    pub duplicates: Vec<String>,
    /// Broken guarantees: out-of-order delivery, a seq whose content
    /// changed, an ack that names another seq on retry.
    pub violations: Vec<String>,
    /// `error` frames and a refused resume.
    pub errors: Vec<String>,
}

impl Book {
    pub(super) fn new(token: String) -> Self {
        Self {
            token,
            rooms: BTreeMap::new(),
            outbox: VecDeque::new(),
            sent: Vec::new(),
            acks: BTreeMap::new(),
            acks_received: 0,
            connects: 0,
            connected_to: Vec::new(),
            failed_attempts: 0,
            disconnects: Vec::new(),
            resent: 0,
            duplicates: Vec::new(),
            violations: Vec::new(),
            errors: Vec::new(),
        }
    }

    pub(super) fn add_room(&mut self, room_id: &str) {
        self.rooms.entry(room_id.to_owned()).or_default();
    }

    pub(super) fn joined_once(&self, room_id: &str) -> bool {
        self.rooms.get(room_id).is_some_and(|room| room.joined > 0)
    }

    pub(super) fn queue(&mut self, room_id: &str, body: &str) -> String {
        let client_msg_id = uuid::Uuid::new_v4().to_string();
        self.sent.push((room_id.to_owned(), client_msg_id.clone(), body.to_owned()));
        let out = Outgoing { room_id: room_id.to_owned(), client_msg_id: client_msg_id.clone(), body: body.to_owned(), written: 0 };
        self.outbox.push_back(out);
        client_msg_id
    }

    pub(super) fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    pub(super) fn connected(&mut self, url: &str) {
        self.connects += 1;
        self.connected_to.push(url.to_owned());
    }

    pub(super) fn disconnected(&mut self, why: String) {
        self.disconnects.push((Instant::now(), why));
    }

    /// The highest seq `n` such that the client holds every seq 1..=n of the room.
    pub fn holds_through(&self, room_id: &str) -> u64 {
        let Some(room) = self.rooms.get(room_id) else { return 0 };
        let mut expected = 1;
        for seq in room.messages.keys() {
            if *seq != expected {
                break;
            }
            expected += 1;
        }
        expected - 1
    }

    /// The room's messages, by seq.
    pub fn messages(&self, room_id: &str) -> Vec<Seen> {
        self.rooms.get(room_id).map(|room| room.messages.values().cloned().collect()).unwrap_or_default()
    }

    /// Frames to write on connection `generation` now: a `join` for each room
    /// not yet joined on it (with `since` = the last seq held), then every
    /// un-acked message of a room whose `joined` has arrived, in send order.
    pub(super) fn pending_frames(&mut self, generation: u64) -> Vec<Value> {
        let mut frames = Vec::new();
        for (room_id, room) in &mut self.rooms {
            if room.join_written != generation {
                room.join_written = generation;
                let since = room.messages.keys().next_back().copied().unwrap_or(0);
                frames.push(json!({"type": "join", "room_id": room_id, "since": since}));
            }
        }
        for out in &mut self.outbox {
            let joined = self.rooms.get(&out.room_id).is_some_and(|room| room.joined == generation);
            if !joined || out.written == generation {
                continue;
            }
            if out.written != 0 {
                self.resent += 1;
            }
            out.written = generation;
            frames.push(json!({
                "type": "send", "room_id": out.room_id, "client_msg_id": out.client_msg_id, "body": out.body,
            }));
        }
        frames
    }

    /// Records a frame from the server.
    pub(super) fn received(&mut self, frame: &Value, generation: u64) {
        match frame["type"].as_str() {
            Some("joined") => self.on_joined(frame, generation),
            Some("chat_message") => {
                let room_id = frame["room_id"].as_str().unwrap_or_default();
                self.deliver(room_id, frame, true, generation);
            }
            Some("ack") => self.on_ack(frame),
            Some("error") => self.errors.push(frame.to_string()),
            _ => {}
        }
    }

    fn on_joined(&mut self, frame: &Value, generation: u64) {
        let room_id = frame["room"]["id"].as_str().unwrap_or_default().to_owned();
        for message in frame["messages"].as_array().into_iter().flatten() {
            self.deliver(&room_id, message, false, generation);
        }
        let room = self.rooms.entry(room_id).or_default();
        room.joined = generation;
        if frame["has_more"] == true {
            // More than one page is missing: join again from the new last seq.
            room.join_written = 0;
        }
    }

    fn on_ack(&mut self, frame: &Value) {
        self.acks_received += 1;
        let id = frame["client_msg_id"].as_str().unwrap_or_default().to_owned();
        let seq = frame["seq"].as_u64().unwrap_or(0);
        match self.acks.get(&id) {
            Some(first) if *first != seq => self.violations.push(format!("ack for {id} named seq {seq}, earlier {first}")),
            _ => {}
        }
        self.acks.entry(id.clone()).or_insert(seq);
        self.outbox.retain(|out| out.client_msg_id != id);
    }

    fn deliver(&mut self, room_id: &str, message: &Value, live: bool, generation: u64) {
        let seq = message["seq"].as_u64().unwrap_or(0);
        let seen = Seen {
            seq,
            sender_id: message["sender"]["id"].as_str().unwrap_or_default().to_owned(),
            client_msg_id: message["client_msg_id"].as_str().unwrap_or_default().to_owned(),
            body: message["body"].as_str().unwrap_or_default().to_owned(),
            deliveries: 1,
            live: u32::from(live),
        };
        let room = self.rooms.entry(room_id.to_owned()).or_default();
        let (last_generation, last_seq) = room.last_on_connection;
        if last_generation == generation && seq <= last_seq {
            self.violations.push(format!("room {room_id}: seq {seq} after seq {last_seq} on one connection"));
        }
        room.last_on_connection = (generation, seq);
        match room.messages.get_mut(&seq) {
            None => {
                room.messages.insert(seq, seen);
            }
            Some(held) => {
                held.deliveries += 1;
                held.live += u32::from(live);
                self.duplicates.push(format!("{room_id} {seq}"));
                if (&held.client_msg_id, &held.body) != (&seen.client_msg_id, &seen.body) {
                    self.violations.push(format!("room {room_id}: seq {seq} changed content"));
                }
            }
        }
    }

    /// One line for a failed wait's message.
    pub fn summary(&self) -> String {
        let held: Vec<String> =
            self.rooms.iter().map(|(id, room)| format!("{id}: through {} of {}", self.holds_through(id), room.messages.len())).collect();
        format!(
            "connects {}, disconnects {}, un-acked {}, held [{}], duplicates {}, violations {:?}, errors {:?}",
            self.connects,
            self.disconnects.len(),
            self.outbox.len(),
            held.join("; "),
            self.duplicates.len(),
            self.violations,
            self.errors,
        )
    }
}
