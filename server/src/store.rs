//! Durable state behind one trait: accounts, tokens, rooms, memberships,
//! read markers and messages, as typed storage records.
//!
//! [`Store`] is what the rest of the server sees. It promises durability per
//! method (below), and it owns what must be decided where the data is: a
//! room's seq numbers and the group commit of new messages
//! ([`Store::append_batch`]). The embedded implementation is [`SledStore`]
//! (`store/sled_store.rs` and the files under it: the only code that names
//! sled); a second one (a SQL database shared by several nodes) only has to
//! keep the same promises, which docs/ARCHITECTURE.md spells out.
//!
//! Records are storage types (`records.rs`), not wire types: the mapping to
//! what clients see lives in `wire.rs`, so the disk format and the protocol
//! can change apart.

mod moderation_records;
mod call_records;
pub mod call_rules;
mod records;
mod sled_store;
pub mod postgres_store;

use async_trait::async_trait;
use heartlink_protocol::{MediaId, RoomId, UserId};
use std::error::Error as StdError;

pub use records::{
    AttachmentKindRecord, AttachmentRecord, BanRecord, MemberPosition, MemberRecord, MessageRecord, RelKindRecord, RelationRecord,
    RestoreRecord, RoomKindRecord, RoomRecord, TokenRecord, UserRecord, UserSummary,
};
pub use moderation_records::{
    BlockRecord, PairEndRecord, PairMemberRecord, PairRecord, ReportRecord, ReportedMessage, RoomBanRecord,
};
pub use call_records::{CallActionRecord, CallRecord, CallStateRecord, DueCall, StoredCall};
pub use sled_store::{DataDirLock, SledStore, lock_data_dir};
pub use postgres_store::{PostgresStore, SchemaMode};

/// What [`Store::block_user`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockOutcome {
    Added,
    /// The user was blocked already (this is how).
    Already(BlockRecord),
    /// The blocker's list is at its cap.
    Full,
}

/// The SHA-256 of a session token: tokens themselves are never stored.
pub type TokenHash = [u8; 32];

/// Why a storage operation failed. Details are logged, never sent to clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an I/O or internal error.
    #[error("{backend} failed")]
    Backend {
        /// Which implementation, e.g. `sled`.
        backend: &'static str,
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// The task doing blocking storage work panicked or was cancelled.
    #[error("the storage task failed")]
    Task(#[from] tokio::task::JoinError),
    /// A stored record did not decode.
    #[error("undecodable record in {tree}")]
    Decode {
        tree: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A record could not be encoded for storage.
    #[error("unencodable record for {tree}")]
    Encode {
        tree: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// The data is damaged or not ours: a short key, a missing half of a
    /// pair of records, a data dir that is not a heartlink data dir.
    #[error("damaged data ({tree}): {detail}")]
    Corrupt { tree: &'static str, detail: String },
    /// Another process holds the data dir's lock.
    #[error("another heartlink-server is using {} (pid {})", dir.display(), pid.map_or_else(|| "unknown".to_owned(), |pid| pid.to_string()))]
    InUse { dir: std::path::PathBuf, pid: Option<u32> },
    /// The data dir or its lock file could not be created, read or made private.
    #[error("{what}")]
    DataDir {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// Why a new account was not created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameConflict {
    /// The canonical name exists.
    Taken,
    /// One of its look-alike keys belongs to another account (usernames.rs).
    LooksLike,
}

/// A new account; the store gives it its id.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// As the user typed it, for display.
    pub username: String,
    /// The form under which usernames are unique (and `login` looks them up).
    pub canonical: String,
    /// Keys no other account may share: a name that looks like an existing
    /// one is refused (`usernames.rs` makes them).
    pub lookalikes: Vec<String>,
    /// The argon2id PHC string.
    pub password_hash: String,
    pub created_at: u64,
}

/// A message to append to a room; the store gives it its seq.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub room: RoomId,
    pub record: MessageRecord,
}

/// What [`Store::append_batch`] did with one message of the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The message's seq: new, or the original's for a retry.
    pub seq: u64,
    /// The message's time: its own, or the original's for a retry.
    pub ts: u64,
    /// `false` for a retry (same sender, room and `client_msg_id` as a message
    /// stored earlier or earlier in the same batch): nothing was written.
    pub fresh: bool,
    /// For a fresh deletion: media the deleted message carried that no
    /// message carries any more (their uploads and bytes may go).
    pub released_media: Vec<MediaId>,
    /// Set when the message's `call` broke the rules of its call
    /// (`call_rules.rs`): nothing was written, `seq` is 0, and the sender
    /// gets an error instead of an ack.
    pub refused: Option<call_rules::CallRefusal>,
}

/// A stored message and its seq.
#[derive(Debug, Clone)]
pub struct SeqMessage {
    pub seq: u64,
    pub record: MessageRecord,
}

/// A page of a room's messages, oldest first, and whether more lie beyond it.
#[derive(Debug, Default)]
pub struct MessagePage {
    pub messages: Vec<SeqMessage>,
    pub has_more: bool,
}

/// How much a page of messages may hold: at most `count` messages whose
/// sizes, as `size` measures them, add up to at most `bytes`. A page holds
/// at least one message when any is in range, so paging always moves on.
///
/// The store does not know the wire format; the session measures a
/// message as clients will see it (`wire.rs`), so that a reply stays within
/// its byte bound, and the store stops reading once the page is full.
#[derive(Clone, Copy)]
pub struct PageBudget<'a> {
    pub count: u32,
    pub bytes: usize,
    pub size: &'a (dyn Fn(&SeqMessage) -> usize + Sync),
}

impl PageBudget<'_> {
    /// At most `count` messages, whatever their size.
    pub fn count(count: u32) -> PageBudget<'static> {
        PageBudget { count, bytes: usize::MAX, size: &|_| 0 }
    }

    /// Whether a message of `size` still fits after `used` of the budget in
    /// a page that already holds `held` messages.
    pub fn fits(&self, held: usize, used: usize, size: usize) -> bool {
        held == 0 || (held < self.count as usize && used.saturating_add(size) <= self.bytes)
    }
}

impl std::fmt::Debug for PageBudget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageBudget").field("count", &self.count).field("bytes", &self.bytes).finish_non_exhaustive()
    }
}

/// A page of a room's members in join order, and where the next page starts
/// (`None` when this was the last).
#[derive(Debug, Default)]
pub struct MemberPage {
    pub members: Vec<MemberRecord>,
    pub next: Option<MemberPosition>,
}

/// The server's durable state.
///
/// **Durability.** A method that changes state is durable when it returns
/// (a crash right after cannot undo it), unless its doc says it may lag:
/// the server tells clients about changes only after these calls return.
///
/// **Seqs.** Each room's messages are numbered 1, 2, 3… by
/// [`Store::append_batch`], with no gap and no reuse, also across crashes.
///
/// Reads see at least every change whose call has returned.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Creates an account, unless its canonical name is taken or one of its
    /// look-alike keys belongs to another account (checked and written in
    /// one step). Durable.
    async fn create_user(&self, user: NewUser) -> Result<Result<UserRecord, NameConflict>, StoreError>;

    /// The account with this id.
    async fn user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError>;

    /// The account with this canonical username.
    async fn user_by_name(&self, canonical: &str) -> Result<Option<UserRecord>, StoreError>;

    /// Records a new token by its hash, under its user. Durable.
    async fn insert_token(&self, token_hash: &TokenHash, user: UserId, now: u64) -> Result<(), StoreError>;

    /// The user a token belongs to, if it exists and was used within `ttl_ms`;
    /// an expired token is deleted. The last-use time it refreshes may lag
    /// (it becomes durable with a later write) and may be coarse: a token
    /// may expire up to 1/720 of `ttl_ms` early.
    async fn use_token(&self, token_hash: &TokenHash, now: u64, ttl_ms: u64) -> Result<Option<UserId>, StoreError>;

    /// Whether the token still exists (it may have expired all the same).
    async fn token_exists(&self, token_hash: &TokenHash) -> Result<bool, StoreError>;

    /// Deletes a token; later `use_token`s with it find nothing. Durable.
    async fn revoke_token(&self, token_hash: &TokenHash) -> Result<(), StoreError>;

    /// Deletes every token of `user` and returns their hashes. Durable.
    async fn revoke_user_tokens(&self, user: UserId) -> Result<Vec<TokenHash>, StoreError>;

    /// Keeps at most `keep` tokens of `user`: the newest, and always
    /// `current`; deletes the others, oldest issued first, and returns their
    /// hashes. May lag (a crash may bring one back until the next trim).
    async fn trim_tokens(&self, user: UserId, keep: usize, current: &TokenHash) -> Result<Vec<TokenHash>, StoreError>;

    /// How many tokens `user` holds.
    async fn token_count(&self, user: UserId) -> Result<usize, StoreError>;

    /// Deletes every token unused for longer than `ttl_ms` at `now`; returns
    /// how many. May lag. Does its work in small steps (it may take a while
    /// on a large store, never holding anything for long).
    async fn sweep_tokens(&self, now: u64, ttl_ms: u64) -> Result<usize, StoreError>;

    /// Stores a new room with its first members (who join at `now`). Durable.
    async fn create_room(&self, room: &RoomRecord, members: &[UserId], now: u64) -> Result<(), StoreError>;

    /// The room with this id.
    async fn room(&self, id: RoomId) -> Result<Option<RoomRecord>, StoreError>;

    /// Whether `user` is a member of `room`.
    async fn is_member(&self, room: RoomId, user: UserId) -> Result<bool, StoreError>;

    /// Makes `user` a member; `true` when they were not one before (durable
    /// then). An existing membership keeps its original time.
    async fn add_member(&self, room: RoomId, user: UserId, now: u64) -> Result<bool, StoreError>;

    /// Ends a membership; `true` when there was one. Durable.
    async fn remove_member(&self, room: RoomId, user: UserId) -> Result<bool, StoreError>;

    /// Up to `limit` members of `room` after `after` (from the first when
    /// `None`), in join order (time, then id), with their names.
    async fn member_page(&self, room: RoomId, after: Option<MemberPosition>, limit: usize) -> Result<MemberPage, StoreError>;

    /// The rooms `user` is a member of.
    async fn rooms_of(&self, user: UserId) -> Result<Vec<RoomId>, StoreError>;

    /// How many rooms `user` is a member of.
    async fn membership_count(&self, user: UserId) -> Result<usize, StoreError>;

    /// Moves `user`'s read marker in `room` to `seq` if that is forward;
    /// returns the new marker when it moved. May lag (a crash may move a
    /// marker back a little).
    async fn advance_read(&self, room: RoomId, user: UserId, seq: u64) -> Result<Option<u64>, StoreError>;

    /// `user`'s read marker in `room` (0 when none).
    async fn read_seq(&self, room: RoomId, user: UserId) -> Result<u64, StoreError>;

    /// At most `limit` read markers of `room`'s current members other than
    /// `except`, those furthest ahead first, with the readers' names. A room
    /// with many readers costs time here, not memory.
    async fn leading_reads(&self, room: RoomId, limit: usize, except: UserId) -> Result<Vec<(UserSummary, u64)>, StoreError>;

    /// Appends a batch of messages, all or none, durable on return: for each
    /// message, in order, a retry (same sender, room and `client_msg_id` as
    /// a stored message or one earlier in the batch) gets the original's seq
    /// and time and writes nothing; any other message gets its room's next
    /// seq. The answer has one entry per message, in the batch's order.
    ///
    /// On an error none of the batch may be reported as stored; messages of
    /// it may still turn up in the room later (a write that reached the disk
    /// but whose confirmation failed), with their seqs, never with others'.
    ///
    /// A message with an attachment also records, in the same transaction,
    /// that its room carries the media (the download access rule of the
    /// media catalog follows the message from its commit on).
    ///
    /// A fresh message with a `call` is judged by `call_rules` against its
    /// call's stored state (and earlier messages of the batch), and changes
    /// that state in the same transaction: an invitation starts the ring and
    /// records its expiry as pending, the step that ends the ring (an accept,
    /// the cancel, the last decline, `missed`) removes it. A refused message
    /// is written nowhere and takes no seq (`Appended::refused`).
    async fn append_batch(&self, batch: Vec<NewMessage>) -> Result<Vec<Appended>, StoreError>;

    /// The highest durable seq of `room` (0 when it has no messages).
    async fn last_seq(&self, room: RoomId) -> Result<u64, StoreError>;

    /// The newest messages with seq ≤ `upto` that fit `budget`, oldest
    /// first; `has_more` when older ones remain.
    async fn page_latest(&self, room: RoomId, upto: u64, budget: PageBudget<'_>) -> Result<MessagePage, StoreError>;

    /// The oldest messages with `since` < seq ≤ `upto` that fit `budget`,
    /// oldest first; `has_more` when newer ones (up to `upto`) remain.
    async fn page_after(&self, room: RoomId, since: u64, upto: u64, budget: PageBudget<'_>)
    -> Result<MessagePage, StoreError>;

    /// Deletes the idempotency records of messages stored before
    /// `cutoff_ms` (a retry of such a message is stored as a new one; the
    /// messages themselves stay); returns how many. May lag; works in small
    /// steps like [`Store::sweep_tokens`].
    async fn prune_dedup(&self, cutoff_ms: u64) -> Result<usize, StoreError>;

    // ---- Stranger matching and moderation: pair rooms' aliases, reveal and
    // end; blocks; reports for the operator; group-room bans. Every change
    // is durable on return.

    /// Stores a new pair room with its two members and its pair record.
    async fn create_pair_room(&self, room: &RoomRecord, pair: &PairRecord, now: u64) -> Result<(), StoreError>;

    /// The pair record of `room` (`None` for a group room, or a pair room
    /// made before pairs had aliases).
    async fn pair(&self, room: RoomId) -> Result<Option<PairRecord>, StoreError>;

    /// `user` asked to reveal in pair room `room`: the record after, and
    /// whether this call changed it; `None` when `user` is not one of its two.
    async fn reveal_pair(&self, room: RoomId, user: UserId) -> Result<Option<(PairRecord, bool)>, StoreError>;

    /// Ends the pair chat of `room` (by `by`, at `now`) unless it already
    /// ended: the record after, and whether this call ended it.
    async fn end_pair(&self, room: RoomId, by: UserId, now: u64) -> Result<Option<(PairRecord, bool)>, StoreError>;

    /// `blocker` blocks `block.user`, unless their list already holds `cap`
    /// users (0 = no cap).
    async fn block_user(&self, blocker: UserId, block: &BlockRecord, cap: usize) -> Result<BlockOutcome, StoreError>;

    /// Removes `blocker`'s block of the user whose real or shown id is `id`.
    async fn unblock_user(&self, blocker: UserId, id: UserId) -> Result<Option<BlockRecord>, StoreError>;

    /// Everyone `blocker` blocked (at most the block cap).
    async fn blocks_of(&self, blocker: UserId) -> Result<Vec<BlockRecord>, StoreError>;

    /// Stores a report.
    async fn add_report(&self, report: &ReportRecord) -> Result<(), StoreError>;

    /// The reports still open, oldest first.
    async fn reports_open(&self) -> Result<Vec<ReportRecord>, StoreError>;

    /// One report, with the messages it concerns.
    async fn report(&self, id: uuid::Uuid) -> Result<Option<ReportRecord>, StoreError>;

    /// Bans `ban.user` from `room`; `false` when they already were.
    async fn ban_from_room(&self, room: RoomId, ban: &RoomBanRecord) -> Result<bool, StoreError>;

    /// Lifts a room ban; `false` when there was none.
    async fn unban_from_room(&self, room: RoomId, user: UserId) -> Result<bool, StoreError>;

    /// Whether `user` is banned from `room`.
    async fn is_banned_from(&self, room: RoomId, user: UserId) -> Result<bool, StoreError>;

    // ---- (end of stranger matching and moderation)

    /// Makes every change so far durable, including those that may lag
    /// (shutdown calls it last).
    async fn flush(&self) -> Result<(), StoreError>;

    /// The health check: writes a fresh value, makes it durable and reads
    /// it back. Costs a flush: the caller bounds how often it runs.
    async fn probe(&self) -> Result<(), StoreError>;

    // ---- The operator (`heartlink-server admin`): account bans, listing,
    // ---- removing a message, export and import. Every list is read a page
    // ---- at a time, in key order, after a cursor.

    /// Bans an account (replacing an earlier ban of it). Durable.
    async fn ban_user(&self, ban: &BanRecord) -> Result<(), StoreError>;

    /// Lifts `user`'s ban; `true` when there was one. Durable.
    async fn unban_user(&self, user: UserId) -> Result<bool, StoreError>;

    /// `user`'s ban, if one stands.
    async fn user_ban(&self, user: UserId) -> Result<Option<BanRecord>, StoreError>;

    /// Up to `limit` bans after the one of `after`, in account id order.
    async fn bans_after(&self, after: Option<UserId>, limit: usize) -> Result<Vec<BanRecord>, StoreError>;

    /// Up to `limit` accounts after `after`, in id order.
    async fn users_after(&self, after: Option<UserId>, limit: usize) -> Result<Vec<UserRecord>, StoreError>;

    /// Up to `limit` rooms after `after`, in id order.
    async fn rooms_after(&self, after: Option<RoomId>, limit: usize) -> Result<Vec<RoomRecord>, StoreError>;

    /// Up to `limit` tokens after `after`, in hash order, with their hashes.
    async fn tokens_after(&self, after: Option<TokenHash>, limit: usize) -> Result<Vec<(TokenHash, TokenRecord)>, StoreError>;

    /// Up to `limit` read markers of `room` after the one of `after`, in user id order.
    async fn reads_after(&self, room: RoomId, after: Option<UserId>, limit: usize) -> Result<Vec<(UserId, u64)>, StoreError>;

    /// Up to `limit` blocks after the one of `after` (blocker, blocked), in
    /// that order, each with its blocker.
    async fn blocks_after(&self, after: Option<(UserId, UserId)>, limit: usize) -> Result<Vec<(UserId, BlockRecord)>, StoreError>;

    /// Up to `limit` reports, open or closed, after the one of `after`, in id order.
    async fn reports_after(&self, after: Option<uuid::Uuid>, limit: usize) -> Result<Vec<ReportRecord>, StoreError>;

    /// Up to `limit` bans of `room` after the one of `after`, in user id order.
    async fn room_bans_after(&self, room: RoomId, after: Option<UserId>, limit: usize) -> Result<Vec<RoomBanRecord>, StoreError>;

    /// Up to `limit` calls of `room` after the one of `after`, in call id
    /// order, with their declines and whether each is the one ringing.
    async fn calls_after(&self, room: RoomId, after: Option<heartlink_protocol::CallId>, limit: usize) -> Result<Vec<StoredCall>, StoreError>;

    // --- Relations, mentions and last seen (replies, edits, deletions,
    // reactions; unread mentions per room; presence's `last_seen`). A
    // deletion is a message like any other; what it does to its target
    // happens inside `append_batch`, in the batch's transaction: the target
    // (and the edits of it) is stored again with an empty body, without its
    // attachment and mentions, and marked deleted.

    /// The message `seq` of `room`.
    async fn message(&self, room: RoomId, seq: u64) -> Result<Option<MessageRecord>, StoreError>;

    /// Blanks message `seq` of `room`: its body becomes empty, its attachment
    /// is dropped and it is marked deleted (its seq, sender and time stay).
    /// Returns the message as it was, `None` when there is no such message.
    /// Durable.
    async fn blank_message(&self, room: RoomId, seq: u64) -> Result<Option<MessageRecord>, StoreError>;

    /// Whether the store holds no account, room or message (an import's target).
    async fn is_empty(&self) -> Result<bool, StoreError>;

    /// Writes exported records back, as they were (ids, times, seqs), with
    /// the indexes each needs; a message also gets its idempotency record
    /// and its attachment's room. Only for an empty store, in export order
    /// (a room's messages from seq 1 up). Durable.
    async fn restore(&self, records: Vec<RestoreRecord>) -> Result<(), StoreError>;

    /// The seq of the message `sender` stored in `room` under
    /// `client_msg_id`, while its idempotency record is kept.
    async fn sent_seq(&self, sender: UserId, room: RoomId, client_msg_id: &str) -> Result<Option<u64>, StoreError>;

    /// How many messages of `room` above `after` mention `user` and are not
    /// deleted, counting at most `cap` (the answer is then `cap`). Costs
    /// time in what it counts, not in the room's size.
    async fn mentions_after(&self, room: RoomId, user: UserId, after: u64, cap: u64) -> Result<u64, StoreError>;

    /// Records when `user` was last seen (ms). May lag.
    async fn set_last_seen(&self, user: UserId, at: u64) -> Result<(), StoreError>;

    /// When each of `users` was last seen, in order (`None`: never recorded).
    async fn last_seen(&self, users: &[UserId]) -> Result<Vec<Option<u64>>, StoreError>;
    // ---- Calls: the pending ring expiries that `append_batch` records. ----

    /// The earliest pending ring expiry (ms) of any room, if a call rings.
    async fn next_call_expiry(&self) -> Result<Option<u64>, StoreError>;

    /// Up to `limit` calls, earliest first, still ringing with their expiry
    /// at or before `now`: each is owed its `missed` (appended through
    /// `append_batch`, which ends the ring and removes the pending expiry).
    async fn due_calls(&self, now: u64, limit: usize) -> Result<Vec<DueCall>, StoreError>;
}
