//! Messages in PostgreSQL: the group commit of a batch (seqs, idempotency,
//! calls, deletions and the indexes, in one transaction), and history as
//! range scans of the `(room_id, seq)` primary key.
//!
//! A batch first locks the `room_seqs` rows of its rooms in id order (two
//! batches sharing rooms wait for each other instead of deadlocking), so
//! the idempotency lookups and the seqs it gives out cannot race a batch
//! of another node: that one waits until this commit, then reads it.

use super::calls::CallBook;
use super::{PostgresStore, big, from_json, small, to_json, uuid_of};
use crate::store::{Appended, MessagePage, MessageRecord, NewMessage, PageBudget, RelKindRecord, SeqMessage, StoreError};
use heartlink_protocol::{MediaId, RoomId, UserId};
use std::collections::{BTreeSet, HashMap, HashSet};
use tokio_postgres::Transaction;

/// A new message of the batch, with its seq, before it is written.
pub(super) struct Fresh {
    pub(super) room: RoomId,
    pub(super) seq: u64,
    pub(super) record: MessageRecord,
    /// Its place among the batch's answers.
    pub(super) answer: usize,
}

/// A relation's kind as stored in `relations.kind`.
pub(super) fn kind_name(rel: RelKindRecord) -> &'static str {
    match rel {
        RelKindRecord::Reply => "reply",
        RelKindRecord::Edit => "edit",
        RelKindRecord::Delete => "delete",
        RelKindRecord::React => "react",
    }
}

impl PostgresStore {
    /// See [`Store::append_batch`](crate::store::Store::append_batch).
    pub(super) async fn append(&self, batch: Vec<NewMessage>) -> Result<Vec<Appended>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let rooms: BTreeSet<uuid::Uuid> = batch.iter().map(|message| uuid_of(message.room.as_bytes())).collect();
        let rooms: Vec<uuid::Uuid> = rooms.into_iter().collect();
        tx.execute("INSERT INTO room_seqs (room_id) SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING", &[&rooms]).await?;
        let rows = tx.query("SELECT room_id, last_seq FROM room_seqs WHERE room_id = ANY($1) ORDER BY room_id FOR UPDATE", &[&rooms]).await?;
        let mut next_seq: HashMap<RoomId, u64> =
            rows.iter().map(|row| (RoomId::from_bytes(*row.get::<_, uuid::Uuid>(0).as_bytes()), small(row.get(1)))).collect();
        let stored = stored_originals(&tx, &batch).await?;

        let mut in_batch: HashMap<(UserId, RoomId, &str), Appended> = HashMap::new();
        let mut fresh = Vec::with_capacity(batch.len());
        let mut answers = Vec::with_capacity(batch.len());
        let mut calls = CallBook::default();
        for NewMessage { room, record } in &batch {
            let id = (record.sender.id, *room, record.client_msg_id.as_str());
            if let Some(original) = in_batch.get(&id) {
                answers.push(Appended { fresh: false, ..original.clone() });
                continue;
            }
            if let Some((seq, ts)) = stored.get(&(record.sender.id, *room, record.client_msg_id.clone())) {
                let original = Appended { seq: *seq, ts: *ts, fresh: false, released_media: Vec::new(), refused: None };
                in_batch.insert(id, original.clone());
                answers.push(original);
                continue;
            }
            if let Err(refusal) = calls.apply(&tx, *room, record).await? {
                // Not remembered as this id's original: a retry is judged again.
                answers.push(Appended { seq: 0, ts: record.ts, fresh: false, released_media: Vec::new(), refused: Some(refusal) });
                continue;
            }
            let seq = next_seq.get(room).copied().unwrap_or(0) + 1;
            next_seq.insert(*room, seq);
            fresh.push(Fresh { room: *room, seq, record: record.clone(), answer: answers.len() });
            let appended = Appended { seq, ts: record.ts, fresh: true, released_media: Vec::new(), refused: None };
            in_batch.insert(id, appended.clone());
            answers.push(appended);
        }
        let released = super::relations::apply_deletions(&tx, &mut fresh).await?;
        for (answer, media) in released {
            if let Some(appended) = answers.get_mut(answer) {
                appended.released_media = media;
            }
        }
        insert_messages(&tx, &fresh).await?;
        calls.write(&tx).await?;
        let (seq_rooms, seqs): (Vec<uuid::Uuid>, Vec<i64>) =
            next_seq.iter().map(|(room, seq)| (uuid_of(room.as_bytes()), big(*seq))).unzip();
        tx.execute(
            "UPDATE room_seqs SET last_seq = s.seq FROM unnest($1::uuid[], $2::int8[]) AS s(room_id, seq) WHERE room_seqs.room_id = s.room_id",
            &[&seq_rooms, &seqs],
        )
        .await?;
        // Durable on return: the commit waits for the WAL flush
        // (synchronous_commit, checked at open).
        tx.commit().await?;
        Ok(answers)
    }

    /// See [`Store::page_latest`](crate::store::Store::page_latest).
    pub(super) async fn latest(&self, room: RoomId, upto: u64, budget: PageBudget<'_>) -> Result<MessagePage, StoreError> {
        if upto == 0 || budget.count == 0 {
            return Ok(MessagePage::default());
        }
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT seq, record FROM messages WHERE room_id = $1 AND seq <= $2 ORDER BY seq DESC LIMIT $3",
                &[&uuid_of(room.as_bytes()), &big(upto), &i64::from(budget.count)],
            )
            .await?;
        let mut messages = Vec::with_capacity(rows.len());
        let mut used = 0usize;
        for row in rows {
            let message = SeqMessage { seq: small(row.get(0)), record: from_json("messages", row.get(1))? };
            let size = (budget.size)(&message);
            if !budget.fits(messages.len(), used, size) {
                break;
            }
            used = used.saturating_add(size);
            messages.push(message);
        }
        messages.reverse();
        let has_more = match messages.first() {
            Some(first) => client
                .query_opt("SELECT 1 FROM messages WHERE room_id = $1 AND seq < $2 LIMIT 1", &[&uuid_of(room.as_bytes()), &big(first.seq)])
                .await?
                .is_some(),
            None => false,
        };
        Ok(MessagePage { messages, has_more })
    }

    /// See [`Store::page_after`](crate::store::Store::page_after).
    pub(super) async fn after(&self, room: RoomId, since: u64, upto: u64, budget: PageBudget<'_>) -> Result<MessagePage, StoreError> {
        if since >= upto || budget.count == 0 {
            return Ok(MessagePage::default());
        }
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT seq, record FROM messages WHERE room_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
                &[&uuid_of(room.as_bytes()), &big(since), &big(upto), &(i64::from(budget.count) + 1)],
            )
            .await?;
        let mut messages = Vec::with_capacity(rows.len());
        let mut used = 0usize;
        for row in rows {
            let message = SeqMessage { seq: small(row.get(0)), record: from_json("messages", row.get(1))? };
            let size = (budget.size)(&message);
            if !budget.fits(messages.len(), used, size) {
                return Ok(MessagePage { messages, has_more: true });
            }
            used = used.saturating_add(size);
            messages.push(message);
        }
        Ok(MessagePage { messages, has_more: false })
    }
}

/// The stored originals of the batch's messages: (sender, room, id) → (seq, ts).
async fn stored_originals(tx: &Transaction<'_>, batch: &[NewMessage]) -> Result<HashMap<(UserId, RoomId, String), (u64, u64)>, StoreError> {
    let senders: Vec<uuid::Uuid> = batch.iter().map(|m| uuid_of(m.record.sender.id.as_bytes())).collect();
    let rooms: Vec<uuid::Uuid> = batch.iter().map(|m| uuid_of(m.room.as_bytes())).collect();
    let ids: Vec<&str> = batch.iter().map(|m| m.record.client_msg_id.as_str()).collect();
    let rows = tx
        .query(
            "SELECT d.sender, d.room_id, d.client_msg_id, d.seq, d.ts FROM dedup d
             JOIN unnest($1::uuid[], $2::uuid[], $3::text[]) AS k(sender, room_id, client_msg_id)
               ON d.sender = k.sender AND d.room_id = k.room_id AND d.client_msg_id = k.client_msg_id",
            &[&senders, &rooms, &ids],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let sender = UserId::from_bytes(*row.get::<_, uuid::Uuid>(0).as_bytes());
            let room = RoomId::from_bytes(*row.get::<_, uuid::Uuid>(1).as_bytes());
            ((sender, room, row.get::<_, String>(2)), (small(row.get(3)), small(row.get(4))))
        })
        .collect())
}

/// Writes new (or restored) messages with their idempotency records and
/// their entries in the indexes (media, mentions, relations), a statement
/// per table for the whole batch.
pub(super) async fn insert_messages(tx: &Transaction<'_>, fresh: &[Fresh]) -> Result<(), StoreError> {
    if fresh.is_empty() {
        return Ok(());
    }
    let mut rooms = Vec::with_capacity(fresh.len());
    let mut seqs = Vec::with_capacity(fresh.len());
    let mut records = Vec::with_capacity(fresh.len());
    let mut senders = Vec::with_capacity(fresh.len());
    let mut ids = Vec::with_capacity(fresh.len());
    let mut times = Vec::with_capacity(fresh.len());
    let (mut mention_users, mut mention_rooms, mut mention_seqs) = (Vec::new(), Vec::new(), Vec::new());
    let (mut rel_rooms, mut rel_targets, mut rel_seqs, mut rel_kinds) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut media_ids, mut media_rooms, mut media_seqs) = (Vec::new(), Vec::new(), Vec::new());
    for Fresh { room, seq, record, .. } in fresh {
        let (room, seq) = (uuid_of(room.as_bytes()), big(*seq));
        rooms.push(room);
        seqs.push(seq);
        records.push(to_json("messages", record)?);
        senders.push(uuid_of(record.sender.id.as_bytes()));
        ids.push(record.client_msg_id.as_str());
        times.push(big(record.ts));
        for user in &record.mentions {
            mention_users.push(uuid_of(user.as_bytes()));
            mention_rooms.push(room);
            mention_seqs.push(seq);
        }
        if let Some(relation) = record.relates_to {
            rel_rooms.push(room);
            rel_targets.push(big(relation.seq));
            rel_seqs.push(seq);
            rel_kinds.push(kind_name(relation.rel));
        }
        if let Some(attachment) = &record.attachment {
            media_ids.push(uuid_of(attachment.media_id.as_bytes()));
            media_rooms.push(room);
            media_seqs.push(seq);
        }
    }
    tx.execute("INSERT INTO messages (room_id, seq, record) SELECT * FROM unnest($1::uuid[], $2::int8[], $3::json[])", &[&rooms, &seqs, &records])
        .await?;
    tx.execute(
        "INSERT INTO dedup (sender, room_id, client_msg_id, seq, ts) SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int8[], $5::int8[])
         ON CONFLICT (sender, room_id, client_msg_id) DO NOTHING",
        &[&senders, &rooms, &ids, &seqs, &times],
    )
    .await?;
    if !mention_users.is_empty() {
        tx.execute(
            "INSERT INTO mentions (user_id, room_id, seq) SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int8[]) ON CONFLICT DO NOTHING",
            &[&mention_users, &mention_rooms, &mention_seqs],
        )
        .await?;
    }
    if !rel_rooms.is_empty() {
        tx.execute(
            "INSERT INTO relations (room_id, target, seq, kind) SELECT * FROM unnest($1::uuid[], $2::int8[], $3::int8[], $4::text[]) ON CONFLICT DO NOTHING",
            &[&rel_rooms, &rel_targets, &rel_seqs, &rel_kinds],
        )
        .await?;
    }
    if !media_ids.is_empty() {
        tx.execute(
            "INSERT INTO media_messages (media_id, room_id, seq) SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int8[]) ON CONFLICT DO NOTHING",
            &[&media_ids, &media_rooms, &media_seqs],
        )
        .await?;
    }
    Ok(())
}

/// The media among `candidates` that no committed message carries any more
/// once `gone` rows of `media_messages` are deleted (they are, in the same
/// transaction, before this is asked).
pub(super) async fn unreferenced(tx: &Transaction<'_>, candidates: &HashSet<MediaId>) -> Result<HashSet<MediaId>, StoreError> {
    let ids: Vec<uuid::Uuid> = candidates.iter().map(|media| uuid_of(media.as_bytes())).collect();
    let rows = tx.query("SELECT DISTINCT media_id FROM media_messages WHERE media_id = ANY($1)", &[&ids]).await?;
    let still: HashSet<MediaId> = rows.iter().map(|row| MediaId::from_bytes(*row.get::<_, uuid::Uuid>(0).as_bytes())).collect();
    Ok(candidates.difference(&still).copied().collect())
}
