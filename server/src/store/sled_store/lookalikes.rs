//! The `lookalikes` tree: every account's look-alike keys (usernames.rs),
//! so a name that looks like an existing one is refused at registration.
//!
//! Data dirs from before this index have no such tree: it is built at
//! start from `users` when `meta` does not record it. Accounts that already
//! look alike keep working (login goes by the exact name); the index keeps
//! the older account's key and logs the pair.

use super::keys::id_at;
use super::{StoreError, Trees, UserRecord, decode};

/// `meta` key recording that the index is complete, and for which version
/// of the key rules (a change of rules rebuilds it).
const BUILT_KEY: &[u8] = b"lookalike_index";
const VERSION: &[u8] = b"1";

impl Trees {
    /// Builds the index if this data dir does not have it yet.
    pub(super) fn index_lookalikes(&self) -> Result<(), StoreError> {
        let meta = self.db.open_tree("meta")?;
        if meta.get(BUILT_KEY)?.as_deref() == Some(VERSION) {
            return Ok(());
        }
        let mut indexed = 0usize;
        for entry in self.users.iter() {
            let (_, value) = entry?;
            let user: UserRecord = decode("users", &value)?;
            let Ok(name) = heartlink_protocol::Username::try_from(user.username.as_str()) else {
                continue;
            };
            for key in crate::usernames::lookalike_keys(&name) {
                let previous = self.lookalikes.compare_and_swap(key.as_bytes(), None::<&[u8]>, Some(user.id.as_bytes().as_slice()))?;
                if let Err(existing) = previous {
                    let owner = match existing.current {
                        Some(id) => Some(heartlink_protocol::UserId::from_bytes(id_at("lookalikes", &id, 0)?)),
                        None => None,
                    };
                    if owner != Some(user.id) {
                        tracing::info!(username = %user.username, key, "an existing account looks like another; both keep working");
                    }
                }
            }
            indexed += 1;
        }
        // Complete before it is recorded as complete: a crash meanwhile rebuilds it.
        self.db.flush()?;
        meta.insert(BUILT_KEY, VERSION)?;
        self.db.flush()?;
        if indexed > 0 {
            tracing::info!(accounts = indexed, "built the look-alike username index");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::BUILT_KEY;
    use crate::store::{NameConflict, NewUser, SledStore, Store};
    use heartlink_protocol::Username;

    fn new_user(name: &str) -> NewUser {
        let username = Username::try_from(name).unwrap();
        let lookalikes = crate::usernames::lookalike_keys(&username);
        NewUser { username: name.into(), canonical: username.canonical(), lookalikes, password_hash: "h".into(), created_at: 1 }
    }

    #[tokio::test]
    async fn an_old_data_dir_gets_its_index_and_look_alikes_are_refused_after() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        store.create_user(new_user("alice")).await.unwrap().unwrap();
        // As a data dir from before the index: no tree, no record of it.
        store.trees.db.drop_tree("lookalikes").unwrap();
        store.trees.db.open_tree("meta").unwrap().remove(BUILT_KEY).unwrap();
        store.trees.db.flush().unwrap();
        drop(store);

        let store = SledStore::open(dir.path()).unwrap();
        let fake = store.create_user(new_user("aIice")).await.unwrap();
        assert!(matches!(fake, Err(NameConflict::LooksLike)), "{fake:?}");
        let taken = store.create_user(new_user("ALICE")).await.unwrap();
        assert!(matches!(taken, Err(NameConflict::Taken)), "{taken:?}");
        assert!(store.create_user(new_user("alicia")).await.unwrap().is_ok());
    }
}
