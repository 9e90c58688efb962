//! [`Store`] for [`PostgresStore`]: each method hands over to the file
//! that owns its tables.

use super::{PostgresStore, calls, small, uuid_of};
use crate::store::{
    Appended, BanRecord, BlockOutcome, BlockRecord, DueCall, MemberPage, MemberPosition, MessagePage, MessageRecord, NameConflict,
    NewMessage, NewUser, PageBudget, PairRecord, ReportRecord, RestoreRecord, RoomBanRecord, RoomRecord, Store, StoreError, StoredCall,
    TokenHash, TokenRecord, UserRecord, UserSummary,
};
use async_trait::async_trait;
use heartlink_protocol::{RoomId, UserId};

#[async_trait]
impl Store for PostgresStore {
    async fn create_user(&self, user: NewUser) -> Result<Result<UserRecord, NameConflict>, StoreError> {
        self.new_user(user).await
    }

    async fn user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        self.user_by_id(id).await
    }

    async fn user_by_name(&self, canonical: &str) -> Result<Option<UserRecord>, StoreError> {
        self.user_named(canonical).await
    }

    async fn insert_token(&self, token_hash: &TokenHash, user: UserId, now: u64) -> Result<(), StoreError> {
        self.put_token(token_hash, user, now, now).await
    }

    async fn use_token(&self, token_hash: &TokenHash, now: u64, ttl_ms: u64) -> Result<Option<UserId>, StoreError> {
        self.take_token(token_hash, now, ttl_ms).await
    }

    async fn token_exists(&self, token_hash: &TokenHash) -> Result<bool, StoreError> {
        self.has_token(token_hash).await
    }

    async fn revoke_token(&self, token_hash: &TokenHash) -> Result<(), StoreError> {
        self.drop_token(token_hash).await
    }

    async fn revoke_user_tokens(&self, user: UserId) -> Result<Vec<TokenHash>, StoreError> {
        self.drop_user_tokens(user).await
    }

    async fn trim_tokens(&self, user: UserId, keep: usize, current: &TokenHash) -> Result<Vec<TokenHash>, StoreError> {
        self.trim_user_tokens(user, keep, current).await
    }

    async fn token_count(&self, user: UserId) -> Result<usize, StoreError> {
        self.tokens_of(user).await
    }

    async fn sweep_tokens(&self, now: u64, ttl_ms: u64) -> Result<usize, StoreError> {
        self.sweep_expired_tokens(now, ttl_ms).await
    }

    async fn create_room(&self, room: &RoomRecord, members: &[UserId], now: u64) -> Result<(), StoreError> {
        self.new_room(room, members, now).await
    }

    async fn room(&self, id: RoomId) -> Result<Option<RoomRecord>, StoreError> {
        self.room_by_id(id).await
    }

    async fn is_member(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        self.member(room, user).await
    }

    async fn add_member(&self, room: RoomId, user: UserId, now: u64) -> Result<bool, StoreError> {
        self.join(room, user, now).await
    }

    async fn remove_member(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        self.leave(room, user).await
    }

    async fn member_page(&self, room: RoomId, after: Option<MemberPosition>, limit: usize) -> Result<MemberPage, StoreError> {
        self.members_page(room, after, limit).await
    }

    async fn rooms_of(&self, user: UserId) -> Result<Vec<RoomId>, StoreError> {
        self.rooms_of_user(user).await
    }

    async fn membership_count(&self, user: UserId) -> Result<usize, StoreError> {
        self.memberships(user).await
    }

    async fn advance_read(&self, room: RoomId, user: UserId, seq: u64) -> Result<Option<u64>, StoreError> {
        self.read_up_to(room, user, seq).await
    }

    async fn read_seq(&self, room: RoomId, user: UserId) -> Result<u64, StoreError> {
        self.read_marker(room, user).await
    }

    async fn leading_reads(&self, room: RoomId, limit: usize, except: UserId) -> Result<Vec<(UserSummary, u64)>, StoreError> {
        self.leading(room, limit, except).await
    }

    async fn append_batch(&self, batch: Vec<NewMessage>) -> Result<Vec<Appended>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        self.append(batch).await
    }

    async fn last_seq(&self, room: RoomId) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let row = client.query_opt("SELECT last_seq FROM room_seqs WHERE room_id = $1", &[&uuid_of(room.as_bytes())]).await?;
        Ok(row.map_or(0, |row| small(row.get(0))))
    }

    async fn page_latest(&self, room: RoomId, upto: u64, budget: PageBudget<'_>) -> Result<MessagePage, StoreError> {
        self.latest(room, upto, budget).await
    }

    async fn page_after(&self, room: RoomId, since: u64, upto: u64, budget: PageBudget<'_>) -> Result<MessagePage, StoreError> {
        self.after(room, since, upto, budget).await
    }

    async fn prune_dedup(&self, cutoff_ms: u64) -> Result<usize, StoreError> {
        self.prune(cutoff_ms).await
    }

    async fn create_pair_room(&self, room: &RoomRecord, pair: &PairRecord, now: u64) -> Result<(), StoreError> {
        self.new_pair_room(room, pair, now).await
    }

    async fn pair(&self, room: RoomId) -> Result<Option<PairRecord>, StoreError> {
        self.pair_of(room).await
    }

    async fn reveal_pair(&self, room: RoomId, user: UserId) -> Result<Option<(PairRecord, bool)>, StoreError> {
        self.reveal(room, user).await
    }

    async fn end_pair(&self, room: RoomId, by: UserId, now: u64) -> Result<Option<(PairRecord, bool)>, StoreError> {
        self.end(room, by, now).await
    }

    async fn block_user(&self, blocker: UserId, block: &BlockRecord, cap: usize) -> Result<BlockOutcome, StoreError> {
        self.block(blocker, block, cap).await
    }

    async fn unblock_user(&self, blocker: UserId, id: UserId) -> Result<Option<BlockRecord>, StoreError> {
        self.unblock(blocker, id).await
    }

    async fn blocks_of(&self, blocker: UserId) -> Result<Vec<BlockRecord>, StoreError> {
        self.blocks(blocker).await
    }

    async fn add_report(&self, report: &ReportRecord) -> Result<(), StoreError> {
        self.report_add(report).await
    }

    async fn reports_open(&self) -> Result<Vec<ReportRecord>, StoreError> {
        self.open_reports().await
    }

    async fn report(&self, id: uuid::Uuid) -> Result<Option<ReportRecord>, StoreError> {
        self.report_by_id(id).await
    }

    async fn ban_from_room(&self, room: RoomId, ban: &RoomBanRecord) -> Result<bool, StoreError> {
        self.room_ban(room, ban).await
    }

    async fn unban_from_room(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        self.room_unban(room, user).await
    }

    async fn is_banned_from(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        self.room_banned(room, user).await
    }

    async fn flush(&self) -> Result<(), StoreError> {
        // Every change was committed (synchronously) before its call returned.
        Ok(())
    }

    async fn probe(&self) -> Result<(), StoreError> {
        self.probe_now().await
    }

    async fn ban_user(&self, ban: &BanRecord) -> Result<(), StoreError> {
        self.put_ban(ban).await
    }

    async fn unban_user(&self, user: UserId) -> Result<bool, StoreError> {
        self.lift_ban(user).await
    }

    async fn user_ban(&self, user: UserId) -> Result<Option<BanRecord>, StoreError> {
        self.ban_of(user).await
    }

    async fn bans_after(&self, after: Option<UserId>, limit: usize) -> Result<Vec<BanRecord>, StoreError> {
        self.bans_page(after, limit).await
    }

    async fn users_after(&self, after: Option<UserId>, limit: usize) -> Result<Vec<UserRecord>, StoreError> {
        self.users_page(after, limit).await
    }

    async fn rooms_after(&self, after: Option<RoomId>, limit: usize) -> Result<Vec<RoomRecord>, StoreError> {
        self.rooms_page(after, limit).await
    }

    async fn tokens_after(&self, after: Option<TokenHash>, limit: usize) -> Result<Vec<(TokenHash, TokenRecord)>, StoreError> {
        self.tokens_page(after, limit).await
    }

    async fn reads_after(&self, room: RoomId, after: Option<UserId>, limit: usize) -> Result<Vec<(UserId, u64)>, StoreError> {
        self.reads_page(room, after, limit).await
    }

    async fn blocks_after(&self, after: Option<(UserId, UserId)>, limit: usize) -> Result<Vec<(UserId, BlockRecord)>, StoreError> {
        self.blocks_page(after, limit).await
    }

    async fn reports_after(&self, after: Option<uuid::Uuid>, limit: usize) -> Result<Vec<ReportRecord>, StoreError> {
        self.reports_page(after, limit).await
    }

    async fn room_bans_after(&self, room: RoomId, after: Option<UserId>, limit: usize) -> Result<Vec<RoomBanRecord>, StoreError> {
        self.room_bans_page(room, after, limit).await
    }

    async fn calls_after(&self, room: RoomId, after: Option<heartlink_protocol::CallId>, limit: usize) -> Result<Vec<StoredCall>, StoreError> {
        let client = self.client().await?;
        calls::calls_after(&client, room, after, limit).await
    }

    async fn message(&self, room: RoomId, seq: u64) -> Result<Option<MessageRecord>, StoreError> {
        self.message_at(room, seq).await
    }

    async fn blank_message(&self, room: RoomId, seq: u64) -> Result<Option<MessageRecord>, StoreError> {
        self.blank(room, seq).await
    }

    async fn is_empty(&self) -> Result<bool, StoreError> {
        self.holds_nothing().await
    }

    async fn restore(&self, records: Vec<RestoreRecord>) -> Result<(), StoreError> {
        self.restore_records(records).await
    }

    async fn sent_seq(&self, sender: UserId, room: RoomId, client_msg_id: &str) -> Result<Option<u64>, StoreError> {
        self.sent(sender, room, client_msg_id).await
    }

    async fn mentions_after(&self, room: RoomId, user: UserId, after: u64, cap: u64) -> Result<u64, StoreError> {
        self.mentions(room, user, after, cap).await
    }

    async fn set_last_seen(&self, user: UserId, at: u64) -> Result<(), StoreError> {
        self.seen(user, at).await
    }

    async fn last_seen(&self, users: &[UserId]) -> Result<Vec<Option<u64>>, StoreError> {
        self.seen_at(users).await
    }

    async fn next_call_expiry(&self) -> Result<Option<u64>, StoreError> {
        let client = self.client().await?;
        calls::next_call_expiry(&client).await
    }

    async fn due_calls(&self, now: u64, limit: usize) -> Result<Vec<DueCall>, StoreError> {
        let client = self.client().await?;
        calls::due_calls(&client, now, limit).await
    }
}
