//! The client library's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the client library outside the chat loop
/// (which turns failures into visible state instead of errors).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No config directory was given and none could be derived from $HOME.
    #[error("cannot find a config directory: set --config-dir or HEARTLINK_CONFIG_DIR")]
    NoConfigDir,
    /// Reading, writing or deleting a file failed.
    #[error("{action} {path}: {source}")]
    File { action: &'static str, path: PathBuf, source: std::io::Error },
    /// The session file exists but is not valid JSON of the expected shape.
    #[error("the session file {path} is damaged ({source}); run `heartlink-tui login`")]
    BadSession { path: PathBuf, source: serde_json::Error },
    /// The outbox file exists but is not valid JSON of the expected shape.
    #[error("the outbox file {path} is damaged ({source}); move it away to start without it")]
    BadOutbox { path: PathBuf, source: serde_json::Error },
    /// The settings file cannot be used.
    #[error("{path}: {source} (`heartlink-tui config --print` shows every key)")]
    BadSettings { path: PathBuf, source: crate::settings::SettingsError },
    /// A command needs a saved session and there is none.
    #[error("not logged in: run `heartlink-tui login` (or `register`) first")]
    NotLoggedIn,
    /// The command line or its input cannot be used; the text says how to fix it.
    #[error("{0}")]
    Usage(String),
    /// The server refused a request; the text is the server's reason.
    #[error("{0}")]
    Refused(String),
    /// The server could not be reached or did not answer in time.
    #[error("{0}")]
    Unreachable(String),
    /// The CA file given with --ca-file could not be used.
    #[error("CA file {path}: {detail}")]
    CaFile { path: PathBuf, detail: String },
    /// The terminal could not be set up or drawn.
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}
