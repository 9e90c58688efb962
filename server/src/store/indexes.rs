//! Secondary indexes added after data dirs already existed: built once, on
//! the first start that knows them, from the trees they index.
//!
//! Each index has a flag in the `meta` tree, written after the index is
//! complete and flushed with it: a crash while building leaves no flag, and
//! the next start builds the index again from scratch.

use super::{Store, StoreError, concat, id_at};
use super::records::TokenRecord;

/// `member_order`: a room's members in the order they joined.
const MEMBER_ORDER: &[u8] = b"index:member_order:1";
/// `user_tokens`: a user's tokens.
const USER_TOKENS: &[u8] = b"index:user_tokens:1";

/// Builds every index whose flag is missing.
pub(super) fn build_missing(store: &Store) -> Result<(), StoreError> {
    let meta = store.db.open_tree("meta")?;
    let mut built = false;
    if !meta.contains_key(MEMBER_ORDER)? {
        store.member_order.clear()?;
        for entry in store.members.iter() {
            let (key, joined_at) = entry?;
            let (room, user) = (id_at(&key, 0), id_at(&key, 16));
            store.member_order.insert(concat(&[&room, &joined_at, &user]), &[])?;
        }
        meta.insert(MEMBER_ORDER, &[])?;
        tracing::info!(entries = store.member_order.len(), "index of members by join time built");
        built = true;
    }
    if !meta.contains_key(USER_TOKENS)? {
        store.user_tokens.clear()?;
        for entry in store.tokens.iter() {
            let (hash, value) = entry?;
            let record: TokenRecord = super::decode("tokens", &value)?;
            store.user_tokens.insert(concat(&[record.user_id.as_bytes(), &hash]), &record.issued_at.to_be_bytes())?;
        }
        meta.insert(USER_TOKENS, &[])?;
        tracing::info!(entries = store.user_tokens.len(), "index of tokens by user built");
        built = true;
    }
    if built {
        store.db.flush()?;
    }
    Ok(())
}
