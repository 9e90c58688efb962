//! The `lookalikes` tree: every account's look-alike keys (usernames.rs),
//! so a name that looks like an existing one is refused at registration.
//!
//! Data dirs from before this index have no such tree: it is built at
//! start from `users` when `meta` does not record it. Accounts that already
//! look alike keep working (login goes by the exact name); the index keeps
//! the older account's key and logs the pair.

use super::{Store, StoreError, UserRecord, decode};

/// `meta` key recording that the index is complete, and for which version
/// of the key rules (a change of rules rebuilds it).
const BUILT_KEY: &[u8] = b"lookalike_index";
const VERSION: &[u8] = b"1";

impl Store {
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
                    let owner = existing.current.map(|id| heartlink_protocol::UserId::from_bytes(super::id_at(&id, 0)));
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
    use super::super::accounts::NameConflict;
    use super::*;
    use heartlink_protocol::Username;

    #[test]
    fn an_old_data_dir_gets_its_index_and_look_alikes_are_refused_after() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.create_user(&Username::try_from("alice").unwrap(), "h".into(), 1).unwrap().unwrap();
        // As a data dir from before the index: no tree, no record of it.
        store.db.drop_tree("lookalikes").unwrap();
        store.db.open_tree("meta").unwrap().remove(BUILT_KEY).unwrap();
        store.db.flush().unwrap();
        drop(store);

        let store = Store::open(dir.path()).unwrap();
        let fake = store.create_user(&Username::try_from("aIice").unwrap(), "h".into(), 2).unwrap();
        assert!(matches!(fake, Err(NameConflict::LooksLike)), "{fake:?}");
        let taken = store.create_user(&Username::try_from("ALICE").unwrap(), "h".into(), 2).unwrap();
        assert!(matches!(taken, Err(NameConflict::Taken)), "{taken:?}");
        assert!(store.create_user(&Username::try_from("alicia").unwrap(), "h".into(), 2).unwrap().is_ok());
    }
}
