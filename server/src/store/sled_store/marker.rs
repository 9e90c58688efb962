//! Telling a damaged or replaced database from a new one.
//!
//! sled recovers what it can read and starts quietly with the rest missing: a
//! deleted, truncated or overwritten database file opens as an empty
//! database. The server must refuse that instead of serving an empty store as
//! if nothing had happened. So a new data dir gets a random instance id in two
//! places: inside sled (tree `meta`) and in `heartlink.json` beside it. On
//! every start the two must agree.
//!
//! What this cannot see: losing the newest writes of a database whose start is
//! intact looks exactly like a crash before those writes, which sled's
//! recovery is designed to survive (see docs/RELIABILITY.md).

use super::StoreError;
use std::path::Path;

const MARKER_FILE: &str = "heartlink.json";
const INSTANCE_KEY: &[u8] = b"instance_id";
const FORMAT: u32 = 1;

#[derive(serde::Serialize, serde::Deserialize)]
struct Marker {
    format: u32,
    instance_id: String,
}

/// How the data dir looked before sled opened it.
pub(super) enum Found {
    /// No data dir, or an empty one: a new database.
    New,
    /// A heartlink data dir with this instance id.
    Existing(String),
}

/// Inspects `dir` before sled touches it.
pub(super) fn inspect(dir: &Path) -> Result<Found, StoreError> {
    let marker_path = dir.join(MARKER_FILE);
    match std::fs::read(&marker_path) {
        Ok(bytes) => {
            let marker: Marker = serde_json::from_slice(&bytes).map_err(|err| damaged(format!("{MARKER_FILE} is unreadable: {err}")))?;
            if marker.format != FORMAT {
                return Err(damaged(format!("data format {} is not supported (expected {FORMAT})", marker.format)));
            }
            Ok(Found::Existing(marker.instance_id))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            // Our own lock file, taken before this look, does not make it foreign.
            let empty = match std::fs::read_dir(dir) {
                Ok(entries) => entries.filter_map(Result::ok).all(|entry| entry.file_name() == super::data_dir::LOCK_FILE),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => true,
                Err(err) => return Err(damaged(format!("cannot read the data dir: {err}"))),
            };
            if empty {
                Ok(Found::New)
            } else {
                Err(damaged(format!("the directory is not empty but has no {MARKER_FILE}; it is not a heartlink data dir")))
            }
        }
        Err(err) => Err(damaged(format!("cannot read {MARKER_FILE}: {err}"))),
    }
}

/// After sled opened: a new database gets its instance id; an existing one
/// must still hold the id its marker names.
pub(super) fn confirm(dir: &Path, found: Found, db: &sled::Db) -> Result<(), StoreError> {
    let meta = db.open_tree("meta")?;
    match found {
        Found::Existing(expected) => match meta.get(INSTANCE_KEY)? {
            Some(id) if id.as_ref() == expected.as_bytes() => Ok(()),
            Some(_) => Err(damaged("the database belongs to another data dir (instance id differs)".to_owned())),
            None => Err(damaged("the database is missing or damaged: it no longer holds its instance id".to_owned())),
        },
        Found::New => {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes).map_err(|err| damaged(format!("no randomness: {err}")))?;
            let instance_id = hex::encode(bytes);
            meta.insert(INSTANCE_KEY, instance_id.as_bytes())?;
            db.flush()?;
            let marker = serde_json::to_vec_pretty(&Marker { format: FORMAT, instance_id })
                .map_err(|err| damaged(err.to_string()))?;
            // Written after the id is durable in sled, and renamed into
            // place, so a crash here leaves a dir that opens as new again
            // (sled files but no marker is refused, not re-initialised).
            let temporary = dir.join(format!("{MARKER_FILE}.tmp"));
            std::fs::write(&temporary, marker).map_err(|err| damaged(format!("writing {MARKER_FILE}: {err}")))?;
            std::fs::rename(&temporary, dir.join(MARKER_FILE)).map_err(|err| damaged(format!("writing {MARKER_FILE}: {err}")))?;
            Ok(())
        }
    }
}

fn damaged(detail: String) -> StoreError {
    StoreError::Corrupt { tree: "meta", detail }
}
