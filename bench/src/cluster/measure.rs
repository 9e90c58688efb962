//! B3 and B2 on a cluster bed, with what each window cost the nodes,
//! PostgreSQL and Redis. The generator code is B3's and B2's own
//! (closed-loop senders, paced publishers, the same load steps); what is
//! added is the spread over nodes, the cross-node latency and the cost.
//!
//! - B3: closed-loop senders (100 quick, 200 full), 4 in flight each, one
//!   room each, sender i on node i % nodes. Figures per acked message.
//! - B2: rooms of 100 (1 quick, 2 full), member i on node i % nodes, one
//!   publisher per room; receivers on another node than their room's
//!   publisher are the cross-node deliveries. Quick offers the fixed load
//!   (100,000 deliveries/s) once; a full run sweeps it from a quarter to 8×
//!   as B2 does. Costs are per delivery, at the fixed load.

use super::deploy::ClusterBed;
use super::engines::EngineCost;
use crate::proc_stat::CpuMeter;
use crate::scenarios::durable::{Load, WINDOW, finish_senders, spawn_senders};
use crate::scenarios::fanout::{Step, load_step};
use crate::scenarios::{Figures, Size, create_rooms, open_joined};
use crate::tally::Tally;
use crate::toolbox::say;
use anyhow::{Result, ensure};
use std::time::{Duration, Instant};

/// Members per B2 room, and the fixed offered load in deliveries/s.
const MEMBERS: usize = 100;
const FIXED: f64 = 100_000.0;

/// B3 on `bed`: acked/s, ack and echo latency, and the cost per acked message.
pub async fn durable(bed: &mut ClusterBed, size: Size) -> Result<Figures> {
    let senders = size.pick(100, 200);
    let rooms = create_rooms(&bed.target, senders).await?;
    let clients = open_joined(&bed.target, senders, &rooms, |i| i, 100).await?;
    let tally = Tally::default();
    let warmup = Duration::from_secs_f64(size.pick(0.5, 1.0));
    let window = Duration::from_secs_f64(size.pick(1.0, 5.0));
    let load = Load::new(u64::MAX, Instant::now() + warmup + window);
    let tasks = spawn_senders(clients, &rooms, &tally, &load);
    tokio::time::sleep(warmup).await;
    tally.reset_latency();
    let before = tally.snapshot();
    let generator = CpuMeter::start(std::process::id())?;
    let meter = bed.engines.meter().await?;
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let acked = (tally.snapshot() - before).acked;
    let cost = meter.finish(acked).await?;
    let acked_per_sec = acked as f64 / started.elapsed().as_secs_f64();
    let generator_cpu = generator.share()? * 100.0;
    let (ack, echo) = (tally.ack.summary(), tally.delivery.summary());
    // Every outstanding ack is in before the bed moves on to B2.
    drop(finish_senders(tasks).await?);
    bed.check_alive()?;
    ensure!(tally.snapshot().errors == 0, "error replies: {:?}", tally.first_error());
    say(format!(
        "cluster B3 {}: {acked_per_sec:.0} acked/s, ack p99 {:.2} ms, {} in flight, {}, generator CPU {generator_cpu:.0}%",
        bed.deployment.name(),
        ack.p99_ms,
        senders * WINDOW,
        describe(&cost)
    ));
    let mut figures = vec![
        ("c3_acked", acked_per_sec),
        ("c3_ack_p50", ack.p50_ms),
        ("c3_ack_p99", ack.p99_ms),
        ("c3_echo_p99", echo.p99_ms),
    ];
    figures.extend(cost_figures(
        &cost,
        ["c3_node_us", "c3_pg_us", "c3_redis_us", "c3_total_us", "c3_wal", "c3_publishes", "c3_redis_calls"],
    ));
    Ok(figures)
}

/// B2 (rooms of 100) on `bed`: deliveries/s, latency, cross-node latency and the cost per delivery.
pub async fn fanout(bed: &mut ClusterBed, size: Size) -> Result<Figures> {
    let room_count = size.pick(1, 2);
    let rooms = create_rooms(&bed.target, room_count).await?;
    let clients = open_joined(&bed.target, MEMBERS * room_count, &rooms, |i| i / MEMBERS, 200).await?;
    let tally = Tally::default();
    let (mut publishers, mut readers, mut listeners) = (Vec::new(), Vec::new(), Vec::new());
    for (i, client) in clients.into_iter().enumerate() {
        let publisher = i / MEMBERS * MEMBERS;
        let remote = bed.target.node_of(i) != bed.target.node_of(publisher);
        let (sender, reader) = client.split(if remote { tally.for_remote_receiver() } else { tally.clone() });
        readers.push(reader);
        if i == publisher {
            publishers.push((sender, rooms[i / MEMBERS].clone()));
        } else {
            listeners.push(sender);
        }
    }
    let copies = MEMBERS as f64;
    let levels: Vec<f64> = size.pick(vec![1.0], vec![0.25, 0.5, 1.0, 2.0, 4.0, 8.0]);
    let (mut max50, mut at_fixed) = (0.0f64, None);
    for (i, factor) in levels.iter().enumerate() {
        let per_room = FIXED * factor / copies / room_count as f64;
        let last = i + 1 == levels.len();
        let step;
        (publishers, step) = load_step(publishers, &tally, per_room, copies, size, !last, Some(&bed.engines)).await?;
        bed.check_alive()?;
        say(format!(
            "cluster B2 {} room of {MEMBERS}: offered {:.0}/s → {:.0}/s, p99 {:.2} ms, cross-node p99 {:.2} ms, generator CPU {:.0}%",
            bed.deployment.name(),
            FIXED * factor,
            step.delivered_per_sec,
            step.p99_ms,
            step.cross_node_p99_ms,
            step.generator_cpu * 100.0
        ));
        let good = step.keeps_up && step.p99_ms <= 50.0;
        if good {
            max50 = max50.max(step.delivered_per_sec);
        }
        if *factor == 1.0 {
            at_fixed = Some(step);
        }
        if step.slow_closes > 0 || (!good && at_fixed.is_some()) {
            break;
        }
    }
    ensure!(tally.snapshot().errors == 0, "error replies during fan-out: {:?}", tally.first_error());
    for reader in readers {
        reader.abort();
    }
    drop((publishers, listeners));
    let fixed = at_fixed.unwrap_or(Step::UNMEASURED);
    let mut figures = vec![
        ("c2_max50", max50),
        ("c2_fixed", fixed.delivered_per_sec),
        ("c2_p50", fixed.p50_ms),
        ("c2_p99", fixed.p99_ms),
        ("c2_cross_p99", fixed.cross_node_p99_ms),
    ];
    if let Some(cost) = fixed.cost {
        say(format!("cluster B2 {} at the fixed load: {}", bed.deployment.name(), describe(&cost)));
        figures.extend(cost_figures(
            &cost,
            ["c2_node_us", "c2_pg_us", "c2_redis_us", "c2_total_us", "c2_wal", "c2_publishes", "c2_redis_calls"],
        ));
    }
    Ok(figures)
}

/// The cost figures under `keys`: node, PostgreSQL, Redis and total CPU µs
/// per unit, WAL bytes, publishes and Redis commands per unit. What was not
/// measured (no PostgreSQL, no Redis) is left out, so the table shows "–".
fn cost_figures(cost: &EngineCost, keys: [&'static str; 7]) -> Figures {
    let [node, pg, redis, total, wal, publishes, calls] = keys;
    let mut figures = vec![(node, cost.micros_per_unit(cost.nodes_cpu))];
    let mut all = cost.nodes_cpu;
    if let Some(cpu) = cost.postgres_cpu {
        figures.push((pg, cost.micros_per_unit(cpu)));
        all += cpu;
    }
    if let Some(cpu) = cost.redis_cpu {
        figures.push((redis, cost.micros_per_unit(cpu)));
        all += cpu;
    }
    figures.push((total, cost.micros_per_unit(all)));
    if let Some(bytes) = cost.wal_bytes {
        figures.push((wal, cost.per_unit(bytes)));
    }
    if let Some(counts) = cost.redis_calls {
        figures.push((publishes, cost.per_unit(counts.publish)));
        figures.push((calls, cost.per_unit(counts.all)));
    }
    figures
}

/// One log line's worth of a cost.
fn describe(cost: &EngineCost) -> String {
    let share = |cpu: f64| cpu / cost.wall_secs.max(1e-6) * 100.0;
    let mut text = format!("nodes {:.0}% of a core", share(cost.nodes_cpu));
    if let Some(cpu) = cost.postgres_cpu {
        text.push_str(&format!(", PostgreSQL {:.0}%", share(cpu)));
    }
    if let Some(cpu) = cost.redis_cpu {
        text.push_str(&format!(", Redis {:.0}%", share(cpu)));
    }
    text
}
