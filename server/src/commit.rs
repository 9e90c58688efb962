//! Group commit: durable before visible.
//!
//! Sessions store messages in sled (not yet durable) and queue them here. The
//! flusher takes everything queued, calls sled's flush once for all of it,
//! and only then hands the batch to the hub, which broadcasts the messages in
//! seq order and delivers the acks. Under load one fsync serves many sends.

use crate::hub::{ConnId, Hub};
use crate::sequencer::RoomSeq;
use crate::store::Store;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Queued items a batch takes at most (bounds one publish's lock hold).
const MAX_BATCH: usize = 4096;

/// Something that may be shown only once everything queued before it is on disk.
#[derive(Debug)]
pub enum Committed {
    /// A new message: broadcast `event` to the room, then `ack` to the sender.
    Message { room: Arc<RoomSeq>, seq: u64, event: Utf8Bytes, sender: ConnId, ack: Utf8Bytes, failed: Utf8Bytes },
    /// A reply that must not overtake earlier commits (the ack of a retried send).
    Reply { conn: ConnId, frame: Utf8Bytes },
}

/// The sending side of the commit queue.
#[derive(Debug, Clone)]
pub struct CommitQueue {
    tx: mpsc::Sender<Committed>,
}

/// The flusher stopped (server shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the commit queue is closed")]
pub struct QueueClosed;

impl CommitQueue {
    /// Queues an item; waits while the queue is full (backpressure on senders).
    pub async fn submit(&self, item: Committed) -> Result<(), QueueClosed> {
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

async fn flush_loop(mut rx: mpsc::Receiver<Committed>, store: Store, hub: Arc<Hub>) {
    let mut batch = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        match store.flush().await {
            Ok(()) => hub.publish(&mut batch),
            Err(err) => {
                // Nothing in this batch may be acked: the senders get
                // `internal` and will retry with the same client_msg_id.
                tracing::error!(cause = %err, messages = batch.len(), "flush failed; refusing to ack");
                hub.fail(&mut batch);
            }
        }
        batch.clear();
    }
}
