//! A throwaway `redis-server` for the cluster tests: its own temp dir, a free
//! loopback port, no persistence. Killed on drop, and by the kernel when the
//! test process dies (`setpriv --pdeathsig KILL`), so no test leaves one
//! behind. A machine without `redis-server` fails the test with a message
//! saying what to install; it never skips.

pub mod cluster;

use crate::WAIT;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running (or stopped, between `kill9` and `restart`) redis-server.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    dir: tempfile::TempDir,
    port: u16,
    /// `redis://127.0.0.1:PORT/`
    pub url: String,
}

impl RedisServer {
    /// Starts one on a free port; panics with what to install when redis-server is missing.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir for redis");
        let port = free_port();
        let mut redis = Self { child: None, dir, port, url: format!("redis://127.0.0.1:{port}/") };
        redis.spawn();
        redis
    }

    fn spawn(&mut self) {
        let found = Command::new("redis-server").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
        assert!(
            found.is_ok_and(|status| status.success()),
            "redis-server is not installed: the cluster tests need a real one (Debian: apt-get install redis-server)"
        );
        let port = self.port.to_string();
        let child = Command::new("setpriv")
            .args(["--pdeathsig", "KILL", "--", "redis-server", "--port", &port, "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning", "--protected-mode", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(self.dir.path().join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server (through setpriv)");
        self.child = Some(child);
        let deadline = Instant::now() + WAIT;
        while !self.answers() {
            if let Some(status) = self.child.as_mut().and_then(|child| child.try_wait().ok().flatten()) {
                let log = std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default();
                panic!("redis-server exited at start ({status}):\n{log}");
            }
            assert!(Instant::now() < deadline, "redis-server did not answer PING within {WAIT:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether it answers PING now.
    pub fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok() && stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
    }

    /// SIGKILL: every connection drops, nothing is saved.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (empty: it saved nothing).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "kill redis-server before restarting it");
        self.spawn();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A port nobody listens on now (bound and released; the OS does not hand
/// it out again at once).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}
