//! The subscriber side of the Redis bus: one task owns the subscriber
//! connection, the set of channels this node wants, and the commands that
//! change it (applied in the order the hub made them).
//!
//! When the connection drops, the task reconnects with a backoff (answering
//! subscribes at once meanwhile, so that joins keep working), subscribes
//! everything wanted again, and then asks the hub to read every subscribed
//! room from the store: a message committed on another node while this one
//! was deaf, and never followed by another, still reaches the screen.

use super::Health;
use super::envelope::{Body, Envelope, PRESENCE_CHANNEL, room_channel, user_channel};
use crate::bus::{Deliver, MessageBatch};
use crate::node::NodeId;
use futures_util::StreamExt;
use heartlink_protocol::{RoomId, UserId};
use redis::aio::{PubSubSink, PubSubStream};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// The first wait before reconnecting, doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Channels per SUBSCRIBE when subscribing everything again.
const SUBSCRIBE_CHUNK: usize = 1000;

/// The listener task has stopped (the server is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the Redis listener has stopped")]
pub struct Stopped;

/// A change to what this node listens to. A subscribe's sender is answered
/// once Redis confirmed it (or at once while Redis is down).
#[derive(Debug)]
pub enum Command {
    SubscribeRoom(RoomId, oneshot::Sender<()>),
    UnsubscribeRoom(RoomId),
    SubscribeUser(UserId, oneshot::Sender<()>),
    UnsubscribeUser(UserId),
}

/// What the listener task needs.
#[derive(Debug)]
pub(super) struct Listener {
    pub client: redis::Client,
    pub url: String,
    pub node: NodeId,
    pub deliver: Arc<dyn Deliver>,
    pub listening: Arc<Health>,
}

/// The channels this node wants.
#[derive(Debug, Default)]
struct Wanted {
    rooms: HashSet<RoomId>,
    users: HashSet<UserId>,
}

impl Wanted {
    fn channels(&self) -> Vec<String> {
        let rooms = self.rooms.iter().map(|room| room_channel(*room));
        let users = self.users.iter().map(|user| user_channel(*user));
        std::iter::once(PRESENCE_CHANNEL.to_owned()).chain(rooms).chain(users).collect()
    }

    /// Applies `command` to the set; the channel to (un)subscribe and whether to subscribe.
    fn apply(&mut self, command: Command) -> (String, Option<oneshot::Sender<()>>) {
        match command {
            Command::SubscribeRoom(room, done) => {
                self.rooms.insert(room);
                (room_channel(room), Some(done))
            }
            Command::UnsubscribeRoom(room) => {
                self.rooms.remove(&room);
                (room_channel(room), None)
            }
            Command::SubscribeUser(user, done) => {
                self.users.insert(user);
                (user_channel(user), Some(done))
            }
            Command::UnsubscribeUser(user) => {
                self.users.remove(&user);
                (user_channel(user), None)
            }
        }
    }
}

impl Listener {
    /// Runs until `shutdown` (or until every subscriptions handle is gone).
    pub async fn run(self, mut commands: mpsc::UnboundedReceiver<Command>, shutdown: CancellationToken) {
        let mut wanted = Wanted::default();
        let mut backoff = FIRST_BACKOFF;
        let mut first = true;
        loop {
            let Some((mut sink, stream)) = self.connect(&mut wanted, &mut commands, &shutdown, &mut backoff).await else { return };
            self.listening.listening.store(true, Ordering::Relaxed);
            if !first {
                tracing::info!(url = %self.url, rooms = wanted.rooms.len(), "listening to Redis again; re-reading every subscribed room from the store");
            }
            first = false;
            // Everything published from the subscribe on arrives; what was
            // published before it (while this node was deaf) is in the store.
            let rooms: Vec<RoomId> = wanted.rooms.iter().copied().collect();
            self.deliver.resync(&rooms);
            backoff = FIRST_BACKOFF;
            let served = self.serve(&mut sink, stream, &mut wanted, &mut commands, &shutdown).await;
            self.listening.listening.store(false, Ordering::Relaxed);
            if !served {
                return;
            }
            tracing::error!(url = %self.url, "lost the subscriber connection to Redis; reconnecting (this node serves its own members meanwhile)");
        }
    }

    /// Connects and subscribes everything wanted, answering commands while
    /// Redis is unreachable. `None` at shutdown.
    async fn connect(
        &self,
        wanted: &mut Wanted,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        shutdown: &CancellationToken,
        backoff: &mut Duration,
    ) -> Option<(PubSubSink, PubSubStream)> {
        loop {
            match self.try_connect(wanted).await {
                Ok(pair) => return Some(pair),
                Err(err) => tracing::debug!(url = %self.url, cause = %err, "Redis still unreachable"),
            }
            let wait = tokio::time::sleep(*backoff);
            tokio::pin!(wait);
            *backoff = (*backoff * 2).min(MAX_BACKOFF);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return None,
                    () = &mut wait => break,
                    command = commands.recv() => {
                        let (_, done) = wanted.apply(command?);
                        if let Some(done) = done {
                            let _ = done.send(());
                        }
                    }
                }
            }
        }
    }

    async fn try_connect(&self, wanted: &Wanted) -> Result<(PubSubSink, PubSubStream), Box<dyn std::error::Error + Send + Sync>> {
        let pubsub = tokio::time::timeout(super::REDIS_TIMEOUT, self.client.get_async_pubsub()).await??;
        let (mut sink, stream) = pubsub.split();
        for chunk in wanted.channels().chunks(SUBSCRIBE_CHUNK) {
            tokio::time::timeout(super::REDIS_TIMEOUT, sink.subscribe(chunk)).await??;
        }
        Ok((sink, stream))
    }

    /// Delivers what arrives and applies commands until the connection
    /// drops (`true`) or the server shuts down (`false`).
    async fn serve(
        &self,
        sink: &mut PubSubSink,
        mut stream: PubSubStream,
        wanted: &mut Wanted,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        shutdown: &CancellationToken,
    ) -> bool {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return false,
                message = stream.next() => match message {
                    Some(message) => self.hand_over(message.get_payload_bytes()),
                    None => return true,
                },
                command = commands.recv() => {
                    let Some(command) = command else { return false };
                    let (channel, done) = wanted.apply(command);
                    let outcome = match done {
                        Some(_) => tokio::time::timeout(super::REDIS_TIMEOUT, sink.subscribe(&channel)).await,
                        None => tokio::time::timeout(super::REDIS_TIMEOUT, sink.unsubscribe(&channel)).await,
                    };
                    if let Some(done) = done {
                        let _ = done.send(());
                    }
                    if !matches!(outcome, Ok(Ok(()))) {
                        // Reconnecting subscribes everything wanted again and re-reads the rooms.
                        return true;
                    }
                }
            }
        }
    }

    /// Hands one publish of another node to the hub.
    fn hand_over(&self, payload: &[u8]) {
        let envelope: Envelope = match serde_json::from_slice(payload) {
            Ok(envelope) => envelope,
            Err(err) => {
                tracing::error!(cause = %err, bytes = payload.len(), "an unreadable publish on a heartlink channel; ignored");
                return;
            }
        };
        if envelope.node == self.node {
            return; // delivered here when it was published
        }
        match envelope.body {
            Body::Messages(messages) => self.deliver.deliver_messages(MessageBatch { messages, replies: Vec::new() }),
            Body::Room { room, event } => self.deliver.deliver_room(room, &event),
            Body::Presence { user, presence, rooms } => self.deliver.deliver_presence(&user, presence, &rooms),
            Body::User { user, event } => self.deliver.deliver_user(user, &event),
            Body::Resync { room } => self.deliver.resync(&[room]),
        }
    }
}
