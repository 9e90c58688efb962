//! The network task: the only code that touches the socket.
//!
//! The app talks to it with [`NetCmd`]s and hears back [`NetEvent`]s, both
//! over bounded channels. The task connects, authenticates, re-joins every
//! open room with `since` = the last seq it holds, re-sends the un-acked
//! outbox with the original `client_msg_id`s, and reconnects by itself with
//! exponential backoff and jitter, moving to the next server when it was
//! given several (`--server URL1,URL2`). Every state change is reported, so the
//! screen always shows where the connection stands.

mod backoff;
pub mod servers;
mod socket;
mod sleep;
mod sync;
mod task;

pub use backoff::Backoff;
pub use socket::revoke_token;
pub use crate::events::{Auth, ConnState, NetCmd, NetEvent, Outgoing, RequestKind};
pub use sync::SyncState;

use std::time::Duration;
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

/// The wall clock the task compares with the monotonic one to notice that
/// the computer slept (replaceable in tests).
pub type WallClock = std::sync::Arc<dyn Fn() -> std::time::SystemTime + Send + Sync>;

/// How the task reconnects. The defaults are what the client uses.
#[derive(Clone)]
pub struct NetOptions {
    /// Delays after failures: base and cap.
    pub backoff: Backoff,
    /// The cap for the outage after a long-lived session (see `long_lived`):
    /// a server that was fine for a while is likely back soon.
    pub short_cap: Duration,
    pub long_lived: Duration,
    pub wall_clock: WallClock,
}

impl Default for NetOptions {
    fn default() -> Self {
        Self {
            backoff: Backoff::default(),
            short_cap: Duration::from_secs(5),
            long_lived: Duration::from_secs(60),
            wall_clock: std::sync::Arc::new(std::time::SystemTime::now),
        }
    }
}

impl std::fmt::Debug for NetOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetOptions")
            .field("backoff", &self.backoff)
            .field("short_cap", &self.short_cap)
            .field("long_lived", &self.long_lived)
            .finish_non_exhaustive()
    }
}

/// Starts the network task on `tracker`; it stops when `cancel` fires or the
/// command channel closes.
pub fn spawn(tracker: &TaskTracker, cancel: CancellationToken) -> NetHandle {
    spawn_with(tracker, cancel, NetOptions::default())
}

/// [`spawn`] with other reconnection settings (tests).
pub fn spawn_with(tracker: &TaskTracker, cancel: CancellationToken, options: NetOptions) -> NetHandle {
    let (command_tx, command_rx) = mpsc::channel(CHANNEL_CAPACITY);
    let (event_tx, event_rx) = mpsc::channel(CHANNEL_CAPACITY);
    tracker.spawn(task::NetTask::new(command_rx, event_tx, cancel, options).run());
    NetHandle { commands: command_tx, events: event_rx }
}
