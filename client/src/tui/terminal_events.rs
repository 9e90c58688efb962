//! The terminal's events, read by a task of their own and handed to the
//! loop through a channel.
//!
//! Why not `EventStream::next()` in the loop's `select!`: every turn of the
//! loop (one per network message) polled the stream again, and crossterm's
//! poll tries its event reader's lock, which its waiting thread holds, with
//! a spinning `try_lock_for` — B7's strace showed ~2,700 `sched_yield`
//! calls a second at 200 messages/s, the largest share of the client's
//! system calls. A task of its own is polled only when a terminal event
//! has woken it.

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::task::AbortOnDropHandle;

/// Terminal events as they arrive; the channel closes when the terminal's
/// stream ends. Dropping the handle stops the reading.
pub struct TerminalEvents {
    pub events: mpsc::Receiver<std::io::Result<Event>>,
    _reader: AbortOnDropHandle<()>,
}

impl TerminalEvents {
    /// Starts reading. Call it after anything that reads the terminal's
    /// answers directly (the width probe, the image query).
    pub fn start() -> Self {
        let (tx, events) = mpsc::channel(64);
        let reader = tokio::spawn(async move {
            let mut stream = EventStream::new();
            while let Some(event) = stream.next().await {
                let failed = event.is_err();
                if tx.send(event).await.is_err() || failed {
                    break;
                }
            }
        });
        Self { events, _reader: AbortOnDropHandle::new(reader) }
    }
}
