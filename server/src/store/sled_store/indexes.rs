//! Secondary indexes added after data dirs already existed: built once, on
//! the first start that knows them, from the trees they index.
//!
//! Each index has a flag in the `meta` tree, written after the index is
//! complete and flushed with it: a crash while building leaves no flag, and
//! the next start builds the index again from scratch.

use super::keys::{concat, id_at, u64_at};
use super::{StoreError, TokenRecord, Trees, decode};

/// `member_order`: a room's members in the order they joined.
pub(super) const MEMBER_ORDER: &[u8] = b"index:member_order:1";
/// `user_tokens`: a user's tokens.
const USER_TOKENS: &[u8] = b"index:user_tokens:1";
/// `media_messages`: the messages that carry each media.
const MEDIA_MESSAGES: &[u8] = b"index:media_messages:1";

/// Builds every index whose flag is missing.
pub(super) fn build_missing(trees: &Trees) -> Result<(), StoreError> {
    let meta = trees.db.open_tree("meta")?;
    let mut built = false;
    if !meta.contains_key(MEMBER_ORDER)? {
        trees.member_order.clear()?;
        for entry in trees.members.iter() {
            let (key, joined_at) = entry?;
            let (room, user) = (id_at("members", &key, 0)?, id_at("members", &key, 16)?);
            trees.member_order.insert(concat(&[&room, &joined_at, &user]), &[])?;
        }
        meta.insert(MEMBER_ORDER, &[])?;
        tracing::info!(entries = trees.member_order.len(), "index of members by join time built");
        built = true;
    }
    if !meta.contains_key(USER_TOKENS)? {
        trees.user_tokens.clear()?;
        for entry in trees.tokens.iter() {
            let (hash, value) = entry?;
            let record: TokenRecord = decode("tokens", &value)?;
            trees.user_tokens.insert(concat(&[record.user_id.as_bytes(), &hash]), &record.issued_at.to_be_bytes())?;
        }
        meta.insert(USER_TOKENS, &[])?;
        tracing::info!(entries = trees.user_tokens.len(), "index of tokens by user built");
        built = true;
    }
    if !meta.contains_key(MEDIA_MESSAGES)? {
        trees.media_messages.clear()?;
        for entry in trees.messages.iter() {
            let (key, value) = entry?;
            let record = trees.open_message(&key, &value)?;
            if let Some(attachment) = record.attachment {
                let (room, seq) = (id_at("messages", &key, 0)?, u64_at("messages", &key, 16)?);
                trees.media_messages.insert(concat(&[attachment.media_id.as_bytes(), &room, &seq.to_be_bytes()]), &[])?;
            }
        }
        meta.insert(MEDIA_MESSAGES, &[])?;
        tracing::info!(entries = trees.media_messages.len(), "index of messages by media built");
        built = true;
    }
    if built {
        trees.db.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::store::{NewUser, SledStore, Store};
    use heartlink_protocol::RoomId;

    #[tokio::test]
    async fn the_join_order_index_is_built_for_an_older_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let room = RoomId::random();
        let mut users = Vec::new();
        {
            let store = SledStore::open(dir.path()).unwrap();
            for (name, joined_at) in [("first", 10), ("second", 5)] {
                let new = NewUser { username: name.into(), canonical: name.into(), lookalikes: Vec::new(), password_hash: "h".into(), created_at: 1 };
                let id = store.create_user(new).await.unwrap().unwrap().id;
                store.add_member(room, id, joined_at).await.unwrap();
                users.push(id);
            }
            // As a data dir from before the index: no index, no flag.
            store.trees.member_order.clear().unwrap();
            store.trees.db.open_tree("meta").unwrap().remove(super::MEMBER_ORDER).unwrap();
            store.trees.db.flush().unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        let page = store.member_page(room, None, 10).await.unwrap();
        assert_eq!(page.members.iter().map(|member| member.user.id).collect::<Vec<_>>(), vec![users[1], users[0]]);
    }
}
