//! A test client that survives faults the way PROTOCOL.md asks a real client
//! to: on any disconnect it reconnects with a short backoff, `resume`s with
//! its token, re-`join`s each room with `since` = the last seq it holds and
//! re-sends every un-acked message with its original `client_msg_id`. It
//! records every message it is given, per room and seq, counting deliveries,
//! so a test can check "exactly once, in order, no gaps" from the outside.
//! It speaks raw JSON and shares no code with the TUI, so a server guarantee
//! is tested independently of the TUI's net task.
//!
//! One task owns the socket and does all reads and writes from one
//! `select!`. The bookkeeping lives in [`Book`] behind a std mutex (never
//! held across an `.await`); a `watch` channel tells waiting tests that it
//! changed, and a `Notify` wakes the task when there is something to write.

use crate::WAIT;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

mod book;
pub use book::{Book, Seen};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Un-acked messages a caller may have outstanding before `send` waits: the
/// outbox is bounded like everything else in the harness.
const MAX_IN_FLIGHT: usize = 32;
/// TCP connect + WebSocket handshake + `resume` must finish within this, so
/// an attempt swallowed by a black hole is abandoned and retried.
const ATTEMPT_DEADLINE: Duration = Duration::from_secs(3);
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_millis(800);

/// A client that reconnects by itself. Its task stops when it is dropped.
#[derive(Debug)]
pub struct ReconnectingClient {
    inner: Arc<Inner>,
    /// Never sent on: dropping it stops the task.
    _stop: watch::Sender<()>,
    pub username: String,
    pub user_id: String,
}

#[derive(Debug)]
struct Inner {
    book: Mutex<Book>,
    changed: watch::Sender<()>,
    wake: Notify,
}

impl Inner {
    fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `edit` to the book and tells the waiting tests.
    fn update<T>(&self, edit: impl FnOnce(&mut Book) -> T) -> T {
        let out = edit(&mut self.book());
        self.changed.send_replace(());
        out
    }
}

impl ReconnectingClient {
    /// Starts a client for the account of `established` (a
    /// `connection_established` frame from `register`/`login`), connecting
    /// to `url` (usually a [`crate::fault_proxy::FaultProxy`]) with `resume`.
    pub fn start(url: &str, established: &Value) -> Self {
        Self::start_any(&[url.to_owned()], established)
    }

    /// Like [`Self::start`] with several servers (the nodes of a cluster):
    /// it connects to the first, and after a failed attempt or a lost
    /// connection moves on to the next (round robin), as a client given
    /// `--server URL1,URL2,URL3` does.
    pub fn start_any(urls: &[String], established: &Value) -> Self {
        assert!(!urls.is_empty(), "a reconnecting client needs at least one server");
        let token = established["token"].as_str().expect("connection_established.token").to_owned();
        let user = &established["user"];
        let inner = Arc::new(Inner {
            book: Mutex::new(Book::new(token)),
            changed: watch::Sender::new(()),
            wake: Notify::new(),
        });
        let (stop, mut stopped) = watch::channel(());
        let task_inner = Arc::clone(&inner);
        let urls = urls.to_vec();
        tokio::spawn(async move {
            tokio::select! {
                () = run(&task_inner, &urls) => {}
                // Dropping the socket mid-flight is a client vanishing, which
                // the server must handle anyway; no close handshake needed.
                _ = stopped.changed() => {}
            }
        });
        Self {
            inner,
            _stop: stop,
            username: user["username"].as_str().unwrap_or_default().to_owned(),
            user_id: user["id"].as_str().unwrap_or_default().to_owned(),
        }
    }

    /// Joins `room_id` (now and after every reconnect) and waits for `joined`.
    pub async fn join(&self, room_id: &str) {
        self.inner.update(|book| book.add_room(room_id));
        self.inner.wake.notify_one();
        self.wait_until("joined", WAIT, |book| book.joined_once(room_id)).await;
    }

    /// Queues a message and returns its `client_msg_id`; waits first while
    /// [`MAX_IN_FLIGHT`] messages are un-acked.
    pub async fn send(&self, room_id: &str, body: &str) -> String {
        self.wait_until("room in the outbox", WAIT, |book| book.outbox_len() < MAX_IN_FLIGHT).await;
        let id = self.inner.update(|book| book.queue(room_id, body));
        self.inner.wake.notify_one();
        id
    }

    /// Waits until every queued message has its `ack`.
    pub async fn wait_all_acked(&self, within: Duration) {
        self.wait_until("all acks", within, |book| book.outbox_len() == 0).await;
    }

    /// Waits until the client holds every seq from 1 to `last` in `room_id`.
    pub async fn wait_holds(&self, room_id: &str, last: u64, within: Duration) {
        self.wait_until("messages up to a seq", within, |book| book.holds_through(room_id) >= last).await;
    }

    /// Waits until the client has been connected (authenticated) `count` times.
    pub async fn wait_connects(&self, count: u64, within: Duration) {
        self.wait_until("a connection", within, |book| book.connects >= count).await;
    }

    /// Waits until the client holds `count` acks (of distinct messages).
    pub async fn wait_acks(&self, count: usize, within: Duration) {
        self.wait_until("acks", within, |book| book.acks.len() >= count).await;
    }

    /// Waits until the client has noticed `count` disconnects.
    pub async fn wait_disconnects(&self, count: usize, within: Duration) {
        self.wait_until("a disconnect", within, |book| book.disconnects.len() >= count).await;
    }

    /// A copy of the bookkeeping, for assertions.
    pub fn book(&self) -> Book {
        self.inner.book().clone()
    }

    async fn wait_until(&self, what: &str, within: Duration, done: impl Fn(&Book) -> bool) {
        let deadline = tokio::time::Instant::now() + within;
        let mut changed = self.inner.changed.subscribe();
        loop {
            // Mark the current version seen *before* checking, so a change
            // between the check and the wait is not missed.
            changed.borrow_and_update();
            if done(&self.inner.book()) {
                return;
            }
            let timed_out = tokio::time::timeout_at(deadline, changed.changed()).await.is_err();
            assert!(!timed_out, "{}: no {what} within {within:?}; book: {}", self.username, self.inner.book().summary());
        }
    }
}

/// Why a connection attempt failed.
enum Attempt {
    /// Try again after the backoff.
    Retry,
    /// The token was refused: retrying would loop forever (PROTOCOL.md: ask
    /// for the password instead). The client stops.
    Refused(String),
}

async fn run(inner: &Inner, urls: &[String]) {
    let mut backoff = BACKOFF_MIN;
    // Every attempt, after a failed one or a lost connection, goes to the next server in the list.
    let mut next = 0_usize;
    // Numbers the connections, so the book knows what was written on this one.
    let mut generation = 0_u64;
    loop {
        let token = inner.book().token.clone();
        let url = &urls[next % urls.len()];
        next = next.wrapping_add(1);
        match tokio::time::timeout(ATTEMPT_DEADLINE, establish(url, &token)).await {
            Ok(Ok((ws, heartbeat))) => {
                backoff = BACKOFF_MIN;
                generation += 1;
                inner.update(|book| book.connected(url));
                let why = connected(inner, ws, heartbeat, generation).await;
                inner.update(|book| book.disconnected(why));
            }
            Ok(Err(Attempt::Refused(why))) => {
                inner.update(|book| book.errors.push(format!("resume refused: {why}")));
                return;
            }
            Ok(Err(Attempt::Retry)) | Err(_) => inner.update(|book| book.failed_attempts += 1),
        }
        // Jitter from the clock's nanoseconds keeps clients severed together
        // from reconnecting in lockstep, without a random-number dependency.
        let jitter = Duration::from_nanos(u64::from(jitter_nanos()) % 50_000_000);
        tokio::time::sleep(backoff + jitter).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

fn jitter_nanos() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
}

/// Connects and resumes; returns the socket and the server's heartbeat.
async fn establish(url: &str, token: &str) -> Result<(Ws, Duration), Attempt> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.map_err(|_| Attempt::Retry)?;
    let resume = json!({"type": "resume", "token": token});
    ws.send(Message::text(resume.to_string())).await.map_err(|_| Attempt::Retry)?;
    loop {
        let frame = match ws.next().await {
            Some(Ok(Message::Text(text))) => serde_json::from_str::<Value>(&text).map_err(|_| Attempt::Retry)?,
            Some(Ok(Message::Close(_)) | Err(_)) | None => return Err(Attempt::Retry),
            Some(Ok(_)) => continue,
        };
        match frame["type"].as_str() {
            Some("connection_established") => {
                let secs = frame["heartbeat_secs"].as_u64().unwrap_or(30).max(1);
                return Ok((ws, Duration::from_secs(secs)));
            }
            Some("error") if frame["code"] == "unauthorized" => return Err(Attempt::Refused(frame.to_string())),
            _ => return Err(Attempt::Retry),
        }
    }
}

/// Serves one authenticated connection until it fails; returns why.
async fn connected(inner: &Inner, mut ws: Ws, heartbeat: Duration, generation: u64) -> String {
    // Like the TUI: ping every half heartbeat, so a live server answers at
    // least that often, and two silent heartbeats mean the peer is gone (the
    // server uses the same limit for us).
    let idle_limit = heartbeat * 2;
    let mut ping = tokio::time::interval(heartbeat / 2);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    loop {
        let pending = inner.update(|book| book.pending_frames(generation));
        for frame in pending {
            if let Err(why) = write(&mut ws, &frame, heartbeat).await {
                return why;
            }
        }
        tokio::select! {
            () = inner.wake.notified() => {}
            _ = ping.tick() => {
                if last_heard.elapsed() > idle_limit {
                    return format!("nothing heard for {idle_limit:?}");
                }
                if let Err(why) = write(&mut ws, &json!({"type": "ping"}), heartbeat).await {
                    return why;
                }
            }
            incoming = ws.next() => {
                last_heard = Instant::now();
                match incoming {
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<Value>(&text) {
                        Ok(frame) => inner.update(|book| book.received(&frame, generation)),
                        Err(err) => return format!("invalid JSON from the server: {err}"),
                    },
                    Some(Ok(Message::Close(frame))) => return format!("closed by the server: {frame:?}"),
                    // tungstenite answers Pings itself when it next reads or writes.
                    Some(Ok(_)) => {}
                    Some(Err(err)) => return format!("socket error: {err}"),
                    None => return "socket ended".to_owned(),
                }
            }
        }
    }
}

async fn write(ws: &mut Ws, frame: &Value, within: Duration) -> Result<(), String> {
    match tokio::time::timeout(within, ws.send(Message::text(frame.to_string()))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(format!("write failed: {err}")),
        Err(_) => Err("write timed out".to_owned()),
    }
}
