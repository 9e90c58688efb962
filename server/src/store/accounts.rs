//! Accounts: `users`, `usernames` (tokens are in tokens.rs).

use super::{Store, StoreError, UserRecord, decode, encode};
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_unique_case_insensitively() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.create_user(&Username::try_from("Alice").unwrap(), "h".into(), 1).unwrap().unwrap();
        let again = store.create_user(&Username::try_from("alice").unwrap(), "h".into(), 1).unwrap();
        assert_eq!(again.unwrap_err(), NameConflict::Taken);
        assert_eq!(store.user_by_name("alice").unwrap().unwrap().username, "Alice");
    }
}
