//! Stranger matching and moderation in PostgreSQL: pairs (changed under a
//! row lock, so two nodes revealing at once both count), blocks (the cap
//! checked under a lock on the blocker's account row), reports and room bans.

use super::accounts::user_id;
use super::{PostgresStore, big, from_json, to_json, uuid_of};
use crate::store::{BlockOutcome, BlockRecord, PairEndRecord, PairRecord, ReportRecord, RoomBanRecord, RoomRecord, StoreError};
use heartlink_protocol::{RoomId, UserId};
use tokio_postgres::Transaction;

pub(super) async fn put_pair(tx: &Transaction<'_>, pair: &PairRecord) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO pairs (room_id, record) VALUES ($1, $2) ON CONFLICT (room_id) DO UPDATE SET record = $2",
        &[&uuid_of(pair.room.as_bytes()), &to_json("pairs", pair)?],
    )
    .await?;
    Ok(())
}

pub(super) async fn put_block(tx: &Transaction<'_>, blocker: UserId, block: &BlockRecord) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO blocks (blocker, blocked, shown, record) VALUES ($1, $2, $3, $4) ON CONFLICT (blocker, blocked) DO UPDATE SET shown = $3, record = $4",
        &[&uuid_of(blocker.as_bytes()), &uuid_of(block.user.id.as_bytes()), &uuid_of(block.shown.id.as_bytes()), &to_json("blocks", block)?],
    )
    .await?;
    Ok(())
}

pub(super) async fn put_report(tx: &Transaction<'_>, report: &ReportRecord) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO reports (id, at, open, record) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET at = $2, open = $3, record = $4",
        &[&report.id, &big(report.at), &report.open, &to_json("reports", report)?],
    )
    .await?;
    Ok(())
}

pub(super) async fn put_room_ban(tx: &Transaction<'_>, room: RoomId, ban: &RoomBanRecord) -> Result<bool, StoreError> {
    let row = tx
        .query_one(
            "INSERT INTO room_bans (room_id, user_id, record) VALUES ($1, $2, $3)
             ON CONFLICT (room_id, user_id) DO UPDATE SET record = $3 RETURNING (xmax = 0)",
            &[&uuid_of(room.as_bytes()), &uuid_of(ban.user.id.as_bytes()), &to_json("room_bans", ban)?],
        )
        .await?;
    Ok(row.get(0))
}

impl PostgresStore {
    pub(super) async fn new_pair_room(&self, room: &RoomRecord, pair: &PairRecord, now: u64) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        put_pair(&tx, pair).await?;
        super::rooms::insert_room(&tx, room, &[pair.members[0].user.id, pair.members[1].user.id], now).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn pair_of(&self, room: RoomId) -> Result<Option<PairRecord>, StoreError> {
        let client = self.client().await?;
        let row = client.query_opt("SELECT record FROM pairs WHERE room_id = $1", &[&uuid_of(room.as_bytes())]).await?;
        row.map(|row| from_json("pairs", row.get(0))).transpose()
    }

    /// Changes a pair under its row lock: the record after, and whether it changed.
    async fn update_pair(&self, room: RoomId, change: impl Fn(&mut PairRecord) -> bool) -> Result<Option<(PairRecord, bool)>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(row) = tx.query_opt("SELECT record FROM pairs WHERE room_id = $1 FOR UPDATE", &[&uuid_of(room.as_bytes())]).await? else {
            return Ok(None);
        };
        let mut pair: PairRecord = from_json("pairs", row.get(0))?;
        if !change(&mut pair) {
            return Ok(Some((pair, false)));
        }
        put_pair(&tx, &pair).await?;
        tx.commit().await?;
        Ok(Some((pair, true)))
    }

    pub(super) async fn reveal(&self, room: RoomId, user: UserId) -> Result<Option<(PairRecord, bool)>, StoreError> {
        let changed = self
            .update_pair(room, |pair| match pair.members.iter_mut().find(|member| member.user.id == user) {
                Some(member) if !member.revealed => {
                    member.revealed = true;
                    true
                }
                _ => false,
            })
            .await?;
        Ok(changed.filter(|(pair, _)| pair.sides(user).is_some()))
    }

    pub(super) async fn end(&self, room: RoomId, by: UserId, at: u64) -> Result<Option<(PairRecord, bool)>, StoreError> {
        self.update_pair(room, |pair| {
            if pair.ended.is_some() {
                return false;
            }
            pair.ended = Some(PairEndRecord { by, at });
            true
        })
        .await
    }

    pub(super) async fn block(&self, blocker: UserId, block: &BlockRecord, cap: usize) -> Result<BlockOutcome, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Serialises one blocker's changes across nodes (the cap holds).
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))", &[&uuid_of(blocker.as_bytes()).to_string()]).await?;
        let existing = tx
            .query_opt("SELECT record FROM blocks WHERE blocker = $1 AND blocked = $2", &[&uuid_of(blocker.as_bytes()), &uuid_of(block.user.id.as_bytes())])
            .await?;
        if let Some(row) = existing {
            return Ok(BlockOutcome::Already(from_json("blocks", row.get(0))?));
        }
        if cap > 0 {
            let count: i64 = tx.query_one("SELECT COUNT(*) FROM blocks WHERE blocker = $1", &[&uuid_of(blocker.as_bytes())]).await?.get(0);
            if usize::try_from(count).unwrap_or(usize::MAX) >= cap {
                return Ok(BlockOutcome::Full);
            }
        }
        put_block(&tx, blocker, block).await?;
        tx.commit().await?;
        Ok(BlockOutcome::Added)
    }

    pub(super) async fn unblock(&self, blocker: UserId, id: UserId) -> Result<Option<BlockRecord>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "DELETE FROM blocks WHERE (blocker, blocked) IN
                   (SELECT blocker, blocked FROM blocks WHERE blocker = $1 AND (blocked = $2 OR shown = $2) ORDER BY blocked LIMIT 1)
                 RETURNING record",
                &[&uuid_of(blocker.as_bytes()), &uuid_of(id.as_bytes())],
            )
            .await?;
        row.map(|row| from_json("blocks", row.get(0))).transpose()
    }

    pub(super) async fn blocks(&self, blocker: UserId) -> Result<Vec<BlockRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client.query("SELECT record FROM blocks WHERE blocker = $1 ORDER BY blocked", &[&uuid_of(blocker.as_bytes())]).await?;
        rows.into_iter().map(|row| from_json("blocks", row.get(0))).collect()
    }

    pub(super) async fn report_add(&self, report: &ReportRecord) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        put_report(&tx, report).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn open_reports(&self) -> Result<Vec<ReportRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client.query("SELECT record FROM reports WHERE open ORDER BY at, id", &[]).await?;
        rows.into_iter().map(|row| from_json("reports", row.get(0))).collect()
    }

    pub(super) async fn report_by_id(&self, id: uuid::Uuid) -> Result<Option<ReportRecord>, StoreError> {
        let client = self.client().await?;
        let row = client.query_opt("SELECT record FROM reports WHERE id = $1", &[&id]).await?;
        row.map(|row| from_json("reports", row.get(0))).transpose()
    }

    pub(super) async fn room_ban(&self, room: RoomId, ban: &RoomBanRecord) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let fresh = put_room_ban(&tx, room, ban).await?;
        tx.commit().await?;
        Ok(fresh)
    }

    pub(super) async fn room_unban(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let removed = client
            .execute("DELETE FROM room_bans WHERE room_id = $1 AND user_id = $2", &[&uuid_of(room.as_bytes()), &uuid_of(user.as_bytes())])
            .await?;
        Ok(removed > 0)
    }

    pub(super) async fn room_banned(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT 1 FROM room_bans WHERE room_id = $1 AND user_id = $2", &[&uuid_of(room.as_bytes()), &uuid_of(user.as_bytes())])
            .await?;
        Ok(row.is_some())
    }

    pub(super) async fn blocks_page(&self, after: Option<(UserId, UserId)>, limit: usize) -> Result<Vec<(UserId, BlockRecord)>, StoreError> {
        let client = self.client().await?;
        let (blocker, blocked) = after.map_or((uuid::Uuid::nil(), uuid::Uuid::nil()), |(a, b)| (uuid_of(a.as_bytes()), uuid_of(b.as_bytes())));
        let rows = client
            .query(
                "SELECT blocker, record FROM blocks WHERE ($1 OR (blocker, blocked) > ($2, $3)) ORDER BY blocker, blocked LIMIT $4",
                &[&after.is_none(), &blocker, &blocked, &big(limit as u64)],
            )
            .await?;
        rows.into_iter().map(|row| Ok((user_id(&row, 0), from_json("blocks", row.get(1))?))).collect()
    }

    pub(super) async fn reports_page(&self, after: Option<uuid::Uuid>, limit: usize) -> Result<Vec<ReportRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT record FROM reports WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2", &[&after, &big(limit as u64)])
            .await?;
        rows.into_iter().map(|row| from_json("reports", row.get(0))).collect()
    }

    pub(super) async fn room_bans_page(&self, room: RoomId, after: Option<UserId>, limit: usize) -> Result<Vec<RoomBanRecord>, StoreError> {
        let client = self.client().await?;
        let after = after.map(|user| uuid_of(user.as_bytes()));
        let rows = client
            .query(
                "SELECT record FROM room_bans WHERE room_id = $1 AND ($2::uuid IS NULL OR user_id > $2) ORDER BY user_id LIMIT $3",
                &[&uuid_of(room.as_bytes()), &after, &big(limit as u64)],
            )
            .await?;
        rows.into_iter().map(|row| from_json("room_bans", row.get(0))).collect()
    }
}
