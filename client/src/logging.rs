//! Logs go to a file, never to the terminal being drawn. The file is 0600
//! from its creation (it names servers, users and rooms), and text from
//! the network is written into it escaped (see [`crate::sanitize::for_log`]),
//! so `cat`ing the log cannot replay a hostile server's escape sequences.

use crate::error::ClientError;
use std::path::Path;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Sends `tracing` output to `path` (appending). Keep the guard alive until
/// exit: dropping it flushes the log.
pub fn init(path: &Path, filter: &str) -> Result<WorkerGuard, ClientError> {
    let file_err = |source| ClientError::File { action: "open the log file", path: path.to_path_buf(), source };
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        crate::config::create_private_dir(dir).map_err(file_err)?;
    }
    let file = crate::config::open_private(path, true).map_err(file_err)?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).with_writer(writer).try_init();
    Ok(guard)
}
