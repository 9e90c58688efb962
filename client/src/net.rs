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
pub use sync::{Outgoing, RequestKind, SyncState};

use heartlink_protocol::{Body, ClientMsg, ClientMsgId, ErrorCode, Password, RoomId, Secret, ServerMsg, User, Username};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How many commands / events may wait in each direction. Small: the app
/// drains events as fast as it draws, and a full channel only slows the
/// sender for a moment (backpressure) instead of growing memory.
const CHANNEL_CAPACITY: usize = 256;

/// How the task proves who the user is.
#[derive(Debug, Clone)]
pub enum Auth {
    Login { username: String, password: Secret },
    Register { username: Username, password: Password },
    Resume { token: Secret },
}

impl Auth {
    fn to_msg(&self) -> ClientMsg {
        match self.clone() {
            Self::Login { username, password } => ClientMsg::Login { username, password },
            Self::Register { username, password } => ClientMsg::Register { username, password },
            Self::Resume { token } => ClientMsg::Resume { token, presence: true },
        }
    }

    /// A password login is tried once (the user is waiting at the prompt); a
    /// token is retried with backoff until the server answers.
    fn retries(&self) -> bool {
        matches!(self, Self::Resume { .. })
    }
}

/// What the app asks of the network.
#[derive(Debug, Clone)]
pub enum NetCmd {
    /// Connect to `server` and authenticate; later reconnects resume with the token.
    Authenticate { server: String, auth: Auth },
    /// Join a room now (when connected) and again after every reconnect.
    Join(RoomId),
    /// Leave a room and stop re-joining it.
    Leave(RoomId),
    /// Queue a message in the outbox until the server acks it.
    Send(Outgoing),
    /// A one-off request (create_room, history, list_rooms, match, typing, read, …).
    /// Dropped with [`NetEvent::NotSent`] while disconnected.
    Request(ClientMsg),
    /// Skip the rest of the backoff wait and try to connect now.
    RetryNow,
}

impl NetCmd {
    pub fn send(room_id: RoomId, client_msg_id: ClientMsgId, body: Body) -> Self {
        Self::Send(Outgoing::new(room_id, client_msg_id, body))
    }
}

/// The connection state the status bar shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Not connected and not trying: not logged in, or the server refused the session.
    Offline,
    /// The first attempt is under way.
    Connecting,
    Connected,
    /// Lost the connection; `retry_at` is when the next attempt starts
    /// (`None` while an attempt is under way).
    Reconnecting { attempt: u32, retry_at: Option<Instant> },
}

impl ConnState {
    /// The one word the status bar shows.
    pub fn word(&self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Reconnecting { .. } => "reconnecting",
        }
    }
}

/// What the network tells the app.
#[derive(Debug, Clone)]
pub enum NetEvent {
    State(ConnState),
    /// The server accepted the credentials. `reconnect` is false for the first
    /// success after an [`NetCmd::Authenticate`].
    Authenticated { user: User, token: String, server: String, reconnect: bool },
    /// The server refused the credentials, or a password login could not
    /// reach it; the task waits for a new [`NetCmd::Authenticate`].
    AuthFailed { reason: String, session_expired: bool },
    /// Every open room has been (re-)joined after connecting.
    Resynced,
    /// A frame the app should apply.
    Server(ServerMsg),
    /// The server refused a request; `request` says which one.
    Refused { request: RequestKind, code: ErrorCode, message: String },
    /// A one-off request could not be sent because the connection is down.
    NotSent { what: &'static str },
}

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
