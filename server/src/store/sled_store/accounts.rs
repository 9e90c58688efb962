//! Accounts: `users`, `usernames` (tokens are in tokens.rs).

use super::keys::id_at;
use super::{NameConflict, NewUser, StoreError, Trees, UserRecord, decode, encode};
use heartlink_protocol::UserId;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

impl Trees {
    /// Creates an account, unless the canonical name is taken or a
    /// look-alike key belongs to another account.
    pub(super) fn create_user(&self, user: NewUser) -> Result<Result<UserRecord, NameConflict>, StoreError> {
        let NewUser { username, canonical, lookalikes: lookalike_keys, password_hash, created_at } = user;
        let record = UserRecord { id: UserId::random(), username, password_hash, created_at };
        let value = encode("users", &record)?;
        // One transaction over the three trees: a crash can never leave a
        // name pointing at no account, an account without its name, or a
        // name without its look-alike keys.
        let outcome = (&self.usernames, &self.users, &self.lookalikes).transaction(|(names, users, lookalikes)| {
            if names.get(canonical.as_bytes())?.is_some() {
                return Err(ConflictableTransactionError::Abort(NameConflict::Taken));
            }
            for key in &lookalike_keys {
                if lookalikes.get(key.as_bytes())?.is_some() {
                    return Err(ConflictableTransactionError::Abort(NameConflict::LooksLike));
                }
            }
            names.insert(canonical.as_bytes(), record.id.as_bytes())?;
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

    /// The account with this canonical username.
    pub(super) fn user_by_name(&self, canonical: &str) -> Result<Option<UserRecord>, StoreError> {
        let Some(id) = self.usernames.get(canonical.as_bytes())? else {
            return Ok(None);
        };
        let user = self.user(UserId::from_bytes(id_at("usernames", &id, 0)?))?;
        if user.is_none() {
            // Both are written in one transaction: one without the other is damage.
            return Err(StoreError::Corrupt { tree: "usernames", detail: "a username names no account".to_owned() });
        }
        Ok(user)
    }

    /// The account with this id.
    pub(super) fn user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        self.users.get(id.as_bytes())?.map(|bytes| decode("users", &bytes)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{NameConflict, NewUser, SledStore, Store};

    fn new_user(name: &str) -> NewUser {
        let username = heartlink_protocol::Username::try_from(name).unwrap();
        NewUser {
            username: name.into(),
            canonical: username.canonical(),
            lookalikes: crate::usernames::lookalike_keys(&username),
            password_hash: "h".into(),
            created_at: 1,
        }
    }

    #[tokio::test]
    async fn usernames_are_unique_by_their_canonical_form() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let alice = store.create_user(new_user("Alice")).await.unwrap().unwrap();
        assert_eq!(store.create_user(new_user("alice")).await.unwrap().unwrap_err(), NameConflict::Taken);
        assert_eq!(store.create_user(new_user("aIice")).await.unwrap().unwrap_err(), NameConflict::LooksLike);
        assert_eq!(store.user_by_name("alice").await.unwrap().unwrap().username, "Alice");
        assert_eq!(store.user(alice.id).await.unwrap(), Some(alice.clone()));
    }

    #[tokio::test]
    async fn accounts_and_tokens_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let alice = {
            let store = SledStore::open(dir.path()).unwrap();
            let alice = store.create_user(new_user("alice")).await.unwrap().unwrap();
            store.insert_token(&[1u8; 32], alice.id, 5).await.unwrap();
            alice
        };
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.user_by_name("alice").await.unwrap(), Some(alice.clone()));
        assert_eq!(store.use_token(&[1u8; 32], 6, 1_000).await.unwrap(), Some(alice.id));
    }
}
