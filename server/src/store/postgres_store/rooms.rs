//! Rooms, memberships and read markers in PostgreSQL.

use super::accounts::user_id;
use super::{PostgresStore, big, from_json, small, to_json, uuid_of};
use crate::store::{MemberPage, MemberPosition, MemberRecord, RoomRecord, StoreError, UserRecord, UserSummary};
use heartlink_protocol::{RoomId, UserId};
use tokio_postgres::Transaction;

/// Stores a room and its first members, inside `tx`.
pub(super) async fn insert_room(tx: &Transaction<'_>, room: &RoomRecord, members: &[UserId], now: u64) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO rooms (id, record) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET record = $2",
        &[&uuid_of(room.id.as_bytes()), &to_json("rooms", room)?],
    )
    .await?;
    for user in members {
        insert_member(tx, room.id, *user, now).await?;
    }
    Ok(())
}

/// Makes `user` a member unless they are; `true` when they were not.
pub(super) async fn insert_member(tx: &tokio_postgres::Transaction<'_>, room: RoomId, user: UserId, joined_at: u64) -> Result<bool, StoreError> {
    let added = tx
        .execute(
            "INSERT INTO members (room_id, user_id, joined_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&uuid_of(room.as_bytes()), &uuid_of(user.as_bytes()), &big(joined_at)],
        )
        .await?;
    Ok(added > 0)
}

impl PostgresStore {
    pub(super) async fn new_room(&self, room: &RoomRecord, members: &[UserId], now: u64) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        insert_room(&tx, room, members, now).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn room_by_id(&self, id: RoomId) -> Result<Option<RoomRecord>, StoreError> {
        let client = self.client().await?;
        let row = client.query_opt("SELECT record FROM rooms WHERE id = $1", &[&uuid_of(id.as_bytes())]).await?;
        row.map(|row| from_json("rooms", row.get(0))).transpose()
    }

    pub(super) async fn member(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT 1 FROM members WHERE room_id = $1 AND user_id = $2", &[&uuid_of(room.as_bytes()), &uuid_of(user.as_bytes())])
            .await?;
        Ok(row.is_some())
    }

    pub(super) async fn join(&self, room: RoomId, user: UserId, now: u64) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let added = insert_member(&tx, room, user, now).await?;
        tx.commit().await?;
        Ok(added)
    }

    pub(super) async fn leave(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let removed = client
            .execute("DELETE FROM members WHERE room_id = $1 AND user_id = $2", &[&uuid_of(room.as_bytes()), &uuid_of(user.as_bytes())])
            .await?;
        Ok(removed > 0)
    }

    /// A keyset page on the `(room_id, joined_at, user_id)` index.
    pub(super) async fn members_page(&self, room: RoomId, after: Option<MemberPosition>, limit: usize) -> Result<MemberPage, StoreError> {
        let client = self.client().await?;
        let (after_time, after_user) = match after {
            Some(position) => (big(position.joined_at), uuid_of(position.user.as_bytes())),
            None => (-1, uuid::Uuid::nil()),
        };
        let rows = client
            .query(
                "SELECT m.user_id, m.joined_at, u.record FROM members m LEFT JOIN users u ON u.id = m.user_id
                 WHERE m.room_id = $1 AND (m.joined_at, m.user_id) > ($2, $3) ORDER BY m.joined_at, m.user_id LIMIT $4",
                &[&uuid_of(room.as_bytes()), &after_time, &after_user, &(big(limit as u64).saturating_add(1))],
            )
            .await?;
        let mut page = MemberPage { members: Vec::with_capacity(rows.len().min(limit)), next: None };
        let mut last = None;
        for (index, row) in rows.iter().enumerate() {
            if index == limit {
                page.next = last;
                break;
            }
            let position = MemberPosition { joined_at: small(row.get(1)), user: user_id(row, 0) };
            last = Some(position);
            if let Some(account) = row.get::<_, Option<serde_json::Value>>(2) {
                let account: UserRecord = from_json("users", account)?;
                page.members.push(MemberRecord { user: account.summary(), joined_at: position.joined_at });
            }
        }
        Ok(page)
    }

    pub(super) async fn rooms_of_user(&self, user: UserId) -> Result<Vec<RoomId>, StoreError> {
        let client = self.client().await?;
        let rows = client.query("SELECT room_id FROM members WHERE user_id = $1 ORDER BY room_id", &[&uuid_of(user.as_bytes())]).await?;
        Ok(rows.iter().map(|row| RoomId::from_bytes(*row.get::<_, uuid::Uuid>(0).as_bytes())).collect())
    }

    pub(super) async fn memberships(&self, user: UserId) -> Result<usize, StoreError> {
        let client = self.client().await?;
        let row = client.query_one("SELECT COUNT(*) FROM members WHERE user_id = $1", &[&uuid_of(user.as_bytes())]).await?;
        Ok(usize::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    /// Moves a marker forward only: one statement, whatever other nodes do.
    pub(super) async fn read_up_to(&self, room: RoomId, user: UserId, seq: u64) -> Result<Option<u64>, StoreError> {
        if seq == 0 {
            return Ok(None);
        }
        let client = self.client().await?;
        let row = client
            .query_opt(
                "INSERT INTO reads (room_id, user_id, seq) VALUES ($1, $2, $3)
                 ON CONFLICT (room_id, user_id) DO UPDATE SET seq = $3 WHERE reads.seq < $3 RETURNING seq",
                &[&uuid_of(room.as_bytes()), &uuid_of(user.as_bytes()), &big(seq)],
            )
            .await?;
        Ok(row.map(|row| small(row.get(0))))
    }

    pub(super) async fn read_marker(&self, room: RoomId, user: UserId) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT seq FROM reads WHERE room_id = $1 AND user_id = $2", &[&uuid_of(room.as_bytes()), &uuid_of(user.as_bytes())])
            .await?;
        Ok(row.map_or(0, |row| small(row.get(0))))
    }

    pub(super) async fn leading(&self, room: RoomId, limit: usize, except: UserId) -> Result<Vec<(UserSummary, u64)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT u.record, r.seq FROM reads r JOIN members m ON m.room_id = r.room_id AND m.user_id = r.user_id
                 JOIN users u ON u.id = r.user_id
                 WHERE r.room_id = $1 AND r.user_id <> $2 ORDER BY r.seq DESC, r.user_id LIMIT $3",
                &[&uuid_of(room.as_bytes()), &uuid_of(except.as_bytes()), &big(limit as u64)],
            )
            .await?;
        rows.into_iter()
            .map(|row| {
                let account: UserRecord = from_json("users", row.get(0))?;
                Ok((account.summary(), small(row.get(1))))
            })
            .collect()
    }
}
