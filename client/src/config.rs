//! Where the client keeps its files, and reading and writing them.
//!
//! The directory is made private (0700) before anything is written into it,
//! and every file in it that holds a secret or the user's words — the
//! session (a token), the outbox (unsent messages), the log — is created
//! 0600, never widened afterwards. The session and the outbox are written
//! crash-safely: a temporary file, fsync, rename, fsync of the directory, so
//! a crash leaves the old or the new version, never half of one.

use crate::error::ClientError;
use crate::session::{Account, Outbox, Session, UnsentMessage};
use crate::settings::Settings;
use std::io::Write;
use std::path::{Path, PathBuf};

const SESSION_FILE: &str = "session.json";
const OUTBOX_FILE: &str = "outbox.json";
const SETTINGS_FILE: &str = "config.toml";
const LOG_FILE: &str = "heartlink-tui.log";

/// The config directory and the files in it.
#[derive(Debug, Clone)]
pub struct ConfigDir {
    dir: PathBuf,
    /// Given with `--config-dir`: an existing directory of the user's
    /// choosing is not re-permissioned (it might be a shared one).
    explicit: bool,
}

impl ConfigDir {
    /// `explicit` (from `--config-dir` / `HEARTLINK_CONFIG_DIR`) or the
    /// platform's config dir (`~/.config/heartlink` on Linux).
    pub fn resolve(explicit: Option<PathBuf>) -> Result<Self, ClientError> {
        match explicit {
            Some(dir) => Ok(Self { dir, explicit: true }),
            None => directories::ProjectDirs::from("", "", "heartlink")
                .map(|dirs| Self { dir: dirs.config_dir().to_path_buf(), explicit: false })
                .ok_or(ClientError::NoConfigDir),
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn session_path(&self) -> PathBuf {
        self.dir.join(SESSION_FILE)
    }

    pub fn outbox_path(&self) -> PathBuf {
        self.dir.join(OUTBOX_FILE)
    }

    pub fn settings_path(&self) -> PathBuf {
        self.dir.join(SETTINGS_FILE)
    }

    /// Fetched media and recordings: `cache/` in a config directory given
    /// on the command line (tests, portable set-ups), else the platform's
    /// cache directory (`~/.cache/heartlink`).
    pub fn cache_dir(&self) -> PathBuf {
        if self.explicit {
            return self.dir.join("cache");
        }
        directories::ProjectDirs::from("", "", "heartlink").map_or_else(|| self.dir.join("cache"), |dirs| dirs.cache_dir().to_path_buf())
    }

    pub fn default_log_path(&self) -> PathBuf {
        self.dir.join(LOG_FILE)
    }

    /// Creates the directory 0700, or makes the default one private if an
    /// older version left it open. Called before anything is written in it.
    pub fn prepare(&self) -> Result<(), ClientError> {
        let existed = self.dir.is_dir();
        create_private_dir(&self.dir)
            .map_err(|source| ClientError::File { action: "create the directory", path: self.dir.clone(), source })?;
        if existed && !self.explicit {
            make_private_dir(&self.dir)
                .map_err(|source| ClientError::File { action: "make private", path: self.dir.clone(), source })?;
        }
        Ok(())
    }

    /// The saved session, or `None` when there is none.
    pub fn load_session(&self) -> Result<Option<Session>, ClientError> {
        let path = self.session_path();
        let Some(text) = read_if_present(&path)? else { return Ok(None) };
        serde_json::from_str(&text).map(Some).map_err(|source| ClientError::BadSession { path, source })
    }

    /// Saves the session with mode 0600, crash-safely.
    pub fn save_session(&self, session: &Session) -> Result<(), ClientError> {
        let path = self.session_path();
        let text = serde_json::to_string_pretty(session)
            .map_err(|err| ClientError::File { action: "encode", path: path.clone(), source: err.into() })?;
        self.write_private(&path, text.as_bytes())
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

    /// `account`'s unsent messages (none when there is no outbox file).
    pub fn load_outbox(&self, account: &Account) -> Result<Vec<UnsentMessage>, ClientError> {
        let all = self.read_outboxes()?;
        Ok(all.into_iter().filter(|outbox| outbox.account.same_as(account)).flat_map(|outbox| outbox.messages).collect())
    }

    /// Replaces `outbox.account`'s unsent messages, keeping other accounts'.
    pub fn save_outbox(&self, outbox: &Outbox) -> Result<(), ClientError> {
        let path = self.outbox_path();
        let mut all = self.read_outboxes()?;
        all.retain(|other| !other.account.same_as(&outbox.account));
        if !outbox.messages.is_empty() {
            all.push(outbox.clone());
        }
        let text = serde_json::to_string_pretty(&all)
            .map_err(|err| ClientError::File { action: "encode", path: path.clone(), source: err.into() })?;
        self.write_private(&path, text.as_bytes())
    }

    fn read_outboxes(&self) -> Result<Vec<Outbox>, ClientError> {
        let path = self.outbox_path();
        let Some(text) = read_if_present(&path)? else { return Ok(Vec::new()) };
        serde_json::from_str(&text).map_err(|source| ClientError::BadOutbox { path, source })
    }

    /// The settings of `config.toml`, or the defaults when there is none.
    pub fn load_settings(&self) -> Result<Settings, ClientError> {
        let path = self.settings_path();
        match read_if_present(&path)? {
            None => Ok(Settings::default()),
            Some(text) => Settings::parse(&text).map_err(|source| ClientError::BadSettings { path, source }),
        }
    }

    /// Writes `bytes` to `path` (in this directory) with mode 0600: a temp
    /// file, fsync, rename over the old file, fsync of the directory.
    fn write_private(&self, path: &Path, bytes: &[u8]) -> Result<(), ClientError> {
        let file_err = |action, source| ClientError::File { action, path: path.to_path_buf(), source };
        self.prepare()?;
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let mut file = open_private(&tmp, false).map_err(|source| file_err("write", source))?;
        file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|source| file_err("write", source))?;
        std::fs::rename(&tmp, path).map_err(|source| file_err("write", source))?;
        // The rename is durable once the directory entry is.
        sync_dir(&self.dir).map_err(|source| file_err("sync the directory of", source))
    }
}

fn read_if_present(path: &Path) -> Result<Option<String>, ClientError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ClientError::File { action: "read", path: path.to_path_buf(), source }),
    }
}

/// Opens a file created with mode 0600 (truncated, or for appending). A file
/// that already existed is narrowed to 0600 too.
#[cfg(unix)]
pub fn open_private(path: &Path, append: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut options = std::fs::OpenOptions::new();
    options.create(true).mode(0o600);
    if append {
        options.append(true);
    } else {
        options.write(true).truncate(true);
    }
    let file = options.open(path)?;
    // `mode` only applies when the file is created; an old file keeps its mode.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

#[cfg(not(unix))]
pub fn open_private(path: &Path, append: bool) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true);
    if append {
        options.append(true);
    } else {
        options.write(true).truncate(true);
    }
    options.open(path)
}

/// Creates `dir` (and missing parents) with mode 0700.
#[cfg(unix)]
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests;
