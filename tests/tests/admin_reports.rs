//! `heartlink-server admin reports` / `admin report ID`: the operator sees
//! the report a user made in a stranger chat — its reason, the stranger's
//! real account (to the operator only) and the reported message — both
//! through a running server's socket and on the stopped data dir, with
//! everything users typed escaped for the operator's terminal.

use heartlink_tests::admin_cli::admin;
use heartlink_tests::matching::pair;
use heartlink_tests::server_process::embedded_store_only;
use heartlink_tests::{TestServer, WsClient};
use serde_json::json;

#[tokio::test]
async fn the_operator_lists_open_reports_and_reads_one_with_its_messages() {
    let mut server = TestServer::start(&[]);
    assert_eq!(admin(server.data_dir(), &["reports"]).ok(), "0 open reports\n");

    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let (mut mallory, _) = WsClient::register(&server.url, "mallory").await;
    let (alices, _) = pair(&mut alice, &mut mallory, Some("4242")).await;
    let room_id = alices["room"]["id"].clone();
    alice.join(&room_id).await;
    mallory.join(&room_id).await;
    // Bodies refuse control characters, but a bidi override gets through.
    let rude = mallory.post(&room_id, "m1", "you are awful\u{202e}txt.exe\nsecond line").await;
    alice.recv_type("chat_message").await;
    let reason = "threats \u{2067}hidden\u{2069}";
    let reported =
        alice.request(json!({"type": "report", "room_id": room_id, "seq": rude["seq"], "reason": reason}), "reported").await;
    assert_eq!(reported["room_id"], room_id);

    // Through the running server's socket.
    let listing = admin(server.data_dir(), &["reports"]).ok();
    assert!(listing.ends_with("1 open report\n"), "{listing}");
    assert!(listing.contains("by alice") && listing.contains("(stranger: mallory)"), "{listing}");
    assert!(listing.contains(&format!("about message {}", rude["seq"])), "{listing}");
    assert!(!listing.contains('\u{2067}') && listing.contains("threats \\u{2067}hidden"), "user text is escaped: {listing:?}");
    let id = listing.split_whitespace().next().unwrap_or_default().to_owned();

    let shown = admin(server.data_dir(), &["report", &id]).ok();
    assert!(shown.contains(&format!("> #{}", rude["seq"])) && shown.contains("mallory: you are"), "{shown}");
    assert!(!shown.contains('\u{202e}') && shown.contains("\\u{202e}"), "bodies are escaped: {shown:?}");
    assert!(shown.contains("\\u{a}second line"), "a body stays on its line: {shown:?}");

    // On the stopped data dir, the same.
    if !embedded_store_only("admin on a stopped data dir opens sled") {
        return;
    }
    drop((alice, mallory));
    assert!(server.terminate().success());
    assert_eq!(admin(server.data_dir(), &["reports"]).ok(), listing);
    assert_eq!(admin(server.data_dir(), &["report", &id]).ok(), shown);

    // Bad input: a malformed id is a usage error, an unknown one is not found.
    admin(server.data_dir(), &["report", "not-an-id"]).failed(2);
    let unknown = admin(server.data_dir(), &["report", "00000000-0000-4000-8000-000000000000"]).failed(3);
    assert!(unknown.contains("no report with id"), "{unknown}");
}
