//! A login flood from 400 connections of one address, with ever new
//! usernames (so no per-username throttle applies): real users logging in
//! from other addresses meanwhile must stay fast (p99 under 500 ms). Then a
//! flood from more connections and addresses (4,000 in the long run, ten
//! times the reported 400), for the server's memory. In a file of its own,
//! one flood at a time, so that no other test shares the CPU with them.
//! `HEARTLINK_ABUSE_LONG=1` runs them with more users and rounds.

use heartlink_tests::abuse::{
    RssWatch, ask, login_request as login, mib, open_from, quantile, sized, source, stop_and_count_hashes, timed_login,
};
use heartlink_tests::{PASSWORD, TestServer};
use serde_json::json;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const FLOOD_FROM: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));

/// Flood connections spread over `sources`: each logs in with ever new
/// usernames as fast as the replies come, reconnecting when closed, until
/// `stop`.
fn flood(url: &str, sources: &[IpAddr], connections: usize, stop: &Arc<AtomicBool>, sent: &Arc<AtomicUsize>) -> Vec<tokio::task::JoinHandle<()>> {
    (0..connections)
        .map(|task| {
            let (url, stop, sent) = (url.to_owned(), Arc::clone(stop), Arc::clone(sent));
            let from = sources[task % sources.len()];
            tokio::spawn(async move {
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut ws) = open_from(&url, from).await else {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    };
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        sent.fetch_add(1, Ordering::Relaxed);
                        if ask(&mut ws, &login(&format!("flood{task}x{n}"), "flood-password")).await.is_err() {
                            break;
                        }
                    }
                }
            })
        })
        .collect()
}

/// What one flood run measured.
struct Measured {
    flooded_for: Duration,
    attempts: usize,
    hashed: u64,
    abandoned: u64,
    /// Real logins' times (request to reply), sorted.
    times: Vec<Duration>,
    peak_kib: u64,
}

impl Measured {
    fn quantile(&mut self, p: f64) -> Duration {
        quantile(&mut self.times, p)
    }
}

/// Floods a fresh server with `connections` spread over `sources` while
/// `users` real users, each from an address of their own, log in `rounds`
/// times each. The per-address cap is lifted so that the flood meets the
/// hashing defences (budget, fair queue), not the connection cap.
async fn flood_and_measure(sources: &[IpAddr], connections: usize, users: usize, rounds: usize) -> Measured {
    let mut server = TestServer::start(&["--max-connections-per-address", "5000", "--max-connections", "15000"]);
    let homes: Vec<IpAddr> = (0..users).map(|n| IpAddr::from([127, 0, 0, 10 + n as u8])).collect();
    for (n, home) in homes.iter().enumerate() {
        let mut ws = open_from(&server.url, *home).await.unwrap();
        let reply = ask(&mut ws, &json!({"type": "register", "username": format!("real{n}"), "password": PASSWORD})).await.unwrap();
        assert_eq!(reply["type"], "connection_established", "{reply}");
    }
    let watch = RssWatch::start(server.pid().unwrap());
    let (stop, sent) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let flood_started = Instant::now();
    let flooders = flood(&server.url, sources, connections, &stop, &sent);
    // Let the flood fill the queue and use up its budget first.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut times = Vec::new();
    for _ in 0..rounds {
        for (n, home) in homes.iter().enumerate() {
            let (reply, took) = timed_login(&server.url, *home, &format!("real{n}"), PASSWORD).await;
            assert_eq!(reply["type"], "connection_established", "{reply}");
            times.push(took);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for flooder in flooders {
        let _ = flooder.await;
    }
    let (flooded_for, attempts, peak_kib) = (flood_started.elapsed(), sent.load(Ordering::Relaxed), watch.peak_kib());
    let (hashed, abandoned) = stop_and_count_hashes(&mut server);
    Measured { flooded_for, attempts, hashed, abandoned, times, peak_kib }
}

/// The two floods share the machine with nothing else, not even each other.
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_from_400_connections_leaves_real_logins_fast() {
    let _alone = ALONE.lock().await;
    let mut run = flood_and_measure(&[FLOOD_FROM], 400, sized(5, 20), sized(5, 10)).await;
    let samples = run.times.len();
    let (p50, p99, max) = (run.quantile(0.5), run.quantile(0.99), run.quantile(1.0));
    eprintln!(
        "figure: 400 connections flooding logins from one address for {:.1?} ({} attempts, {} hashes computed in \
         all, {} dropped unrun); {samples} real logins from other addresses meanwhile: p50 {p50:.0?}, p99 {p99:.0?}, \
         max {max:.0?}; server RSS peak {} MiB",
        run.flooded_for,
        run.attempts,
        run.hashed,
        run.abandoned,
        mib(run.peak_kib)
    );
    assert!(p99 < Duration::from_millis(500), "a real login took {p99:?} (p99) during the flood");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_ten_times_the_connections_and_ten_addresses_keeps_memory_bounded() {
    let _alone = ALONE.lock().await;
    let connections = sized(1_000, 4_000);
    let sources: Vec<IpAddr> = (0..10).map(source).collect();
    let mut run = flood_and_measure(&sources, connections, sized(3, 10), sized(3, 5)).await;
    let samples = run.times.len();
    let (p50, p99) = (run.quantile(0.5), run.quantile(0.99));
    eprintln!(
        "figure: {connections} connections from 10 addresses flooding logins for {:.1?} ({} attempts, {} hashes): \
         server RSS peak {} MiB; {samples} real logins meanwhile: p50 {p50:.0?}, p99 {p99:.0?}",
        run.flooded_for,
        run.attempts,
        run.hashed,
        mib(run.peak_kib)
    );
    assert!(mib(run.peak_kib) < 300, "server RSS peaked at {} MiB", mib(run.peak_kib));
    // Ten flooding addresses can each have a check ahead of a real user's.
    assert!(p99 < Duration::from_secs(2), "a real login took {p99:?} (p99) during the flood");
}
