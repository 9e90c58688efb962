//! Relations, mentions and deletions in sled: the `relations`, `mentions`
//! and `media_messages` indexes, and what a deletion does to its target.
//!
//! A deletion blanks its target inside the batch that stores it (one
//! transaction): the target, and every edit of it (an edit holds a version
//! of the text), are stored again with an empty body, without attachment
//! and mentions, and marked deleted. Their mentions leave the `mentions`
//! index (a deleted message no longer counts as an unread mention); their
//! media leave `media_messages`, and a media no message of the room carries
//! any more leaves `media_rooms` (download access ends with the message). A
//! media no message carries at all is reported in the deletion's answer,
//! so its upload and bytes can be deleted (the media service does that).

use super::keys::{dedup_key, media_message_key, mention_key, message_key, relation_key, u64_at};
use super::messages::{Fresh, Op, Tree};
use super::shred::StoredMessage;
use super::{MessageRecord, StoreError, Trees, decode, encode};
use crate::store::RelKindRecord;
use heartlink_protocol::{MediaId, RoomId, UserId};
use std::collections::{HashMap, HashSet};

/// The byte a relation's kind is stored as in `relations`.
pub(super) fn kind_byte(rel: RelKindRecord) -> u8 {
    match rel {
        RelKindRecord::Reply => b'r',
        RelKindRecord::Edit => b'e',
        RelKindRecord::Delete => b'd',
        RelKindRecord::React => b'x',
    }
}

impl Trees {
    /// The stored message `seq` of `room`.
    pub(super) fn message(&self, room: RoomId, seq: u64) -> Result<Option<MessageRecord>, StoreError> {
        let key = message_key(room, seq);
        self.messages.get(&key)?.map(|value| self.open_message(&key, &value)).transpose()
    }

    /// The slot of the key that seals message `seq` of `room`, if it is sealed.
    pub(super) fn key_slot(&self, room: RoomId, seq: u64) -> Result<Option<u64>, StoreError> {
        let Some(value) = self.messages.get(message_key(room, seq))? else { return Ok(None) };
        let stored: StoredMessage = decode("messages", &value)?;
        Ok(stored.sealed.map(|sealed| sealed.slot))
    }

    /// Zeroes the keys of a committed batch's deletions (`shred.rs`), then
    /// forgets them (that may lag: opening the store zeroes them again).
    pub(super) fn shred(&self, slots: &[u64]) -> Result<(), StoreError> {
        if slots.is_empty() {
            return Ok(());
        }
        self.keys.shred(slots)?;
        for slot in slots {
            self.shred_pending.remove(slot.to_be_bytes())?;
        }
        Ok(())
    }

    /// Zeroes the keys a crash left listed in `shred_pending` (at open).
    pub(super) fn finish_shredding(&self) -> Result<(), StoreError> {
        let slots = self.shred_pending.iter().keys().map(|key| u64_at("shred_pending", &key?, 0)).collect::<Result<Vec<_>, _>>()?;
        if !slots.is_empty() {
            tracing::info!(messages = slots.len(), "finishing deletions a stop interrupted");
            self.shred(&slots)?;
            self.db.flush()?;
        }
        Ok(())
    }

    /// See [`Store::sent_seq`](crate::store::Store::sent_seq).
    pub(super) fn sent_seq(&self, sender: UserId, room: RoomId, client_msg_id: &str) -> Result<Option<u64>, StoreError> {
        self.dedup.get(dedup_key(sender, room, client_msg_id))?.map(|value| u64_at("dedup", &value, 0)).transpose()
    }

    /// See [`Store::mentions_after`](crate::store::Store::mentions_after).
    pub(super) fn mentions_after(&self, room: RoomId, user: UserId, after: u64, cap: u64) -> Result<u64, StoreError> {
        let Some(first) = after.checked_add(1) else { return Ok(0) };
        let range = mention_key(user, room, first)..=mention_key(user, room, u64::MAX);
        let mut count = 0;
        for key in self.mentions.range(range).keys() {
            key?;
            count += 1;
            if count >= cap {
                break;
            }
        }
        Ok(count)
    }

    /// The seqs of the stored edits of message `target`.
    fn edits_of(&self, room: RoomId, target: u64) -> Result<Vec<u64>, StoreError> {
        let range = relation_key(room, target, 0)..=relation_key(room, target, u64::MAX);
        let mut edits = Vec::new();
        for entry in self.relations.range(range) {
            let (key, kind) = entry?;
            if kind.first() == Some(&kind_byte(RelKindRecord::Edit)) {
                edits.push(u64_at("relations", &key, 24)?);
            }
        }
        Ok(edits)
    }

    /// Blanks the targets of the batch's deletions (see the file doc):
    /// adds the writes to `ops`, blanks messages of the batch itself in
    /// place, and returns, per deletion (by its place among the answers),
    /// the media no message carries any more, and the key slots to shred
    /// once the batch is durable. Called under the append lock, so nothing
    /// else writes the indexes it reads meanwhile.
    pub(super) fn apply_deletions(&self, fresh: &mut [Fresh], ops: &mut Vec<Op>) -> Result<Deletions, StoreError> {
        let deletions: Vec<(usize, RoomId, u64)> = fresh
            .iter()
            .filter_map(|message| {
                let relation = message.record.relates_to?;
                (relation.rel == RelKindRecord::Delete).then_some((message.answer, message.room, relation.seq))
            })
            .collect();
        let mut outcome = Deletions::default();
        if deletions.is_empty() {
            return Ok(outcome);
        }
        // Media the batch's own messages carry are in use, whatever is deleted.
        let carried_in_batch: HashSet<(MediaId, RoomId)> = fresh
            .iter()
            .filter_map(|message| message.record.attachment.as_ref().map(|attachment| (attachment.media_id, message.room)))
            .collect();
        let mut blanked_here: HashSet<(RoomId, u64)> = HashSet::new();
        let mut unindexed: HashSet<Vec<u8>> = HashSet::new();
        for (answer, room, target) in deletions {
            let mut victims = vec![target];
            victims.extend(self.edits_of(room, target)?);
            for seq in victims {
                if !blanked_here.insert((room, seq)) {
                    continue;
                }
                if let Some(message) = fresh.iter_mut().find(|message| (message.room, message.seq) == (room, seq)) {
                    message.record = message.record.blanked();
                    continue;
                }
                let Some(record) = self.message(room, seq)? else { continue };
                if record.deleted {
                    continue;
                }
                for user in &record.mentions {
                    ops.push(Op::remove(Tree::Mentions, mention_key(*user, room, seq)));
                }
                if let Some(attachment) = &record.attachment {
                    let media = attachment.media_id;
                    let key = media_message_key(media, room, seq);
                    ops.push(Op::remove(Tree::MediaMessages, key.clone()));
                    unindexed.insert(key);
                    let still = |prefix: &[u8]| -> Result<bool, StoreError> {
                        for key in self.media_messages.scan_prefix(prefix).keys() {
                            if !unindexed.contains(key?.as_ref()) {
                                return Ok(true);
                            }
                        }
                        Ok(false)
                    };
                    let in_room = carried_in_batch.contains(&(media, room)) || still(&super::media::media_room_key(media, room))?;
                    if !in_room {
                        ops.push(Op::remove(Tree::MediaRooms, super::media::media_room_key(media, room)));
                    }
                    let anywhere = carried_in_batch.iter().any(|(carried, _)| *carried == media) || still(media.as_bytes())?;
                    if !anywhere {
                        outcome.released.entry(answer).or_insert_with(Vec::new).push(media);
                    }
                }
                if let Some(slot) = self.key_slot(room, seq)? {
                    ops.push(Op::put(Tree::ShredPending, slot.to_be_bytes().to_vec(), Vec::new()));
                    outcome.shred.push(slot);
                }
                let plain = StoredMessage { record: record.blanked(), sealed: None };
                ops.push(Op::put(Tree::Messages, message_key(room, seq), encode("messages", &plain)?));
            }
        }
        // An edit stored in this very batch, of a message it deletes.
        for message in fresh.iter_mut() {
            let edit_of = message.record.relates_to.filter(|relation| relation.rel == RelKindRecord::Edit);
            if edit_of.is_some_and(|relation| blanked_here.contains(&(message.room, relation.seq))) {
                message.record = message.record.blanked();
            }
        }
        Ok(outcome)
    }
}

/// What a batch's deletions leave to do.
#[derive(Debug, Default)]
pub(super) struct Deletions {
    /// Per deletion (its place among the answers): media no message carries now.
    pub(super) released: HashMap<usize, Vec<MediaId>>,
    /// Key slots to shred once the batch is durable.
    pub(super) shred: Vec<u64>,
}

#[cfg(test)]
mod tests {
    use super::super::new_message;
    use crate::store::{AttachmentKindRecord, AttachmentRecord, NewMessage, RelKindRecord, RelationRecord, SledStore, Store};
    use heartlink_protocol::{MediaId, RoomId, UserId};

    fn relation(room: RoomId, sender: UserId, id: &str, target: u64, rel: RelKindRecord, body: &str) -> NewMessage {
        let mut message = new_message(room, sender, id, 1);
        message.record.body = body.into();
        message.record.relates_to = Some(RelationRecord { seq: target, rel });
        message
    }

    fn with_media(mut message: NewMessage, media: MediaId) -> NewMessage {
        message.record.attachment = Some(Box::new(AttachmentRecord {
            media_id: media,
            name: "f.txt".into(),
            mime: "text/plain".into(),
            size: 3,
            sha256: "ab".repeat(32),
            kind: AttachmentKindRecord::File,
            width: None,
            height: None,
            duration_ms: None,
            waveform: None,
        }));
        message
    }

    #[tokio::test]
    async fn a_deletion_blanks_its_target_and_the_edits_of_it_and_drops_their_mentions() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (room, alice, bob) = (RoomId::random(), UserId::random(), UserId::random());
        let mut first = new_message(room, alice, "c1", 1);
        first.record.body = "secret plans".into();
        first.record.mentions = vec![bob];
        store.append_batch(vec![first, relation(room, alice, "c2", 1, RelKindRecord::Edit, "secret plans v2")]).await.unwrap();
        store.append_batch(vec![new_message(room, bob, "c3", 3)]).await.unwrap();
        assert_eq!(store.mentions_after(room, bob, 0, 100).await.unwrap(), 1);
        assert_eq!(store.mentions_after(room, bob, 1, 100).await.unwrap(), 0, "read past it");

        let appended = store.append_batch(vec![relation(room, alice, "c4", 1, RelKindRecord::Delete, "")]).await.unwrap();
        assert_eq!((appended[0].seq, appended[0].released_media.len()), (4, 0));
        for seq in [1, 2] {
            let record = store.message(room, seq).await.unwrap().unwrap();
            assert!(record.deleted && record.body.is_empty() && record.mentions.is_empty(), "{seq}: {record:?}");
        }
        assert_eq!(store.message(room, 2).await.unwrap().unwrap().relates_to.map(|r| r.rel), Some(RelKindRecord::Edit));
        assert_eq!(store.message(room, 3).await.unwrap().unwrap().body, "body of c3", "other messages stay");
        assert_eq!(store.mentions_after(room, bob, 0, 100).await.unwrap(), 0, "a deleted mention does not count");
        assert_eq!(store.sent_seq(alice, room, "c4").await.unwrap(), Some(4));
        assert_eq!(store.sent_seq(alice, room, "nope").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_deleted_attachment_is_released_only_when_no_other_message_carries_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (room, other_room, alice) = (RoomId::random(), RoomId::random(), UserId::random());
        let media = MediaId::random();
        store.append_batch(vec![with_media(new_message(room, alice, "a", 1), media)]).await.unwrap();
        store.append_batch(vec![with_media(new_message(other_room, alice, "b", 2), media)]).await.unwrap();

        let first = store.append_batch(vec![relation(room, alice, "d1", 1, RelKindRecord::Delete, "")]).await.unwrap();
        assert!(first[0].released_media.is_empty(), "the other room's message still carries it");
        assert!(store.message(room, 1).await.unwrap().unwrap().attachment.is_none());
        let rooms = crate::media::catalog::MediaCatalog::media_rooms(&store, media).unwrap();
        assert_eq!(rooms, vec![other_room], "no message of the first room carries it: no access through that room");

        let second = store.append_batch(vec![relation(other_room, alice, "d2", 1, RelKindRecord::Delete, "")]).await.unwrap();
        assert_eq!(second[0].released_media, vec![media]);
        let again = store.append_batch(vec![relation(other_room, alice, "d3", 1, RelKindRecord::Delete, "")]).await.unwrap();
        assert!(again[0].released_media.is_empty(), "an already deleted message releases nothing again");
    }
}
