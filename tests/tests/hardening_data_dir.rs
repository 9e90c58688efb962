//! A damaged data dir stops the server at start with a clear message; it is
//! never silently replaced by an empty database (sled alone would do that).
//! The data dir is private (0700, files 0600) and used by one server at a time.

use heartlink_tests::server_process::embedded_store_only;
use heartlink_tests::{TestServer, WsClient, binaries};
use std::path::Path;
use std::process::{Command, Stdio};

/// Starts the server on `dir` and expects it to refuse: non-zero exit, a
/// reason on stderr, and no address announced.
fn assert_refuses(dir: &Path, what: &str) {
    let output = Command::new(binaries::bin("heartlink-server"))
        .args(["start", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .output()
        .expect("run heartlink-server");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{what}: the server started: {stdout}");
    assert!(!stdout.contains("listening"), "{what}: the server announced an address: {stdout}");
    assert!(stderr.contains("refusing to start"), "{what}: no clear reason on stderr: {stderr}");
}

/// A data dir holding one account, the server stopped cleanly.
async fn populated() -> TestServer {
    let mut server = TestServer::start(&[]);
    let (_alice, _) = WsClient::register(&server.url, "alice").await;
    assert!(server.terminate().success());
    server
}

#[tokio::test]
async fn overwritten_database_is_refused() {
    if !embedded_store_only("sled's database file is overwritten") {
        return;
    }
    let server = populated().await;
    let db = server.data_dir().join("db");
    let len = std::fs::metadata(&db).unwrap().len() as usize;
    let garbage: Vec<u8> = (0..len).map(|i| (i * 7 + 13) as u8).collect();
    std::fs::write(&db, garbage).unwrap();
    assert_refuses(server.data_dir(), "overwritten db");
}

#[tokio::test]
async fn truncated_and_deleted_databases_are_refused() {
    if !embedded_store_only("sled's database file is truncated and deleted") {
        return;
    }
    let server = populated().await;
    let db = server.data_dir().join("db");
    std::fs::OpenOptions::new().write(true).open(&db).unwrap().set_len(100).unwrap();
    assert_refuses(server.data_dir(), "truncated db");
    std::fs::remove_file(&db).unwrap();
    assert_refuses(server.data_dir(), "deleted db");
}

#[tokio::test]
async fn a_directory_that_is_not_heartlinks_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("thesis.tex"), "precious").unwrap();
    assert_refuses(dir.path(), "foreign dir");
    assert_eq!(std::fs::read_to_string(dir.path().join("thesis.tex")).unwrap(), "precious");
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert_eq!(entries, ["thesis.tex"], "nothing is added to a foreign directory");
}

/// Every directory under `dir` 0700 and every file 0600, or the offenders.
fn not_private(dir: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut offenders = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        let wanted = if meta.is_dir() { 0o700 } else { 0o600 };
        if mode != wanted {
            offenders.push(format!("{} is {mode:o}", path.display()));
        }
        if meta.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|entry| entry.unwrap().path()));
        }
    }
    offenders
}

/// Runs the server under the shell's usual umask 022, registers an account
/// or logs in to it (so the database has been written and read) and stops
/// it with SIGTERM.
async fn run_once_under_umask_022(data_dir: &Path) {
    use std::io::BufRead;
    let existing = data_dir.join("db").exists();
    let mut child = Command::new("sh")
        .args(["-c", "umask 022; exec \"$0\" start --listen 127.0.0.1:0 --data-dir \"$1\""])
        .arg(binaries::bin("heartlink-server"))
        .arg(data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("heartlink-server listening on ").expect("the address line").to_owned();
    if existing {
        WsClient::login(&url, "alice", heartlink_tests::PASSWORD).await;
    } else {
        WsClient::register(&url, "alice").await;
    }
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
}

#[tokio::test]
async fn a_new_data_dir_is_private_whatever_the_umask() {
    let parent = tempfile::tempdir().unwrap();
    let data_dir = parent.path().join("heartlink");
    run_once_under_umask_022(&data_dir).await;
    assert!(data_dir.join("db").exists(), "the database was written");
    assert_eq!(not_private(&data_dir), Vec::<String>::new(), "directories must be 0700 and files 0600");
}

#[tokio::test]
async fn an_existing_world_readable_data_dir_is_made_private() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let data_dir = parent.path().join("heartlink");
    run_once_under_umask_022(&data_dir).await;
    // As an older version left it: drwxr-xr-x and -rw-r--r--.
    let mut pending = vec![data_dir.clone()];
    while let Some(path) = pending.pop() {
        let is_dir = path.is_dir();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(if is_dir { 0o755 } else { 0o644 })).unwrap();
        if is_dir {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|entry| entry.unwrap().path()));
        }
    }
    assert!(!not_private(&data_dir).is_empty());
    run_once_under_umask_022(&data_dir).await;
    assert_eq!(not_private(&data_dir), Vec::<String>::new(), "directories must be 0700 and files 0600");
}

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_names_the_first() {
    let first = TestServer::start(&[]);
    let mut second = Command::new(binaries::bin("heartlink-server"));
    // On PostgreSQL the second node is given the same database too: the data
    // dir (admin socket, media) is still one node's.
    if let Some(url) = heartlink_tests::server_process::test_store_for(first.data_dir()) {
        second.env("HEARTLINK_STORE", url);
    }
    let output = second
        .args(["start", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(first.data_dir())
        .stdin(Stdio::null())
        .output()
        .expect("run heartlink-server");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "a second server started on the same data dir");
    let expected =
        format!("another heartlink-server is using {} (pid {})", first.data_dir().display(), first.pid().unwrap());
    assert!(stderr.contains(&expected), "expected {expected:?} on stderr, got: {stderr}");
    // The first one is unaffected.
    WsClient::register(&first.url, "alice").await;
}
