//! The embedded [`Store`]: sled trees in the data dir. This file and the
//! ones under `sled_store/` are the only code in the project that names sled.
//!
//! Trees (keys are raw bytes; ids are their 16 UUID bytes, seqs big-endian u64
//! so that a range scan is chronological):
//!
//! | tree          | key                               | value                 |
//! |---------------|-----------------------------------|-----------------------|
//! | `users`       | user_id                           | [`UserRecord`] JSON   |
//! | `usernames`   | canonical username                | user_id               |
//! | `lookalikes`  | look-alike key (usernames.rs)     | user_id               |
//! | `tokens`      | SHA-256 of the token              | [`TokenRecord`] JSON  |
//! | `user_tokens` | user_id ++ SHA-256 of the token   | issued_at (u64 ms)    |
//! | `rooms`       | room_id                           | [`RoomRecord`] JSON   |
//! | `members`     | room_id ++ user_id                | joined_at (u64 ms)    |
//! | `member_order`| room_id ++ joined_at ++ user_id   | empty                 |
//! | `memberships` | user_id ++ room_id                | empty                 |
//! | `messages`    | room_id ++ seq                    | [`MessageRecord`] JSON|
//! | `dedup`       | sender ++ room_id ++ client_msg_id| seq ++ ts             |
//! | `reads`       | room_id ++ user_id                | seq                   |
//! | `meta`        | `instance_id`, `health_probe`, `message_keys_next` | see `marker.rs`, `shred.rs` |
//! | `media`       | media_id (= upload id)            | `UploadRecord` JSON   |
//! | `media_usage` | user_id                           | bytes ++ pending (u64s)|
//! | `media_blobs` | sha256 (hex)                      | references (u64)      |
//! | `media_rooms` | media_id ++ room_id               | empty                 |
//! | `user_bans`   | user_id                           | [`BanRecord`] JSON    |
//! | `media_messages` | media_id ++ room_id ++ seq     | empty                 |
//! | `mentions`    | user_id ++ room_id ++ seq         | empty                 |
//! | `relations`   | room_id ++ target seq ++ seq      | the kind (one byte)   |
//! | `last_seen`   | user_id                           | ms (u64)              |
//! | `shred_pending` | key slot (u64)                  | empty                 |
//! | `calls`       | room_id ++ call_id                | `CallStateRecord` JSON|
//! | `call_expiries`| expires_at ++ room_id ++ call_id | empty (ringing calls) |
//! | `call_declines`| room_id ++ call_id ++ user_id    | empty                 |
//! | `call_ringing`| room_id                           | call_id               |
//!
//! Stranger matching and moderation keep `pairs`, `blocks`, `reports` and
//! `room_bans` (`moderation.rs`, which lists their keys).
//!
//! A message's text and attachment are sealed under a key of its own, kept
//! outside sled in `message-keys`, which a deletion overwrites (`shred.rs`).
//!
//! `media_messages`, `mentions` and `relations` index the messages (written
//! in the same transaction); see `relations.rs`.
//!
//! The media trees implement `media::catalog::MediaCatalog` (`media.rs`).
//!
//! sled's calls are synchronous. Reads and small writes are served from its
//! page cache and run inline on the calling task, as they always have; what
//! waits for the disk (a flush, a batch of messages) runs on tokio's
//! blocking pool.

mod accounts;
mod compact;
mod calls;
mod call_export;
mod data_dir;
mod indexes;
mod keys;
mod lookalikes;
mod marker;
mod media;
mod members;
mod messages;
mod operator;
mod moderation;
mod relations;
mod rooms;
mod sequence;
mod shred;
mod sweep;
mod tokens;

use super::{
    Appended, BanRecord, BlockOutcome, BlockRecord, DueCall, MemberPage, MemberPosition, MemberRecord, MessagePage,
    MessageRecord, NameConflict, NewMessage, NewUser, PageBudget, PairRecord, ReportRecord, RestoreRecord, RoomBanRecord,
    RoomRecord, Store, StoreError, TokenHash, TokenRecord, UserRecord, UserSummary,
};
use async_trait::async_trait;
use heartlink_protocol::{RoomId, UserId};
use sequence::Counters;
use std::path::Path;
use std::sync::Arc;

/// sled's page cache size.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;
/// The key the health check writes in `meta`.
const HEALTH_KEY: &[u8] = b"health_probe";

impl From<sled::Error> for StoreError {
    fn from(err: sled::Error) -> Self {
        Self::Backend { backend: "sled", source: Box::new(err) }
    }
}

/// The sled trees and the synchronous operations on them.
#[derive(Clone, Debug)]
struct Trees {
    db: sled::Db,
    users: sled::Tree,
    usernames: sled::Tree,
    lookalikes: sled::Tree,
    tokens: sled::Tree,
    user_tokens: sled::Tree,
    rooms: sled::Tree,
    members: sled::Tree,
    member_order: sled::Tree,
    memberships: sled::Tree,
    messages: sled::Tree,
    dedup: sled::Tree,
    reads: sled::Tree,
    meta: sled::Tree,
    media: sled::Tree,
    media_usage: sled::Tree,
    media_blobs: sled::Tree,
    media_rooms: sled::Tree,
    user_bans: sled::Tree,
    /// Pairs, blocks, reports, room bans (`moderation.rs`).
    moderation: moderation::ModerationTrees,
    media_messages: sled::Tree,
    mentions: sled::Tree,
    relations: sled::Tree,
    last_seen: sled::Tree,
    shred_pending: sled::Tree,
    /// The message keys (`shred.rs`).
    keys: Arc<shred::MessageKeys>,
    calls: sled::Tree,
    call_expiries: sled::Tree,
    call_declines: sled::Tree,
    call_ringing: sled::Tree,
}

/// The server's database in a data dir. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SledStore {
    trees: Trees,
    counters: Arc<Counters>,
    /// The data dir's lock, held as long as any handle on the store.
    _lock: Arc<data_dir::DirLock>,
    /// Tests of what sits above the store break its message writes here.
    #[cfg(test)]
    broken: Arc<std::sync::atomic::AtomicBool>,
}

impl SledStore {
    /// Opens (or creates) the database in `dir`. A damaged database is an
    /// error: the server refuses to start rather than start empty.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        // A foreign or damaged dir is refused before anything in it is touched;
        // the second look, under the lock, is the one that counts.
        marker::inspect(dir)?;
        let lock = data_dir::claim(dir)?;
        let found = marker::inspect(dir)?;
        // sled's page cache defaults to 1 GiB; a fixed cap keeps the
        // server's memory predictable (history reads past it hit the disk).
        // No periodic background flush: every write a client is told about
        // is flushed explicitly before the reply (group commit for sends),
        // so durability never depends on timing, and the kill -9 test
        // catches any reply that forgets its flush.
        let db = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::LowSpace)
            .cache_capacity(CACHE_BYTES)
            .flush_every_ms(None)
            .open()?;
        marker::confirm(dir, found, &db)?;
        // Whatever sled created, whatever the umask.
        data_dir::make_private(dir)?;
        let next_slot = db.open_tree("meta")?.get(shred::NEXT_SLOT_KEY)?.map(|value| keys::u64_at("meta", &value, 0)).transpose()?;
        let keys = Arc::new(shred::MessageKeys::open(dir, next_slot)?);
        let tree = |name: &str| db.open_tree(name);
        let trees = Trees {
            users: tree("users")?,
            usernames: tree("usernames")?,
            lookalikes: tree("lookalikes")?,
            tokens: tree("tokens")?,
            user_tokens: tree("user_tokens")?,
            rooms: tree("rooms")?,
            members: tree("members")?,
            member_order: tree("member_order")?,
            memberships: tree("memberships")?,
            messages: tree("messages")?,
            dedup: tree("dedup")?,
            reads: tree("reads")?,
            meta: tree("meta")?,
            media: tree("media")?,
            media_usage: tree("media_usage")?,
            media_blobs: tree("media_blobs")?,
            media_rooms: tree("media_rooms")?,
            user_bans: tree("user_bans")?,
            moderation: moderation::ModerationTrees::open(&db)?,
            media_messages: tree("media_messages")?,
            mentions: tree("mentions")?,
            relations: tree("relations")?,
            last_seen: tree("last_seen")?,
            shred_pending: tree("shred_pending")?,
            keys,
            calls: tree("calls")?,
            call_expiries: tree("call_expiries")?,
            call_declines: tree("call_declines")?,
            call_ringing: tree("call_ringing")?,
            db,
        };
        trees.finish_shredding()?;
        indexes::build_missing(&trees)?;
        trees.index_lookalikes()?;
        Ok(Self {
            trees,
            counters: Arc::new(Counters::default()),
            _lock: Arc::new(lock),
            #[cfg(test)]
            broken: Arc::default(),
        })
    }

    /// Makes everything written so far durable (one fsync for all of it),
    /// and tells the seq counters which messages that covered.
    ///
    /// Not sled's `flush_async`: that runs the flush on sled's own thread
    /// pool, where the log write the flush waits for is queued too, and with
    /// a few flushes at once every pool thread can end up waiting for a write
    /// queued behind it (seen as joins that never answered). On tokio's
    /// blocking pool, sled's pool only does the writes.
    async fn sync(&self) -> Result<(), StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.sync_blocking()).await?
    }

    /// From now on every batch of messages fails as a broken disk would.
    #[cfg(test)]
    pub(crate) fn break_message_writes(&self) {
        self.broken.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// [`Store::probe`] on a blocking thread.
    fn probe_blocking(&self) -> Result<(), StoreError> {
        let mut value = [0u8; 16];
        getrandom::fill(&mut value)
            .map_err(|err| StoreError::Corrupt { tree: "meta", detail: format!("no randomness: {err}") })?;
        self.trees.meta.insert(HEALTH_KEY, &value)?;
        self.sync_blocking()?;
        match self.trees.meta.get(HEALTH_KEY)? {
            Some(read) if read.as_ref() == value => Ok(()),
            _ => Err(StoreError::Corrupt { tree: "meta", detail: "the probe value did not read back".to_owned() }),
        }
    }

    /// The outcome of a change, once it is durable.
    async fn durable<T>(&self, changed: Result<T, StoreError>) -> Result<T, StoreError> {
        let changed = changed?;
        self.sync().await?;
        Ok(changed)
    }

    fn sync_blocking(&self) -> Result<(), StoreError> {
        let written = self.counters.written_not_durable();
        self.trees.db.flush()?;
        self.counters.mark_durable(&written);
        Ok(())
    }
}

/// A data dir's lock held by a server whose store is elsewhere (PostgreSQL):
/// the admin socket and the media files there are this node's alone, and a
/// second server given the same dir refuses, naming the first.
#[derive(Debug)]
pub struct DataDirLock {
    _held: data_dir::DirLock,
}

/// Creates `dir` if needed and takes its lock (see `data_dir.rs`).
pub fn lock_data_dir(dir: &Path) -> Result<DataDirLock, StoreError> {
    Ok(DataDirLock { _held: data_dir::claim(dir)? })
}

#[async_trait]
impl Store for SledStore {
    async fn create_user(&self, user: NewUser) -> Result<Result<UserRecord, NameConflict>, StoreError> {
        let created = self.trees.create_user(user)?;
        if created.is_ok() {
            self.sync().await?;
        }
        Ok(created)
    }

    async fn user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        self.trees.user(id)
    }

    async fn user_by_name(&self, canonical: &str) -> Result<Option<UserRecord>, StoreError> {
        self.trees.user_by_name(canonical)
    }

    async fn insert_token(&self, token_hash: &TokenHash, user: UserId, now: u64) -> Result<(), StoreError> {
        let record = TokenRecord { user_id: user, issued_at: now, last_used: now };
        self.trees.insert_token(token_hash, &record)?;
        self.sync().await
    }

    async fn use_token(&self, token_hash: &TokenHash, now: u64, ttl_ms: u64) -> Result<Option<UserId>, StoreError> {
        self.trees.use_token(token_hash, now, ttl_ms)
    }

    async fn token_exists(&self, token_hash: &TokenHash) -> Result<bool, StoreError> {
        self.trees.token_exists(token_hash)
    }

    async fn revoke_token(&self, token_hash: &TokenHash) -> Result<(), StoreError> {
        self.trees.revoke_token(token_hash)?;
        self.sync().await
    }

    async fn revoke_user_tokens(&self, user: UserId) -> Result<Vec<TokenHash>, StoreError> {
        let revoked = self.trees.revoke_user_tokens(user)?;
        self.sync().await?;
        Ok(revoked)
    }

    async fn trim_tokens(&self, user: UserId, keep: usize, current: &TokenHash) -> Result<Vec<TokenHash>, StoreError> {
        self.trees.trim_tokens(user, keep, current)
    }

    async fn token_count(&self, user: UserId) -> Result<usize, StoreError> {
        self.trees.token_count(user)
    }

    async fn sweep_tokens(&self, now: u64, ttl_ms: u64) -> Result<usize, StoreError> {
        self.sweep(move |store, from, max| store.trees.sweep_tokens(now, ttl_ms, from, max)).await
    }

    async fn create_room(&self, room: &RoomRecord, members: &[UserId], now: u64) -> Result<(), StoreError> {
        self.trees.create_room(room, members, now)?;
        self.sync().await
    }

    async fn room(&self, id: RoomId) -> Result<Option<RoomRecord>, StoreError> {
        self.trees.room(id)
    }

    async fn is_member(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        self.trees.is_member(room, user)
    }

    async fn add_member(&self, room: RoomId, user: UserId, now: u64) -> Result<bool, StoreError> {
        let added = self.trees.add_member(room, user, now)?;
        if added {
            self.sync().await?;
        }
        Ok(added)
    }

    async fn remove_member(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        let removed = self.trees.remove_member(room, user)?;
        if removed {
            self.sync().await?;
        }
        Ok(removed)
    }

    async fn member_page(&self, room: RoomId, after: Option<MemberPosition>, limit: usize) -> Result<MemberPage, StoreError> {
        self.trees.member_page(room, after, limit)
    }

    async fn rooms_of(&self, user: UserId) -> Result<Vec<RoomId>, StoreError> {
        self.trees.rooms_of(user)
    }

    async fn membership_count(&self, user: UserId) -> Result<usize, StoreError> {
        self.trees.membership_count(user)
    }

    async fn advance_read(&self, room: RoomId, user: UserId, seq: u64) -> Result<Option<u64>, StoreError> {
        self.trees.advance_read(room, user, seq)
    }

    async fn read_seq(&self, room: RoomId, user: UserId) -> Result<u64, StoreError> {
        self.trees.read_seq(room, user)
    }

    async fn leading_reads(&self, room: RoomId, limit: usize, except: UserId) -> Result<Vec<(UserSummary, u64)>, StoreError> {
        self.trees.leading_reads(room, limit, except)
    }

    async fn append_batch(&self, batch: Vec<NewMessage>) -> Result<Vec<Appended>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.append_blocking(batch)).await?
    }

    async fn last_seq(&self, room: RoomId) -> Result<u64, StoreError> {
        self.counters.durable(&self.trees, room)
    }

    async fn page_latest(&self, room: RoomId, upto: u64, budget: PageBudget<'_>) -> Result<MessagePage, StoreError> {
        self.trees.page_latest(room, upto, budget)
    }

    async fn page_after(&self, room: RoomId, since: u64, upto: u64, budget: PageBudget<'_>) -> Result<MessagePage, StoreError> {
        self.trees.page_after(room, since, upto, budget)
    }

    async fn prune_dedup(&self, cutoff_ms: u64) -> Result<usize, StoreError> {
        self.sweep(move |store, from, max| store.trees.prune_dedup(cutoff_ms, from, max)).await
    }

    // ---- Stranger matching and moderation (`sled_store/moderation.rs`).

    async fn create_pair_room(&self, room: &RoomRecord, pair: &PairRecord, now: u64) -> Result<(), StoreError> {
        // The pair record first: one without its room is never read.
        self.trees.moderation.put_pair(pair)?;
        self.trees.create_room(room, &[pair.members[0].user.id, pair.members[1].user.id], now)?;
        self.sync().await
    }

    async fn pair(&self, room: RoomId) -> Result<Option<PairRecord>, StoreError> {
        self.trees.moderation.pair(room)
    }

    async fn reveal_pair(&self, room: RoomId, user: UserId) -> Result<Option<(PairRecord, bool)>, StoreError> {
        self.durable(self.trees.moderation.reveal(room, user)).await
    }

    async fn end_pair(&self, room: RoomId, by: UserId, now: u64) -> Result<Option<(PairRecord, bool)>, StoreError> {
        self.durable(self.trees.moderation.end(room, by, now)).await
    }

    async fn block_user(&self, blocker: UserId, block: &BlockRecord, cap: usize) -> Result<BlockOutcome, StoreError> {
        self.durable(self.trees.moderation.block(blocker, block, cap)).await
    }

    async fn unblock_user(&self, blocker: UserId, id: UserId) -> Result<Option<BlockRecord>, StoreError> {
        self.durable(self.trees.moderation.unblock(blocker, id)).await
    }

    async fn blocks_of(&self, blocker: UserId) -> Result<Vec<BlockRecord>, StoreError> {
        self.trees.moderation.blocks_of(blocker)
    }

    async fn add_report(&self, report: &ReportRecord) -> Result<(), StoreError> {
        self.trees.moderation.add_report(report)?;
        self.sync().await
    }

    async fn reports_open(&self) -> Result<Vec<ReportRecord>, StoreError> {
        self.trees.moderation.reports_open()
    }

    async fn report(&self, id: uuid::Uuid) -> Result<Option<ReportRecord>, StoreError> {
        self.trees.moderation.report(id)
    }

    async fn ban_from_room(&self, room: RoomId, ban: &RoomBanRecord) -> Result<bool, StoreError> {
        self.durable(self.trees.moderation.ban(room, ban)).await
    }

    async fn unban_from_room(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        self.durable(self.trees.moderation.unban(room, user)).await
    }

    async fn is_banned_from(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        self.trees.moderation.is_banned(room, user)
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.sync().await
    }

    async fn probe(&self) -> Result<(), StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.probe_blocking()).await?
    }

    // ---- The operator (operator.rs).

    async fn ban_user(&self, ban: &BanRecord) -> Result<(), StoreError> {
        self.trees.ban_user(ban)?;
        self.sync().await
    }

    async fn unban_user(&self, user: UserId) -> Result<bool, StoreError> {
        let lifted = self.trees.unban_user(user)?;
        self.sync().await?;
        Ok(lifted)
    }

    async fn user_ban(&self, user: UserId) -> Result<Option<BanRecord>, StoreError> {
        self.trees.user_ban(user)
    }

    async fn bans_after(&self, after: Option<UserId>, limit: usize) -> Result<Vec<BanRecord>, StoreError> {
        self.trees.bans_after(after, limit)
    }

    async fn users_after(&self, after: Option<UserId>, limit: usize) -> Result<Vec<UserRecord>, StoreError> {
        self.trees.users_after(after, limit)
    }

    async fn rooms_after(&self, after: Option<RoomId>, limit: usize) -> Result<Vec<RoomRecord>, StoreError> {
        self.trees.rooms_after(after, limit)
    }

    async fn tokens_after(&self, after: Option<TokenHash>, limit: usize) -> Result<Vec<(TokenHash, TokenRecord)>, StoreError> {
        self.trees.tokens_after(after, limit)
    }

    async fn reads_after(&self, room: RoomId, after: Option<UserId>, limit: usize) -> Result<Vec<(UserId, u64)>, StoreError> {
        self.trees.reads_after(room, after, limit)
    }

    async fn blocks_after(&self, after: Option<(UserId, UserId)>, limit: usize) -> Result<Vec<(UserId, BlockRecord)>, StoreError> {
        self.trees.moderation.blocks_after(after, limit)
    }

    async fn reports_after(&self, after: Option<uuid::Uuid>, limit: usize) -> Result<Vec<ReportRecord>, StoreError> {
        self.trees.moderation.reports_after(after, limit)
    }

    async fn room_bans_after(&self, room: RoomId, after: Option<UserId>, limit: usize) -> Result<Vec<RoomBanRecord>, StoreError> {
        self.trees.moderation.room_bans_after(room, after, limit)
    }

    async fn calls_after(&self, room: RoomId, after: Option<heartlink_protocol::CallId>, limit: usize) -> Result<Vec<crate::store::StoredCall>, StoreError> {
        self.trees.calls_after(room, after, limit)
    }

    async fn message(&self, room: RoomId, seq: u64) -> Result<Option<MessageRecord>, StoreError> {
        self.trees.message(room, seq)
    }

    async fn blank_message(&self, room: RoomId, seq: u64) -> Result<Option<MessageRecord>, StoreError> {
        // One batch of sends at a time: a blanking never races a batch's write.
        let before = {
            let _batches_wait = self.counters.append_lock();
            self.trees.blank_message(room, seq)?
        };
        if before.is_some() {
            self.sync().await?;
        }
        Ok(before)
    }

    async fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.trees.holds_nothing())
    }

    async fn restore(&self, records: Vec<RestoreRecord>) -> Result<(), StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            store.trees.restore(records)?;
            store.sync_blocking()
        })
        .await?
    }

    async fn sent_seq(&self, sender: UserId, room: RoomId, client_msg_id: &str) -> Result<Option<u64>, StoreError> {
        self.trees.sent_seq(sender, room, client_msg_id)
    }

    async fn mentions_after(&self, room: RoomId, user: UserId, after: u64, cap: u64) -> Result<u64, StoreError> {
        self.trees.mentions_after(room, user, after, cap)
    }

    async fn set_last_seen(&self, user: UserId, at: u64) -> Result<(), StoreError> {
        self.trees.last_seen.insert(user.as_bytes(), &at.to_be_bytes())?;
        Ok(())
    }

    async fn last_seen(&self, users: &[UserId]) -> Result<Vec<Option<u64>>, StoreError> {
        users
            .iter()
            .map(|user| match self.trees.last_seen.get(user.as_bytes())? {
                Some(value) => keys::u64_at("last_seen", &value, 0).map(Some),
                None => Ok(None),
            })
            .collect()
    }

    // ---- Calls (calls.rs).

    async fn next_call_expiry(&self) -> Result<Option<u64>, StoreError> {
        self.next_call_expiry_now()
    }

    async fn due_calls(&self, now: u64, limit: usize) -> Result<Vec<DueCall>, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.due_calls_now(now, limit)).await?
    }
}

fn decode<T: serde::de::DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Decode { tree, source })
}

fn encode<T: serde::Serialize>(tree: &'static str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|source| StoreError::Encode { tree, source })
}

/// A message record paired with where it goes, for the tests of the files below.
#[cfg(test)]
fn new_message(room: RoomId, sender: UserId, client_msg_id: &str, ts: u64) -> NewMessage {
    let sender = super::UserSummary { id: sender, username: "alice".into() };
    let record = MessageRecord { sender, body: format!("body of {client_msg_id}"), ts, client_msg_id: client_msg_id.into(), ..MessageRecord::default() };
    NewMessage { room, record }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_or_foreign_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        drop(SledStore::open(&data).unwrap());
        drop(SledStore::open(&data).unwrap()); // reopening our own data is fine

        // sled alone would reopen this as an empty database.
        std::fs::remove_file(data.join("db")).unwrap();
        assert!(SledStore::open(&data).is_err(), "a deleted database must not open as an empty one");

        let foreign = dir.path().join("foreign");
        std::fs::create_dir(&foreign).unwrap();
        std::fs::write(foreign.join("notes.txt"), "hello").unwrap();
        let err = SledStore::open(&foreign).unwrap_err().to_string();
        assert!(err.contains("not a heartlink data dir"), "{err}");
    }
}
