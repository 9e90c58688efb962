//! Session tokens: `tokens` (by the token's hash) and `user_tokens` (a
//! user's tokens, for logging out everywhere and for the per-user cap).
//! A token and its index entry are written in one transaction, so no token
//! can escape "log out everywhere".

use super::keys::{concat, u64_at};
use super::sweep::{SweepCursor, Swept, sweep_chunk};
use super::{StoreError, TokenHash, TokenRecord, Trees, decode, encode};
use heartlink_protocol::UserId;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

fn index_key(user: UserId, token_hash: &[u8]) -> Vec<u8> {
    concat(&[user.as_bytes(), token_hash])
}

/// The token hash in a `user_tokens` key (after the 16-byte user id).
fn hash_at(key: &[u8]) -> Result<TokenHash, StoreError> {
    let bytes = key.get(16..48).ok_or_else(|| StoreError::Corrupt {
        tree: "user_tokens",
        detail: format!("{} bytes where 48 were expected", key.len()),
    })?;
    let mut hash = [0u8; 32];
    hash.copy_from_slice(bytes);
    Ok(hash)
}

/// See [`Store::use_token`](crate::store::Store::use_token): the last use is
/// rewritten only when it is older than 1/720 of the lifetime (an hour of a
/// 30-day token). A write per `resume` made every reconnect pay a sled write
/// for a timestamp nobody needs to the millisecond.
const TOKEN_REFRESH_FRACTION: u64 = 720;

impl Trees {
    /// Records a token (by its hash) and its index entry.
    pub(super) fn insert_token(&self, token_hash: &TokenHash, record: &TokenRecord) -> Result<(), StoreError> {
        let value = encode("tokens", record)?;
        let written = (&self.tokens, &self.user_tokens).transaction(|(tokens, index)| {
            tokens.insert(&token_hash[..], value.as_slice())?;
            index.insert(index_key(record.user_id, token_hash), &record.issued_at.to_be_bytes())?;
            Ok::<_, ConflictableTransactionError<()>>(())
        });
        written.map_err(|err| match err {
            TransactionError::Storage(err) => err.into(),
            TransactionError::Abort(()) => StoreError::Corrupt { tree: "tokens", detail: "token insert aborted".to_owned() },
        })
    }

    /// The user a live token belongs to; refreshes its last use now and then.
    pub(super) fn use_token(&self, token_hash: &TokenHash, now: u64, ttl_ms: u64) -> Result<Option<UserId>, StoreError> {
        let Some(bytes) = self.tokens.get(token_hash)? else {
            return Ok(None);
        };
        let mut record: TokenRecord = decode("tokens", &bytes)?;
        if now.saturating_sub(record.last_used) > ttl_ms {
            self.revoke_token(token_hash)?;
            return Ok(None);
        }
        if now.saturating_sub(record.last_used) >= ttl_ms / TOKEN_REFRESH_FRACTION {
            record.last_used = now;
            self.tokens.insert(token_hash, encode("tokens", &record)?)?;
        }
        Ok(Some(record.user_id))
    }

    /// Whether the token exists.
    pub(super) fn token_exists(&self, token_hash: &TokenHash) -> Result<bool, StoreError> {
        Ok(self.tokens.contains_key(token_hash)?)
    }

    /// Deletes a token and its index entry.
    pub(super) fn revoke_token(&self, token_hash: &TokenHash) -> Result<(), StoreError> {
        // The token first: a crash between the two leaves an index entry
        // pointing at nothing, which the next trim or logout skips.
        if let Some(bytes) = self.tokens.remove(token_hash)? {
            let record: TokenRecord = decode("tokens", &bytes)?;
            self.user_tokens.remove(index_key(record.user_id, token_hash))?;
        }
        Ok(())
    }

    /// Deletes every token of `user`; returns their hashes.
    pub(super) fn revoke_user_tokens(&self, user: UserId) -> Result<Vec<TokenHash>, StoreError> {
        let mut revoked = Vec::new();
        for key in self.user_tokens.scan_prefix(user.as_bytes()).keys() {
            let key = key?;
            let hash = hash_at(&key)?;
            self.tokens.remove(hash)?;
            self.user_tokens.remove(&key)?;
            revoked.push(hash);
        }
        Ok(revoked)
    }

    /// Keeps at most `keep` tokens of `user`, the newest and always `current`.
    pub(super) fn trim_tokens(&self, user: UserId, keep: usize, current: &TokenHash) -> Result<Vec<TokenHash>, StoreError> {
        let mut tokens = Vec::new();
        for entry in self.user_tokens.scan_prefix(user.as_bytes()) {
            let (key, issued_at) = entry?;
            tokens.push((u64_at("user_tokens", &issued_at, 0)?, hash_at(&key)?));
        }
        if tokens.len() <= keep {
            return Ok(Vec::new());
        }
        tokens.sort_unstable();
        let excess = tokens.len() - keep.max(1);
        let revoked: Vec<TokenHash> =
            tokens.into_iter().map(|(_, hash)| hash).filter(|hash| hash != current).take(excess).collect();
        for hash in &revoked {
            self.tokens.remove(hash)?;
            self.user_tokens.remove(index_key(user, hash))?;
        }
        Ok(revoked)
    }

    /// How many tokens `user` holds.
    pub(super) fn token_count(&self, user: UserId) -> Result<usize, StoreError> {
        let mut count = 0;
        for key in self.user_tokens.scan_prefix(user.as_bytes()).keys() {
            key?;
            count += 1;
        }
        Ok(count)
    }

    /// One chunk of the sweep of expired tokens: looks at up to `max` tokens
    /// after `from` and deletes those unused for longer than `ttl_ms`.
    pub(super) fn sweep_tokens(&self, now: u64, ttl_ms: u64, from: Option<&SweepCursor>, max: usize) -> Result<Swept, StoreError> {
        sweep_chunk(&self.tokens, from, max, |hash, value| {
            let record: TokenRecord = decode("tokens", value)?;
            if now.saturating_sub(record.last_used) <= ttl_ms {
                return Ok(false);
            }
            self.tokens.remove(hash)?;
            self.user_tokens.remove(index_key(record.user_id, hash))?;
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{SledStore, Store};
    use heartlink_protocol::UserId;

    fn alice() -> UserId {
        UserId::from_bytes([1; 16])
    }

    #[tokio::test]
    async fn tokens_expire_and_can_be_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let hash = [7u8; 32];
        store.insert_token(&hash, alice(), 1_000).await.unwrap();
        assert_eq!(store.use_token(&hash, 1_500, 1_000).await.unwrap(), Some(alice()));
        assert_eq!(store.use_token(&hash, 2_400, 1_000).await.unwrap(), Some(alice()), "use refreshes the expiry");
        assert_eq!(store.use_token(&hash, 2_401, 1_000).await.unwrap(), Some(alice()));
        assert_eq!(store.use_token(&hash, 3_400, 1_000).await.unwrap(), Some(alice()), "a use a moment ago did not move it");
        assert_eq!(store.use_token(&hash, 4_500, 1_000).await.unwrap(), None);
        assert_eq!(store.token_count(alice()).await.unwrap(), 0, "the expired token left the index too");
        store.insert_token(&hash, alice(), 1_000).await.unwrap();
        store.revoke_token(&hash).await.unwrap();
        assert_eq!(store.use_token(&hash, 1_000, 1_000).await.unwrap(), None);
        assert_eq!(store.token_count(alice()).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn logging_out_everywhere_revokes_only_that_users_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let bob = UserId::from_bytes([2; 16]);
        for n in 0..3u8 {
            store.insert_token(&[n; 32], alice(), 10).await.unwrap();
        }
        store.insert_token(&[9; 32], bob, 10).await.unwrap();
        let mut revoked = store.revoke_user_tokens(alice()).await.unwrap();
        revoked.sort_unstable();
        assert_eq!(revoked, vec![[0; 32], [1; 32], [2; 32]]);
        for n in 0..3u8 {
            assert!(store.use_token(&[n; 32], 10, 1_000).await.unwrap().is_none());
        }
        assert_eq!(store.use_token(&[9; 32], 10, 1_000).await.unwrap(), Some(bob));
    }

    #[tokio::test]
    async fn trimming_revokes_the_oldest_but_never_the_current_token() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        for n in 1..=5u8 {
            store.insert_token(&[n; 32], alice(), u64::from(n)).await.unwrap();
        }
        assert!(store.trim_tokens(alice(), 5, &[5; 32]).await.unwrap().is_empty());
        // The oldest is the one in use here: it stays, the next oldest go.
        assert_eq!(store.trim_tokens(alice(), 3, &[1; 32]).await.unwrap(), vec![[2; 32], [3; 32]]);
        assert!(store.token_exists(&[1; 32]).await.unwrap());
        assert!(!store.token_exists(&[2; 32]).await.unwrap());
        assert_eq!(store.token_count(alice()).await.unwrap(), 3);
    }

    #[tokio::test]
    async fn the_sweep_deletes_expired_tokens_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        for n in 0..10u8 {
            // Even ones were last used long ago.
            let used = if n % 2 == 0 { 0 } else { 9_000 };
            store.insert_token(&[n; 32], alice(), used).await.unwrap();
        }
        let (mut removed, mut cursor, mut chunks) = (0, None, 0);
        loop {
            let swept = store.trees.sweep_tokens(10_000, 5_000, cursor.as_ref(), 3).unwrap();
            removed += swept.removed;
            chunks += 1;
            match swept.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!((removed, chunks), (5, 4));
        assert_eq!(store.token_count(alice()).await.unwrap(), 5);
        assert!(store.token_exists(&[1; 32]).await.unwrap() && !store.token_exists(&[0; 32]).await.unwrap());
        assert_eq!(store.sweep_tokens(10_000, 5_000).await.unwrap(), 0, "a whole pass finds nothing left");
    }
}
