//! A damaged data dir stops the server at start with a clear message; it is
//! never silently replaced by an empty database (sled alone would do that).

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
    let server = populated().await;
    let db = server.data_dir().join("db");
    let len = std::fs::metadata(&db).unwrap().len() as usize;
    let garbage: Vec<u8> = (0..len).map(|i| (i * 7 + 13) as u8).collect();
    std::fs::write(&db, garbage).unwrap();
    assert_refuses(server.data_dir(), "overwritten db");
}

#[tokio::test]
async fn truncated_and_deleted_databases_are_refused() {
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
}
