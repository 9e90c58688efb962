//! B6 churn: workers loop connect → handshake → authenticate (heartlink:
//! `resume`; IRC: NICK/USER) → join → close, for a bounded number of cycles
//! or time. The figures are completed cycles per second and the server's
//! RSS after the churn against its RSS before it.

use super::{Bed, Figures, Size, settle};
use crate::proc_stat::rss_kib;
use crate::servers::Peer;
use crate::toolbox::{Toolbox, say};
use anyhow::{Context, Result, ensure};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const RATE: &str = "b6_connects_per_sec";
pub const CYCLES: &str = "b6_cycles";
pub const RSS_BEFORE: &str = "b6_rss_before_kib";
pub const RSS_AFTER: &str = "b6_rss_after_kib";

const WORKERS: usize = 64;

pub async fn run(peer: Peer, tools: &Toolbox, size: Size) -> Result<Vec<Figures>> {
    let cycles: u64 = size.pick(1_000, 100_000);
    // Quick: InspIRCd registers on a ~1 s timer, so it hits the limit, not the cycle count.
    let limit = Duration::from_secs(size.pick(2, 30));
    let mut runs = Vec::new();
    for _ in 0..size.runs {
        let mut bed = Bed::start(peer, tools, size.pick(20, 200)).await?;
        let rooms = Arc::new(bed.rooms(10).await?);
        settle(&mut bed, size.pick(0.3, 1.0)).await?;
        let before = rss_kib(bed.server.pid)?;
        let next = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let deadline = started + limit;
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let (target, rooms, next) = (bed.target.clone(), Arc::clone(&rooms), Arc::clone(&next));
                tokio::spawn(async move {
                    let mut done = 0u64;
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= cycles || Instant::now() >= deadline {
                            return Ok::<u64, anyhow::Error>(done);
                        }
                        let mut client = target.connect(n as usize).await.with_context(|| format!("cycle {n}"))?;
                        client.join(&rooms[n as usize % rooms.len()], None).await.with_context(|| format!("cycle {n} join"))?;
                        client.close().await?;
                        done += 1;
                    }
                })
            })
            .collect();
        let mut done = 0;
        for worker in workers {
            done += worker.await.context("churn worker")??;
        }
        let rate = done as f64 / started.elapsed().as_secs_f64();
        settle(&mut bed, size.pick(0.5, 3.0)).await?;
        let after = rss_kib(bed.server.pid)?;
        ensure!(done > 0, "no connect/disconnect cycle completed");
        say(format!("B6 {}: {done} cycles at {rate:.0}/s, RSS {before} → {after} KiB", peer.name()));
        runs.push(vec![(RATE, rate), (CYCLES, done as f64), (RSS_BEFORE, before as f64), (RSS_AFTER, after as f64)]);
        bed.finish().await?;
    }
    Ok(runs)
}
