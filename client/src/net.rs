//! The network task: the only code that touches the socket.
//!
//! The app talks to it with [`NetCmd`]s and hears back [`NetEvent`]s, both
//! over bounded channels. The task connects, authenticates, re-joins every
//! open room with `since` = the last seq it holds, re-sends the un-acked
//! outbox with the original `client_msg_id`s, and reconnects by itself with
//! exponential backoff and jitter. Every state change is reported, so the
//! screen always shows where the connection stands.

mod backoff;
mod socket;
mod sync;
mod task;

pub use backoff::Backoff;
pub use socket::revoke_token;
pub use crate::events::{Auth, ConnState, NetCmd, NetEvent, Outgoing, RequestKind};
pub use sync::SyncState;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How many commands / events may wait in each direction. Small: the app
/// drains events as fast as it draws, and a full channel only slows the
/// sender for a moment (backpressure) instead of growing memory.
const CHANNEL_CAPACITY: usize = 256;

/// The app's end of the network task.
#[derive(Debug)]
pub struct NetHandle {
    pub commands: mpsc::Sender<NetCmd>,
    pub events: mpsc::Receiver<NetEvent>,
}

/// Starts the network task on `tracker`; it stops when `cancel` fires or the
/// command channel closes.
pub fn spawn(tracker: &TaskTracker, cancel: CancellationToken) -> NetHandle {
    let (command_tx, command_rx) = mpsc::channel(CHANNEL_CAPACITY);
    let (event_tx, event_rx) = mpsc::channel(CHANNEL_CAPACITY);
    tracker.spawn(task::NetTask::new(command_rx, event_tx, cancel).run());
    NetHandle { commands: command_tx, events: event_rx }
}
