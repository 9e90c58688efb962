//! B2 fan-out: rooms of 2, 100 and 1,000 joined connections; one publisher
//! per room sends at a paced (open-loop) rate and every member's receiver
//! records send→receive latency. The offered load doubles step by step
//! (with one step of 1.5× near the top) until p99 passes 50 ms or
//! deliveries fall behind the offered rate.

use super::{Bed, Figures, Size, open_joined, settle};
use crate::latency::{now_ns, stamped_body};
use crate::cluster::engines::{EngineCost, Engines};
use crate::proc_stat::CpuMeter;
use crate::servers::{Peer, Wire};
use crate::tally::Tally;
use crate::toolbox::{Toolbox, say};
use crate::wire::Sender;
use anyhow::{Result, ensure};
use std::time::{Duration, Instant};

/// Metric keys per room size: (max deliveries/s at p99 ≤ 50 ms, at p99 ≤ 20 ms,
/// p50 and p99 at the fixed load, deliveries/s at the fixed load).
pub const KEYS: [(usize, [&str; 5]); 3] = [
    (2, ["b2_2_max50", "b2_2_max20", "b2_2_p50", "b2_2_p99", "b2_2_fixed"]),
    (100, ["b2_100_max50", "b2_100_max20", "b2_100_p50", "b2_100_p99", "b2_100_fixed"]),
    (1000, ["b2_1000_max50", "b2_1000_max20", "b2_1000_p50", "b2_1000_p99", "b2_1000_fixed"]),
];

/// Rooms per size and the fixed load (deliveries/s) that starts the sweep.
pub fn shape(members: usize, size: Size) -> (usize, f64) {
    match members {
        2 => (size.pick(10, 50), 10_000.0),
        100 => (size.pick(1, 2), 100_000.0),
        _ => (1, 100_000.0),
    }
}

/// What one load step measured.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub delivered_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// p99 of the deliveries to receivers on another node than the sender
    /// (NaN when there were none: one node).
    pub cross_node_p99_ms: f64,
    pub keeps_up: bool,
    pub slow_closes: u64,
    pub generator_cpu: f64,
    /// What the servers and their engines spent in the window (cluster mode).
    pub cost: Option<EngineCost>,
}

pub async fn run(peer: Peer, tools: &Toolbox, size: Size) -> Result<Vec<Figures>> {
    let mut runs = Vec::new();
    for _ in 0..size.runs {
        let mut figures = Figures::new();
        for (members, keys) in KEYS {
            figures.extend(keys.into_iter().zip(one_size(peer, tools, size, members).await?));
        }
        runs.push(figures);
    }
    Ok(runs)
}

/// Sweeps one room size on a fresh server; returns the five figures in KEYS order.
async fn one_size(peer: Peer, tools: &Toolbox, size: Size, members: usize) -> Result<[f64; 5]> {
    let (room_count, fixed) = shape(members, size);
    let mut bed = Bed::start(peer, tools, size.pick(20, 200)).await?;
    let rooms = bed.rooms(room_count).await?;
    // Quick opens a room of 1,000 at once: InspIRCd completes registrations on
    // a ~1 s timer, so 200 at a time cost 5 s. Not a figure here, only setup.
    let clients = open_joined(&bed.target, members * room_count, &rooms, |i| i / members, size.pick(1000, 200)).await?;
    let tally = Tally::default();
    let mut publishers = Vec::new();
    let mut readers = Vec::new();
    // Members that only listen keep their sending halves open until the end.
    let mut listeners = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        let (sender, reader) = client.split(tally.clone());
        readers.push(reader);
        if i % members == 0 {
            publishers.push((sender, rooms[i / members].clone()));
        } else {
            listeners.push(sender);
        }
    }
    // IRC does not echo a message to its sender.
    let copies = if peer.wire() == Wire::Irc { members - 1 } else { members } as f64;
    let (mut max50, mut max20, mut at_fixed) = (0.0f64, 0.0f64, None);
    // Quick: a quarter of the fixed load, then the fixed load. Full: from a
    // quarter up to 16× (1.6 M deliveries/s for rooms of 100 and 1,000),
    // with 12× between the last two doublings so the top is located to
    // within 1.5×, not 2×. The fixed load is always measured; past it the
    // sweep stops at the first step that falls behind or breaks 50 ms.
    let levels: Vec<f64> = size.pick(vec![0.25, 1.0], vec![0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 12.0, 16.0]);
    for (i, factor) in levels.iter().enumerate() {
        let offered = fixed * factor;
        let per_room = offered / copies / room_count as f64;
        let last = i + 1 == levels.len();
        let measured;
        (publishers, measured) = load_step(publishers, &tally, per_room, copies, size, !last, None).await?;
        bed.server.check_alive()?;
        say(format!(
            "B2 {} room of {members}: offered {offered:.0}/s → {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, generator CPU {:.0}%",
            peer.name(),
            measured.delivered_per_sec,
            measured.p50_ms,
            measured.p99_ms,
            measured.generator_cpu * 100.0
        ));
        if *factor == 1.0 {
            at_fixed = Some(measured);
        }
        let good = measured.keeps_up && measured.p99_ms <= 50.0;
        if good {
            max50 = max50.max(measured.delivered_per_sec);
            if measured.p99_ms <= 20.0 {
                max20 = max20.max(measured.delivered_per_sec);
            }
        }
        // Closed connections (slow consumers: the server's defined answer
        // to overload, not an error) make every later step meaningless.
        if measured.slow_closes > 0 || (!good && at_fixed.is_some()) {
            break;
        }
    }
    let counts = tally.snapshot();
    ensure!(counts.errors == 0, "error replies during fan-out: {:?}", tally.first_error());
    let fixed_step = at_fixed.unwrap_or(Step::UNMEASURED);
    for reader in readers {
        reader.abort();
    }
    drop((publishers, listeners));
    settle(&mut bed, 0.2).await?;
    bed.finish().await?;
    Ok([max50, max20, fixed_step.p50_ms, fixed_step.p99_ms, fixed_step.delivered_per_sec])
}

impl Step {
    /// A load that was never offered (the sweep stopped before it).
    pub const UNMEASURED: Step = Step {
        delivered_per_sec: f64::NAN,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
        cross_node_p99_ms: f64::NAN,
        keeps_up: false,
        slow_closes: 0,
        generator_cpu: 0.0,
        cost: None,
    };
}

/// Runs every publisher at `per_room` messages/s for one step and measures
/// after a warm-up (and, given `engines`, what the server processes and
/// their engines spent meanwhile); returns the publishers for the next step.
pub async fn load_step(
    publishers: Vec<(Sender, String)>,
    tally: &Tally,
    per_room: f64,
    copies: f64,
    size: Size,
    drain: bool,
    engines: Option<&Engines>,
) -> Result<(Vec<(Sender, String)>, Step)> {
    let warmup = Duration::from_secs_f64(size.pick(0.3, 0.5));
    let window = Duration::from_secs_f64(size.pick(0.7, 1.5));
    let tasks: Vec<_> = publishers
        .into_iter()
        .map(|(sender, room)| tokio::spawn(publish(sender, room, per_room, warmup + window)))
        .collect();
    tokio::time::sleep(warmup).await;
    tally.reset_latency();
    let before = tally.snapshot();
    let generator = CpuMeter::start(std::process::id())?;
    let meter = match engines {
        Some(engines) => Some(engines.meter().await?),
        None => None,
    };
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let delivered_count = (tally.snapshot() - before).delivered;
    let delivered = delivered_count as f64 / started.elapsed().as_secs_f64();
    let generator_cpu = generator.share()?;
    let cost = match meter {
        Some(meter) => Some(meter.finish(delivered_count).await?),
        None => None,
    };
    let latency = tally.delivery.summary();
    let cross = tally.cross_node.summary();
    let mut publishers = Vec::new();
    for task in tasks {
        publishers.push(task.await??);
    }
    let after = tally.snapshot();
    if drain {
        quiesce(tally, size).await;
    }
    let offered = per_room * (publishers.len() as f64) * copies;
    let closes = after.slow_closes + after.closes;
    let keeps_up = closes == 0 && delivered >= 0.9 * offered;
    let step = Step {
        delivered_per_sec: delivered,
        p50_ms: latency.p50_ms,
        p99_ms: latency.p99_ms,
        cross_node_p99_ms: if cross.count > 0 { cross.p99_ms } else { f64::NAN },
        keeps_up,
        slow_closes: after.slow_closes,
        generator_cpu,
        cost,
    };
    Ok((publishers, step))
}

/// Waits until deliveries stop arriving (at most 2 s quick, 5 s full) so
/// steps do not overlap.
async fn quiesce(tally: &Tally, size: Size) {
    let mut last = tally.snapshot().delivered;
    for _ in 0..size.pick(20, 50) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = tally.snapshot().delivered;
        if now == last {
            return;
        }
        last = now;
    }
}

/// Sends `rate` messages/s to `room` for `duration`, paced by the clock
/// (open loop: a slow server does not slow the offered load down).
pub async fn publish(mut sender: Sender, room: String, rate: f64, duration: Duration) -> Result<(Sender, String)> {
    let started = Instant::now();
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while started.elapsed() < duration {
        tick.tick().await;
        let due = (started.elapsed().as_secs_f64() * rate) as u64;
        while sent < due {
            sent += 1;
            let body = stamped_body(64);
            sender.feed(&room, &body, &format!("{}-{sent}", now_ns())).await?;
        }
        sender.flush().await?;
    }
    Ok((sender, room))
}
