//! The shared [`Store`]: PostgreSQL, for several nodes serving the same
//! rooms. This file and the ones under `postgres_store/` are the only code
//! that speaks SQL.
//!
//! tokio-postgres with a deadpool-postgres pool, not sqlx: the server is
//! tokio already, the queries are few and hand-written (arrays through
//! `unnest` for the group commit), and the pool replaces a connection that
//! broke by itself, which is what a node needs when the database restarts.
//! No TLS: the database is reached on a private network or a unix socket
//! (docs/SCALING.md).
//!
//! The schema is in `server/migrations/postgres/` (`schema.rs` applies it).
//! Every change a method promises as durable is one transaction, committed
//! (with `synchronous_commit` on, which `open` checks) before it returns;
//! what may lag is simply committed too. The per-room seq is a row of
//! `room_seqs` locked and advanced in the batch's own transaction
//! (`messages.rs`), so an aborted batch leaves no gap and two nodes never
//! give out the same seq.
//!
//! Unlike the sled store, a message's text is not sealed under a key of
//! its own: a deletion blanks the row in place, and the old row version
//! is gone once PostgreSQL's vacuum has run (docs/SCALING.md).

mod accounts;
mod calls;
mod media;
mod messages;
mod moderation;
mod operator;
mod relations;
mod rooms;
pub mod schema;
mod store_impl;

use super::StoreError;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::time::Duration;

/// Connections one node keeps at most.
const POOL_SIZE: usize = 16;
/// How long a call waits for a connection, or for a new one to be made,
/// before it fails (and the client is told to retry).
const POOL_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("not a PostgreSQL URL ({url})")]
    BadUrl {
        url: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("cannot reach PostgreSQL at {url}")]
    Unreachable {
        url: String,
        #[source]
        source: StoreError,
    },
    #[error(transparent)]
    Schema(#[from] schema::SchemaError),
    #[error("PostgreSQL at {url} does not commit synchronously (synchronous_commit = {setting}): acks would not be durable")]
    NotDurable { url: String, setting: String },
    #[error("cannot set up the connection pool")]
    Pool(#[from] deadpool_postgres::BuildError),
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(err: tokio_postgres::Error) -> Self {
        Self::Backend { backend: "postgres", source: Box::new(err) }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        Self::Backend { backend: "postgres", source: Box::new(err) }
    }
}

/// `url` with its password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            if parsed.set_password(Some("***")).is_err() {
                return "(a URL that cannot be shown)".to_owned();
            }
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(an unparsable URL)".to_owned(),
    }
}

/// The server's database in PostgreSQL. Cheap to clone; every clone shares
/// the pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// The URL without its password.
    shown_url: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("url", &self.shown_url).finish_non_exhaustive()
    }
}

/// How [`PostgresStore::open`] treats the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaMode {
    /// Bring an empty or older database up to this build's schema (the
    /// default at `start`: a first start creates the tables).
    Migrate,
    /// Refuse unless the database has exactly this build's schema.
    Require,
}

impl PostgresStore {
    /// Connects to `url`, checks that commits are durable and that the
    /// schema is this build's (migrating first when `mode` says so).
    pub async fn open(url: &str, mode: SchemaMode) -> Result<Self, OpenError> {
        let shown_url = redact_url(url);
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|source| OpenError::BadUrl { url: shown_url.clone(), source })?;
        config.connect_timeout(POOL_TIMEOUT);
        if config.get_application_name().is_none() {
            config.application_name("heartlink-server");
        }
        let manager = Manager::from_config(config, tokio_postgres::NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .recycle_timeout(Some(POOL_TIMEOUT))
            .build()?;
        let store = Self { pool, shown_url };
        let unreachable = |source: StoreError| OpenError::Unreachable { url: store.shown_url.clone(), source };
        let client = store.pool.get().await.map_err(|err| unreachable(err.into()))?;
        let setting: String =
            client.query_one("SHOW synchronous_commit", &[]).await.map_err(|err| unreachable(err.into()))?.get(0);
        if setting == "off" {
            return Err(OpenError::NotDurable { url: store.shown_url.clone(), setting });
        }
        drop(client);
        match mode {
            SchemaMode::Migrate => {
                schema::migrate(&store.pool).await?;
            }
            SchemaMode::Require => schema::require_current(&store.pool).await?,
        }
        Ok(store)
    }

    /// The URL it was opened with, without the password.
    pub fn shown_url(&self) -> &str {
        &self.shown_url
    }

    /// A connection from the pool.
    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        Ok(self.pool.get().await?)
    }
}

/// A u64 as PostgreSQL's bigint (times and seqs stay far below 2^63; a
/// larger bound, like `u64::MAX` for "no end", becomes the largest bigint).
pub(crate) fn big(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored bigint as a u64 (a negative one is never written; read as 0).
pub(crate) fn small(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A protocol id as the uuid PostgreSQL stores.
pub(crate) fn uuid_of(bytes: &[u8; 16]) -> uuid::Uuid {
    uuid::Uuid::from_bytes(*bytes)
}

/// A record as the JSON a `json` column holds.
pub(crate) fn to_json<T: serde::Serialize>(table: &'static str, value: &T) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(value).map_err(|source| StoreError::Encode { tree: table, source })
}

/// A record back from its `json` column.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(table: &'static str, value: serde_json::Value) -> Result<T, StoreError> {
    serde_json::from_value(value).map_err(|source| StoreError::Decode { tree: table, source })
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn the_password_never_shows() {
        assert_eq!(redact_url("postgres://hl:s3cret@db.example:5432/heartlink"), "postgres://hl:***@db.example:5432/heartlink");
        assert_eq!(redact_url("postgres://hl@db.example/heartlink"), "postgres://hl@db.example/heartlink");
        assert!(!redact_url("postgres://hl:s3cret@[bad").contains("s3cret"));
    }
}
