//! Group commit: durable before visible.
//!
//! Sessions queue their sends here and do not wait, so one connection can
//! keep many sends in flight. The flusher takes everything queued, hands it
//! to the store as one batch ([`Store::append_batch`]: seqs, dedup, one
//! write and one flush for all of it), and only then publishes the batch's
//! new messages on the bus, with the senders' acks attached. Under load one
//! fsync serves many sends. If the store fails, no message of the batch is
//! shown and every sender gets `internal` (their retries, with the same
//! `client_msg_id`, are safe).
//!
//! The flusher knows the store and the bus, not the hub: the hub hears of
//! the batch from the bus, like every other node's hub.

use crate::bus::{Bus, MessageBatch, Reply};
use crate::node::ConnId;
use crate::store::{Appended, NewMessage, SeqMessage, Store};
use crate::wire;
use heartlink_protocol::{ChatMessage, ErrorCode, MediaId, RequestRef, ServerMsg, encode_server};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Queued sends a batch takes at most (bounds one batch's transaction and
/// the hub's lock hold when it is delivered).
const MAX_BATCH: usize = 4096;

/// Where a send's answer goes.
#[derive(Debug, Clone)]
pub struct ReplyTo {
    pub conn: ConnId,
    /// The `send`'s `ref`, repeated in its `ack` or `error`.
    pub reference: Option<RequestRef>,
}

/// What else hears of a stored batch, after the bus: this node's room
/// activity notices, and the media of deleted messages that no message
/// carries any more. Must not block (the flusher calls it between batches).
pub trait AfterCommit: Send + Sync + std::fmt::Debug + 'static {
    /// The new messages of a durable batch, in seq order within each room.
    fn messages_stored(&self, messages: &[ChatMessage]);

    /// Media that deleted messages carried and no message carries now.
    fn media_released(&self, media: Vec<MediaId>);
}

/// Nothing else hears of a batch (tests of the commit alone).
#[derive(Debug, Default)]
pub struct NothingAfter;

impl AfterCommit for NothingAfter {
    fn messages_stored(&self, _: &[ChatMessage]) {}

    fn media_released(&self, _: Vec<MediaId>) {}
}

/// One queued send.
#[derive(Debug)]
pub struct Submission {
    pub message: NewMessage,
    pub reply: ReplyTo,
    /// When the session queued it, for the ack-time histogram (`/metrics`).
    pub queued_at: Instant,
}

/// The sending side of the commit queue.
#[derive(Debug, Clone)]
pub struct CommitQueue {
    tx: mpsc::Sender<Submission>,
}

/// The flusher stopped (server shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the commit queue is closed")]
pub struct QueueClosed;

impl CommitQueue {
    /// Queues a send; waits while the queue is full (backpressure on senders).
    pub async fn submit(&self, submission: Submission) -> Result<(), QueueClosed> {
        self.tx.send(submission).await.map_err(|_| QueueClosed)
    }
}

/// Starts the flusher, with room for `capacity` queued sends. It ends when
/// every `CommitQueue` clone is dropped and the queue is drained.
pub fn spawn_flusher(
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    after: Arc<dyn AfterCommit>,
    capacity: usize,
) -> (CommitQueue, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(capacity);
    let task = tokio::spawn(flush_loop(rx, store, bus, after));
    (CommitQueue { tx }, task)
}

async fn flush_loop(mut rx: mpsc::Receiver<Submission>, store: Arc<dyn Store>, bus: Arc<dyn Bus>, after: Arc<dyn AfterCommit>) {
    let mut queued = Vec::new();
    while rx.recv_many(&mut queued, MAX_BATCH).await > 0 {
        let queued_at: Vec<Instant> = queued.iter().map(|submission| submission.queued_at).collect();
        let (messages, replies): (Vec<NewMessage>, Vec<ReplyTo>) =
            queued.drain(..).map(|Submission { message, reply, .. }| (message, reply)).unzip();
        // The store consumes its copy; the other becomes what clients see.
        let batch = match store.append_batch(messages.clone()).await {
            Ok(appended) if appended.len() == messages.len() => {
                crate::metrics::messages_committed(queued_at.iter().map(Instant::elapsed));
                let released: Vec<MediaId> = appended.iter().flat_map(|appended| appended.released_media.iter().copied()).collect();
                if !released.is_empty() {
                    after.media_released(released);
                }
                let mut messages = messages;
                crate::calls::recall_retried_invites(&*store, &mut messages, &appended).await;
                durable(messages, replies, &appended)
            }
            Ok(appended) => {
                let (sent, answered) = (messages.len(), appended.len());
                tracing::error!(sent, answered, "the store answered a batch with the wrong number of results");
                refused(&messages, replies)
            }
            Err(err) => {
                tracing::error!(cause = %crate::report::Chain(&err), messages = replies.len(), "storing a batch failed; refusing to ack");
                refused(&messages, replies)
            }
        };
        if !batch.messages.is_empty() {
            after.messages_stored(&batch.messages);
        }
        if let Err(err) = bus.publish_messages(batch).await {
            // The batch is durable: nodes that missed it fill the gap from the store.
            tracing::error!(cause = %crate::report::Chain(&err), "publishing a batch failed");
        }
    }
}

/// The new messages of a stored batch, and an ack for every send (a retry's
/// ack repeats its original's seq and time).
fn durable(messages: Vec<NewMessage>, replies: Vec<ReplyTo>, appended: &[Appended]) -> MessageBatch {
    let mut batch = MessageBatch { messages: Vec::with_capacity(messages.len()), replies: Vec::with_capacity(replies.len()) };
    for ((NewMessage { room, record }, reply), appended) in messages.into_iter().zip(replies).zip(appended) {
        if let Some(refusal) = appended.refused {
            // A call step its call's rules refused: nothing was stored.
            let (code, message) = crate::calls::refusal_error(refusal);
            let frame = Utf8Bytes::from(encode_server(&ServerMsg::error(code, message), reply.reference.as_ref()));
            batch.replies.push(Reply { conn: reply.conn, room, after_seq: 0, frame });
            continue;
        }
        let ack = ServerMsg::Ack {
            room_id: room,
            client_msg_id: record.client_msg_id.clone(),
            seq: appended.seq,
            ts: appended.ts,
            call: crate::calls::invite_of(&record),
        };
        let frame = Utf8Bytes::from(encode_server(&ack, reply.reference.as_ref()));
        batch.replies.push(Reply { conn: reply.conn, room, after_seq: appended.seq, frame });
        if appended.fresh {
            batch.messages.push(wire::chat_message(room, SeqMessage { seq: appended.seq, record }));
        }
    }
    batch
}

/// How long a sender whose batch failed to commit is asked to wait before
/// sending again.
pub const STORE_RETRY_AFTER_MS: u64 = 1000;

/// Nothing of the batch is shown; every sender hears that its send failed.
fn refused(messages: &[NewMessage], replies: Vec<ReplyTo>) -> MessageBatch {
    // The store failed (a database that went away comes back, or another
    // node takes over): the client's outbox resends after the pause.
    let failed = ServerMsg::Error {
        code: ErrorCode::Internal,
        message: "the message could not be saved; send it again".into(),
        retry_after_ms: Some(STORE_RETRY_AFTER_MS),
    };
    let replies = messages
        .iter()
        .zip(replies)
        .map(|(message, reply)| Reply {
            conn: reply.conn,
            room: message.room,
            after_seq: 0,
            frame: Utf8Bytes::from(encode_server(&failed, reply.reference.as_ref())),
        })
        .collect();
    MessageBatch { messages: Vec::new(), replies }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::{BusError, RoomEvent, UserEvent};
    use crate::node::{ConnIds, NodeId};
    use crate::store::{MessageRecord, SledStore, UserSummary};
    use async_trait::async_trait;
    use heartlink_protocol::{RoomId, User, UserId};
    use std::time::Duration;

    /// A bus that hands each published batch to the test, after checking
    /// that every message in it is already durable in the store.
    #[derive(Debug)]
    struct Recorder {
        store: Arc<dyn Store>,
        batches: mpsc::UnboundedSender<MessageBatch>,
    }

    #[async_trait]
    impl Bus for Recorder {
        async fn publish_messages(&self, batch: MessageBatch) -> Result<(), BusError> {
            for message in &batch.messages {
                let durable = self.store.last_seq(message.room_id).await.unwrap();
                assert!(durable >= message.seq, "seq {} published before it was durable", message.seq);
            }
            self.batches.send(batch).unwrap();
            Ok(())
        }
        async fn publish_room(&self, _: RoomId, _: RoomEvent) -> Result<(), BusError> {
            Ok(())
        }
        async fn publish_presence(&self, _: User, _: crate::bus::PresenceState, _: Vec<RoomId>) -> Result<(), BusError> {
            Ok(())
        }
        async fn publish_user(&self, _: UserId, _: UserEvent) -> Result<(), BusError> {
            Ok(())
        }
    }

    fn submission(conn: ConnId, room: RoomId, sender: &UserSummary, client_msg_id: &str) -> Submission {
        let record = MessageRecord { sender: sender.clone(), body: "hi".into(), ts: 7, client_msg_id: client_msg_id.into(), ..MessageRecord::default() };
        let reference = Some(RequestRef::try_from(format!("r-{client_msg_id}")).unwrap());
        Submission { message: NewMessage { room, record }, reply: ReplyTo { conn, reference }, queued_at: Instant::now() }
    }

    /// Everything published until `replies` replies were seen.
    async fn collect(batches: &mut mpsc::UnboundedReceiver<MessageBatch>, replies: usize) -> MessageBatch {
        let mut all = MessageBatch::default();
        while all.replies.len() < replies {
            let batch = tokio::time::timeout(Duration::from_secs(10), batches.recv()).await.unwrap().unwrap();
            all.messages.extend(batch.messages);
            all.replies.extend(batch.replies);
        }
        all
    }

    fn start(store: Arc<dyn Store>) -> (CommitQueue, mpsc::UnboundedReceiver<MessageBatch>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let bus = Arc::new(Recorder { store: Arc::clone(&store), batches: tx });
        let (queue, _flusher) = spawn_flusher(store, bus, Arc::new(NothingAfter), 64);
        (queue, rx)
    }

    #[tokio::test]
    async fn sends_are_published_once_durable_in_order_with_their_acks() {
        let dir = tempfile::tempdir().unwrap();
        let (queue, mut batches) = start(Arc::new(SledStore::open(dir.path()).unwrap()));
        let (conn, room, other) = (ConnIds::new(NodeId::from_raw(3)).next(), RoomId::random(), RoomId::random());
        let alice = UserSummary { id: UserId::random(), username: "alice".into() };
        for (target, id) in [(room, "a"), (other, "b"), (room, "c"), (room, "a")] {
            queue.submit(submission(conn, target, &alice, id)).await.unwrap();
        }
        let all = collect(&mut batches, 4).await;
        let published: Vec<(bool, u64)> = all.messages.iter().map(|m| (m.room_id == room, m.seq)).collect();
        assert_eq!(published, [(true, 1), (false, 1), (true, 2)], "the retry of `a` is not published again");
        let acks: Vec<serde_json::Value> = all.replies.iter().map(|r| serde_json::from_str(&r.frame).unwrap()).collect();
        let seqs: Vec<(u64, &str)> = acks.iter().map(|a| (a["seq"].as_u64().unwrap(), a["ref"].as_str().unwrap())).collect();
        assert_eq!(seqs, [(1, "r-a"), (1, "r-b"), (2, "r-c"), (1, "r-a")], "the retry's ack repeats the original's seq");
        assert!(all.replies.iter().all(|reply| reply.conn == conn && reply.after_seq > 0));
        assert_eq!(all.messages[0].sender.username, "alice");
    }

    #[tokio::test]
    async fn sends_over_several_batches_are_published_gapless_in_seq_order_with_acks_in_queue_order() {
        let dir = tempfile::tempdir().unwrap();
        let (queue, mut batches) = start(Arc::new(SledStore::open(dir.path()).unwrap()));
        let (conn, room) = (ConnIds::new(NodeId::from_raw(3)).next(), RoomId::random());
        let alice = UserSummary { id: UserId::random(), username: "alice".into() };
        // More than the queue holds: the flusher takes them in several batches.
        let sends = 300;
        let submitter = tokio::spawn(async move {
            for n in 0..sends {
                queue.submit(submission(conn, room, &alice, &format!("m{n}"))).await.unwrap();
            }
        });
        let all = collect(&mut batches, sends).await;
        submitter.await.unwrap();
        let published: Vec<u64> = all.messages.iter().map(|m| m.seq).collect();
        assert_eq!(published, (1..=sends as u64).collect::<Vec<_>>(), "gapless, in order, each once");
        let acked: Vec<u64> = all.replies.iter().map(|r| r.after_seq).collect();
        assert_eq!(acked, published, "each ack in the order its send was queued");
    }

    #[tokio::test]
    async fn a_refused_call_step_is_answered_with_its_error_and_an_invitation_ack_carries_the_call() {
        use crate::store::{CallActionRecord, CallRecord};
        let dir = tempfile::tempdir().unwrap();
        let (queue, mut batches) = start(Arc::new(SledStore::open(dir.path()).unwrap()));
        let (conn, room) = (ConnIds::new(NodeId::from_raw(3)).next(), RoomId::random());
        let alice = UserSummary { id: UserId::random(), username: "alice".into() };
        let call_id = heartlink_protocol::CallId::random();
        let mut invite = submission(conn, room, &alice, "i");
        let url = Some("https://x.org/c".to_owned());
        invite.message.record.call = Some(Box::new(CallRecord { call_id, action: CallActionRecord::Invite, url, expires_at: Some(u64::MAX) }));
        let mut own_accept = submission(conn, room, &alice, "a");
        own_accept.message.record.call = Some(Box::new(CallRecord { call_id, action: CallActionRecord::Accept, url: None, expires_at: None }));
        queue.submit(invite).await.unwrap();
        queue.submit(own_accept).await.unwrap();
        let all = collect(&mut batches, 2).await;
        assert_eq!(all.messages.len(), 1, "only the invitation is shown");
        let replies: Vec<serde_json::Value> = all.replies.iter().map(|r| serde_json::from_str(&r.frame).unwrap()).collect();
        assert_eq!((&replies[0]["type"], &replies[0]["call"]["url"]), (&"ack".into(), &"https://x.org/c".into()));
        assert_eq!((&replies[1]["type"], &replies[1]["code"], &replies[1]["ref"]), (&"error".into(), &"forbidden".into(), &"r-a".into()));
        assert_eq!(all.replies[1].after_seq, 0);
    }

    #[tokio::test]
    async fn a_failed_write_shows_nothing_and_tells_every_sender() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        store.break_message_writes();
        let (queue, mut batches) = start(Arc::new(store));
        let ids = ConnIds::new(NodeId::from_raw(3));
        let alice = UserSummary { id: UserId::random(), username: "alice".into() };
        let (first, second) = (ids.next(), ids.next());
        queue.submit(submission(first, RoomId::random(), &alice, "x")).await.unwrap();
        queue.submit(submission(second, RoomId::random(), &alice, "y")).await.unwrap();
        let all = collect(&mut batches, 2).await;
        assert!(all.messages.is_empty(), "nothing unsaved is shown");
        for (reply, (conn, reference)) in all.replies.iter().zip([(first, "r-x"), (second, "r-y")]) {
            let error: serde_json::Value = serde_json::from_str(&reply.frame).unwrap();
            assert_eq!((reply.conn, reply.after_seq), (conn, 0));
            assert_eq!((error["code"].as_str(), error["ref"].as_str()), (Some("internal"), Some(reference)));
            assert_eq!(error["retry_after_ms"].as_u64(), Some(super::STORE_RETRY_AFTER_MS), "the outbox resends after the pause");
        }
    }
}
