//! The PostgreSQL schema: numbered SQL files embedded in the binary
//! (`server/migrations/postgres/`), applied in order, each in its own
//! transaction together with the row of `schema_version` that records it.
//!
//! A node runs only against exactly its own schema: a database that lacks
//! migrations is brought up at start (or by `heartlink-server migrate`), and
//! one that has migrations this build does not know (a newer node migrated
//! it) makes the node refuse to start, naming the `migrate` to run.

use deadpool_postgres::Pool;

/// The migrations, in order: (version, what it does, its SQL).
const MIGRATIONS: &[(i32, &str, &str)] =
    &[(1, "initial schema", include_str!("../../../migrations/postgres/0001_initial.sql"))];

/// Any session of any node takes this advisory lock while it migrates, so
/// that nodes started together apply each migration once.
const MIGRATION_LOCK: i64 = 0x6865_6172_746c_696e; // "heartlin"

/// This build's schema version.
pub fn current_version() -> i32 {
    MIGRATIONS.last().map_or(0, |(version, _, _)| *version)
}

/// Why the schema is not usable.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("the database's schema is version {found}, this heartlink-server needs {wanted}: run `heartlink-server migrate --store URL` with this version")]
    Older { found: i32, wanted: i32 },
    #[error("the database's schema is version {found}, newer than this heartlink-server's {wanted}: run the newer heartlink-server (whose `migrate` made it) or restore the database")]
    Newer { found: i32, wanted: i32 },
    #[error("the schema could not be read or changed")]
    Database(#[from] tokio_postgres::Error),
    #[error("no connection to PostgreSQL")]
    Pool(#[from] deadpool_postgres::PoolError),
}

/// The version recorded in the database (0 for an empty one).
pub async fn found_version(client: &tokio_postgres::Client) -> Result<i32, SchemaError> {
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(), what text NOT NULL)")
        .await?;
    let row = client.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[]).await?;
    Ok(row.get(0))
}

/// Applies the migrations the database lacks; returns the versions applied.
/// Refuses a database newer than this build.
pub async fn migrate(pool: &Pool) -> Result<Vec<i32>, SchemaError> {
    let mut client = pool.get().await?;
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await?;
    let outcome = apply_missing(&mut client).await;
    // Unlocked whatever happened (a broken connection drops the lock anyway).
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await;
    let applied = outcome?;
    unlocked?;
    Ok(applied)
}

async fn apply_missing(client: &mut deadpool_postgres::Object) -> Result<Vec<i32>, SchemaError> {
    let found = found_version(client).await?;
    let wanted = current_version();
    if found > wanted {
        return Err(SchemaError::Newer { found, wanted });
    }
    let mut applied = Vec::new();
    for (version, what, sql) in MIGRATIONS.iter().filter(|(version, _, _)| *version > found) {
        let transaction = client.transaction().await?;
        transaction.batch_execute(sql).await?;
        transaction.execute("INSERT INTO schema_version (version, what) VALUES ($1, $2)", &[version, what]).await?;
        transaction.commit().await?;
        tracing::info!(version, what, "PostgreSQL schema migrated");
        applied.push(*version);
    }
    Ok(applied)
}

/// Refuses unless the database has exactly this build's schema.
pub async fn require_current(pool: &Pool) -> Result<(), SchemaError> {
    let client = pool.get().await?;
    let found = found_version(&client).await?;
    let wanted = current_version();
    match found.cmp(&wanted) {
        std::cmp::Ordering::Less => Err(SchemaError::Older { found, wanted }),
        std::cmp::Ordering::Greater => Err(SchemaError::Newer { found, wanted }),
        std::cmp::Ordering::Equal => Ok(()),
    }
}
