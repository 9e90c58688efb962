//! Accounts: `users`, `usernames` (tokens are in tokens.rs).

use super::{Store, StoreError, UserRecord, decode, encode};
use heartlink_protocol::{UserId, Username};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

impl Store {
    /// Creates an account; `None` when the username (case-insensitively) is taken.
    pub fn create_user(
        &self,
        username: &Username,
        password_hash: String,
        now: u64,
    ) -> Result<Option<UserRecord>, StoreError> {
        let record = UserRecord { id: UserId::random(), username: username.to_string(), password_hash, created_at: now };
        let value = encode("users", &record)?;
        let name_key = username.canonical();
        // One transaction over both trees: a crash can never leave a name
        // pointing at no account, or an account without its name.
        let outcome = (&self.usernames, &self.users).transaction(|(names, users)| {
            if names.get(name_key.as_bytes())?.is_some() {
                return Err(ConflictableTransactionError::Abort(()));
            }
            names.insert(name_key.as_bytes(), record.id.as_bytes())?;
            users.insert(record.id.as_bytes(), value.as_slice())?;
            Ok(())
        });
        match outcome {
            Ok(()) => Ok(Some(record)),
            Err(TransactionError::Abort(())) => Ok(None),
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
        assert!(store.create_user(&Username::try_from("alice").unwrap(), "h".into(), 1).unwrap().is_none());
        assert_eq!(store.user_by_name("alice").unwrap().unwrap().username, "Alice");
    }
}
