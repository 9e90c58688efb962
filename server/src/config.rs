//! The server's settings. The binary fills them from flags and `HEARTLINK_*`
//! environment variables; tests build them directly.

use std::path::PathBuf;
use std::time::Duration;

/// The data dir when none is given: the platform's data dir for
/// `heartlink` (e.g. `~/.local/share/heartlink`); `None` without a home.
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "heartlink").map(|dirs| dirs.data_dir().to_path_buf())
}

/// Whether anyone may `register`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    Open,
    Closed,
}

/// Browser origins (the `Origin` header) admitted to the handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// No browser origin: only clients that send no `Origin` (terminals, scripts).
    #[default]
    None,
    /// These exact origins, e.g. `https://chat.example.org`.
    List(Vec<String>),
    /// Any origin (`--allowed-origin '*'`).
    Any,
}

impl AllowedOrigins {
    /// Builds the set from `--allowed-origin` values; `*` allows any.
    pub fn from_flags(values: Vec<String>) -> Self {
        if values.iter().any(|value| value == "*") {
            Self::Any
        } else if values.is_empty() {
            Self::None
        } else {
            Self::List(values)
        }
    }

    /// Whether a browser from `origin` may connect.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            Self::None => false,
            Self::List(list) => list.iter().any(|allowed| allowed.eq_ignore_ascii_case(origin)),
            Self::Any => true,
        }
    }
}

/// PEM files for `wss://`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Everything `run` needs besides the listener.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the database lives.
    pub data_dir: PathBuf,
    /// WebSocket Ping interval; 2 × this without a frame closes the connection.
    pub heartbeat: Duration,
    pub registration: Registration,
    /// `send`s per second per user (burst twice that); 0 = unlimited.
    pub send_rate: u32,
    /// Time from accepting a connection to its successful authentication
    /// (the handshake included); failed attempts do not extend it.
    pub auth_timeout: Duration,
    /// Frames a connection's outbound queue holds before it is a slow consumer (4008).
    pub outbound_queue: usize,
    /// Requests per second per connection (burst twice that), against floods of cheap requests.
    pub request_rate: u32,
    /// How long an unused token stays valid.
    pub token_ttl: Duration,
    /// How long a typing indicator lasts without being repeated.
    pub typing_ttl: Duration,
    /// How long a user's last connection must have been gone before the
    /// members of their rooms are told they went offline.
    pub presence_grace: Duration,
    /// Threads computing password hashes (each holds one 19 MiB argon2
    /// buffer); more requests wait their turn.
    pub hash_concurrency: usize,
    /// Failed logins per username and source address per minute before
    /// `rate_limited` (ten times this per username over all sources).
    pub login_failures_per_minute: usize,
    /// Serve `wss://` with these files; plain `ws://` when `None`.
    pub tls: Option<TlsFiles>,
    /// Browser origins admitted to the handshake.
    pub allowed_origins: AllowedOrigins,
    /// Upload size, quota and expiry limits.
    pub media: crate::media::MediaLimits,
    /// Tokens (signed-in sessions) a user may hold; beyond it the oldest is
    /// revoked; 0 = unlimited.
    pub tokens_per_user: usize,
    /// Group rooms a user may create per rolling hour; 0 = unlimited.
    pub rooms_per_hour: u32,
    /// Pair rooms (matches) a user may enter per rolling hour; 0 = unlimited.
    pub pair_rooms_per_hour: u32,
    /// `match` requests per second per user (burst twice that); 0 = unlimited.
    pub match_rate: u32,
    /// How long a `match` waits before `match_expired`.
    pub match_wait: Duration,
    /// Users one user may block; 0 = unlimited.
    pub blocks_per_user: usize,
    /// Reports one user may file per rolling hour; 0 = unlimited.
    pub reports_per_hour: u32,
    /// Rooms a user may be a member of at once; 0 = unlimited.
    pub memberships_per_user: usize,
    /// How long a send's idempotency record is kept: a retry within it gets
    /// the original `ack`.
    pub dedup_window: Duration,
    /// How often expired tokens, old idempotency records and spent quota
    /// entries are swept.
    pub sweep_interval: Duration,
    /// Open connections, all addresses together; more are refused (1013).
    pub max_connections: usize,
    /// Open connections from one address (an IPv6 /64); more are refused (1013).
    pub max_connections_per_address: usize,
    /// `register`/`login`/`resume` frames one connection may send before
    /// it is closed (1008); the deadline (`auth_timeout`) does not restart.
    pub auth_attempts: u32,
    /// Password hashes (logins and registrations) per address per minute,
    /// all at once at most; 0 = unlimited.
    pub auth_per_minute: u32,
    /// Registration attempts per address per hour, all at once at most; 0 = unlimited.
    pub registrations_per_hour: u32,
    /// The link of each call invitation (`--call-url-template`).
    pub call_url_template: crate::calls::CallUrlTemplate,
    /// How long an invitation rings before the server appends `missed`.
    pub call_ring: Duration,
    /// The Redis URL (`--bus`) of a cluster's bus and shared live state;
    /// `None`: one node, everything in this process.
    pub bus: Option<String>,
}

impl Config {
    /// The defaults of PROTOCOL.md with data in `data_dir`.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            heartbeat: Duration::from_secs(30),
            registration: Registration::Open,
            send_rate: 10,
            auth_timeout: Duration::from_secs(heartlink_protocol::limits::FIRST_FRAME_SECS),
            outbound_queue: 1024,
            request_rate: 50,
            token_ttl: Duration::from_secs(30 * 24 * 3600),
            typing_ttl: Duration::from_secs(8),
            presence_grace: Duration::from_secs(10),
            hash_concurrency: 2,
            login_failures_per_minute: 5,
            tls: None,
            allowed_origins: AllowedOrigins::None,
            media: crate::media::MediaLimits::default(),
            tokens_per_user: 20,
            rooms_per_hour: 30,
            pair_rooms_per_hour: 30,
            match_rate: 1,
            match_wait: Duration::from_secs(600),
            blocks_per_user: 1000,
            reports_per_hour: 20,
            memberships_per_user: 1000,
            // As long as an unused token lives: a client away for less than
            // that resends its unacknowledged messages exactly once.
            dedup_window: Duration::from_secs(30 * 24 * 3600),
            sweep_interval: Duration::from_secs(600),
            max_connections: 10_000,
            max_connections_per_address: 64,
            auth_attempts: 10,
            auth_per_minute: 30,
            registrations_per_hour: 10,
            call_url_template: crate::calls::CallUrlTemplate::default(),
            call_ring: Duration::from_secs(60),
            bus: None,
        }
    }
}
