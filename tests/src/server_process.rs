//! A real `heartlink-server` process on port 0 with its own data dir.
//!
//! `HEARTLINK_TEST_STORE=postgres` runs it on a fresh PostgreSQL database
//! and `HEARTLINK_TEST_BUS=redis` on a `redis-server` of its own (the Redis
//! bus names its keys and channels without a prefix, and pub/sub ignores
//! database numbers, so servers running in parallel cannot share one), so
//! the whole suite can run against a one-node PostgreSQL + Redis deployment.

use crate::WAIT;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

/// A running server. Killed (SIGKILL) on drop; the data dir lives as long as
/// the value so a test can restart on the same data.
#[derive(Debug)]
pub struct TestServer {
    child: Option<Child>,
    data_dir: tempfile::TempDir,
    extra_args: Vec<String>,
    /// `ws://127.0.0.1:PORT/ws`
    pub url: String,
    /// `127.0.0.1:PORT`
    pub addr: String,
    /// Where this run's stderr (the logs) goes.
    pub log_path: PathBuf,
    /// The server's own Redis under `HEARTLINK_TEST_BUS=redis`; it outlives restarts.
    redis: Option<crate::redis::RedisServer>,
}

impl TestServer {
    /// Starts a server on a fresh data dir with the given extra flags.
    pub fn start(extra_args: &[&str]) -> Self {
        Self::start_on(tempfile::tempdir().expect("temp data dir"), extra_args)
    }

    /// Starts a server on `data_dir` as it is (e.g. one an import filled).
    pub fn start_on(data_dir: tempfile::TempDir, extra_args: &[&str]) -> Self {
        let extra_args: Vec<String> = extra_args.iter().map(|s| (*s).to_owned()).collect();
        let redis = test_bus_wanted(&extra_args).then(crate::redis::RedisServer::start);
        let bus = redis.as_ref().map(|redis| redis.url.as_str());
        let (child, url, log_path) = spawn(data_dir.path(), "127.0.0.1:0", &extra_args, bus, 0);
        let addr = addr_of(&url);
        Self { child: Some(child), data_dir, extra_args, url, addr, log_path, redis }
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for the exit status (graceful shutdown).
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server is running");
        let pid = child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(sent.success());
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(status) = child.try_wait().expect("wait for server") {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "server did not exit within {WAIT:?} of SIGTERM");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Starts the server again on the same data dir. With `same_port` it
    /// binds the address it had (a client reconnecting finds it there).
    pub fn restart(&mut self, same_port: bool) {
        let listen = if same_port { self.addr.clone() } else { "127.0.0.1:0".to_owned() };
        self.restart_on(&listen);
    }

    /// Starts the server again on the same data dir, listening on `listen`
    /// (e.g. another port a client was told about beforehand).
    pub fn restart_on(&mut self, listen: &str) {
        assert!(self.child.is_none(), "stop the server before restarting it");
        let run = self.log_path.to_string_lossy().matches(".run").count() + 1;
        let bus = self.redis.as_ref().map(|redis| redis.url.as_str());
        let (child, url, log_path) = spawn(self.data_dir.path(), listen, &self.extra_args, bus, run);
        self.child = Some(child);
        self.addr = addr_of(&url);
        self.url = url;
        self.log_path = log_path;
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn addr_of(url: &str) -> String {
    let rest = url.strip_prefix("wss://").or_else(|| url.strip_prefix("ws://")).unwrap_or(url);
    rest.trim_end_matches("/ws").to_owned()
}

/// The `--store` for a server on `data_dir` when `HEARTLINK_TEST_STORE=postgres`:
/// a fresh database for a new data dir, the same one when it restarts (its
/// URL is kept beside the data dir). `None` runs the embedded store.
pub fn test_store_for(data_dir: &Path) -> Option<String> {
    if std::env::var("HEARTLINK_TEST_STORE").ok().as_deref() != Some("postgres") {
        return None;
    }
    let remembered = data_dir.with_extension("store-url");
    if let Ok(url) = std::fs::read_to_string(&remembered) {
        return Some(url);
    }
    let url = crate::postgres::shared().fresh_database();
    std::fs::write(&remembered, &url).expect("remember the test database");
    Some(url)
}

/// Whether this run uses the embedded store. A test about sled's own files
/// (damaging them, scanning them, opening them while the server is stopped)
/// calls this first and returns when it says `false`: the test says so on
/// its output instead of passing in silence. docs/SCALING.md lists them.
pub fn embedded_store_only(reason: &str) -> bool {
    if std::env::var("HEARTLINK_TEST_STORE").ok().as_deref() != Some("postgres") {
        return true;
    }
    eprintln!("this test checks sled's own files ({reason}): not run against PostgreSQL");
    false
}

/// What a server keeps at rest, to search for text that must or must not be
/// stored: every file under its data dir (sled's files, media), and on
/// PostgreSQL every row of its database's tables as text, named `table:NAME`.
pub fn stored_bytes(data_dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = files_under(data_dir);
    if let Some(url) = test_store_for(data_dir) {
        let rows = crate::postgres::table_rows(&url).unwrap_or_else(|err| panic!("read the test database: {err}"));
        found.extend(rows.into_iter().map(|(table, row)| (PathBuf::from(format!("table:{table}")), row.into_bytes())));
    }
    found
}

/// Every file under `dir`, read whole.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read the data dir") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            found.push((path, bytes));
        }
    }
    found
}

/// Whether `HEARTLINK_TEST_BUS=redis` asks for a Redis bus and the test did not choose one itself.
fn test_bus_wanted(extra: &[String]) -> bool {
    std::env::var("HEARTLINK_TEST_BUS").ok().as_deref() == Some("redis") && !extra.iter().any(|arg| arg == "--bus")
}

fn spawn(data_dir: &Path, listen: &str, extra: &[String], bus: Option<&str>, run: usize) -> (Child, String, PathBuf) {
    let log_path = data_dir.with_extension(format!("run{run}.log"));
    let log = std::fs::File::create(&log_path).expect("server log file");
    let mut command = Command::new(crate::binaries::bin("heartlink-server"));
    if let Some(url) = test_store_for(data_dir).filter(|_| !extra.iter().any(|arg| arg == "--store")) {
        command.env("HEARTLINK_STORE", url);
    }
    if let Some(url) = bus {
        command.env("HEARTLINK_BUS", url);
    }
    let mut child = command
        .arg("start")
        .args(["--listen", listen])
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .env("RUST_LOG", "heartlink_server=debug,info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start heartlink-server");
    let stdout = child.stdout.take().expect("server stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("heartlink-server listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let url = match rx.recv_timeout(WAIT) {
        Ok(url) => url,
        Err(_) => {
            let _ = child.kill();
            let logs = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("server did not announce its address within {WAIT:?}; logs:\n{logs}");
        }
    };
    (child, url, log_path)
}
