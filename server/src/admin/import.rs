//! `admin import FILE`: an export written back into an empty data dir.
//!
//! Nothing is written until the whole file has been checked (`check.rs`).
//! Then the records go into a new directory beside the target, which is
//! flushed, closed and renamed onto the target only when everything is in:
//! an import that fails half-way leaves the target as it was (absent or
//! empty). A target that holds anything is refused.
//!
//! `admin import FILE --store postgres://…` writes into a PostgreSQL store
//! instead (the migration path from one node on sled to several on
//! PostgreSQL): the same check first, a database holding any account, room,
//! message, token or upload is refused, and the records go in one
//! transaction per batch. There is no rename to make it all-or-nothing: an
//! import that fails half-way leaves a partly filled database, which a
//! second import refuses; drop and recreate the database, then import again.

mod check;

pub use check::{Checked, LineError, MAX_LINE_BYTES};

use super::export::ExportLine;
use crate::media::catalog::{Allowance, MediaCatalog, UploadRecord};
use crate::store::postgres_store::OpenError;
use crate::store::{PostgresStore, RestoreRecord, SchemaMode, SledStore, Store, StoreError};
use heartlink_protocol::Username;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// Records written per store call.
const BATCH: usize = 1000;

/// Why an import did nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not empty: import only into a new or empty data dir", .0.display())]
    NotEmpty(PathBuf),
    #[error("{} has no parent directory to import beside", .0.display())]
    NoParent(PathBuf),
    /// The file has lines that cannot be imported (listed with their numbers).
    #[error("the file has {} line(s) that cannot be imported; nothing was imported", .0.error_count)]
    Invalid(Box<Checked>),
    #[error("writing the new data dir failed; nothing was imported")]
    Store(#[from] StoreError),
    #[error("a storage task failed")]
    Task(#[from] tokio::task::JoinError),
    #[error("moving the new data dir into place failed; nothing was imported")]
    Place(#[source] std::io::Error),
    #[error(transparent)]
    Postgres(#[from] OpenError),
    #[error("{0} is not empty: import only into a new or empty database")]
    DatabaseNotEmpty(String),
}

/// Checks `file`, then imports it into `target`. Returns what the check counted.
pub async fn import(file: &Path, target: &Path) -> Result<Checked, ImportError> {
    refuse_unless_empty(target)?;
    let checked = check_file(file).await?;
    let staging = staging_dir(target)?;
    let written = write_all(file, &staging).await;
    let placed = written.and_then(|()| {
        // Checked again at the last moment: another import may have filled it meanwhile.
        refuse_unless_empty(target)?;
        std::fs::rename(&staging, target).map_err(ImportError::Place)
    });
    if placed.is_err() {
        if let Err(err) = std::fs::remove_dir_all(&staging) {
            tracing::warn!(dir = %staging.display(), cause = %err, "could not remove the unfinished import");
        }
    }
    placed.map(|()| checked)
}

/// Checks `file`, then imports it into the PostgreSQL store at `url`
/// (migrating an empty database first). Returns what the check counted.
pub async fn import_into_postgres(file: &Path, url: &str) -> Result<Checked, ImportError> {
    let store = PostgresStore::open(url, SchemaMode::Migrate).await?;
    let checked = check_file(file).await?;
    let catalog = store.clone();
    let no_uploads = tokio::task::spawn_blocking(move || catalog.uploads().map(|uploads| uploads.is_empty())).await??;
    if !store.is_empty().await? || !no_uploads {
        return Err(ImportError::DatabaseNotEmpty(store.shown_url().to_owned()));
    }
    write_into(file, store).await?;
    Ok(checked)
}

/// The first pass: every line checked, nothing written.
async fn check_file(file: &Path) -> Result<Checked, ImportError> {
    let path = file.to_path_buf();
    let checked = tokio::task::spawn_blocking(move || {
        let opened = std::fs::File::open(&path).map_err(|source| ImportError::Read { path: path.clone(), source })?;
        check::check(&mut BufReader::new(opened)).map_err(|source| ImportError::Read { path, source })
    })
    .await??;
    if checked.error_count > 0 {
        return Err(ImportError::Invalid(Box::new(checked)));
    }
    Ok(checked)
}

/// `NotEmpty` when `target` holds anything (a missing target is fine).
fn refuse_unless_empty(target: &Path) -> Result<(), ImportError> {
    match std::fs::read_dir(target) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(ImportError::NotEmpty(target.to_path_buf())),
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ImportError::Read { path: target.to_path_buf(), source }),
    }
}

/// A fresh directory beside `target` (same file system, so the rename is atomic).
fn staging_dir(target: &Path) -> Result<PathBuf, ImportError> {
    let parent = target.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = target.file_name().ok_or_else(|| ImportError::NoParent(target.to_path_buf()))?;
    let mut nonce = [0u8; 6];
    getrandom::fill(&mut nonce).map_err(|err| ImportError::Place(std::io::Error::other(err)))?;
    Ok(parent.join(format!(".{}.import-{}", name.to_string_lossy(), hex::encode(nonce))))
}

/// The second pass: every record into a new store at `dir`, flushed.
async fn write_all(file: &Path, dir: &Path) -> Result<(), ImportError> {
    write_into(file, SledStore::open(dir)?).await
}

/// Every record of `file` into `store`, flushed.
async fn write_into<S: Store + MediaCatalog + Clone>(file: &Path, store: S) -> Result<(), ImportError> {
    let (path, writer) = (file.to_path_buf(), store.clone());
    // Lines are decoded on a blocking thread and handed over in batches.
    let (batches, mut receive) = tokio::sync::mpsc::channel::<Result<Vec<ExportLine>, ImportError>>(2);
    let reading = tokio::task::spawn_blocking(move || read_batches(&path, &batches));
    while let Some(batch) = receive.recv().await {
        let mut records = Vec::with_capacity(BATCH);
        let mut uploads = Vec::new();
        for line in batch? {
            match restore_record(line) {
                Restored::Record(record) => records.push(record),
                Restored::Upload(upload) => uploads.push(upload),
                Restored::Nothing => {}
            }
        }
        writer.restore(records).await?;
        let catalog = writer.clone();
        tokio::task::spawn_blocking(move || restore_uploads(&catalog, uploads)).await??;
    }
    reading.await?;
    let catalog = writer.clone();
    tokio::task::spawn_blocking(move || MediaCatalog::flush(&catalog)).await??;
    Store::flush(&writer).await?;
    Ok(())
}

fn read_batches(path: &Path, batches: &tokio::sync::mpsc::Sender<Result<Vec<ExportLine>, ImportError>>) {
    use std::io::BufRead;
    let read = |source| ImportError::Read { path: path.to_path_buf(), source };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) => {
            let _ = batches.blocking_send(Err(read(err)));
            return;
        }
    };
    let mut batch = Vec::with_capacity(BATCH);
    for line in BufReader::new(file).lines() {
        // Checked in the first pass; a file changed since is an error, not a guess.
        let decoded = line.map_err(read).and_then(|line| {
            serde_json::from_str::<ExportLine>(&line).map_err(|err| read(std::io::Error::new(std::io::ErrorKind::InvalidData, err)))
        });
        match decoded {
            Ok(line) => batch.push(line),
            Err(err) => {
                let _ = batches.blocking_send(Err(err));
                return;
            }
        }
        if batch.len() == BATCH && batches.blocking_send(Ok(std::mem::take(&mut batch))).is_err() {
            return;
        }
    }
    let _ = batches.blocking_send(Ok(batch));
}

enum Restored {
    Record(RestoreRecord),
    Upload(UploadRecord),
    Nothing,
}

fn restore_record(line: ExportLine) -> Restored {
    let record = match line {
        ExportLine::User { user } => match Username::try_from(user.username.as_str()) {
            Ok(name) => RestoreRecord::User {
                canonical: name.canonical(),
                lookalikes: crate::usernames::lookalike_keys(&name),
                record: user,
            },
            // Checked in the first pass.
            Err(_) => return Restored::Nothing,
        },
        ExportLine::LastSeen { user_id, at } => RestoreRecord::LastSeen { user: user_id, at },
        ExportLine::Ban { ban } => RestoreRecord::Ban(ban),
        ExportLine::Token { hash, token } => {
            let mut bytes = [0u8; 32];
            if hex::decode_to_slice(&hash, &mut bytes).is_err() {
                return Restored::Nothing;
            }
            RestoreRecord::Token { hash: bytes, record: token }
        }
        ExportLine::Room { room } => RestoreRecord::Room(room),
        ExportLine::Member { room_id, user_id, joined_at } => RestoreRecord::Member { room: room_id, user: user_id, joined_at },
        ExportLine::Read { room_id, user_id, seq } => RestoreRecord::Read { room: room_id, user: user_id, seq },
        ExportLine::Message { room_id, seq, message } => RestoreRecord::Message { room: room_id, seq, record: message },
        ExportLine::Block { blocker, block } => RestoreRecord::Block { blocker, record: block },
        ExportLine::Pair { pair } => RestoreRecord::Pair(pair),
        ExportLine::RoomBan { room_id, ban } => RestoreRecord::RoomBan { room: room_id, record: ban },
        ExportLine::Report { report } => RestoreRecord::Report(report),
        ExportLine::Call { room_id, call } => RestoreRecord::Call { room: room_id, call },
        ExportLine::Upload { upload } => return Restored::Upload(upload),
        ExportLine::Header { .. } | ExportLine::End { .. } => return Restored::Nothing,
    };
    Restored::Record(record)
}

/// Completed uploads through the catalog's own steps, so that each owner's
/// usage and each blob's references come out as the server keeps them.
fn restore_uploads(catalog: &dyn MediaCatalog, uploads: Vec<UploadRecord>) -> Result<(), StoreError> {
    let unlimited = Allowance { quota_bytes: u64::MAX, max_pending: u64::MAX };
    for upload in uploads {
        let Some(completed) = upload.completed.clone() else { continue };
        let fresh = UploadRecord { completed: None, attached: false, offset: 0, ..upload.clone() };
        catalog.create_upload(&fresh, unlimited)?;
        catalog.complete(upload.id, &completed)?;
        if upload.attached {
            catalog.mark_attached(upload.id)?;
        }
    }
    Ok(())
}
