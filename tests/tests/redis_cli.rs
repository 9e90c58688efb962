//! `heartlink-server start --bus redis://…` (or `HEARTLINK_BUS`): the real
//! binary with a real redis-server, and a Redis that does not answer at
//! start refused with one clear line that never shows the password.

use heartlink_tests::redis::RedisServer;
use heartlink_tests::redis::cluster::healthz;
use heartlink_tests::{TestServer, WsClient, binaries};
use std::process::{Command, Stdio};

#[test]
fn an_unreachable_redis_is_refused_at_start_naming_the_url_without_its_password() {
    let data_dir = tempfile::tempdir().unwrap();
    // A port nobody listens on: a stopped redis-server's.
    let mut redis = RedisServer::start();
    redis.kill9();
    let port = redis.url.trim_start_matches("redis://127.0.0.1:").trim_end_matches('/').to_owned();
    let url = format!("redis://:hunter2secret@127.0.0.1:{port}/");
    let output = Command::new(binaries::bin("heartlink-server"))
        .args(["start", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir.path())
        .env("HEARTLINK_BUS", &url)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .output()
        .expect("run heartlink-server");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the server started: {stdout}");
    assert!(!stdout.contains("listening"), "an address was announced: {stdout}");
    assert!(stderr.contains("refusing to start"), "no clear reason: {stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "the URL is named: {stderr}");
    assert!(!stderr.contains("hunter2secret"), "the password is never printed: {stderr}");
    eprintln!("figure: refusal on stderr: {}", stderr.trim());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_started_with_bus_serves_and_reports_redis_in_healthz() {
    let mut redis = RedisServer::start();
    let server = TestServer::start(&["--bus", &redis.url]);
    let (mut alice, _) = WsClient::register(&server.url, "alice").await;
    let room = alice.create_room("one node on redis").await;
    alice.join(&room["id"]).await;
    assert_eq!(alice.post(&room["id"], "m1", "hello").await["seq"], 1);
    assert_eq!(healthz(&server.addr).await.0, 200);
    redis.kill9();
    let deadline = std::time::Instant::now() + heartlink_tests::WAIT;
    loop {
        let (status, body) = healthz(&server.addr).await;
        if status == 503 {
            assert!(body["reason"].as_str().is_some_and(|reason| reason.contains("Redis")), "the reason names Redis: {body}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "/healthz still {status}: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The node keeps serving its own members with Redis gone.
    assert_eq!(alice.post(&room["id"], "m2", "still here").await["seq"], 2);
}
