//! Accounts and session tokens: `users`, `usernames`, `tokens`.

use super::{Store, StoreError, TokenRecord, UserRecord, decode, encode};
use heartlink_protocol::{UserId, Username};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

/// Why a new account was not created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameConflict {
    /// The name exists (case-insensitively).
    Taken,
    /// The name looks like an existing one (usernames.rs).
    LooksLike,
}

impl Store {
    /// Creates an account, unless the username (case-insensitively) is
    /// taken or looks like an existing one.
    pub fn create_user(
        &self,
        username: &Username,
        password_hash: String,
        now: u64,
    ) -> Result<Result<UserRecord, NameConflict>, StoreError> {
        let record = UserRecord { id: UserId::random(), username: username.to_string(), password_hash, created_at: now };
        let value = encode("users", &record)?;
        let name_key = username.canonical();
        let lookalike_keys = crate::usernames::lookalike_keys(username);
        // One transaction over the three trees: a crash can never leave a
        // name pointing at no account, an account without its name, or a
        // name without its look-alike keys.
        let outcome = (&self.usernames, &self.users, &self.lookalikes).transaction(|(names, users, lookalikes)| {
            if names.get(name_key.as_bytes())?.is_some() {
                return Err(ConflictableTransactionError::Abort(NameConflict::Taken));
            }
            for key in &lookalike_keys {
                if lookalikes.get(key.as_bytes())?.is_some() {
                    return Err(ConflictableTransactionError::Abort(NameConflict::LooksLike));
                }
            }
            names.insert(name_key.as_bytes(), record.id.as_bytes())?;
            users.insert(record.id.as_bytes(), value.as_slice())?;
            for key in &lookalike_keys {
                lookalikes.insert(key.as_bytes(), record.id.as_bytes())?;
            }
            Ok(())
        });
        match outcome {
            Ok(()) => Ok(Ok(record)),
            Err(TransactionError::Abort(conflict)) => Ok(Err(conflict)),
            Err(TransactionError::Storage(err)) => Err(err.into()),
        }
    }

    /// The account with this canonical (lower-case) username.
    pub fn user_by_name(&self, canonical: &str) -> Result<Option<UserRecord>, StoreError> {
        let Some(id) = self.usernames.get(canonical.as_bytes())? else {
            return Ok(None);
        };
        self.user(UserId::from_bytes(super::id_at(&id, 0)))
    }

    /// The account with this id.
    pub fn user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        self.users.get(id.as_bytes())?.map(|bytes| decode("users", &bytes)).transpose()
    }

    /// Records a new token (by its hash).
    pub fn insert_token(&self, token_hash: &[u8; 32], user_id: UserId, now: u64) -> Result<(), StoreError> {
        let record = TokenRecord { user_id, issued_at: now, last_used: now };
        self.tokens.insert(token_hash, encode("tokens", &record)?)?;
        Ok(())
    }

    /// The user a token belongs to, if it exists and was used within `ttl_ms`;
    /// refreshes its last use. An expired token is deleted.
    ///
    /// The last use is rewritten only when it is older than 1/720 of the
    /// lifetime (an hour of a 30-day token): a write per `resume` made every
    /// reconnect pay a sled write for a timestamp nobody needs to the
    /// millisecond. A token may so expire up to that much early.
    pub fn use_token(&self, token_hash: &[u8; 32], now: u64, ttl_ms: u64) -> Result<Option<UserId>, StoreError> {
        let Some(bytes) = self.tokens.get(token_hash)? else {
            return Ok(None);
        };
        let mut record: TokenRecord = decode("tokens", &bytes)?;
        if now.saturating_sub(record.last_used) > ttl_ms {
            self.tokens.remove(token_hash)?;
            return Ok(None);
        }
        if now.saturating_sub(record.last_used) >= ttl_ms / TOKEN_REFRESH_FRACTION {
            record.last_used = now;
            self.tokens.insert(token_hash, encode("tokens", &record)?)?;
        }
        Ok(Some(record.user_id))
    }

    /// Deletes a token; later `resume`s with it fail.
    pub fn revoke_token(&self, token_hash: &[u8; 32]) -> Result<(), StoreError> {
        self.tokens.remove(token_hash)?;
        Ok(())
    }
}

/// See [`Store::use_token`].
const TOKEN_REFRESH_FRACTION: u64 = 720;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_unique_case_insensitively_and_tokens_expire() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let alice = store.create_user(&Username::try_from("Alice").unwrap(), "h".into(), 1).unwrap().unwrap();
        let again = store.create_user(&Username::try_from("alice").unwrap(), "h".into(), 1).unwrap();
        assert_eq!(again.unwrap_err(), NameConflict::Taken);
        assert_eq!(store.user_by_name("alice").unwrap().unwrap().username, "Alice");

        let hash = [7u8; 32];
        store.insert_token(&hash, alice.id, 1_000).unwrap();
        assert_eq!(store.use_token(&hash, 1_500, 1_000).unwrap(), Some(alice.id));
        assert_eq!(store.use_token(&hash, 2_400, 1_000).unwrap(), Some(alice.id), "use refreshes the expiry");
        assert_eq!(store.use_token(&hash, 2_401, 1_000).unwrap(), Some(alice.id));
        assert_eq!(store.use_token(&hash, 3_400, 1_000).unwrap(), Some(alice.id), "a use a moment ago did not move it");
        assert_eq!(store.use_token(&hash, 4_500, 1_000).unwrap(), None);
        store.insert_token(&hash, alice.id, 1_000).unwrap();
        store.revoke_token(&hash).unwrap();
        assert_eq!(store.use_token(&hash, 1_000, 1_000).unwrap(), None);
    }
}
