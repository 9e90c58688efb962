//! The operator's side in PostgreSQL: keyset pages for export, the empty
//! check and the restore of an import (one transaction per call; each
//! room's `room_seqs` row set to its highest restored seq), and the health
//! probe.

use super::accounts::{hash_of, user_id};
use super::messages::{Fresh, insert_messages};
use super::{PostgresStore, big, from_json, small, to_json, uuid_of};
use crate::store::{BanRecord, RestoreRecord, RoomRecord, StoreError, TokenHash, TokenRecord, UserRecord};
use heartlink_protocol::{RoomId, UserId};
use std::collections::HashMap;

impl PostgresStore {
    pub(super) async fn bans_page(&self, after: Option<UserId>, limit: usize) -> Result<Vec<BanRecord>, StoreError> {
        let client = self.client().await?;
        let after = after.map(|user| uuid_of(user.as_bytes()));
        let rows = client
            .query("SELECT record FROM user_bans WHERE ($1::uuid IS NULL OR user_id > $1) ORDER BY user_id LIMIT $2", &[&after, &big(limit as u64)])
            .await?;
        rows.into_iter().map(|row| from_json("user_bans", row.get(0))).collect()
    }

    pub(super) async fn users_page(&self, after: Option<UserId>, limit: usize) -> Result<Vec<UserRecord>, StoreError> {
        let client = self.client().await?;
        let after = after.map(|user| uuid_of(user.as_bytes()));
        let rows = client
            .query("SELECT record FROM users WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2", &[&after, &big(limit as u64)])
            .await?;
        rows.into_iter().map(|row| from_json("users", row.get(0))).collect()
    }

    pub(super) async fn rooms_page(&self, after: Option<RoomId>, limit: usize) -> Result<Vec<RoomRecord>, StoreError> {
        let client = self.client().await?;
        let after = after.map(|room| uuid_of(room.as_bytes()));
        let rows = client
            .query("SELECT record FROM rooms WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2", &[&after, &big(limit as u64)])
            .await?;
        rows.into_iter().map(|row| from_json("rooms", row.get(0))).collect()
    }

    pub(super) async fn tokens_page(&self, after: Option<TokenHash>, limit: usize) -> Result<Vec<(TokenHash, TokenRecord)>, StoreError> {
        let client = self.client().await?;
        let after: Option<&[u8]> = after.as_ref().map(|hash| &hash[..]);
        let rows = client
            .query(
                "SELECT hash, user_id, issued_at, last_used FROM tokens WHERE ($1::bytea IS NULL OR hash > $1) ORDER BY hash LIMIT $2",
                &[&after, &big(limit as u64)],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let record = TokenRecord { user_id: user_id(row, 1), issued_at: small(row.get(2)), last_used: small(row.get(3)) };
                Ok((hash_of(row.get::<_, &[u8]>(0))?, record))
            })
            .collect()
    }

    pub(super) async fn reads_page(&self, room: RoomId, after: Option<UserId>, limit: usize) -> Result<Vec<(UserId, u64)>, StoreError> {
        let client = self.client().await?;
        let after = after.map(|user| uuid_of(user.as_bytes()));
        let rows = client
            .query(
                "SELECT user_id, seq FROM reads WHERE room_id = $1 AND ($2::uuid IS NULL OR user_id > $2) ORDER BY user_id LIMIT $3",
                &[&uuid_of(room.as_bytes()), &after, &big(limit as u64)],
            )
            .await?;
        Ok(rows.iter().map(|row| (user_id(row, 0), small(row.get(1)))).collect())
    }

    pub(super) async fn holds_nothing(&self) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT NOT (EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM rooms) OR EXISTS (SELECT 1 FROM messages) OR EXISTS (SELECT 1 FROM tokens))",
                &[],
            )
            .await?;
        Ok(row.get(0))
    }

    /// Writes exported records back as they were, in one transaction.
    pub(super) async fn restore_records(&self, records: Vec<RestoreRecord>) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut messages = Vec::new();
        let mut highest: HashMap<RoomId, u64> = HashMap::new();
        for record in records {
            match record {
                RestoreRecord::User { record, canonical, lookalikes } => {
                    tx.execute(
                        "INSERT INTO users (id, canonical, record) VALUES ($1, $2, $3)",
                        &[&uuid_of(record.id.as_bytes()), &canonical, &to_json("users", &record)?],
                    )
                    .await?;
                    for key in &lookalikes {
                        tx.execute("INSERT INTO lookalikes (key, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", &[key, &uuid_of(record.id.as_bytes())])
                            .await?;
                    }
                }
                RestoreRecord::LastSeen { user, at } => {
                    tx.execute(
                        "INSERT INTO last_seen (user_id, at) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET at = $2",
                        &[&uuid_of(user.as_bytes()), &big(at)],
                    )
                    .await?;
                }
                RestoreRecord::Ban(ban) => {
                    tx.execute(
                        "INSERT INTO user_bans (user_id, record) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET record = $2",
                        &[&uuid_of(ban.user_id.as_bytes()), &to_json("user_bans", &ban)?],
                    )
                    .await?;
                }
                RestoreRecord::Token { hash, record } => {
                    tx.execute(
                        "INSERT INTO tokens (hash, user_id, issued_at, last_used) VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING",
                        &[&&hash[..], &uuid_of(record.user_id.as_bytes()), &big(record.issued_at), &big(record.last_used)],
                    )
                    .await?;
                }
                RestoreRecord::Room(room) => super::rooms::insert_room(&tx, &room, &[], 0).await?,
                RestoreRecord::Member { room, user, joined_at } => {
                    super::rooms::insert_member(&tx, room, user, joined_at).await?;
                }
                RestoreRecord::Read { room, user, seq } => {
                    tx.execute(
                        "INSERT INTO reads (room_id, user_id, seq) VALUES ($1, $2, $3) ON CONFLICT (room_id, user_id) DO UPDATE SET seq = $3",
                        &[&uuid_of(room.as_bytes()), &uuid_of(user.as_bytes()), &big(seq)],
                    )
                    .await?;
                }
                RestoreRecord::Message { room, seq, record } => {
                    let top = highest.entry(room).or_insert(0);
                    *top = (*top).max(seq);
                    messages.push(Fresh { room, seq, record, answer: 0 });
                }
                RestoreRecord::Pair(pair) => super::moderation::put_pair(&tx, &pair).await?,
                RestoreRecord::Block { blocker, record } => super::moderation::put_block(&tx, blocker, &record).await?,
                RestoreRecord::RoomBan { room, record } => {
                    super::moderation::put_room_ban(&tx, room, &record).await?;
                }
                RestoreRecord::Report(report) => super::moderation::put_report(&tx, &report).await?,
                RestoreRecord::Call { room, call } => super::calls::restore_call(&tx, room, &call).await?,
            }
        }
        insert_messages(&tx, &messages).await?;
        for (room, seq) in highest {
            tx.execute(
                "INSERT INTO room_seqs (room_id, last_seq) VALUES ($1, $2) ON CONFLICT (room_id) DO UPDATE SET last_seq = GREATEST(room_seqs.last_seq, $2)",
                &[&uuid_of(room.as_bytes()), &big(seq)],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Writes a fresh value, commits it and reads it back.
    pub(super) async fn probe_now(&self) -> Result<(), StoreError> {
        let mut value = [0u8; 16];
        getrandom::fill(&mut value)
            .map_err(|err| StoreError::Corrupt { tree: "health_probe", detail: format!("no randomness: {err}") })?;
        let client = self.client().await?;
        client
            .execute("INSERT INTO health_probe (id, value) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET value = $1", &[&&value[..]])
            .await?;
        let row = client.query_one("SELECT value FROM health_probe WHERE id = 1", &[]).await?;
        if row.get::<_, &[u8]>(0) != value {
            return Err(StoreError::Corrupt { tree: "health_probe", detail: "the probe value did not read back".to_owned() });
        }
        Ok(())
    }
}
