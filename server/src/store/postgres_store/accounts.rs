//! Accounts, tokens, account bans and last seen in PostgreSQL.

use super::{PostgresStore, big, from_json, small, to_json, uuid_of};
use crate::store::{BanRecord, NameConflict, NewUser, StoreError, TokenHash, UserRecord};
use heartlink_protocol::UserId;

/// How coarse a token's last-use time may be (see the sled store's tokens.rs).
const TOKEN_REFRESH_FRACTION: u64 = 720;

pub(super) fn user_id(row: &tokio_postgres::Row, column: usize) -> UserId {
    UserId::from_bytes(*row.get::<_, uuid::Uuid>(column).as_bytes())
}

pub(super) fn hash_of(bytes: &[u8]) -> Result<TokenHash, StoreError> {
    bytes.try_into().map_err(|_| StoreError::Corrupt { tree: "tokens", detail: format!("a hash of {} bytes", bytes.len()) })
}

impl PostgresStore {
    pub(super) async fn new_user(&self, user: NewUser) -> Result<Result<UserRecord, NameConflict>, StoreError> {
        let NewUser { username, canonical, lookalikes, password_hash, created_at } = user;
        let record = UserRecord { id: UserId::random(), username, password_hash, created_at };
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Two nodes creating look-alike names at once: the unique keys
        // decide, one of the inserts fails and its transaction rolls back.
        let inserted = tx
            .execute(
                "INSERT INTO users (id, canonical, record) VALUES ($1, $2, $3) ON CONFLICT (canonical) DO NOTHING",
                &[&uuid_of(record.id.as_bytes()), &canonical, &to_json("users", &record)?],
            )
            .await?;
        if inserted == 0 {
            return Ok(Err(NameConflict::Taken));
        }
        for key in &lookalikes {
            let taken = tx
                .execute("INSERT INTO lookalikes (key, user_id) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", &[key, &uuid_of(record.id.as_bytes())])
                .await?;
            if taken == 0 {
                return Ok(Err(NameConflict::LooksLike));
            }
        }
        tx.commit().await?;
        Ok(Ok(record))
    }

    pub(super) async fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        let client = self.client().await?;
        let row = client.query_opt("SELECT record FROM users WHERE id = $1", &[&uuid_of(id.as_bytes())]).await?;
        row.map(|row| from_json("users", row.get(0))).transpose()
    }

    pub(super) async fn user_named(&self, canonical: &str) -> Result<Option<UserRecord>, StoreError> {
        let client = self.client().await?;
        let row = client.query_opt("SELECT record FROM users WHERE canonical = $1", &[&canonical]).await?;
        row.map(|row| from_json("users", row.get(0))).transpose()
    }

    pub(super) async fn put_token(&self, hash: &TokenHash, user: UserId, issued_at: u64, last_used: u64) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO tokens (hash, user_id, issued_at, last_used) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (hash) DO UPDATE SET user_id = $2, issued_at = $3, last_used = $4",
                &[&&hash[..], &uuid_of(user.as_bytes()), &big(issued_at), &big(last_used)],
            )
            .await?;
        Ok(())
    }

    pub(super) async fn take_token(&self, hash: &TokenHash, now: u64, ttl_ms: u64) -> Result<Option<UserId>, StoreError> {
        let client = self.client().await?;
        let Some(row) = client.query_opt("SELECT user_id, last_used FROM tokens WHERE hash = $1", &[&&hash[..]]).await? else {
            return Ok(None);
        };
        let (user, last_used) = (user_id(&row, 0), small(row.get(1)));
        if now.saturating_sub(last_used) > ttl_ms {
            client.execute("DELETE FROM tokens WHERE hash = $1", &[&&hash[..]]).await?;
            return Ok(None);
        }
        if now.saturating_sub(last_used) >= ttl_ms / TOKEN_REFRESH_FRACTION {
            client.execute("UPDATE tokens SET last_used = GREATEST(last_used, $2) WHERE hash = $1", &[&&hash[..], &big(now)]).await?;
        }
        Ok(Some(user))
    }

    pub(super) async fn has_token(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let client = self.client().await?;
        Ok(client.query_opt("SELECT 1 FROM tokens WHERE hash = $1", &[&&hash[..]]).await?.is_some())
    }

    pub(super) async fn drop_token(&self, hash: &TokenHash) -> Result<(), StoreError> {
        let client = self.client().await?;
        client.execute("DELETE FROM tokens WHERE hash = $1", &[&&hash[..]]).await?;
        Ok(())
    }

    pub(super) async fn drop_user_tokens(&self, user: UserId) -> Result<Vec<TokenHash>, StoreError> {
        let client = self.client().await?;
        let rows = client.query("DELETE FROM tokens WHERE user_id = $1 RETURNING hash", &[&uuid_of(user.as_bytes())]).await?;
        rows.iter().map(|row| hash_of(row.get::<_, &[u8]>(0))).collect()
    }

    pub(super) async fn trim_user_tokens(&self, user: UserId, keep: usize, current: &TokenHash) -> Result<Vec<TokenHash>, StoreError> {
        let client = self.client().await?;
        let rows = client.query("SELECT hash FROM tokens WHERE user_id = $1 ORDER BY issued_at, hash", &[&uuid_of(user.as_bytes())]).await?;
        if rows.len() <= keep {
            return Ok(Vec::new());
        }
        let excess = rows.len() - keep.max(1);
        let hashes = rows.iter().map(|row| hash_of(row.get::<_, &[u8]>(0))).collect::<Result<Vec<_>, _>>()?;
        let revoked: Vec<TokenHash> = hashes.into_iter().filter(|hash| hash != current).take(excess).collect();
        let as_bytes: Vec<&[u8]> = revoked.iter().map(|hash| &hash[..]).collect();
        client.execute("DELETE FROM tokens WHERE hash = ANY($1)", &[&as_bytes]).await?;
        Ok(revoked)
    }

    pub(super) async fn tokens_of(&self, user: UserId) -> Result<usize, StoreError> {
        let client = self.client().await?;
        let row = client.query_one("SELECT COUNT(*) FROM tokens WHERE user_id = $1", &[&uuid_of(user.as_bytes())]).await?;
        Ok(usize::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    /// Expired tokens go in batched deletes on the index of their last use.
    pub(super) async fn sweep_expired_tokens(&self, now: u64, ttl_ms: u64) -> Result<usize, StoreError> {
        let client = self.client().await?;
        let cutoff = big(now.saturating_sub(ttl_ms));
        let mut removed = 0usize;
        loop {
            let step = client
                .execute("DELETE FROM tokens WHERE hash = ANY(ARRAY(SELECT hash FROM tokens WHERE last_used < $1 LIMIT 1000))", &[&cutoff])
                .await?;
            removed += usize::try_from(step).unwrap_or(usize::MAX);
            if step < 1000 {
                return Ok(removed);
            }
        }
    }

    pub(super) async fn put_ban(&self, ban: &BanRecord) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO user_bans (user_id, record) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET record = $2",
                &[&uuid_of(ban.user_id.as_bytes()), &to_json("user_bans", ban)?],
            )
            .await?;
        Ok(())
    }

    pub(super) async fn lift_ban(&self, user: UserId) -> Result<bool, StoreError> {
        let client = self.client().await?;
        Ok(client.execute("DELETE FROM user_bans WHERE user_id = $1", &[&uuid_of(user.as_bytes())]).await? > 0)
    }

    pub(super) async fn ban_of(&self, user: UserId) -> Result<Option<BanRecord>, StoreError> {
        let client = self.client().await?;
        let row = client.query_opt("SELECT record FROM user_bans WHERE user_id = $1", &[&uuid_of(user.as_bytes())]).await?;
        row.map(|row| from_json("user_bans", row.get(0))).transpose()
    }

    pub(super) async fn seen(&self, user: UserId, at: u64) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO last_seen (user_id, at) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET at = $2",
                &[&uuid_of(user.as_bytes()), &big(at)],
            )
            .await?;
        Ok(())
    }

    pub(super) async fn seen_at(&self, users: &[UserId]) -> Result<Vec<Option<u64>>, StoreError> {
        let client = self.client().await?;
        let ids: Vec<uuid::Uuid> = users.iter().map(|user| uuid_of(user.as_bytes())).collect();
        let rows = client.query("SELECT user_id, at FROM last_seen WHERE user_id = ANY($1)", &[&ids]).await?;
        let known: std::collections::HashMap<UserId, u64> = rows.iter().map(|row| (user_id(row, 0), small(row.get(1)))).collect();
        Ok(users.iter().map(|user| known.get(user).copied()).collect())
    }
}
