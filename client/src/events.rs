//! The messages between the app and the network task, and the connection
//! state the screen shows: plain data, no I/O. The app and the view import
//! these from here, so neither depends on the socket code in `net`.

pub mod media;

use heartlink_protocol::{
    AttachmentRef, Body, CallRequest, ClientMsg, ClientMsgId, ErrorCode, Password, RelatesTo, RoomId, Secret, ServerMsg, User,
    Username,
};
use tokio::time::Instant;

/// How the network task proves who the user is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    Login { username: String, password: Secret },
    Register { username: Username, password: Password },
    /// `presence: false`: scripts and bots, which should not make the user
    /// appear online (nor flap offline when they finish).
    Resume { token: Secret, presence: bool },
}

impl Auth {
    /// The first frame of a connection.
    pub fn to_msg(&self) -> ClientMsg {
        match self.clone() {
            Self::Login { username, password } => ClientMsg::Login { username, password },
            Self::Register { username, password } => ClientMsg::Register { username, password },
            Self::Resume { token, presence } => ClientMsg::Resume { token, presence },
        }
    }

    /// A password login is tried once (the user is waiting at the prompt); a
    /// token is retried with backoff until the server answers.
    pub fn retries(&self) -> bool {
        matches!(self, Self::Resume { .. })
    }
}

/// A message waiting for its ack. Kept until acked or refused for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub room_id: RoomId,
    pub client_msg_id: ClientMsgId,
    pub body: Body,
    /// A reply, edit, deletion or reaction: the message it applies to.
    pub relates_to: Option<RelatesTo>,
    /// An uploaded file, image or voice message.
    pub attachment: Option<AttachmentRef>,
    /// A call invitation or an answer to one.
    pub call: Option<CallRequest>,
    /// Set by a `rate_limited` refusal: not before this instant.
    pub not_before: Option<Instant>,
}

impl Outgoing {
    pub fn new(room_id: RoomId, client_msg_id: ClientMsgId, body: Body) -> Self {
        Self { room_id, client_msg_id, body, relates_to: None, attachment: None, call: None, not_before: None }
    }

    /// The same message carrying an attachment.
    pub fn attaching(mut self, attachment: Option<AttachmentRef>) -> Self {
        self.attachment = attachment;
        self
    }

    /// The same message carrying a call action.
    pub fn calling(mut self, call: Option<CallRequest>) -> Self {
        self.call = call;
        self
    }

    /// The same message applied to another (`relates_to`).
    pub fn relating(mut self, relates_to: Option<RelatesTo>) -> Self {
        self.relates_to = relates_to;
        self
    }

    pub fn to_msg(&self) -> ClientMsg {
        ClientMsg::Send {
            room_id: self.room_id,
            client_msg_id: self.client_msg_id.clone(),
            body: self.body.clone(),
            attachment: self.attachment.clone(),
            call: self.call,
            relates_to: self.relates_to,
        }
    }
}

/// Which request a server reply (or refusal) answers, found through its `ref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestKind {
    Join(RoomId),
    Send { room_id: RoomId, client_msg_id: String },
    /// Any other request: its wire `type` and room, if it names one.
    Other { kind: &'static str, room_id: Option<RoomId> },
}

impl RequestKind {
    pub fn of(msg: &ClientMsg) -> Self {
        match msg {
            ClientMsg::Join { room_id, .. } => Self::Join(*room_id),
            ClientMsg::Send { room_id, client_msg_id, .. } => {
                Self::Send { room_id: *room_id, client_msg_id: client_msg_id.to_string() }
            }
            ClientMsg::Leave { room_id } | ClientMsg::History { room_id, .. } => {
                Self::Other { kind: msg.kind(), room_id: Some(*room_id) }
            }
            other => Self::Other { kind: other.kind(), room_id: None },
        }
    }
}

/// What the app asks of the network.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// `blocked`: the users this account blocked (`connection_established`).
    /// `server`: the one it is on; `servers`: the whole list it was given
    /// (completed; what the session file keeps).
    Authenticated { user: User, token: String, server: String, servers: String, reconnect: bool, blocked: Vec<User> },
    /// The server refused the credentials, or a password login could not
    /// reach it; the task waits for a new [`NetCmd::Authenticate`].
    AuthFailed { reason: String, session_expired: bool },
    /// Every open room has been (re-)joined after connecting, and the server
    /// has answered everything sent before.
    Resynced,
    /// A frame the app should apply.
    Server(ServerMsg),
    /// The server refused a request; `request` says which one.
    Refused { request: RequestKind, code: ErrorCode, message: String },
    /// A one-off request could not be sent because the connection is down.
    NotSent { what: &'static str },
}
