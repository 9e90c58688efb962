//! A server on PostgreSQL (`start --store postgres://…`): it serves and
//! keeps messages across a restart, survives its connections being cut,
//! and refuses to start, in one line without the password, when the
//! database is unreachable or its schema is newer than the binary; the
//! operator's `admin` reaches it through its socket; a second node on its
//! data dir refuses.

use heartlink_tests::postgres::{run_sql, shared};
use heartlink_tests::{TestServer, WAIT, WsClient};
use serde_json::{Value, json};
use std::process::{Command, Stdio};

/// Runs `heartlink-server` with `args` to its exit (within the test wait):
/// (success, stdout, stderr).
fn run_server(args: &[&str]) -> (bool, String, String) {
    let child = Command::new(heartlink_tests::binaries::bin("heartlink-server"))
        .args(args)
        .env_remove("HEARTLINK_STORE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run heartlink-server");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(output) = rx.recv_timeout(WAIT * 3) else {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        panic!("heartlink-server {args:?} did not exit");
    };
    let output = output.expect("heartlink-server output");
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn an_unreachable_database_refuses_the_start_in_one_line_without_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://heartlink:s3cret-pw@127.0.0.1:{port}/heartlink");
    let data_dir = dir.path().to_str().unwrap();
    let (ok, stdout, stderr) = run_server(&["start", "--listen", "127.0.0.1:0", "--data-dir", data_dir, "--store", &url]);
    assert!(!ok, "it must not start: {stdout}");
    assert!(!stdout.contains("listening"), "{stdout}");
    let line = stderr.lines().find(|line| line.contains("refusing to start")).unwrap_or_else(|| panic!("no refusal in {stderr}"));
    assert!(line.contains(&format!("postgres://heartlink:***@127.0.0.1:{port}/heartlink")), "the URL is named: {line}");
    assert!(!stderr.contains("s3cret-pw"), "the password never shows: {stderr}");
    let (ok, _, stderr) = run_server(&["start", "--listen", "127.0.0.1:0", "--data-dir", data_dir, "--store", "mysql://root:pw@host/db"]);
    assert!(!ok && stderr.contains("postgres:// URL") && !stderr.contains(":pw@"), "{stderr}");
}

#[test]
fn a_database_newer_than_the_binary_refuses_the_start_and_names_migrate() {
    let url = shared().fresh_database();
    let (ok, stdout, stderr) = run_server(&["migrate", "--store", &url]);
    assert!(ok, "migrate: {stderr}");
    assert!(stdout.contains("schema version 1"), "{stdout}");
    let (ok, _, stderr) = run_server(&["migrate", "--store", &url]);
    assert!(ok, "migrating twice changes nothing: {stderr}");
    run_sql(&url, "INSERT INTO schema_version (version, what) VALUES (999, 'from a newer release')").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = run_server(&["start", "--listen", "127.0.0.1:0", "--data-dir", dir.path().to_str().unwrap(), "--store", &url]);
    assert!(!ok);
    let line = stderr.lines().find(|line| line.contains("refusing to start")).unwrap_or_else(|| panic!("no refusal in {stderr}"));
    assert!(line.contains("999") && line.contains("newer") && line.contains("migrate"), "{line}");
}

/// Every message of a room in one page.
async fn history(client: &mut WsClient, room_id: &Value) -> Vec<(u64, String)> {
    let page = client.request(json!({"type": "history", "room_id": room_id, "limit": 100}), "history").await;
    page["messages"].as_array().unwrap().iter().map(|m| (m["seq"].as_u64().unwrap(), m["body"].as_str().unwrap().to_owned())).collect()
}

#[tokio::test]
async fn a_node_on_postgres_serves_reconnects_by_itself_and_keeps_everything() {
    let url = shared().fresh_database();
    let mut server = TestServer::start(&["--store", &url]);
    let (mut alice, established) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("general").await;
    let room_id = room["id"].clone();
    alice.join(&room_id).await;
    alice.post(&room_id, "m1", "one").await;
    alice.post(&room_id, "m2", "two").await;
    // A second node given the same data dir by mistake refuses, naming the first.
    let data_dir = server.data_dir().to_str().unwrap().to_owned();
    let (ok, _, stderr) = run_server(&["start", "--listen", "127.0.0.1:0", "--data-dir", &data_dir, "--store", &url]);
    let pid = server.pid().unwrap().to_string();
    assert!(!ok && stderr.contains("another heartlink-server is using") && stderr.contains(&pid), "{stderr}");
    // The operator reaches a node on PostgreSQL through the socket in its data dir.
    let listed = heartlink_tests::admin_cli::admin(server.data_dir(), &["users"]).ok();
    assert!(listed.contains("alice"), "{listed}");

    // Every pooled connection is cut: the next send may fail (never acked),
    // and the same send again is stored once.
    shared().terminate_connections(&url);
    let send = json!({"type": "send", "room_id": room_id, "client_msg_id": "m3", "body": "three"});
    let mut acked = None;
    for _ in 0..5 {
        alice.send(send.clone()).await;
        let reply = loop {
            let frame = alice.recv().await;
            if frame["type"] == "ack" || frame["type"] == "error" {
                break frame;
            }
        };
        if reply["type"] == "ack" {
            acked = Some(reply);
            break;
        }
        assert_eq!(reply["code"], "internal", "{reply}");
        assert!(reply["retry_after_ms"].as_u64().is_some(), "a failed commit says when to retry: {reply}");
    }
    assert_eq!(acked.expect("the node reconnected by itself")["seq"], 3);
    alice.sync().await;
    let expected = vec![(1, "one".to_owned()), (2, "two".to_owned()), (3, "three".to_owned())];
    assert_eq!(history(&mut alice, &room_id).await, expected);

    server.kill9();
    server.restart(false);
    let (mut alice, _) = WsClient::resume(&server.url, established["token"].as_str().unwrap()).await;
    alice.join(&room_id).await;
    assert_eq!(history(&mut alice, &room_id).await, expected, "everything acked is in PostgreSQL");
}
