//! Presence reaches only the rooms a user is in at that moment: not a room
//! they left earlier in the session. A connection resumed with
//! `presence:false` (a script, a bot) neither brings its user online nor
//! keeps them online.

use heartlink_tests::{QUIET, TestServer, WsClient};
use serde_json::{Value, json};

fn presence_of<'a>(frames: &'a [Value], username: &str) -> Vec<&'a Value> {
    frames.iter().filter(|f| f["type"] == "presence" && f["user"]["username"] == username).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_of_a_user_who_left_no_longer_reaches_the_room() {
    let server = TestServer::start(&["--presence-grace-secs", "0"]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let left_room = alice.create_room("left behind").await["id"].clone();
    let shared_room = alice.create_room("still shared").await["id"].clone();
    let (mut bob, established) = WsClient::register(&server.url, "bob").await;
    let token = established["token"].as_str().unwrap().to_owned();
    bob.join(&left_room).await;
    let (mut carol, _) = WsClient::register(&server.url, "carol").await;
    carol.join(&shared_room).await;
    alice.join(&left_room).await;
    // Bob's next session starts while he is a member of the room...
    drop(bob);
    let (offline, _) = alice.recv_until("presence").await;
    assert_eq!((&offline["user"]["username"], &offline["online"]), (&json!("bob"), &json!(false)));
    let (mut bob, _) = WsClient::resume(&server.url, &token).await;
    let (online, _) = alice.recv_until("presence").await;
    assert_eq!((&online["user"]["username"], &online["online"]), (&json!("bob"), &json!(true)));

    // ...and he leaves it in the middle of that session, then goes away.
    bob.request(json!({"type": "leave", "room_id": left_room}), "left").await;
    alice.recv_type("user_left").await;
    drop(bob);
    alice.expect_silence(QUIET).await;
    let seen = alice.sync().await;
    assert!(presence_of(&seen, "bob").is_empty(), "bob left the room: his presence must not reach it: {seen:?}");

    // Coming back does not announce him there either.
    let (_bob, _) = WsClient::resume(&server.url, &token).await;
    alice.expect_silence(QUIET).await;

    // A member who stays gets it, as before.
    drop(carol);
    let (mut dave, _) = WsClient::register(&server.url, "dave").await;
    dave.join(&shared_room).await;
    let (carol_back, _) = WsClient::login(&server.url, "carol", heartlink_tests::PASSWORD).await;
    let (presence, _) = dave.recv_until("presence").await;
    assert_eq!((&presence["user"]["username"], &presence["online"]), (&json!("carol"), &json!(true)));
    drop(carol_back);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_resumed_without_presence_does_not_make_its_user_online() {
    let server = TestServer::start(&["--presence-grace-secs", "0"]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("watched").await["id"].clone();
    alice.join(&room).await;
    let (mut bot_owner, established) = WsClient::register(&server.url, "bot").await;
    let token = established["token"].as_str().unwrap().to_owned();
    bot_owner.join(&room).await;
    drop(bot_owner);
    let (offline, _) = alice.recv_until("presence").await;
    assert_eq!(offline["online"], false);

    // A script resumes quietly: nobody sees the bot come online.
    let mut script = WsClient::connect(&server.url).await;
    script.request(json!({"type": "resume", "token": token, "presence": false}), "connection_established").await;
    script.join(&room).await;
    script.post(&room, "s1", "nightly report").await;
    let seen = alice.sync().await;
    assert!(presence_of(&seen, "bot").is_empty(), "{seen:?}");
    let joined = alice.request(json!({"type": "join", "room_id": room}), "joined").await;
    let bot = joined["members"].as_array().unwrap().iter().find(|m| m["user"]["username"] == "bot").unwrap();
    assert_eq!(bot["online"], false, "a presence-less connection does not count: {bot}");

    // The user's real connection brings them online, and its end takes them
    // offline although the script is still connected.
    let (real, _) = WsClient::resume(&server.url, &token).await;
    let (online, _) = alice.recv_until("presence").await;
    assert_eq!((&online["user"]["username"], &online["online"]), (&json!("bot"), &json!(true)));
    drop(real);
    let (offline, _) = alice.recv_until("presence").await;
    assert_eq!((&offline["user"]["username"], &offline["online"]), (&json!("bot"), &json!(false)));
    script.sync().await;
    // And the script's own end announces nothing.
    drop(script);
    alice.expect_silence(QUIET).await;
}
