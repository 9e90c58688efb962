//! `logout` ends every connection using the token, not only the one that
//! asked, and `logout{everywhere:true}` ends every session of the user: the
//! others close with 1008 and a reason, and the tokens no longer resume. A
//! login beyond the per-user token cap signs out the oldest session the
//! same way.

use heartlink_tests::{PASSWORD, TestServer, WsClient};
use serde_json::json;
use std::time::Instant;

fn token_of(established: &serde_json::Value) -> String {
    established["token"].as_str().unwrap().to_owned()
}

async fn assert_revoked(url: &str, token: &str) {
    let mut client = WsClient::connect(url).await;
    client.expect_error(json!({"type": "resume", "token": token}), "unauthorized").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_closes_every_connection_using_the_token_and_no_other() {
    let server = TestServer::start(&[]);
    let (mut laptop, established) = WsClient::register(&server.url, "alice").await;
    let token = token_of(&established);
    let (mut same_token, _) = WsClient::resume(&server.url, &token).await;
    let (mut phone, _) = WsClient::login(&server.url, "alice", PASSWORD).await;
    same_token.sync().await;

    let started = Instant::now();
    laptop.send(json!({"type": "logout"})).await;
    let (own, _) = laptop.expect_close().await;
    let (other, _) = same_token.expect_close().await;
    let closed_in = started.elapsed();
    assert_eq!((own.code, own.reason.as_str()), (1000, "logged out"));
    assert_eq!((other.code, other.reason.as_str()), (1008, "logged out"), "the other connection of the token");
    phone.sync().await; // another token of the same user stays signed in
    assert_revoked(&server.url, &token).await;
    eprintln!("figure: logout closed the token's other connection with 1008 \"logged out\" in {closed_in:.2?}; the user's other session stayed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_everywhere_revokes_every_token_of_the_user() {
    let server = TestServer::start(&[]);
    let (mut laptop, established) = WsClient::register(&server.url, "alice").await;
    let laptop_token = token_of(&established);
    let (mut phone, established) = WsClient::login(&server.url, "alice", PASSWORD).await;
    let phone_token = token_of(&established);
    let (mut tablet, _) = WsClient::resume(&server.url, &phone_token).await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    tablet.sync().await;

    let started = Instant::now();
    laptop.send(json!({"type": "logout", "everywhere": true})).await;
    let (own, _) = laptop.expect_close().await;
    assert_eq!((own.code, own.reason.as_str()), (1000, "logged out"));
    for client in [&mut phone, &mut tablet] {
        let (closed, _) = client.expect_close().await;
        assert_eq!((closed.code, closed.reason.as_str()), (1008, "logged out everywhere"));
    }
    let closed_in = started.elapsed();
    assert_revoked(&server.url, &laptop_token).await;
    assert_revoked(&server.url, &phone_token).await;
    bob.sync().await; // other users are not touched
    // A fresh login works again.
    WsClient::login(&server.url, "alice", PASSWORD).await;
    eprintln!("figure: logout everywhere closed the user's 2 other connections (2 tokens) with 1008 in {closed_in:.2?}; both tokens refused afterwards");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_in_beyond_the_token_cap_signs_out_the_oldest_session() {
    let server = TestServer::start(&["--tokens-per-user", "2"]);
    let (mut first, established) = WsClient::register(&server.url, "alice").await;
    let first_token = established["token"].as_str().unwrap().to_owned();
    let (mut second, established) = WsClient::login(&server.url, "alice", PASSWORD).await;
    let second_token = established["token"].as_str().unwrap().to_owned();
    second.sync().await;
    first.sync().await;
    let started = Instant::now();
    let (mut third, _) = WsClient::login(&server.url, "alice", PASSWORD).await;
    let (closed, _) = first.expect_close().await;
    let signed_out = started.elapsed();
    assert_eq!(closed.code, 1008, "{closed:?}");
    assert!(closed.reason.contains("too many sessions"), "{closed:?}");
    second.sync().await;
    third.sync().await;
    let mut refused = WsClient::connect(&server.url).await;
    refused.expect_error(json!({"type": "resume", "token": first_token}), "unauthorized").await;
    WsClient::resume(&server.url, &second_token).await;
    eprintln!("figure: at --tokens-per-user 2 a third login signed out the oldest session in {signed_out:.2?} (1008 {:?}); its token no longer resumes", closed.reason);
}
