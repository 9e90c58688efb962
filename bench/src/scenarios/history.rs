//! B5 history: the store is filled through the socket (the B3 closed-loop
//! senders, several rooms) up to the message count, then connections ask
//! for `history{before_seq, limit: 50}` pages at random depths. Each
//! connection stays under the server's 50 requests/s per-connection limit,
//! so the figure is the page read, not the rate limiter. The fill is done
//! once; the measurement is repeated on the same store.

use super::catchup::median;
use super::durable::fill;
use super::{Bed, Figures, Size, open_joined};
use crate::latency::Recorder;
use crate::servers::Peer;
use crate::toolbox::{Toolbox, say};
use crate::wire::reply_to;
use anyhow::{Context, Result};
use std::time::{Duration, Instant};

pub const P50: &str = "b5_page_p50_ms";
pub const P99: &str = "b5_page_p99_ms";
pub const STORED: &str = "b5_messages_stored";
pub const FILL_RATE: &str = "b5_fill_per_sec";

const ROOMS: usize = 10;
const PAGE: u32 = 50;

pub async fn run(peer: Peer, tools: &Toolbox, size: Size) -> Result<Vec<Figures>> {
    let messages: u64 = size.pick(5_000, 1_000_000);
    let bed = Bed::start(peer, tools, size.pick(20, 100)).await?;
    let rooms = bed.rooms(ROOMS).await?;
    let limit = Duration::from_secs(size.pick(60, 300));
    let (acked, fill_rate) = fill(&bed.target, &rooms, size.pick(20, 100), messages, limit).await?;
    say(format!("B5 {}: stored {acked} messages at {fill_rate:.0}/s", peer.name()));
    let stored = acked as f64;
    let per_room = acked / ROOMS as u64;
    let readers = size.pick(10, 20);
    let clients = open_joined(&bed.target, readers, &rooms, |i| i, 20).await?;
    let mut clients = clients;
    let mut runs = Vec::new();
    for _ in 0..size.runs {
        let recorder = Recorder::new();
        let seconds = size.pick(1.0, 8.0);
        let readers_now = clients.len().max(1) as u32;
        let tasks: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(i, client)| {
                let phase = PACE * i as u32 / readers_now;
                tokio::spawn(read_pages(client, rooms[i % ROOMS].clone(), per_room, seconds, phase, recorder.clone()))
            })
            .collect();
        clients = Vec::new();
        for task in tasks {
            clients.push(task.await.context("history reader")??);
        }
        let summary = recorder.summary();
        say(format!("B5 {}: {} pages, p50 {:.3} ms, p99 {:.3} ms", peer.name(), summary.count, summary.p50_ms, summary.p99_ms));
        runs.push(vec![(P50, summary.p50_ms), (P99, summary.p99_ms), (STORED, stored), (FILL_RATE, fill_rate)]);
    }
    // Closed first: a server stopping with open connections waits for them.
    for client in clients {
        client.close().await?;
    }
    bed.finish().await?;
    let mut p99s: Vec<f64> = runs.iter().filter_map(|r| r.get(1).map(|(_, v)| *v)).collect();
    say(format!("B5 median p99 {:.3} ms", median(&mut p99s)));
    Ok(runs)
}

/// Each reader asks for a page every `PACE` (40 per second).
const PACE: Duration = Duration::from_millis(25);

/// Reads pages at random depths, one at a time, 40 per second at most,
/// starting `phase` into the pace. Readers are spread over the pace like
/// independent clients: started in step, all of them asked at the same
/// instant and each page waited behind the others, so the figure measured
/// the generator's burst rather than a page read.
async fn read_pages(
    mut client: crate::wire::Client,
    room: String,
    last_seq: u64,
    seconds: f64,
    phase: Duration,
    recorder: Recorder,
) -> Result<crate::wire::Client> {
    let ws = client.ws().context("history needs heartlink")?;
    let started = Instant::now();
    let mut pace = tokio::time::interval_at(tokio::time::Instant::now() + phase, PACE);
    let mut n = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        pace.tick().await;
        n += 1;
        let before = fastrand_seq(n, last_seq);
        let request = serde_json::json!({"type": "history", "room_id": room, "before_seq": before, "limit": PAGE, "ref": "h"});
        let sent = Instant::now();
        reply_to(ws, request.to_string(), "history").await?;
        recorder.record_micros(sent.elapsed().as_micros() as u64);
    }
    Ok(client)
}

/// A well-spread page position in 51..=last_seq+1 (a multiplicative hash of
/// the request number: random enough to defeat caching patterns, and
/// repeatable from run to run).
fn fastrand_seq(n: u64, last_seq: u64) -> u64 {
    let span = last_seq.saturating_sub(PAGE as u64).max(1);
    PAGE as u64 + 1 + (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) % span
}
