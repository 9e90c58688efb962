//! Relations, mentions and deletions in PostgreSQL: what a deletion does to
//! its target inside the batch's transaction (the same rules as the sled
//! store's `relations.rs`: the target and the edits of it are stored again
//! blank, leave `mentions` and `media_messages`, and a media no message
//! carries any more is reported), and the reads of those indexes.

use super::messages::{Fresh, unreferenced};
use super::{PostgresStore, big, from_json, small, to_json, uuid_of};
use crate::store::{MessageRecord, RelKindRecord, StoreError};
use heartlink_protocol::{MediaId, RoomId, UserId};
use std::collections::{HashMap, HashSet};
use tokio_postgres::Transaction;

/// Blanks the targets of the batch's deletions; returns, per deletion (by
/// its place among the answers), the media no message carries any more.
pub(super) async fn apply_deletions(tx: &Transaction<'_>, fresh: &mut [Fresh]) -> Result<HashMap<usize, Vec<MediaId>>, StoreError> {
    let deletions: Vec<(usize, RoomId, u64)> = fresh
        .iter()
        .filter_map(|message| {
            let relation = message.record.relates_to?;
            (relation.rel == RelKindRecord::Delete).then_some((message.answer, message.room, relation.seq))
        })
        .collect();
    let mut released = HashMap::new();
    if deletions.is_empty() {
        return Ok(released);
    }
    // Media the batch's own messages carry are in use, whatever is deleted.
    let carried_in_batch: HashSet<MediaId> =
        fresh.iter().filter_map(|message| message.record.attachment.as_ref().map(|attachment| attachment.media_id)).collect();
    let mut blanked_here: HashSet<(RoomId, u64)> = HashSet::new();
    for (answer, room, target) in deletions {
        let room_id = uuid_of(room.as_bytes());
        let edits = tx
            .query("SELECT seq FROM relations WHERE room_id = $1 AND target = $2 AND kind = 'edit' ORDER BY seq", &[&room_id, &big(target)])
            .await?;
        let mut victims = vec![target];
        victims.extend(edits.iter().map(|row| small(row.get(0))));
        let mut dropped_media = HashSet::new();
        for seq in victims {
            if !blanked_here.insert((room, seq)) {
                continue;
            }
            if let Some(message) = fresh.iter_mut().find(|message| (message.room, message.seq) == (room, seq)) {
                message.record = message.record.blanked();
                continue;
            }
            let Some(row) = tx.query_opt("SELECT record FROM messages WHERE room_id = $1 AND seq = $2 FOR UPDATE", &[&room_id, &big(seq)]).await?
            else {
                continue;
            };
            let record: MessageRecord = from_json("messages", row.get(0))?;
            if record.deleted {
                continue;
            }
            forget_indexes(tx, room, seq, &record).await?;
            if let Some(attachment) = &record.attachment {
                dropped_media.insert(attachment.media_id);
            }
            tx.execute("UPDATE messages SET record = $3 WHERE room_id = $1 AND seq = $2", &[&room_id, &big(seq), &to_json("messages", &record.blanked())?])
                .await?;
        }
        let candidates: HashSet<MediaId> = dropped_media.difference(&carried_in_batch).copied().collect();
        if !candidates.is_empty() {
            let mut gone: Vec<MediaId> = unreferenced(tx, &candidates).await?.into_iter().collect();
            if !gone.is_empty() {
                gone.sort_unstable_by_key(|media| *media.as_bytes());
                released.insert(answer, gone);
            }
        }
    }
    // An edit stored in this very batch, of a message it deletes.
    for message in fresh.iter_mut() {
        let edit_of = message.record.relates_to.filter(|relation| relation.rel == RelKindRecord::Edit);
        if edit_of.is_some_and(|relation| blanked_here.contains(&(message.room, relation.seq))) {
            message.record = message.record.blanked();
        }
    }
    Ok(released)
}

/// Takes a message that is being blanked out of the mention and media indexes.
async fn forget_indexes(tx: &Transaction<'_>, room: RoomId, seq: u64, record: &MessageRecord) -> Result<(), StoreError> {
    let room_id = uuid_of(room.as_bytes());
    if !record.mentions.is_empty() {
        tx.execute("DELETE FROM mentions WHERE room_id = $1 AND seq = $2", &[&room_id, &big(seq)]).await?;
    }
    if let Some(attachment) = &record.attachment {
        tx.execute(
            "DELETE FROM media_messages WHERE media_id = $1 AND room_id = $2 AND seq = $3",
            &[&uuid_of(attachment.media_id.as_bytes()), &room_id, &big(seq)],
        )
        .await?;
    }
    Ok(())
}

impl PostgresStore {
    /// See [`Store::message`](crate::store::Store::message).
    pub(super) async fn message_at(&self, room: RoomId, seq: u64) -> Result<Option<MessageRecord>, StoreError> {
        let client = self.client().await?;
        let row = client.query_opt("SELECT record FROM messages WHERE room_id = $1 AND seq = $2", &[&uuid_of(room.as_bytes()), &big(seq)]).await?;
        row.map(|row| from_json("messages", row.get(0))).transpose()
    }

    /// See [`Store::blank_message`](crate::store::Store::blank_message): an
    /// `UPDATE` in place; the idempotency record stays.
    pub(super) async fn blank(&self, room: RoomId, seq: u64) -> Result<Option<MessageRecord>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let room_id = uuid_of(room.as_bytes());
        let Some(row) = tx.query_opt("SELECT record FROM messages WHERE room_id = $1 AND seq = $2 FOR UPDATE", &[&room_id, &big(seq)]).await?
        else {
            return Ok(None);
        };
        let before: MessageRecord = from_json("messages", row.get(0))?;
        let after = MessageRecord { body: String::new(), attachment: None, mentions: Vec::new(), deleted: true, ..before.clone() };
        forget_indexes(&tx, room, seq, &before).await?;
        tx.execute("UPDATE messages SET record = $3 WHERE room_id = $1 AND seq = $2", &[&room_id, &big(seq), &to_json("messages", &after)?]).await?;
        tx.commit().await?;
        Ok(Some(before))
    }

    /// See [`Store::sent_seq`](crate::store::Store::sent_seq).
    pub(super) async fn sent(&self, sender: UserId, room: RoomId, client_msg_id: &str) -> Result<Option<u64>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT seq FROM dedup WHERE sender = $1 AND room_id = $2 AND client_msg_id = $3",
                &[&uuid_of(sender.as_bytes()), &uuid_of(room.as_bytes()), &client_msg_id],
            )
            .await?;
        Ok(row.map(|row| small(row.get(0))))
    }

    /// See [`Store::mentions_after`](crate::store::Store::mentions_after):
    /// counts index entries, at most `cap` of them.
    pub(super) async fn mentions(&self, room: RoomId, user: UserId, after: u64, cap: u64) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT COUNT(*) FROM (SELECT 1 FROM mentions WHERE user_id = $1 AND room_id = $2 AND seq > $3 LIMIT $4) AS capped",
                &[&uuid_of(user.as_bytes()), &uuid_of(room.as_bytes()), &big(after), &big(cap)],
            )
            .await?;
        Ok(small(row.get(0)))
    }

    /// See [`Store::prune_dedup`](crate::store::Store::prune_dedup): batched
    /// deletes on the index of the time, so no statement holds much.
    pub(super) async fn prune(&self, cutoff_ms: u64) -> Result<usize, StoreError> {
        let client = self.client().await?;
        let mut removed = 0usize;
        loop {
            let step = client
                .execute(
                    "DELETE FROM dedup WHERE ctid = ANY(ARRAY(SELECT ctid FROM dedup WHERE ts < $1 LIMIT 1000))",
                    &[&big(cutoff_ms)],
                )
                .await?;
            removed += usize::try_from(step).unwrap_or(usize::MAX);
            if step < 1000 {
                return Ok(removed);
            }
        }
    }
}
