//! Group commit: durable before visible.
//!
//! Sessions give a message its seq, encode it and queue it here. The flusher
//! takes everything queued, writes all of its messages in one sled
//! transaction, calls sled's flush once for all of it, and only then hands
//! the batch to the hub, which broadcasts the messages in seq order and
//! delivers the acks. Under load one write and one fsync serve many sends.

use crate::hub::{ConnId, Hub};
use crate::sequencer::RoomSeq;
use crate::store::{MessageWrite, Store};
use heartlink_protocol::{ClientMsgId, UserId};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Queued items a batch takes at most (bounds one publish's lock hold).
const MAX_BATCH: usize = 4096;

/// Something that may be shown only once everything queued before it is on disk.
#[derive(Debug)]
pub enum Committed {
    /// A new message: broadcast `event` to the room, then `ack` to the sender.
    /// `queued_at` is when the session queued it, for the ack-time histogram.
    Message { room: Arc<RoomSeq>, seq: u64, event: Utf8Bytes, queued_at: Instant, sender: ConnId, ack: Utf8Bytes, failed: Utf8Bytes },
    /// A reply that must not overtake earlier commits (the ack of a retried send).
    Reply { conn: ConnId, frame: Utf8Bytes },
}

/// A new message's store write, which the flusher does for the batch.
#[derive(Debug)]
pub struct PendingWrite {
    pub write: MessageWrite,
    /// The idempotency key, to forget in the room's pending table once written.
    pub sender: UserId,
    pub client_msg_id: ClientMsgId,
}

/// One queued item: what to write (new messages only), then what to show.
#[derive(Debug)]
pub struct Submission {
    pub write: Option<PendingWrite>,
    pub item: Committed,
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
    /// Queues an item; waits while the queue is full (backpressure on senders).
    pub async fn submit(&self, item: Submission) -> Result<(), QueueClosed> {
        self.tx.send(item).await.map_err(|_| QueueClosed)
    }
}

/// Starts the flusher. It ends when every `CommitQueue` clone is dropped and
/// the queue is drained.
pub fn spawn_flusher(store: Store, hub: Arc<Hub>, capacity: usize) -> (CommitQueue, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(capacity);
    let task = tokio::spawn(flush_loop(rx, store, hub));
    (CommitQueue { tx }, task)
}

async fn flush_loop(mut rx: mpsc::Receiver<Submission>, store: Store, hub: Arc<Hub>) {
    let mut queued = Vec::new();
    while let Some(first) = rx.recv().await {
        queued.push(first);
        while queued.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(item) => queued.push(item),
                Err(_) => break,
            }
        }
        let mut writes = Vec::new();
        let mut written = Vec::new();
        let mut batch = Vec::with_capacity(queued.len());
        for Submission { write, item } in queued.drain(..) {
            if let (Some(pending), Committed::Message { room, .. }) = (write, &item) {
                writes.push(pending.write);
                written.push((Arc::clone(room), pending.sender, pending.client_msg_id));
            }
            batch.push(item);
        }
        let outcome = store.write_and_flush(writes).await;
        // Written (a retry now finds them in the store) or refused (a retry
        // gets a new seq): either way the pending records have done their job.
        for (room, sender, id) in &written {
            room.remove_pending(*sender, id);
        }
        match outcome {
            Ok(()) => {
                crate::metrics::messages_committed(batch.iter().filter_map(|item| match item {
                    Committed::Message { queued_at, .. } => Some(queued_at.elapsed()),
                    Committed::Reply { .. } => None,
                }));
                hub.publish(&mut batch);
            }
            Err(err) => {
                // Nothing in this batch may be acked: the senders get
                // `internal` and will retry with the same client_msg_id.
                tracing::error!(cause = %err, messages = batch.len(), "write or flush failed; refusing to ack");
                hub.fail(&mut batch);
            }
        }
    }
}
