//! B4 catch-up: a connection of user A joined to a room goes away; user B
//! sends 1,000 messages (all acked, so durable); A reconnects, resumes and
//! sends `join{since}` with the last seq it held. The figure is the time
//! from that `join` until A holds all 1,000 (a `joined` carries at most 500,
//! so A joins again with the new `since` while `has_more`), and separately
//! the time including the reconnect and `resume`.

use super::durable::fill;
use super::{Bed, Figures, Size};
use crate::servers::Peer;
use crate::toolbox::{Toolbox, say};
use crate::wire::Target;
use anyhow::{Context, Result, ensure};
use heartlink_protocol::{ServerMsg, decode_server};
use std::time::{Duration, Instant};

pub const JOIN_MS: &str = "b4_catchup_ms";
pub const RECONNECT_MS: &str = "b4_reconnect_catchup_ms";

const MISSED: u64 = 1_000;

pub async fn run(peer: Peer, tools: &Toolbox, size: Size) -> Result<Vec<Figures>> {
    let rounds = size.pick(3, 10);
    let mut runs = Vec::new();
    for _ in 0..size.runs {
        let bed = Bed::start(peer, tools, 2).await?;
        let rooms = bed.rooms(1).await?;
        // Pool user 1 sends; pool user 0 (the room's creator) catches up.
        let sender = Target { tokens: vec![bed.target.tokens[1].clone()], ..bed.target.clone() };
        let mut held = 0u64;
        let (mut join_ms, mut total_ms) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            fill(&sender, &rooms, 1, MISSED, Duration::from_secs(60)).await?;
            let started = Instant::now();
            let mut client = bed.target.connect(0).await?;
            let joining = Instant::now();
            let mut got = 0u64;
            loop {
                let reply = client.join(&rooms[0], Some(held)).await?;
                let ServerMsg::Joined { messages, has_more, .. } = decode_server(&reply)?.msg else {
                    anyhow::bail!("join did not answer joined");
                };
                got += messages.len() as u64;
                held = messages.last().map_or(held, |m| m.seq);
                if !has_more {
                    break;
                }
            }
            join_ms.push(joining.elapsed().as_secs_f64() * 1000.0);
            total_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            ensure!(got == MISSED, "caught up {got} messages, expected {MISSED}");
            client.close().await.context("closing the catch-up connection")?;
        }
        let (join, total) = (median(&mut join_ms), median(&mut total_ms));
        say(format!("B4 {}: catch-up of {MISSED} in {join:.2} ms (median of {rounds}), {total:.2} ms with reconnect", peer.name()));
        runs.push(vec![(JOIN_MS, join), (RECONNECT_MS, total)]);
        bed.finish().await?;
    }
    Ok(runs)
}

/// The median of `values` (which it sorts).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
