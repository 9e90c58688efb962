//! A login flood from 400 connections of one address, with ever new
//! usernames (so no per-username throttle applies): real users logging in
//! from other addresses meanwhile must stay fast (p99 under 500 ms). In a
//! file of its own so that no other test shares the CPU with it.
//! `HEARTLINK_ABUSE_LONG=1` runs it with more users and rounds.

use heartlink_tests::abuse::{
    RssWatch, ask, login_request as login, mib, open_from, quantile, sized, stop_and_count_hashes, timed_login,
};
use heartlink_tests::{PASSWORD, TestServer};
use serde_json::json;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const FLOOD_FROM: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));

/// Flood connections from `from`: each logs in with ever new usernames as
/// fast as the replies come, reconnecting when closed, until `stop`.
fn flood(url: &str, from: IpAddr, connections: usize, stop: &Arc<AtomicBool>, sent: &Arc<AtomicUsize>) -> Vec<tokio::task::JoinHandle<()>> {
    (0..connections)
        .map(|task| {
            let (url, stop, sent) = (url.to_owned(), Arc::clone(stop), Arc::clone(sent));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_from_400_connections_leaves_real_logins_fast() {
    // The cap per address is lifted so that the flood meets the hashing
    // defences (budget, fair queue), not the connection cap.
    let mut server = TestServer::start(&["--max-connections-per-address", "1000"]);
    let users = sized(5, 20);
    let rounds = sized(5, 10);
    let homes: Vec<IpAddr> = (0..users).map(|n| IpAddr::from([127, 0, 0, 10 + n as u8])).collect();
    for (n, home) in homes.iter().enumerate() {
        let mut ws = open_from(&server.url, *home).await.unwrap();
        let reply = ask(&mut ws, &json!({"type": "register", "username": format!("real{n}"), "password": PASSWORD})).await.unwrap();
        assert_eq!(reply["type"], "connection_established", "{reply}");
    }
    let watch = RssWatch::start(server.pid().unwrap());
    let (stop, sent) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let flood_started = Instant::now();
    let flooders = flood(&server.url, FLOOD_FROM, 400, &stop, &sent);
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
    let attempts = sent.load(Ordering::Relaxed);
    let peak = watch.peak_kib();
    let flooded_for = flood_started.elapsed();
    let (hashed, abandoned) = stop_and_count_hashes(&mut server);
    let samples = times.len();
    let (p50, p99, max) = (quantile(&mut times, 0.5), quantile(&mut times, 0.99), quantile(&mut times, 1.0));
    eprintln!(
        "figure: 400 connections flooding logins from one address for {flooded_for:.1?} ({attempts} attempts, \
         {hashed} hashes computed in all, {abandoned} dropped unrun); {samples} real logins from other addresses \
         meanwhile: p50 {p50:.0?}, p99 {p99:.0?}, max {max:.0?}; server RSS peak {} MiB",
        mib(peak)
    );
    assert!(p99 < Duration::from_millis(500), "a real login took {p99:?} (p99) during the flood");
}

