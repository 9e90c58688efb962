//! The migration path from one node to PostgreSQL: `admin export` of a
//! populated store (the embedded sled store; under
//! `HEARTLINK_TEST_STORE=postgres` the source is itself on PostgreSQL),
//! `admin import --store postgres://…` into an empty database, and a server
//! started on that database serves every message, seq and read marker as
//! the original did. An import into a database that holds anything is
//! refused and changes nothing.

use heartlink_tests::admin_cli::admin;
use heartlink_tests::postgres::shared;
use heartlink_tests::{PASSWORD, TestServer, WsClient};
use serde_json::{Value, json};

/// What each user sees: every `history` page of each room (exact bytes)
/// and their `rooms` list (last seq, read marker, unread mentions).
async fn what_users_see(url: &str, rooms: &[Value]) -> Vec<String> {
    let mut seen = Vec::new();
    for name in ["alice", "bob"] {
        let (mut client, _) = WsClient::login(url, name, PASSWORD).await;
        client.send(json!({"type": "list_rooms", "ref": "rooms"})).await;
        let listed = client.recv_text().await;
        assert!(listed.contains(r#""type":"rooms""#), "{listed}");
        seen.push(listed);
        for room in rooms {
            client.join(room).await;
        }
        client.sync().await;
        for (n, room) in rooms.iter().enumerate() {
            for before in [None, Some(4)] {
                let mut request = json!({"type": "history", "room_id": room, "limit": 100, "ref": format!("h{n}")});
                if let Some(seq) = before {
                    request["before_seq"] = json!(seq);
                }
                client.send(request).await;
                let reply = client.recv_text().await;
                assert!(reply.contains(r#""type":"history""#), "{reply}");
                seen.push(reply);
            }
        }
    }
    seen
}

#[tokio::test]
async fn a_populated_store_exported_and_imported_into_postgres_serves_the_same() {
    let source = TestServer::start(&[]);
    let (mut alice, established) = WsClient::register(&source.url, "alice").await;
    let (mut bob, _) = WsClient::register(&source.url, "bob").await;
    let group = alice.create_room("general").await["id"].clone();
    let other = alice.create_room("other").await["id"].clone();
    alice.join(&group).await;
    alice.join(&other).await;
    bob.join(&group).await;
    alice.sync().await;
    for n in 1..=12 {
        alice.post(&group, &format!("a{n}"), &format!("message {n} for @bob")).await;
    }
    bob.sync().await;
    bob.post(&group, "b1", "an answer").await;
    let edit = json!({"type": "send", "room_id": group, "client_msg_id": "e1", "body": "message 2, edited", "relates_to": {"seq": 2, "rel": "edit"}});
    alice.send(edit).await;
    alice.recv_until("ack").await;
    let delete = json!({"type": "send", "room_id": group, "client_msg_id": "d1", "body": "", "relates_to": {"seq": 3, "rel": "delete"}});
    alice.send(delete).await;
    alice.recv_until("ack").await;
    alice.post(&other, "o1", "elsewhere").await;
    alice.send(json!({"type": "read", "room_id": group, "seq": 15})).await;
    bob.send(json!({"type": "read", "room_id": group, "seq": 6})).await;
    alice.sync().await;
    bob.sync().await;
    let rooms = vec![group.clone(), other.clone()];
    // The first look joins bob to `other` too; the second is the reference.
    what_users_see(&source.url, &rooms).await;
    let before = what_users_see(&source.url, &rooms).await;
    assert!(before.iter().any(|seen| seen.contains("message 2, edited")), "{before:?}");
    drop((alice, bob));

    let work = tempfile::tempdir().expect("temp dir");
    let export = work.path().join("backup.jsonl");
    let out = export.to_string_lossy().to_string();
    admin(source.data_dir(), &["export", "--output", &out, "--tokens"]).ok();

    let url = shared().fresh_database();
    let anywhere = tempfile::tempdir().expect("admin dir");
    let imported = admin(anywhere.path(), &["import", &out, "--store", &url]).ok();
    assert!(imported.contains("imported 2 users, 2 rooms, 16 messages"), "{imported}");
    let again = admin(anywhere.path(), &["import", &out, "--store", &url]).failed(6);
    assert!(again.contains("not empty"), "{again}");

    let target = TestServer::start(&["--store", &url]);
    let after = what_users_see(&target.url, &rooms).await;
    assert_eq!(after, before, "the server on PostgreSQL shows every message, seq and read marker as before");
    let (mut alice, _) = WsClient::resume(&target.url, established["token"].as_str().expect("token")).await;
    alice.join(&group).await;
    assert_eq!(alice.post(&group, "a13", "after the move").await["seq"], 16, "seqs go on where the export ended");
    let retry = json!({"type": "send", "room_id": group, "client_msg_id": "a12", "body": "message 12 for @bob"});
    alice.send(retry).await;
    let (ack, _) = alice.recv_until("ack").await;
    assert_eq!(ack["seq"], 12, "a retry of a message sent before the move gets its original ack");
}
