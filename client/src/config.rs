//! Where the client keeps its files, and the saved session.
//!
//! The session file holds `{server, username, token, rooms}`: enough to
//! resume without a password and to re-open the rooms that were open. It is
//! written with mode 0600 (the token is a credential) through a temporary
//! file and a rename, so a crash never leaves half a session behind.

use crate::error::ClientError;
use heartlink_protocol::RoomId;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

const SESSION_FILE: &str = "session.json";
const LOG_FILE: &str = "heartlink-tui.log";

/// A logged-in session as saved on disk. Never holds the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub server: String,
    pub username: String,
    pub token: String,
    /// Rooms open when the client last ran, in the order of the room list.
    #[serde(default)]
    pub rooms: Vec<RoomId>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("token", &"<redacted>")
            .field("rooms", &self.rooms)
            .finish()
    }
}

/// The config directory and the files in it.
#[derive(Debug, Clone)]
pub struct ConfigDir {
    dir: PathBuf,
}

impl ConfigDir {
    /// `explicit` (from `--config-dir` / `HEARTLINK_CONFIG_DIR`) or the
    /// platform's config dir (`~/.config/heartlink` on Linux).
    pub fn resolve(explicit: Option<PathBuf>) -> Result<Self, ClientError> {
        let dir = match explicit {
            Some(dir) => dir,
            None => directories::ProjectDirs::from("", "", "heartlink")
                .map(|dirs| dirs.config_dir().to_path_buf())
                .ok_or(ClientError::NoConfigDir)?,
        };
        Ok(Self { dir })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn session_path(&self) -> PathBuf {
        self.dir.join(SESSION_FILE)
    }

    pub fn default_log_path(&self) -> PathBuf {
        self.dir.join(LOG_FILE)
    }

    /// The saved session, or `None` when there is none.
    pub fn load_session(&self) -> Result<Option<Session>, ClientError> {
        let path = self.session_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ClientError::File { action: "read", path, source }),
        };
        serde_json::from_str(&text).map(Some).map_err(|source| ClientError::BadSession { path, source })
    }

    /// Saves the session with mode 0600 (atomically: temp file + rename).
    pub fn save_session(&self, session: &Session) -> Result<(), ClientError> {
        let path = self.session_path();
        let file_err = |action, source| ClientError::File { action, path: path.clone(), source };
        create_private_dir(&self.dir).map_err(|source| file_err("create the directory of", source))?;
        let text = serde_json::to_string_pretty(session).map_err(|err| file_err("encode", err.into()))?;
        let tmp = self.dir.join(format!(".{SESSION_FILE}.tmp"));
        let mut file = open_private(&tmp).map_err(|source| file_err("write", source))?;
        file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(|source| file_err("write", source))?;
        std::fs::rename(&tmp, &path).map_err(|source| file_err("write", source))
    }

    /// Deletes the saved session; no session is not an error.
    pub fn delete_session(&self) -> Result<(), ClientError> {
        let path = self.session_path();
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(ClientError::File { action: "delete", path, source }),
        }
    }
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    // `mode` only applies when the file is created; a leftover temp file keeps its old mode.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            server: "ws://127.0.0.1:7878/ws".into(),
            username: "alice".into(),
            token: "ab".repeat(32),
            rooms: vec![RoomId::random()],
        }
    }

    #[test]
    fn session_round_trips_with_mode_0600_and_no_password_field() {
        let tmp = tempfile::tempdir().unwrap();
        let config = ConfigDir::resolve(Some(tmp.path().join("nested"))).unwrap();
        assert_eq!(config.load_session().unwrap(), None);
        let saved = session();
        config.save_session(&saved).unwrap();
        assert_eq!(config.load_session().unwrap(), Some(saved));
        let text = std::fs::read_to_string(config.session_path()).unwrap();
        assert!(!text.contains("password"), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(config.session_path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{:?}", session()).contains(&"ab".repeat(32)));
        config.delete_session().unwrap();
        config.delete_session().unwrap();
        assert_eq!(config.load_session().unwrap(), None);
    }

    #[test]
    fn a_damaged_session_file_is_a_clear_error() {
        let tmp = tempfile::tempdir().unwrap();
        let config = ConfigDir::resolve(Some(tmp.path().to_path_buf())).unwrap();
        std::fs::write(config.session_path(), "{not json").unwrap();
        let err = config.load_session().unwrap_err().to_string();
        assert!(err.contains("damaged") && err.contains("login"), "{err}");
    }
}
