//! B3 durable throughput: many concurrent senders, each keeping a window of
//! sends in flight (closed loop), each `ack` timed from its send. On
//! heartlink an ack means the message is on disk (group commit); the JSON
//! room peers ack without storing anything, so their figures are a
//! reference for the cost of durability, not a like-for-like rival.
//! The same closed-loop sender fills the store for B4 and B5.

use super::{Bed, Figures, Size, durable_paced, open_joined};
use crate::latency::{now_ns, stamped_body};
use crate::proc_stat::CpuMeter;
use crate::servers::Peer;
use crate::tally::Tally;
use crate::toolbox::{Toolbox, say};
use crate::wire::{Client, Frame, Target};
use anyhow::{Context, Result, bail, ensure};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const ACKED: &str = "b3_acked_per_sec";
pub const P50: &str = "b3_ack_p50_ms";
pub const P99: &str = "b3_ack_p99_ms";

/// Sends in flight per sender.
pub const WINDOW: usize = 4;

pub async fn run(peer: Peer, tools: &Toolbox, size: Size) -> Result<Vec<Figures>> {
    // Closed loop: acks/s = sends in flight ÷ ack latency, so 50,000/s needs
    // 400 in flight at 8 ms (quick) and 800 at 16 ms (full). Fewer senders
    // would cap the figure below what a fast group commit can do.
    let senders = size.pick(100, 200);
    let mut runs = Vec::new();
    for _ in 0..size.runs {
        let mut bed = Bed::start(peer, tools, size.pick(20, 200)).await?;
        // One room per sender: the broadcast is just the sender's own copy,
        // so the figure is the commit path, not fan-out.
        let rooms = bed.rooms(senders).await?;
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
        let started = Instant::now();
        tokio::time::sleep(window).await;
        let acked = (tally.snapshot() - before).acked as f64 / started.elapsed().as_secs_f64();
        // Near 100% would mean the generator, not the server, set the figure.
        let generator_cpu = generator.share()? * 100.0;
        let latency = tally.ack.summary();
        let clients = finish_senders(tasks).await?;
        bed.server.check_alive()?;
        ensure!(tally.snapshot().errors == 0, "error replies: {:?}", tally.first_error());
        say(format!(
            "B3 {}: {acked:.0} acked/s, ack p50 {:.2} ms, p99 {:.2} ms, {} in flight, generator CPU {generator_cpu:.0}%",
            peer.name(),
            latency.p50_ms,
            latency.p99_ms,
            senders * WINDOW
        ));
        let mut figures = vec![(ACKED, acked), (P50, latency.p50_ms), (P99, latency.p99_ms)];
        figures.extend(at_fixed_load(clients, &rooms, size, peer).await?);
        bed.server.check_alive()?;
        runs.push(figures);
        bed.finish().await?;
    }
    Ok(runs)
}

/// The same senders at a paced [`durable_paced::OFFERED_RATE`] in total:
/// acks/s and ack latency at that load.
async fn at_fixed_load(clients: Vec<Client>, rooms: &[String], size: Size, peer: Peer) -> Result<Figures> {
    let tally = Tally::default();
    let rate = durable_paced::OFFERED_RATE / clients.len() as f64;
    let warmup = Duration::from_secs_f64(size.pick(0.5, 1.0));
    let window = Duration::from_secs_f64(size.pick(1.0, 5.0));
    let until = Instant::now() + warmup + window;
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, client)| tokio::spawn(durable_paced::paced(client, rooms[i % rooms.len()].clone(), tally.clone(), rate, until)))
        .collect();
    tokio::time::sleep(warmup).await;
    tally.reset_latency();
    let before = tally.snapshot();
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let acked = (tally.snapshot() - before).acked as f64 / started.elapsed().as_secs_f64();
    let latency = tally.ack.summary();
    finish_senders(tasks).await?;
    ensure!(tally.snapshot().errors == 0, "error replies at the fixed load: {:?}", tally.first_error());
    say(format!(
        "B3 {} at {:.0}/s offered: {acked:.0} acked/s, ack p50 {:.2} ms, p99 {:.2} ms",
        peer.name(),
        durable_paced::OFFERED_RATE,
        latency.p50_ms,
        latency.p99_ms
    ));
    Ok(vec![
        (durable_paced::OFFERED, durable_paced::OFFERED_RATE),
        (durable_paced::ACKED, acked),
        (durable_paced::P50, latency.p50_ms),
        (durable_paced::P99, latency.p99_ms),
    ])
}

/// How much the senders may send: a message budget and a deadline.
#[derive(Debug, Clone)]
pub struct Load {
    budget: Arc<AtomicU64>,
    deadline: Instant,
}

impl Load {
    pub fn new(messages: u64, deadline: Instant) -> Self {
        Self { budget: Arc::new(AtomicU64::new(messages)), deadline }
    }

    /// Takes one message from the budget, if any remains and time is left.
    fn take(&self) -> bool {
        Instant::now() < self.deadline
            && self.budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(1)).is_ok()
    }
}

/// Starts one closed-loop sender per client; sender i sends to rooms[i % len].
pub fn spawn_senders(
    clients: Vec<Client>,
    rooms: &[String],
    tally: &Tally,
    load: &Load,
) -> Vec<tokio::task::JoinHandle<Result<Client>>> {
    clients
        .into_iter()
        .enumerate()
        .map(|(i, client)| tokio::spawn(closed_loop(client, rooms[i % rooms.len()].clone(), tally.clone(), load.clone())))
        .collect()
}

/// Waits for every sender; the first failure is the run's error.
pub async fn finish_senders(tasks: Vec<tokio::task::JoinHandle<Result<Client>>>) -> Result<Vec<Client>> {
    let mut clients = Vec::new();
    for task in tasks {
        clients.push(task.await.context("sender task")??);
    }
    Ok(clients)
}

/// Keeps WINDOW sends in flight until the load is used up, then waits for
/// the outstanding acks. Replacement sends are written once every buffered
/// frame has been handled, so one read's acks cost one write.
async fn closed_loop(mut client: Client, room: String, tally: Tally, load: Load) -> Result<Client> {
    let ws = client.ws().context("closed-loop senders need a JSON peer")?;
    let mut in_flight = 0usize;
    let mut n = 0u64;
    let send = |n: u64| {
        format!(
            r#"{{"type":"send","room_id":"{room}","client_msg_id":"{}-{n}","body":"{}"}}"#,
            now_ns(),
            stamped_body(64)
        )
    };
    while in_flight < WINDOW && load.take() {
        n += 1;
        ws.writer.queue_text(send(n).as_bytes());
        in_flight += 1;
    }
    ws.writer.flush().await?;
    while in_flight > 0 {
        let frame = tokio::time::timeout(Duration::from_secs(30), ws.reader.next()).await.context("no ack within 30 s")??;
        match frame {
            Frame::Text(text) => {
                tally.json_frame(text);
                if crate::tally::is_ack(text) {
                    in_flight -= 1;
                    if load.take() {
                        n += 1;
                        ws.writer.queue_text(send(n).as_bytes());
                        in_flight += 1;
                    }
                } else if text.starts_with(br#"{"type":"error""#) {
                    bail!("server error: {}", String::from_utf8_lossy(text));
                }
            }
            Frame::Close(code) => bail!("server closed a sender: {code:?}"),
            Frame::Ended => bail!("a sender's connection ended"),
        }
        if !ws.reader.has_frame() {
            ws.writer.flush().await?;
        }
    }
    Ok(client)
}

/// Sends `messages` through `senders` connections into `rooms` as fast as
/// the server acks them (B4, B5), stopping early at `limit`; returns the
/// messages acked and how many per second.
pub async fn fill(target: &Target, rooms: &[String], senders: usize, messages: u64, limit: Duration) -> Result<(u64, f64)> {
    let clients = open_joined(target, senders, rooms, |i| i, 100).await?;
    let tally = Tally::default();
    let started = Instant::now();
    let load = Load::new(messages, started + limit);
    let tasks = spawn_senders(clients, rooms, &tally, &load);
    for client in finish_senders(tasks).await? {
        client.close().await?;
    }
    ensure!(tally.snapshot().errors == 0, "error replies while filling: {:?}", tally.first_error());
    let acked = tally.snapshot().acked;
    Ok((acked, acked as f64 / started.elapsed().as_secs_f64()))
}
