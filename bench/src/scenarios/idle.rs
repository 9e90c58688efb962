//! B1 idle memory: N authenticated connections joined to rooms (heartlink:
//! a pool of users, each with many connections via `resume`), then the
//! server's RSS growth per connection and its CPU share while idle.

use super::{Bed, Figures, Size, open_joined, settle};
use crate::proc_stat::{CpuMeter, rss_kib};
use crate::servers::Peer;
use crate::tally::Tally;
use crate::toolbox::{Toolbox, say};
use anyhow::{Result, ensure};

pub const RSS_PER_CONN: &str = "b1_rss_per_conn_kib";
pub const IDLE_CPU: &str = "b1_idle_cpu_pct";
pub const CONNS: &str = "b1_connections";
pub const SETUP_RATE: &str = "b1_open_rate";

/// One run per repetition: fresh server, baseline, N connections, idle window.
pub async fn run(peer: Peer, tools: &Toolbox, size: Size) -> Result<Vec<Figures>> {
    let conns = size.pick(1_000, 10_000);
    let rooms = size.pick(10, 100);
    let idle_secs = size.pick(1.0, 10.0);
    let mut runs = Vec::new();
    for _ in 0..size.runs {
        let mut bed = Bed::start(peer, tools, size.pick(20, 200)).await?;
        let room_ids = bed.rooms(rooms).await?;
        // Long enough for the server's startup allocations to settle.
        settle(&mut bed, size.pick(0.3, 1.0)).await?;
        let baseline = rss_kib(bed.server.pid)?;
        let started = std::time::Instant::now();
        let clients = open_joined(&bed.target, conns, &room_ids, |i| i, 200).await?;
        let open_rate = conns as f64 / started.elapsed().as_secs_f64();
        // Keep reading (presence, pings) so no connection looks dead or slow.
        let tally = Tally::default();
        let parts: Vec<_> = clients.into_iter().map(|client| client.split(tally.clone())).collect();
        settle(&mut bed, size.pick(0.5, 3.0)).await?;
        let loaded = rss_kib(bed.server.pid)?;
        let cpu = CpuMeter::start(bed.server.pid)?;
        settle(&mut bed, idle_secs).await?;
        let idle_cpu = cpu.share()? * 100.0;
        let counts = tally.snapshot();
        ensure!(counts.closes + counts.slow_closes == 0, "{} idle connections were closed", counts.closes + counts.slow_closes);
        ensure!(counts.errors == 0, "error replies while idle: {:?}", tally.first_error());
        let per_conn = loaded.saturating_sub(baseline) as f64 / conns as f64;
        say(format!("B1 {}: {conns} conns, RSS {baseline} → {loaded} KiB ({per_conn:.2} KiB/conn), idle CPU {idle_cpu:.2}%", peer.name()));
        runs.push(vec![(RSS_PER_CONN, per_conn), (IDLE_CPU, idle_cpu), (CONNS, conns as f64), (SETUP_RATE, open_rate)]);
        for (_, reader) in parts {
            reader.abort();
        }
        bed.finish().await?;
    }
    Ok(runs)
}
