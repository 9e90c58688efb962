//! The Redis bus: nodes sharing one store fan out through Redis pub/sub.
//!
//! Publishing: every publish is delivered to this node's hub at once (so a
//! node keeps serving its own members while Redis is down), encoded once,
//! and queued for the publisher task, which sends the queue to Redis in
//! order, pipelined. The flusher never waits for Redis.
//!
//! Receiving: the listener task (`redis/listener.rs`) holds one subscriber
//! connection and hands what other nodes publish to the hub.
//!
//! Pub/sub is at-most-once, and nothing here pretends otherwise: the hub
//! fills a gap from the store when a later message of the room arrives;
//! when a publish fails, the rooms it carried are announced with a
//! `Resync` notice once Redis answers again; and when the subscriber
//! connection comes back, every subscribed room is read from the store.
//! Ephemeral events (typing, receipts, presence, user events) lost while
//! Redis is down stay lost.

mod envelope;
mod listener;

use super::{Bus, BusError, Deliver, MessageBatch, PresenceState, RoomEvent, Subscriptions, UserEvent};
use async_trait::async_trait;
use envelope::{Body, Envelope, PRESENCE_CHANNEL, room_channel, user_channel};
use heartlink_protocol::{RoomId, User, UserId};
use listener::Command;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::node::NodeId;

/// Publishes waiting for Redis; beyond this they are dropped and their
/// rooms announced for a resync.
const QUEUE: usize = 64 * 1024;
/// Publishes sent to Redis in one pipeline at most.
const PIPELINE: usize = 512;
/// How long a connect or a command may take before Redis counts as down.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a subscribe may wait for Redis's confirmation.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the Redis bus could not start or answer.
#[derive(Debug, thiserror::Error)]
pub enum RedisBusError {
    /// The URL is not a Redis URL.
    #[error("{url} is not a usable Redis URL")]
    Url { url: String, #[source] source: redis::RedisError },
    /// Redis did not answer.
    #[error("Redis at {url} does not answer")]
    Unreachable { url: String, #[source] source: redis::RedisError },
    /// Redis did not answer in time.
    #[error("Redis at {url} did not answer within {REDIS_TIMEOUT:?}")]
    Timeout { url: String },
    /// The subscriber connection is down (being re-established).
    #[error("the subscriber connection to Redis at {url} is down")]
    NotListening { url: String },
}

/// `url` without its password (for logs and error messages).
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(an unparsable URL)".to_owned(),
    }
}

/// A Redis connection that reconnects by itself (cheap to clone: one
/// multiplexed connection underneath).
#[derive(Clone)]
pub struct RedisConn(pub ConnectionManager);

impl std::fmt::Debug for RedisConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisConn")
    }
}

/// Whether each of this node's two Redis connections works.
#[derive(Debug, Default)]
struct Health {
    listening: AtomicBool,
}

/// One encoded publish on its way to Redis.
#[derive(Debug)]
struct Outgoing {
    channel: String,
    payload: Vec<u8>,
    /// The room whose messages it carries, to announce for a resync if it is lost.
    messages_of: Option<RoomId>,
}

/// A connected Redis bus, before the hub it delivers to exists.
#[derive(Debug)]
pub struct RedisConnected {
    url: String,
    client: redis::Client,
    conn: RedisConn,
    node: NodeId,
    commands: mpsc::UnboundedSender<Command>,
    command_queue: mpsc::UnboundedReceiver<Command>,
}

impl RedisConnected {
    /// Connects to Redis at `url` for node `node`; fails when Redis does not answer.
    pub async fn connect(url: &str, node: NodeId) -> Result<Self, RedisBusError> {
        let shown = redacted(url);
        let client = redis::Client::open(url).map_err(|source| RedisBusError::Url { url: shown.clone(), source })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(REDIS_TIMEOUT)
            .set_response_timeout(REDIS_TIMEOUT)
            .set_number_of_retries(1)
            .set_max_delay(1000);
        let mut conn = match tokio::time::timeout(REDIS_TIMEOUT * 2, client.get_connection_manager_with_config(config)).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(source)) => return Err(RedisBusError::Unreachable { url: shown, source }),
            Err(_) => return Err(RedisBusError::Timeout { url: shown }),
        };
        ping(&mut conn, &shown).await?;
        let (commands, command_queue) = mpsc::unbounded_channel();
        Ok(Self { url: shown, client, conn: RedisConn(conn), node, commands, command_queue })
    }

    /// The subscriptions the hub is to be built with.
    pub fn subscriptions(&self) -> Arc<RedisSubscriptions> {
        Arc::new(RedisSubscriptions { commands: self.commands.clone() })
    }

    /// Starts delivering to `hub` (this node's hub) and publishing; both tasks stop at `shutdown`.
    pub fn start(self, hub: Arc<dyn Deliver>, shutdown: CancellationToken) -> RedisBus {
        let health = Arc::new(Health::default());
        let (queue, outgoing) = mpsc::channel(QUEUE);
        let unpublished = Arc::new(Mutex::new(HashSet::new()));
        let listen = listener::Listener {
            client: self.client,
            url: self.url.clone(),
            node: self.node,
            deliver: Arc::clone(&hub),
            listening: Arc::clone(&health),
        };
        tokio::spawn(listen.run(self.command_queue, shutdown.clone()));
        tokio::spawn(publish(self.conn.0.clone(), self.node, outgoing, Arc::clone(&unpublished), shutdown));
        RedisBus { url: self.url, node: self.node, hub, conn: self.conn, queue, unpublished, health }
    }
}

async fn ping(conn: &mut ConnectionManager, url: &str) -> Result<(), RedisBusError> {
    match tokio::time::timeout(REDIS_TIMEOUT, redis::cmd("PING").query_async::<String>(conn)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(source)) => Err(RedisBusError::Unreachable { url: url.to_owned(), source }),
        Err(_) => Err(RedisBusError::Timeout { url: url.to_owned() }),
    }
}

/// The publishing side of the Redis bus.
#[derive(Debug)]
pub struct RedisBus {
    url: String,
    node: NodeId,
    hub: Arc<dyn Deliver>,
    conn: RedisConn,
    queue: mpsc::Sender<Outgoing>,
    /// Rooms whose messages were not published, to announce once Redis answers.
    unpublished: Arc<Mutex<HashSet<RoomId>>>,
    health: Arc<Health>,
}

impl RedisBus {
    fn send(&self, channel: String, body: Body, messages_of: Option<RoomId>) {
        let envelope = Envelope { node: self.node, body };
        let payload = match serde_json::to_vec(&envelope) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::error!(cause = %err, "a bus event could not be encoded; not published");
                return;
            }
        };
        if self.queue.try_send(Outgoing { channel, payload, messages_of }).is_err() {
            if let Some(room) = messages_of {
                self.unpublished.lock().unwrap_or_else(PoisonError::into_inner).insert(room);
            }
            tracing::warn!("the Redis publish queue is full; a publish was dropped");
        }
    }
}

#[async_trait]
impl Bus for RedisBus {
    async fn publish_messages(&self, batch: MessageBatch) -> Result<(), BusError> {
        let mut rooms: Vec<(RoomId, Vec<heartlink_protocol::ChatMessage>)> = Vec::new();
        for message in &batch.messages {
            match rooms.iter_mut().find(|(room, _)| *room == message.room_id) {
                Some((_, messages)) => messages.push(message.clone()),
                None => rooms.push((message.room_id, vec![message.clone()])),
            }
        }
        self.hub.deliver_messages(batch);
        for (room, messages) in rooms {
            self.send(room_channel(room), Body::Messages(messages), Some(room));
        }
        Ok(())
    }

    async fn publish_room(&self, room: RoomId, event: RoomEvent) -> Result<(), BusError> {
        self.hub.deliver_room(room, &event);
        self.send(room_channel(room), Body::Room { room, event }, None);
        Ok(())
    }

    async fn publish_presence(&self, user: User, presence: PresenceState, rooms: Vec<RoomId>) -> Result<(), BusError> {
        self.hub.deliver_presence(&user, presence, &rooms);
        self.send(PRESENCE_CHANNEL.to_owned(), Body::Presence { user, presence, rooms }, None);
        Ok(())
    }

    async fn publish_user(&self, user: UserId, event: UserEvent) -> Result<(), BusError> {
        self.hub.deliver_user(user, &event);
        self.send(user_channel(user), Body::User { user, event }, None);
        Ok(())
    }

    async fn probe(&self) -> Result<(), BusError> {
        let mut conn = self.conn.0.clone();
        ping(&mut conn, &self.url).await.map_err(|err| BusError(Box::new(err)))?;
        if !self.health.listening.load(Ordering::Relaxed) {
            return Err(BusError(Box::new(RedisBusError::NotListening { url: self.url.clone() })));
        }
        Ok(())
    }
}

/// Sends the queue to Redis in order; a failed pipeline's rooms are
/// announced for a resync once a later one goes through.
async fn publish(
    mut conn: ConnectionManager,
    node: NodeId,
    mut outgoing: mpsc::Receiver<Outgoing>,
    unpublished: Arc<Mutex<HashSet<RoomId>>>,
    shutdown: CancellationToken,
) {
    let mut items = Vec::with_capacity(PIPELINE);
    let mut down = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            received = outgoing.recv_many(&mut items, PIPELINE) => if received == 0 { return },
        }
        let mut pipe = redis::pipe();
        for item in &items {
            pipe.cmd("PUBLISH").arg(&item.channel).arg(&item.payload).ignore();
        }
        match pipe.query_async::<()>(&mut conn).await {
            Ok(()) => {
                if down {
                    tracing::info!("publishing to Redis again");
                    down = false;
                }
                let missed: Vec<RoomId> = std::mem::take(&mut *unpublished.lock().unwrap_or_else(PoisonError::into_inner)).into_iter().collect();
                if !missed.is_empty() && announce(&mut conn, node, &missed).await.is_err() {
                    unpublished.lock().unwrap_or_else(PoisonError::into_inner).extend(missed);
                }
            }
            Err(err) => {
                if !down {
                    tracing::error!(cause = %err, "publishing to Redis failed; other nodes will re-read the rooms from the store");
                    down = true;
                }
                unpublished.lock().unwrap_or_else(PoisonError::into_inner).extend(items.iter().filter_map(|item| item.messages_of));
            }
        }
        items.clear();
    }
}

/// Tells the other nodes to read `rooms` from the store.
async fn announce(conn: &mut ConnectionManager, node: NodeId, rooms: &[RoomId]) -> redis::RedisResult<()> {
    let mut pipe = redis::pipe();
    for room in rooms {
        let envelope = Envelope { node, body: Body::Resync { room: *room } };
        if let Ok(payload) = serde_json::to_vec(&envelope) {
            pipe.cmd("PUBLISH").arg(room_channel(*room)).arg(payload).ignore();
        }
    }
    pipe.query_async::<()>(conn).await
}

/// Which rooms and users this node listens to, kept by the listener task.
#[derive(Debug)]
pub struct RedisSubscriptions {
    commands: mpsc::UnboundedSender<Command>,
}

impl RedisSubscriptions {
    async fn subscribe(&self, make: impl FnOnce(oneshot::Sender<()>) -> Command) -> Result<(), BusError> {
        let (done, subscribed) = oneshot::channel();
        if self.commands.send(make(done)).is_err() {
            return Err(BusError(Box::new(listener::Stopped)));
        }
        // While Redis is down the listener answers at once: the room is read
        // from the store when the subscription is back.
        match tokio::time::timeout(SUBSCRIBE_TIMEOUT, subscribed).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(BusError(Box::new(listener::Stopped))),
            Err(_) => {
                tracing::warn!("Redis did not confirm a subscription in time; the room is re-read when it does");
                Ok(())
            }
        }
    }
}

#[async_trait]
impl Subscriptions for RedisSubscriptions {
    async fn subscribe_room(&self, room: RoomId) -> Result<(), BusError> {
        self.subscribe(|done| Command::SubscribeRoom(room, done)).await
    }

    fn unsubscribe_room(&self, room: RoomId) {
        let _ = self.commands.send(Command::UnsubscribeRoom(room));
    }

    async fn subscribe_user(&self, user: UserId) -> Result<(), BusError> {
        self.subscribe(|done| Command::SubscribeUser(user, done)).await
    }

    fn unsubscribe_user(&self, user: UserId) {
        let _ = self.commands.send(Command::UnsubscribeUser(user));
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn a_password_never_leaves_redacted() {
        assert_eq!(redacted("redis://:hunter2@127.0.0.1:6379/"), "redis://:***@127.0.0.1:6379/");
        assert_eq!(redacted("redis://app:hunter2@cache:6379/2"), "redis://app:***@cache:6379/2");
        assert_eq!(redacted("redis://cache:6379/"), "redis://cache:6379/");
        assert!(!redacted("::hunter2@ not a url").contains("hunter2"));
    }
}
