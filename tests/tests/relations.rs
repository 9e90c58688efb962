//! Replies, edits, deletions and reactions (PROTOCOL.md, "Relations"), as
//! clients see them: each is a message with its own seq, replayed by
//! `join{since}` and history, across a restart too; every permission rule
//! and every meaningless relation has its defined answer and changes
//! nothing; a deletion blanks the target on disk, attachment bytes
//! included.

use heartlink_tests::media_client::{eventually, random_bytes};
use heartlink_tests::server_process::stored_bytes;
use heartlink_tests::{MediaClient, TestServer, WsClient};
use serde_json::{Value, json};

/// Sends `request` with a fresh `ref`; returns the direct answer (an `ack`
/// or an `error`) and the sender's own `chat_message` seen before it, if
/// any. Events for the connection (others' messages) are skipped.
async fn answer(client: &mut WsClient, mut request: Value) -> (Value, Option<Value>) {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let reference = format!("r{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    request["ref"] = json!(reference);
    client.send(request.clone()).await;
    let mut echo = None;
    loop {
        let frame = client.recv().await;
        if frame["ref"] == reference.as_str() {
            return (frame, echo);
        }
        if frame["type"] == "chat_message" && frame["client_msg_id"] == request["client_msg_id"] {
            echo = Some(frame);
        }
    }
}

/// Sends a message (a relation when `relation` is set); returns its `chat_message` as the sender saw it.
async fn say(client: &mut WsClient, room: &Value, id: &str, body: &str, relation: Option<(u64, &str)>) -> Value {
    let mut request = json!({"type": "send", "room_id": room, "client_msg_id": id, "body": body});
    if let Some((seq, rel)) = relation {
        request["relates_to"] = json!({"seq": seq, "rel": rel});
    }
    let (ack, echo) = answer(client, request).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let echo = echo.expect("the sender's own chat_message before its ack");
    assert_eq!(echo["seq"], ack["seq"]);
    echo
}

/// Sends a relation; returns the sender's own `chat_message` (after its ack).
async fn relate(client: &mut WsClient, room: &Value, id: &str, seq: u64, rel: &str, body: &str) -> Value {
    let echo = say(client, room, id, body, Some((seq, rel))).await;
    assert_eq!(echo["relates_to"], json!({"seq": seq, "rel": rel}));
    echo
}

/// A relation the server must refuse with `code`; returns the error's message.
async fn refused(client: &mut WsClient, room: &Value, seq: u64, rel: &str, body: &str, code: &str) -> String {
    let id = format!("refused-{rel}-{seq}-{}", body.len());
    let request = json!({"type": "send", "room_id": room, "client_msg_id": id, "body": body, "relates_to": {"seq": seq, "rel": rel}});
    let (error, echo) = answer(client, request).await;
    assert_eq!((&error["type"], &error["code"]), (&json!("error"), &json!(code)), "{rel} of {seq} with {body:?}: {error}");
    assert!(echo.is_none(), "a refused relation is not broadcast");
    error["message"].as_str().unwrap_or_default().to_owned()
}

fn seq(frame: &Value) -> u64 {
    frame["seq"].as_u64().expect("a seq")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_relation_with_its_rules_and_replayed_after_join_since_and_a_restart() {
    let mut server = TestServer::start(&[]);
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("relations").await["id"].clone();
    alice.join(&room).await;
    let (mut bob, bob_est) = WsClient::register(&server.url, "Bob").await;
    bob.join(&room).await;
    let (mut carol, _) = WsClient::register(&server.url, "carol").await;
    carol.join(&room).await;
    let (alice_id, bob_id) = (alice_est["user"]["id"].clone(), bob_est["user"]["id"].clone());

    // A mention by name, case-insensitive; a name that is nobody's is text.
    let hello = say(&mut alice, &room, "a1", "hello @bob and @nobody", None).await;
    assert_eq!(hello["mentions"], json!([bob_id]), "{hello}");
    let first = seq(&hello);

    // Replies mention the replied-to sender; edits are the sender's alone.
    let reply = relate(&mut bob, &room, "b1", first, "reply", "hi!").await;
    assert_eq!(reply["mentions"], json!([alice_id]));
    assert_eq!(refused(&mut bob, &room, first, "edit", "mine now", "forbidden").await, "only its sender may edit a message");
    let edit = relate(&mut alice, &room, "a2", first, "edit", "hello @bob, edited").await;
    assert!(edit.get("mentions").is_none(), "bob was already mentioned by the original: {edit}");

    // Meaningless relations and bad reactions: bad_request; a missing seq: not_found.
    refused(&mut alice, &room, 999, "reply", "into the void", "not_found").await;
    refused(&mut alice, &room, 999, "delete", "", "not_found").await;
    let reaction = relate(&mut bob, &room, "b2", first, "react", "👍").await;
    refused(&mut bob, &room, seq(&reaction), "edit", "👎", "bad_request").await;
    refused(&mut bob, &room, seq(&reaction), "react", "👍", "bad_request").await;
    refused(&mut alice, &room, seq(&edit), "edit", "edit of an edit", "bad_request").await;
    for not_one_emoji in ["ok", "👍👍", "", ":+1:"] {
        refused(&mut bob, &room, first, "react", not_one_emoji, "bad_request").await;
    }
    refused(&mut alice, &room, first, "edit", "", "bad_request").await;

    // The same reaction again is stored, and toggles it off for every client replaying the room.
    let again = relate(&mut bob, &room, "b3", first, "react", "👍").await;
    assert!(seq(&again) > seq(&reaction));

    // Deleting: the sender, or the group's creator; nobody else.
    refused(&mut carol, &room, seq(&reply), "delete", "", "forbidden").await;
    let creator_deletes = relate(&mut alice, &room, "a3", seq(&reply), "delete", "").await;
    let deleted = relate(&mut alice, &room, "a4", first, "delete", "reason is not kept").await;
    assert_eq!(deleted["body"], "", "a deletion keeps no text");
    for rel in ["edit", "react", "reply", "delete"] {
        let body = if rel == "react" { "👍" } else { "late" };
        assert_eq!(refused(&mut alice, &room, first, rel, body, "bad_request").await, "that message was deleted");
    }
    // A retried deletion is acked as the original, although its target is gone now.
    let retry = json!({"type": "send", "room_id": room, "client_msg_id": "a4", "body": "", "relates_to": {"seq": first, "rel": "delete"}});
    let (ack, echo) = answer(&mut alice, retry).await;
    assert_eq!((&ack["type"], &ack["seq"]), (&json!("ack"), &deleted["seq"]));
    assert!(echo.is_none(), "a retry broadcasts nothing");

    // Refusals changed nothing: the room holds exactly these messages.
    let expected_seqs = vec![first, seq(&reply), seq(&edit), seq(&reaction), seq(&again), seq(&creator_deletes), seq(&deleted)];
    let check = |joined: &Value, label: &str| {
        let messages = joined["messages"].as_array().expect("messages");
        let seqs: Vec<u64> = messages.iter().map(seq).collect();
        assert_eq!(seqs, expected_seqs, "{label}");
        let by_seq = |s: u64| messages.iter().find(|m| seq(m) == s).expect("listed");
        let original = by_seq(first);
        assert_eq!((original["deleted"].as_bool(), original["body"].as_str()), (Some(true), Some("")), "{label}: {original}");
        assert!(original.get("mentions").is_none(), "{label}: a deleted message mentions nobody");
        assert_eq!(by_seq(seq(&edit))["deleted"], true, "{label}: the edit held the text too");
        assert_eq!(by_seq(seq(&reply))["deleted"], true, "{label}");
        assert_eq!(by_seq(seq(&again))["relates_to"], json!({"seq": first, "rel": "react"}), "{label}");
        assert_eq!(by_seq(seq(&again))["body"], "👍", "{label}");
    };
    let (mut bob_phone, _) = WsClient::resume(&server.url, bob_est["token"].as_str().unwrap()).await;
    let since = bob_phone.request(json!({"type": "join", "room_id": room, "since": 0}), "joined").await;
    check(&since, "join since 0");

    server.terminate();
    server.restart(false);
    let (mut bob, _) = WsClient::resume(&server.url, bob_est["token"].as_str().unwrap()).await;
    let since = bob.request(json!({"type": "join", "room_id": room, "since": 0}), "joined").await;
    check(&since, "after a restart");
    let history = bob.request(json!({"type": "history", "room_id": room}), "history").await;
    check(&history, "history after a restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_message_leaves_no_trace_of_its_text_or_its_attachment_on_disk() {
    let mut server = TestServer::start(&[]);
    let (mut alice, alice_est) = WsClient::register(&server.url, "alice").await;
    let token = alice_est["token"].as_str().unwrap().to_owned();
    // Room names are stored as they are: the needle that shows the check can see stored text.
    let room_name = "room-heron-violet-55290";
    let room = alice.create_room(room_name).await["id"].clone();
    alice.join(&room).await;
    let (mut bob, bob_est) = WsClient::register(&server.url, "bob").await;
    bob.join(&room).await;

    let secret = "the vault code is zebra-quartz-77813";
    let edited = "the vault code is walrus-ember-40412";
    let kept = "this message stays";
    let first = seq(&say(&mut alice, &room, "s1", secret, None).await);
    relate(&mut alice, &room, "s2", first, "edit", edited).await;
    say(&mut alice, &room, "s3", kept, None).await;
    let http = MediaClient::new(&server.addr);
    let attachment_bytes = random_bytes(64 * 1024, 7);
    let media_id = http.upload(&token, &attachment_bytes, "plans.bin", 16 * 1024).await;
    let (ack, with_file) = answer(&mut alice, json!({"type": "send", "room_id": room, "client_msg_id": "s4", "body": "", "attachment": {"media_id": media_id}})).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let with_file = with_file.expect("the sender's chat_message");
    let bob_token = bob_est["token"].as_str().unwrap();
    assert_eq!(http.download(Some(bob_token), &media_id, &[]).await.status(), 200);

    relate(&mut alice, &room, "d1", first, "delete", "").await;
    relate(&mut alice, &room, "d2", seq(&with_file), "delete", "").await;
    // The bytes go once no message carries them: the download is gone for everyone.
    eventually("the deleted attachment's download is gone", || async {
        http.download(Some(&token), &media_id, &[]).await.status() == 404
    })
    .await;
    assert_eq!(http.download(Some(bob_token), &media_id, &[]).await.status(), 404);

    drop((alice, bob));
    server.terminate();
    let files = stored_bytes(server.data_dir());
    let holding = |needle: &[u8]| files.iter().filter(|(_, bytes)| contains(bytes, needle)).map(|(path, _)| path.clone()).collect::<Vec<_>>();
    assert!(!holding(room_name.as_bytes()).is_empty(), "the check can see what is stored");
    assert_eq!(holding(secret.as_bytes()), Vec::<std::path::PathBuf>::new(), "the deleted text is gone from the data dir");
    assert_eq!(holding(edited.as_bytes()), Vec::<std::path::PathBuf>::new(), "its edit's text is gone too");
    assert_eq!(holding(&attachment_bytes[..4096]), Vec::<std::path::PathBuf>::new(), "the attachment's bytes are gone");

    // What was not deleted still reads back after the restart.
    server.restart(false);
    let (mut alice, _) = WsClient::resume(&server.url, &token).await;
    let joined = alice.request(json!({"type": "join", "room_id": room, "since": 0}), "joined").await;
    let bodies: Vec<(&Value, &Value)> = joined["messages"].as_array().unwrap().iter().map(|m| (&m["body"], &m["deleted"])).collect();
    assert_eq!(bodies[0], (&json!(""), &json!(true)));
    assert_eq!(bodies[2], (&json!(kept), &Value::Null), "{joined}");
}
