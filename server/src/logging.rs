//! Logging to standard error that can neither block nor stop the server.
//!
//! The server's log usually goes through a pipe (`… 2>&1 | tee server.log`,
//! `| head`, a service manager). When the reading end goes away — Ctrl-C
//! kills `tee` along with the server, `head` exits after its lines — every
//! later write fails with `EPIPE`, and when the reader merely stops reading
//! the pipe fills and writes block. Written from the tasks themselves, the
//! first would panic the logging task (tracing-subscriber reports its own
//! write errors with `eprintln!`, which panics on a broken stderr: seen as a
//! server that kept its port, stopped answering logins and ignored SIGTERM
//! because the signal task died logging "SIGTERM received"), and the second
//! would stall tokio's workers.
//!
//! So events are formatted in the task and handed to one logging thread
//! through a bounded channel (tracing-appender's non-blocking writer, lossy:
//! lines are dropped rather than waited for), and that thread writes to
//! standard error through [`StderrSink`], which never reports an error: once
//! stderr is closed it stops writing. The returned guard flushes what is
//! queued when it is dropped, after shutdown, bounded in time.

use std::io::{self, IsTerminal, Write};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};

/// Lines queued for the logging thread before new ones are dropped.
const QUEUED_LINES: usize = 64 * 1024;

/// Keeps the logging thread; dropping it flushes the queued lines (waiting
/// at most about a second when stderr does not take them).
#[derive(Debug)]
#[must_use = "dropping the guard stops logging"]
pub struct LogGuard {
    _worker: WorkerGuard,
}

/// Installs the global subscriber: `RUST_LOG` filter (default `info`),
/// colours only on a terminal, output through the non-blocking writer.
pub fn init() -> LogGuard {
    let (writer, worker) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("heartlink-log")
        .finish(StderrSink::default());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(io::stderr().is_terminal())
        // Its own write errors would go to `eprintln!`, which panics on a closed stderr.
        .log_internal_errors(false)
        .init();
    LogGuard { _worker: worker }
}

/// Standard error that swallows its errors. After a broken pipe (the reader
/// is gone for good) it stops trying; any other failure loses that line only.
#[derive(Debug, Default)]
pub struct StderrSink {
    closed: bool,
}

impl StderrSink {
    /// Whether stderr was found closed.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    fn write_to(&mut self, target: &mut impl Write, buf: &[u8]) {
        if self.closed {
            return;
        }
        if let Err(err) = target.write_all(buf) {
            if err.kind() == io::ErrorKind::BrokenPipe {
                self.closed = true;
            }
        }
    }
}

impl Write for StderrSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_to(&mut io::stderr().lock(), buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.closed {
            let _ = io::stderr().flush();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader has gone.
    struct BrokenPipe(usize);

    impl Write for BrokenPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            self.0 += 1;
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
    }

    #[test]
    fn a_broken_pipe_is_swallowed_and_not_retried() {
        let mut sink = StderrSink::default();
        let mut pipe = BrokenPipe(0);
        sink.write_to(&mut pipe, b"first line\n");
        assert!(sink.is_closed());
        sink.write_to(&mut pipe, b"second line\n");
        assert_eq!(pipe.0, 1, "nothing is written after the pipe broke");
        assert_eq!(sink.write(b"third\n").unwrap(), 6, "the caller never sees an error");
        assert!(sink.flush().is_ok());
    }
}
