//! Attacks on authentication, each bounded in count and time: logins with
//! huge usernames (memory), hash jobs left by vanished connections, mass
//! registration and `username_taken` as an oracle, look-alike usernames.
//! (The login flood has a file of its own, abuse_login_flood.rs, so that it
//! runs alone and its timing is its own.)
//! CI runs them short; `HEARTLINK_ABUSE_LONG=1` (tests/long-run.sh) runs
//! them at ten times the sizes first reported.

use heartlink_tests::abuse::{
    RssWatch, ask, login_request as login, long_mode, mib, open_from, quantile, sized, source, stop_and_count_hashes,
    timed_login,
};
use heartlink_tests::{PASSWORD, TestServer, WsClient};
use serde_json::{Value, json};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_with_huge_usernames_cost_no_memory() {
    let logins = sized(1_200, 120_000);
    let server = TestServer::start(&["--max-connections-per-address", "1000"]);
    let watch = RssWatch::start(server.pid().unwrap());
    let huge = "u".repeat(60_000);
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..40)
        .map(|worker| {
            let (url, huge, done) = (server.url.clone(), huge.clone(), Arc::clone(&done));
            tokio::spawn(async move {
                let mut answered = 0;
                while done.load(Ordering::Relaxed) < logins {
                    let Ok(mut ws) = open_from(&url, HOME).await else { continue };
                    // Ten attempts a connection, then the server closes it.
                    for n in 0..10 {
                        let username = format!("{huge}{worker}-{n}-{answered}");
                        match ask(&mut ws, &login(&username, "some password")).await {
                            Ok(reply) => {
                                assert_eq!((&reply["type"], &reply["code"]), (&json!("error"), &json!("bad_credentials")));
                                answered += 1;
                                done.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(_) => break,
                        }
                    }
                }
                answered
            })
        })
        .collect();
    let mut answered = 0;
    for worker in workers {
        answered += worker.await.unwrap();
    }
    let took = started.elapsed();
    // And it is not held afterwards either.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = heartlink_tests::abuse::rss_kib(server.pid().unwrap());
    let (before, peak) = (watch.before_kib, watch.peak_kib());
    eprintln!(
        "figure: {answered} logins with 60 KB usernames in {took:.1?}, each bad_credentials at once; server RSS {} MiB -> \
         peak {} MiB -> {} MiB after",
        mib(before),
        mib(peak),
        mib(after)
    );
    assert!(answered >= logins);
    assert!(mib(peak) < 300, "server RSS peaked at {} MiB", mib(peak));
    assert!(mib(peak.saturating_sub(before)) < 60, "the flood grew the server by {} MiB", mib(peak - before));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_jobs_of_vanished_connections_are_dropped() {
    // No budget, so that only the dropping of abandoned jobs keeps the queue short.
    let vanishers = sized(200, 2_000);
    let mut server = TestServer::start(&["--auth-per-minute", "0"]);
    let (_, _) = WsClient::register(&server.url, "alice").await;
    let mut queued = 0;
    for n in 0..vanishers {
        // Each from its own address (the fair queue would otherwise keep them in one line).
        let Ok(mut ws) = open_from(&server.url, source(n)).await else { continue };
        use futures_util::SinkExt;
        let request = login(&format!("gone{n}"), "some password").to_string();
        if ws.send(tokio_tungstenite::tungstenite::Message::text(request)).await.is_ok() {
            queued += 1;
        }
        // Gone without a word: the TCP connection just closes.
        drop(ws);
    }
    let (reply, took) = timed_login(&server.url, IpAddr::from([127, 0, 0, 2]), "alice", PASSWORD).await;
    assert_eq!(reply["type"], "connection_established", "{reply}");
    let (hashed, abandoned) = stop_and_count_hashes(&mut server);
    eprintln!(
        "figure: {queued} logins sent by connections that closed at once: {abandoned} hash jobs dropped unrun, {hashed} \
         computed in all; a real login right after took {took:.0?}"
    );
    assert!(hashed * 4 <= queued as u64, "{hashed} hashes were computed for {queued} vanished logins");
    assert!(took < Duration::from_secs(2), "the real login waited {took:?} behind abandoned jobs");
}

/// One registration attempt on a fresh connection from `from`.
async fn timed_register(url: &str, from: IpAddr, username: &str) -> (Value, Duration) {
    let mut ws = open_from(url, from).await.expect("connect");
    let started = Instant::now();
    let reply = ask(&mut ws, &json!({"type": "register", "username": username, "password": PASSWORD})).await.expect("a reply");
    (reply, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_throttled_per_address_and_taken_names_cost_a_hash() {
    // In parallel, but well under the 64 connections an address may hold
    // (a closed connection holds its place until the server has seen it go).
    let (attempts, parallel) = (sized(14, 2_000), sized(1, 25));
    let server = TestServer::start(&[]);
    WsClient::register(&server.url, "alice").await;
    let watch = RssWatch::start(server.pid().unwrap());
    let from = IpAddr::from([127, 0, 0, 3]);
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..parallel)
        .map(|_| {
            let (url, next) = (server.url.clone(), Arc::clone(&next));
            tokio::spawn(async move {
                let mut replies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= attempts {
                        return replies;
                    }
                    // Alternately a taken name and a new one.
                    let username = if n % 2 == 0 { "alice".to_owned() } else { format!("new{n}") };
                    replies.push(timed_register(&url, from, &username).await);
                }
            })
        })
        .collect();
    let (mut new_times, mut taken_times, mut limited) = (Vec::new(), Vec::new(), 0);
    for task in tasks {
        for (reply, took) in task.await.unwrap() {
            match (reply["type"].as_str(), reply["code"].as_str()) {
                (Some("connection_established"), _) => new_times.push(took),
                (_, Some("username_taken")) => taken_times.push(took),
                (_, Some("rate_limited")) => {
                    // Over the budget (minutes), or more at once than the hashing queue takes (a second).
                    assert!(reply["retry_after_ms"].as_u64().is_some_and(|ms| ms >= 1000), "{reply}");
                    limited += 1;
                }
                _ => panic!("unexpected reply to register: {reply}"),
            }
        }
    }
    let (created, taken) = (new_times.len(), taken_times.len());
    let (new_median, taken_median) = (quantile(&mut new_times, 0.5), quantile(&mut taken_times, 0.5));
    eprintln!(
        "figure: {attempts} registrations from one address: {created} created, {taken} username_taken, {limited} \
         rate_limited; median reply new {new_median:.1?} vs taken {taken_median:.1?}; server RSS peak {} MiB",
        mib(watch.peak_kib())
    );
    assert_eq!(created + taken, 10, "ten registration attempts per address, then rate_limited");
    assert!(taken_median * 2 >= new_median, "username_taken ({taken_median:?}) is still cheaper than a new account ({new_median:?})");
    // Another address may still register.
    let (reply, _) = timed_register(&server.url, IpAddr::from([127, 0, 0, 4]), "carol").await;
    assert_eq!(reply["type"], "connection_established", "{reply}");
}

#[tokio::test]
async fn look_alike_usernames_cannot_register_beside_the_original() {
    let server = TestServer::start(&[]);
    WsClient::register(&server.url, "alice").await;
    let mut client = WsClient::connect(&server.url).await;
    for fake in ["aIice", "a1ice", "alice.", "A1ice", "al_ice"] {
        let error =
            client.expect_error(json!({"type": "register", "username": fake, "password": PASSWORD}), "username_taken").await;
        assert!(error["message"].as_str().unwrap().contains("looks too much like"), "{fake}: {error}");
    }
    let established = client
        .request(json!({"type": "register", "username": "alicia", "password": PASSWORD}), "connection_established")
        .await;
    assert_eq!(established["user"]["username"], "alicia");
    // The original still logs in.
    WsClient::login(&server.url, "alice", PASSWORD).await;
    if long_mode() {
        eprintln!("figure: aIice, a1ice, alice., A1ice and al_ice refused beside alice; alicia accepted");
    }
}
