//! `admin export` and `admin import`: a restored data dir serves the same
//! history byte for byte (attachments included, with the blobs copied
//! beside the export; a stranger chat under its aliases); blocks, room bans,
//! reports, unread mentions, sealed bodies and a ringing call survive it;
//! import refuses a data dir that is not empty and a
//! file with a bad line, and changes nothing; `admin delete-message` blanks
//! the stored body.

use heartlink_tests::admin_cli::admin;
use heartlink_tests::server_process::embedded_store_only;
use heartlink_tests::media_client::{media_id, random_bytes};
use heartlink_server::store::{SledStore, Store};
use heartlink_tests::{MediaClient, PASSWORD, TestServer, WsClient};
use serde_json::{Value, json};
use std::path::Path;

/// Every `history` reply of `rooms` to alice on a fresh connection, exactly as the server sent it.
async fn histories(url: &str, rooms: &[Value]) -> Vec<String> {
    let (mut client, _) = WsClient::login(url, "alice", PASSWORD).await;
    for room in rooms {
        client.join(room).await;
    }
    client.sync().await;
    let mut replies = Vec::new();
    for (n, room) in rooms.iter().enumerate() {
        for before in [None, Some(3)] {
            let mut request = json!({"type": "history", "room_id": room, "limit": 100, "ref": format!("h{n}")});
            if let Some(seq) = before {
                request["before_seq"] = json!(seq);
            }
            client.send(request).await;
            let reply = client.recv_text().await;
            assert!(reply.contains(r#""type":"history""#), "{reply}");
            replies.push(reply);
        }
    }
    replies
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[tokio::test]
async fn export_then_import_into_a_fresh_dir_serves_the_same_history() {
    if !embedded_store_only("export from and import into a stopped sled data dir; pg_migrate covers import into PostgreSQL") {
        return;
    }
    let server = TestServer::start(&[]);
    let (mut alice, established) = WsClient::register(&server.url, "alice").await;
    let alice_token = established["token"].as_str().expect("token").to_owned();
    let (mut bob, _) = WsClient::register(&server.url, "Bob").await;
    let group = alice.create_room("book club ☕").await["id"].clone();
    alice.join(&group).await;
    bob.join(&group).await;
    alice.sync().await;
    alice.post(&group, "a1", "first 👋").await;
    bob.sync().await;
    bob.post(&group, "b1", "multi\nline\tand \"quotes\"").await;
    alice.sync().await;
    let picture = random_bytes(5_000, 7);
    let location = MediaClient::new(&server.addr).upload(&alice_token, &picture, "notes.bin", 4096).await;
    let media = media_id(&location);
    let with_file = json!({"type": "send", "room_id": group, "client_msg_id": "a2", "body": "the notes", "attachment": {"media_id": media}});
    alice.send(with_file).await;
    alice.recv_until("ack").await;
    alice.post(&group, "a3", "last").await;
    bob.sync().await;
    alice.send(json!({"type": "read", "room_id": group, "seq": 4})).await;
    alice.send(json!({"type": "match"})).await;
    bob.send(json!({"type": "match"})).await;
    let pair = bob.recv_until("matched").await.0["room"]["id"].clone();
    alice.recv_until("matched").await;
    bob.sync().await;
    bob.join(&pair).await;
    bob.post(&pair, "p1", "hi stranger").await;
    let rooms = vec![group.clone(), pair.clone()];
    let before = histories(&server.url, &rooms).await;
    assert!(before[0].contains("first 👋") && before[0].contains(r#""name":"notes.bin""#), "{}", before[0]);
    assert!(before[2].contains("hi stranger"), "{}", before[2]);
    drop((alice, bob));

    // Exported from the running server, through its socket.
    let work = tempfile::tempdir().expect("temp dir");
    let export = work.path().join("backup.jsonl");
    let out = export.to_string_lossy().to_string();
    admin(server.data_dir(), &["export", "--output", &out, "--tokens"]).ok();
    let text = std::fs::read_to_string(&export).expect("the export");
    assert!(text.starts_with(r#"{"kind":"header","format":2"#), "{text}");
    assert!(text.lines().last().is_some_and(|line| line.starts_with(r#"{"kind":"end","lines":"#)));
    assert!(text.contains("$argon2id$"), "password hashes are exported");
    assert!(!work.path().join("backup.jsonl.partial").exists());

    let target = tempfile::tempdir().expect("import target");
    let imported = admin(target.path(), &["import", &out]).ok();
    assert!(imported.contains("imported 2 users, 2 rooms, 5 messages and 1 uploads"), "{imported}");
    // The media bytes are files, copied beside the export.
    copy_dir(&server.data_dir().join("media/blobs"), &target.path().join("media/blobs"));
    let target_path = target.path().to_path_buf();
    let restored = TestServer::start_on(target, &[]);
    assert_eq!(restored.data_dir(), target_path);

    let after = histories(&restored.url, &rooms).await;
    assert_eq!(after, before, "the restored server's history replies are the same bytes");
    let (_resumed, _) = WsClient::resume(&restored.url, &alice_token).await;
    let downloaded = MediaClient::new(&restored.addr).download(Some(&alice_token), &media, &[]).await;
    assert_eq!(downloaded.status(), 200);
    assert_eq!(downloaded.bytes().await.expect("body").as_ref(), picture.as_slice());
    // New messages go on after the restored ones.
    let (mut alice, _) = WsClient::login(&restored.url, "alice", PASSWORD).await;
    alice.join(&group).await;
    assert_eq!(alice.post(&group, "a4", "after the restore").await["seq"], 5);
}

/// Sends `request` and waits for its ack.
async fn acked(client: &mut WsClient, request: Value) -> Value {
    client.send(request).await;
    client.recv_until("ack").await.0
}

/// The unread mentions `list_rooms` shows alice for each room, on a fresh connection.
async fn mentions(url: &str) -> Vec<(Value, Value)> {
    let (mut alice, _) = WsClient::login(url, "alice", PASSWORD).await;
    let rooms = alice.request(json!({"type": "list_rooms"}), "rooms").await;
    rooms["rooms"].as_array().expect("rooms").iter().map(|room| (room["room"]["id"].clone(), room["mentions"].clone())).collect()
}

#[tokio::test]
async fn an_import_keeps_blocks_bans_reports_mentions_sealed_bodies_and_a_ringing_call() {
    if !embedded_store_only("export from and import into a stopped sled data dir; pg_migrate covers import into PostgreSQL") {
        return;
    }
    let mut server = TestServer::start(&["--call-ring-secs", "3"]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    let (mut carol, carol_est) = WsClient::register(&server.url, "carol").await;
    let carol_id = carol_est["user"]["id"].clone();
    let group = alice.create_room("club").await["id"].clone();
    for client in [&mut alice, &mut bob, &mut carol] {
        client.join(&group).await;
    }
    alice.sync().await;
    bob.sync().await;
    alice.post(&group, "a1", "first-5c1d-sealed").await;
    bob.sync().await;
    // A mention that is deleted, a reply (which mentions alice) and a reaction.
    bob.post(&group, "b1", "hey @alice").await;
    acked(&mut bob, json!({"type": "send", "room_id": group, "client_msg_id": "b2", "body": "agreed", "relates_to": {"seq": 1, "rel": "reply"}})).await;
    acked(&mut bob, json!({"type": "send", "room_id": group, "client_msg_id": "b3", "body": "👍", "relates_to": {"seq": 1, "rel": "react"}})).await;
    acked(&mut bob, json!({"type": "send", "room_id": group, "client_msg_id": "b4", "body": "", "relates_to": {"seq": 2, "rel": "delete"}})).await;
    alice.sync().await;
    alice.request(json!({"type": "ban", "room_id": group, "user_id": carol_id}), "banned").await;
    bob.sync().await;
    bob.request(json!({"type": "block", "user_id": carol_id}), "blocked").await;
    // A stranger chat, reported by alice.
    alice.send(json!({"type": "match"})).await;
    bob.send(json!({"type": "match"})).await;
    let pair = bob.recv_until("matched").await.0["room"]["id"].clone();
    alice.recv_until("matched").await;
    // Joined before anything is said, so that no `room_activity` notice comes between replies.
    alice.join(&pair).await;
    bob.join(&pair).await;
    bob.sync().await;
    bob.post(&pair, "p1", "hi stranger").await;
    alice.sync().await;
    alice.send(json!({"type": "report", "room_id": pair, "reason": "rude"})).await;
    alice.recv_until("reported").await;
    // A call that still rings when the server stops.
    let ring = alice.create_room("ring").await["id"].clone();
    alice.join(&ring).await;
    bob.join(&ring).await;
    alice.sync().await;
    let invite = alice.invite(&ring, "call-1").await;

    let rooms = vec![group.clone(), pair.clone()];
    let before = histories(&server.url, &rooms).await;
    assert!(before[2].contains("hi stranger") && !before[2].contains(r#""username":"bob""#), "bob is under his alias: {}", before[2]);
    let mentions_before = mentions(&server.url).await;
    assert!(mentions_before.contains(&(group.clone(), json!(1))), "the reply's mention, not the deleted one: {mentions_before:?}");
    let blocked_before = WsClient::login(&server.url, "bob", PASSWORD).await.1["blocked"].clone();
    assert_eq!(blocked_before.as_array().map(Vec::len), Some(1), "{blocked_before}");
    drop((alice, bob, carol));
    assert!(server.terminate().success());
    let reports_before = SledStore::open(server.data_dir()).expect("store").reports_open().await.expect("reports");
    assert_eq!(reports_before.len(), 1);

    let work = tempfile::tempdir().expect("temp dir");
    let export = work.path().join("backup.jsonl");
    let out = export.to_string_lossy().to_string();
    admin(server.data_dir(), &["export", "--output", &out]).ok();
    let text = std::fs::read_to_string(&export).expect("the export");
    for kind in ["pair", "block", "room_ban", "report", "call", "last_seen"] {
        assert!(text.contains(&format!(r#"{{"kind":"{kind}""#)), "no {kind} line in the export");
    }
    let target = tempfile::tempdir().expect("import target");
    admin(target.path(), &["import", &out]).ok();
    // Restored bodies are sealed, as a live send stores them.
    assert_eq!(grep_dir(target.path(), b"first-5c1d-sealed"), Vec::<String>::new());
    assert!(!grep_dir(target.path(), br#""client_msg_id":"a1""#).is_empty(), "the grep does see stored records");

    let mut restored = TestServer::start_on(target, &["--call-ring-secs", "3"]);
    // The ringing call still rings out with its missed.
    let (mut bob, established) = WsClient::login(&restored.url, "bob", PASSWORD).await;
    assert_eq!(established["blocked"], blocked_before, "the block survives");
    let joined = bob.join(&ring).await;
    let listed = joined["messages"].as_array().expect("messages").iter().find(|m| m["call"]["action"] == "missed").cloned();
    let missed = match listed {
        Some(missed) => missed,
        None => bob.recv_until("chat_message").await.0,
    };
    assert_eq!(missed["call"], json!({"call_id": invite["call"]["call_id"], "action": "missed"}), "{missed}");
    assert_eq!(histories(&restored.url, &rooms).await, before, "same history replies, the pair under its aliases");
    assert_eq!(mentions(&restored.url).await, mentions_before);
    let (mut carol, _) = WsClient::login(&restored.url, "carol", PASSWORD).await;
    carol.expect_error(json!({"type": "join", "room_id": group}), "forbidden").await;
    drop((bob, carol));
    assert!(restored.terminate().success());
    let reports_after = SledStore::open(restored.data_dir()).expect("store").reports_open().await.expect("reports");
    assert_eq!(reports_after, reports_before);
}

#[tokio::test]
async fn import_refuses_a_non_empty_dir_and_a_bad_line_and_changes_nothing() {
    if !embedded_store_only("import into a sled data dir") {
        return;
    }
    let mut server = TestServer::start(&[]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("r").await["id"].clone();
    alice.join(&room).await;
    alice.post(&room, "c1", "one").await;
    alice.post(&room, "c2", "two").await;
    assert!(server.terminate().success());
    let work = tempfile::tempdir().expect("temp dir");
    let good = work.path().join("good.jsonl");
    let good_path = good.to_string_lossy().to_string();
    admin(server.data_dir(), &["export", "-o", &good_path]).ok();
    let text = std::fs::read_to_string(&good).expect("export");

    // Into the data dir it came from: not empty.
    let before = admin(server.data_dir(), &["users"]).ok();
    let refused = admin(server.data_dir(), &["import", &good_path]).failed(6);
    assert!(refused.contains("is not empty"), "{refused}");
    assert_eq!(admin(server.data_dir(), &["users"]).ok(), before);

    let lines: Vec<&str> = text.lines().collect();
    let variants: Vec<(&str, String, &str)> = vec![
        ("garbage", with_line(&lines, 2, "this is not json"), ":3: not an export record"),
        ("seq gap", lines.iter().filter(|line| !line.contains(r#""client_msg_id":"c1""#)).map(|l| format!("{l}\n")).collect::<String>(), "seqs follow each other"),
        ("cut short", lines[..lines.len() - 1].iter().map(|l| format!("{l}\n")).collect(), "cut short"),
        ("unknown field", with_line(&lines, 1, &lines[1].replacen('{', r#"{"extra":1,"#, 1)), ":2: not an export record"),
    ];
    for (what, content, expected) in variants {
        let file = work.path().join(format!("{}.jsonl", what.replace(' ', "-")));
        std::fs::write(&file, content).expect("write");
        let target = work.path().join(format!("target-{}", what.replace(' ', "-")));
        let stderr = admin(&target, &["import", &file.to_string_lossy()]).failed(6);
        assert!(stderr.contains(expected) && stderr.contains("nothing was imported"), "{what}: {stderr}");
        assert!(!target.exists(), "{what}: the target was not created");
    }
    let leftovers: Vec<_> = std::fs::read_dir(work.path()).expect("ls").filter_map(Result::ok).map(|e| e.file_name()).collect();
    assert!(!leftovers.iter().any(|name| name.to_string_lossy().contains(".import-")), "{leftovers:?}");
}

fn with_line(lines: &[&str], index: usize, replacement: &str) -> String {
    lines.iter().enumerate().map(|(n, line)| format!("{}\n", if n == index { replacement } else { line })).collect()
}

fn grep_dir(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            found.extend(grep_dir(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path) {
            if bytes.windows(needle.len()).any(|window| window == needle) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

#[tokio::test]
async fn delete_message_blanks_the_stored_body() {
    if !embedded_store_only("admin delete-message on a stopped data dir, then sled's files are searched") {
        return;
    }
    let mut server = TestServer::start(&[]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("r").await;
    let room_id = room["id"].as_str().expect("id").to_owned();
    alice.join(&room["id"]).await;
    alice.post(&room["id"], "c1", "keep this one").await;
    alice.post(&room["id"], "c2", "secret-4b1d-deleted-live").await;
    alice.post(&room["id"], "c3", "secret-9e2a-deleted-offline").await;

    // With the server running: blanked at once for every reader.
    let deleted = admin(server.data_dir(), &["delete-message", &room_id, "2"]).ok();
    assert!(deleted.contains("message 2 of room") && deleted.contains("next `admin compact`"), "{deleted}");
    let history = alice.request(json!({"type": "history", "room_id": room["id"]}), "history").await;
    let messages = history["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 3, "the seq stays: {history}");
    assert_eq!((&messages[1]["body"], &messages[1]["deleted"]), (&json!(""), &json!(true)), "{history}");
    assert_eq!(messages[0]["body"], "keep this one");
    let again = admin(server.data_dir(), &["delete-message", &room_id, "2"]).ok();
    assert!(again.contains("was already deleted"), "{again}");
    drop(alice);
    assert!(server.terminate().success());

    // On the stopped data dir: blanked, and the old bytes rewritten away at once.
    let offline = admin(server.data_dir(), &["delete-message", &room_id, "3"]).ok();
    assert!(offline.contains("gone from the disk"), "{offline}");
    assert_eq!(grep_dir(server.data_dir(), b"secret-9e2a-deleted-offline"), Vec::<String>::new());
    assert_eq!(grep_dir(server.data_dir(), b"secret-4b1d-deleted-live"), Vec::<String>::new(), "compacted with it");
    // Bodies are stored sealed; the grep's own check is a field stored in the clear.
    assert!(!grep_dir(server.data_dir(), br#""client_msg_id":"c1""#).is_empty(), "the grep does see stored records");
    let compacted = admin(server.data_dir(), &["compact"]).ok();
    assert!(compacted.starts_with("compacted"), "{compacted}");

    server.restart(false);
    let (mut alice, _) = WsClient::login(&server.url, "alice", PASSWORD).await;
    alice.join(&room["id"]).await;
    let history = alice.request(json!({"type": "history", "room_id": room["id"]}), "history").await;
    let bodies: Vec<(&Value, &Value)> = history["messages"].as_array().expect("messages").iter().map(|m| (&m["body"], &m["deleted"])).collect();
    assert_eq!(bodies, [(&json!("keep this one"), &Value::Null), (&json!(""), &json!(true)), (&json!(""), &json!(true))]);
    assert_eq!(alice.post(&room["id"], "c4", "after").await["seq"], 4, "seqs go on after a compaction");
}
