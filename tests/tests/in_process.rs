//! The server library started inside the test process (`Server::run` on a
//! listener bound to port 0, stopped with its shutdown token), as an
//! embedder or a future multi-node test would start it. Everything else in
//! this crate runs the real binary.

use heartlink_server::{Config, Server};
use heartlink_tests::{WAIT, WsClient};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// A server running on a task of this test.
struct InProcess {
    url: String,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), heartlink_server::ServerError>>,
}

async fn start(data_dir: &std::path::Path) -> InProcess {
    let server = Server::open(Config::new(data_dir.to_path_buf())).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.run(listener, shutdown.clone()));
    InProcess { url, shutdown, task }
}

impl InProcess {
    async fn stop(self) {
        self.shutdown.cancel();
        let stopped = tokio::time::timeout(WAIT, self.task).await.expect("the server did not stop");
        stopped.unwrap().expect("the server stopped with an error");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_started_in_process_serves_stops_cleanly_and_keeps_what_it_acked() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let (mut alice, established) = WsClient::register(&server.url, "alice").await;
    let token = established["token"].as_str().unwrap().to_owned();
    let room = alice.create_room("kitchen").await;
    alice.join(&room["id"]).await;
    let (mut bob, _) = WsClient::register(&server.url, "bob").await;
    bob.join(&room["id"]).await;
    alice.recv_type("user_joined").await;
    let ack = alice.post(&room["id"], "c1", "soup is ready").await;
    assert_eq!(ack["seq"], 1);
    assert_eq!(bob.recv_type("chat_message").await["body"], "soup is ready");

    server.stop().await;
    let (closed, _) = alice.expect_close().await;
    assert_eq!((closed.code, closed.reason.as_str()), (1001, "server shutting down"));

    // A second server on the same data dir has it all.
    let server = start(dir.path()).await;
    let (mut alice, _) = WsClient::resume(&server.url, &token).await;
    let joined = alice.request(json!({"type": "join", "room_id": room["id"], "since": 0}), "joined").await;
    assert_eq!((&joined["last_seq"], &joined["messages"][0]["body"]), (&json!(1), &json!("soup is ready")));
    server.stop().await;
}
