//! The media catalog in PostgreSQL: `uploads`, `media_usage`, `media_blobs`;
//! a media's rooms are read from `media_messages` (written with the
//! messages that carry it). Each change that touches a usage or a blob's
//! count is one transaction with the usage row locked, so uploads of one
//! user on several nodes never break the quota.
//!
//! The catalog's methods are synchronous (callers run them on the blocking
//! pool); each one runs its queries on the server's runtime and waits.
//! Every change is committed when it returns, so `flush` has nothing left.

use super::{PostgresStore, big, from_json, small, to_json, uuid_of};
use crate::media::catalog::{Admission, Allowance, Completed, Deleted, MediaCatalog, UploadRecord, Usage};
use crate::store::StoreError;
use heartlink_protocol::{MediaId, RoomId, UserId};
use tokio_postgres::Transaction;

/// Runs `work` to completion from synchronous code: on a blocking-pool
/// thread directly, on a runtime worker after telling tokio it blocks.
fn wait<T>(work: impl std::future::Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    let handle = tokio::runtime::Handle::try_current()
        .map_err(|err| StoreError::Corrupt { tree: "uploads", detail: format!("the media catalog ran outside the server's runtime: {err}") })?;
    tokio::task::block_in_place(|| handle.block_on(work))
}

async fn usage_locked(tx: &Transaction<'_>, owner: UserId) -> Result<Usage, StoreError> {
    let owner = uuid_of(owner.as_bytes());
    tx.execute("INSERT INTO media_usage (owner, bytes, pending) VALUES ($1, 0, 0) ON CONFLICT DO NOTHING", &[&owner]).await?;
    let row = tx.query_one("SELECT bytes, pending FROM media_usage WHERE owner = $1 FOR UPDATE", &[&owner]).await?;
    Ok(Usage { bytes: small(row.get(0)), pending: small(row.get(1)) })
}

async fn put_usage(tx: &Transaction<'_>, owner: UserId, usage: Usage) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE media_usage SET bytes = $2, pending = $3 WHERE owner = $1",
        &[&uuid_of(owner.as_bytes()), &big(usage.bytes), &big(usage.pending)],
    )
    .await?;
    Ok(())
}

async fn record_locked(tx: &Transaction<'_>, id: MediaId) -> Result<Option<UploadRecord>, StoreError> {
    let row = tx.query_opt("SELECT record FROM uploads WHERE id = $1 FOR UPDATE", &[&uuid_of(id.as_bytes())]).await?;
    row.map(|row| from_json("uploads", row.get(0))).transpose()
}

async fn put_record(tx: &Transaction<'_>, record: &UploadRecord) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO uploads (id, owner, record) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET record = $3",
        &[&uuid_of(record.id.as_bytes()), &uuid_of(record.owner.as_bytes()), &to_json("uploads", record)?],
    )
    .await?;
    Ok(())
}

impl PostgresStore {
    async fn create_upload_now(&self, record: &UploadRecord, allowance: Allowance) -> Result<Admission, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let usage = usage_locked(&tx, record.owner).await?;
        if usage.bytes.saturating_add(record.length) > allowance.quota_bytes {
            return Ok(Admission::OverQuota(usage));
        }
        if usage.pending >= allowance.max_pending {
            return Ok(Admission::TooManyPending(usage));
        }
        put_record(&tx, record).await?;
        put_usage(&tx, record.owner, Usage { bytes: usage.bytes + record.length, pending: usage.pending + 1 }).await?;
        tx.commit().await?;
        Ok(Admission::Recorded)
    }

    async fn complete_now(&self, id: MediaId, completed: &Completed) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(mut record) = record_locked(&tx, id).await? else { return Ok(false) };
        if record.completed.is_some() {
            return Ok(false);
        }
        record.offset = record.length;
        record.completed = Some(completed.clone());
        put_record(&tx, &record).await?;
        let row = tx
            .query_one(
                "INSERT INTO media_blobs (sha256, refs) VALUES ($1, 1) ON CONFLICT (sha256) DO UPDATE SET refs = media_blobs.refs + 1 RETURNING refs",
                &[&completed.sha256],
            )
            .await?;
        tx.commit().await?;
        Ok(row.get::<_, i64>(0) == 1)
    }

    async fn mark_attached_now(&self, id: MediaId) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(mut record) = record_locked(&tx, id).await? else { return Ok(()) };
        if record.attached {
            return Ok(());
        }
        record.attached = true;
        let usage = usage_locked(&tx, record.owner).await?;
        put_record(&tx, &record).await?;
        put_usage(&tx, record.owner, Usage { pending: usage.pending.saturating_sub(1), ..usage }).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_upload_now(&self, id: MediaId) -> Result<Option<Deleted>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(record) = record_locked(&tx, id).await? else { return Ok(None) };
        let usage = usage_locked(&tx, record.owner).await?;
        tx.execute("DELETE FROM uploads WHERE id = $1", &[&uuid_of(id.as_bytes())]).await?;
        let pending = if record.is_pending() { usage.pending.saturating_sub(1) } else { usage.pending };
        put_usage(&tx, record.owner, Usage { bytes: usage.bytes.saturating_sub(record.length), pending }).await?;
        let mut unused_blob = None;
        if let Some(completed) = &record.completed {
            let row = tx
                .query_opt("UPDATE media_blobs SET refs = refs - 1 WHERE sha256 = $1 RETURNING refs", &[&completed.sha256])
                .await?;
            if row.is_none_or(|row| row.get::<_, i64>(0) <= 0) {
                tx.execute("DELETE FROM media_blobs WHERE sha256 = $1", &[&completed.sha256]).await?;
                unused_blob = Some(completed.sha256.clone());
            }
        }
        tx.commit().await?;
        Ok(Some(Deleted { record, unused_blob }))
    }

    async fn one_query<T>(&self, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)], read: impl Fn(Vec<tokio_postgres::Row>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let client = self.client().await?;
        read(client.query(sql, params).await?)
    }
}

impl MediaCatalog for PostgresStore {
    fn create_upload(&self, record: &UploadRecord, allowance: Allowance) -> Result<Admission, StoreError> {
        wait(self.create_upload_now(record, allowance))
    }

    fn upload(&self, id: MediaId) -> Result<Option<UploadRecord>, StoreError> {
        wait(self.one_query("SELECT record FROM uploads WHERE id = $1", &[&uuid_of(id.as_bytes())], |rows| {
            rows.into_iter().next().map(|row| from_json("uploads", row.get(0))).transpose()
        }))
    }

    fn set_offset(&self, id: MediaId, offset: u64) -> Result<(), StoreError> {
        let json_offset = serde_json::Value::from(offset);
        wait(self.one_query(
            "UPDATE uploads SET record = jsonb_set(record::jsonb, '{offset}', $2::jsonb)::json WHERE id = $1 RETURNING 1",
            &[&uuid_of(id.as_bytes()), &json_offset],
            |_| Ok(()),
        ))
    }

    fn complete(&self, id: MediaId, completed: &Completed) -> Result<bool, StoreError> {
        wait(self.complete_now(id, completed))
    }

    fn mark_attached(&self, id: MediaId) -> Result<(), StoreError> {
        wait(self.mark_attached_now(id))
    }

    fn delete_upload(&self, id: MediaId) -> Result<Option<Deleted>, StoreError> {
        wait(self.delete_upload_now(id))
    }

    fn blob_in_use(&self, sha256: &str) -> Result<bool, StoreError> {
        wait(self.one_query("SELECT 1 FROM media_blobs WHERE sha256 = $1", &[&sha256], |rows| Ok(!rows.is_empty())))
    }

    fn media_rooms(&self, id: MediaId) -> Result<Vec<RoomId>, StoreError> {
        wait(self.one_query("SELECT DISTINCT room_id FROM media_messages WHERE media_id = $1 ORDER BY room_id", &[&uuid_of(id.as_bytes())], |rows| {
            Ok(rows.iter().map(|row| RoomId::from_bytes(*row.get::<_, uuid::Uuid>(0).as_bytes())).collect())
        }))
    }

    fn uploads(&self) -> Result<Vec<UploadRecord>, StoreError> {
        wait(self.one_query("SELECT record FROM uploads ORDER BY id", &[], |rows| rows.into_iter().map(|row| from_json("uploads", row.get(0))).collect()))
    }

    fn usage(&self, owner: UserId) -> Result<Usage, StoreError> {
        wait(self.one_query("SELECT bytes, pending FROM media_usage WHERE owner = $1", &[&uuid_of(owner.as_bytes())], |rows| {
            Ok(rows.first().map_or(Usage::default(), |row| Usage { bytes: small(row.get(0)), pending: small(row.get(1)) }))
        }))
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
