//! Shared ephemeral state: what every node must agree on but nobody needs
//! after a restart. Presence counts (a user is online while any of their
//! connections, on any node, is open), the match queue, and the limits that
//! count per user or per name rather than per connection (sends and media
//! requests per user, failed logins, rooms created and stranger chats
//! started per hour).
//!
//! [`LiveState`] is the seam; [`local`] keeps it in this process's memory.
//! A cluster keeps it in Redis ([`redis`] (docs/ARCHITECTURE.md says what that must
//! provide). Per-connection state (joined rooms, typing indicators, request
//! rates, outbound queues) is not here: it lives with the connection, in
//! the hub and the session, on the connection's node.

pub mod local;
pub mod redis;
mod match_queue;

pub use match_queue::REMATCH_AFTER;
mod presence;

use crate::address::AddressKey;
use crate::node::ConnId;
use async_trait::async_trait;
use heartlink_protocol::{PresenceStatus, User, UserId};
use std::time::Duration;

/// The shared state could not be read or changed (a networked store is down).
#[derive(Debug, thiserror::Error)]
#[error("the live state is unavailable")]
pub struct LiveError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Whether a rate-limited action may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// Not now; the earliest retry is this far away.
    RetryAfter(Duration),
}

/// What closing a connection did to its user's presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Other connections remain; announce this status if it changed.
    Stays(Option<PresenceStatus>),
    /// It was the last one: the grace period started, under this id.
    Last { leaving: u64 },
}

/// A connection that asked for a match.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MatchTicket {
    pub conn: ConnId,
    pub user: User,
    /// The rendezvous code (4–8 digits); `None` for the random queue.
    pub code: Option<String>,
    /// The users this one blocked: never paired with them.
    pub avoid: Vec<UserId>,
}

/// What a `match` request led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchOutcome {
    /// Nobody else is waiting: this connection (or another of the user's) waits.
    Waiting,
    /// Paired with this waiting connection (which no longer waits).
    Matched(MatchTicket),
}

/// Per-user rates: a token bucket per user, shared by all of the user's
/// connections and requests on every node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rate {
    /// `send`s (`--send-rate`).
    Sends,
    /// New uploads (tus creation).
    UploadCreations,
    /// Requests to `/media`.
    MediaRequests,
    /// `match` requests (`--match-rate`): a flood of match/cancel costs nothing.
    Matches,
}

/// Per-user quotas over a rolling hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quota {
    /// Group rooms created (`--rooms-per-hour`).
    Rooms,
    /// Pair rooms entered through `match` (`--pair-rooms-per-hour`).
    PairRooms,
    /// Reports filed (`--reports-per-hour`).
    Reports,
}

/// The shared ephemeral state.
#[async_trait]
pub trait LiveState: Send + Sync + std::fmt::Debug + 'static {
    /// A connection of `user` that counts for presence opened (one resumed
    /// with `presence:false` does not); the status to announce when what
    /// the others see changed (they came online, or back from away). A
    /// connection back within the grace period announces nothing.
    async fn connection_opened(&self, user: UserId) -> Result<Option<PresenceStatus>, LiveError>;

    /// A connection of `user` that counted for presence (and was `away` or
    /// not) closed. Its last one anywhere starts the grace period: the
    /// caller asks [`LiveState::offline_due`] when it has passed.
    async fn connection_closed(&self, user: UserId, away: bool) -> Result<Closed, LiveError>;

    /// One of `user`'s connections set itself away (or back online); the
    /// status to announce when what the others see changed (away needs
    /// every connection away).
    async fn set_away(&self, user: UserId, away: bool) -> Result<Option<PresenceStatus>, LiveError>;

    /// The grace period that `connection_closed` started as `leaving` has
    /// passed: `true` when no connection of `user` came back meanwhile (they
    /// are offline now; announce it).
    async fn offline_due(&self, user: UserId, leaving: u64) -> Result<bool, LiveError>;

    /// Whether each of `users` shows as online or away (has an open
    /// connection anywhere, or is within the grace period), in order.
    async fn online(&self, users: &[UserId]) -> Result<Vec<bool>, LiveError>;

    /// What each of `users` shows as, in order.
    async fn statuses(&self, users: &[UserId]) -> Result<Vec<PresenceStatus>, LiveError>;

    /// Pairs `me` with the longest-waiting compatible connection of its
    /// queue (the random one, or its code's), or makes `me` wait (a user
    /// already waiting with the same code, from any connection, keeps their
    /// place). Never pairs a user with themself, with someone either of them
    /// blocked (the tickets' `avoid`), nor with their last partner within
    /// [`REMATCH_AFTER`]; a pairing counts as both users' last partner.
    async fn request_match(&self, me: MatchTicket) -> Result<MatchOutcome, LiveError>;

    /// `user` stops waiting for a match, from whichever connection.
    async fn cancel_match(&self, user: UserId) -> Result<(), LiveError>;

    /// `a` and `b`'s pair chat ended: the ten minutes before they may be
    /// matched again count from now.
    async fn note_partners(&self, a: UserId, b: UserId) -> Result<(), LiveError>;

    /// Ends every wait older than `max_wait` and returns them (each is told
    /// `match_expired`).
    async fn expire_matches(&self, max_wait: Duration) -> Result<Vec<MatchTicket>, LiveError>;

    /// `conn` closed: if it was the one waiting for a match, nobody waits now.
    async fn forget_connection(&self, conn: ConnId) -> Result<(), LiveError>;

    /// Takes one from `user`'s budget for `rate`.
    async fn admit(&self, rate: Rate, user: UserId) -> Result<Admission, LiveError>;

    /// Whether a login for the canonical username `name` from `source` may
    /// be checked now, before its password is hashed: the failures per
    /// (address, username) stop one client guessing without locking the real
    /// user out from elsewhere; the failures per username from all addresses,
    /// a looser bound, stop guessing spread over many addresses.
    async fn admit_login(&self, source: AddressKey, name: &str) -> Result<Admission, LiveError>;

    /// Counts a failed login for `name` from `source` (in both counts).
    async fn login_failed(&self, source: AddressKey, name: &str) -> Result<(), LiveError>;

    /// Forgets `source`'s failures for `name` (a successful login).
    async fn login_succeeded(&self, source: AddressKey, name: &str) -> Result<(), LiveError>;

    /// Whether `user` may use `quota` once more now.
    async fn quota_check(&self, quota: Quota, user: UserId) -> Result<Admission, LiveError>;

    /// Counts one use of `quota` by `user` (even beyond the limit, which
    /// `quota_check` guards).
    async fn quota_record(&self, quota: Quota, user: UserId) -> Result<(), LiveError>;

    /// `quota_check`, then `quota_record` when allowed, as one step.
    async fn quota_take(&self, quota: Quota, user: UserId) -> Result<Admission, LiveError>;

    /// Forgets what no limit needs any more (users idle for a whole window).
    /// An implementation whose entries expire on their own does nothing.
    async fn sweep(&self) -> Result<(), LiveError>;
}
