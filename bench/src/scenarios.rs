//! The scenarios B1–B8 and what they share: a test bed (a started server
//! and how to reach it), the heartlink user pool, rooms, and opening many
//! joined connections at once.

pub mod catchup;
pub mod churn;
pub mod durable;
pub mod durable_paced;
pub mod fanout;
pub mod history;
pub mod idle;
pub mod media;
pub mod storage_floor;
pub mod tui;
pub mod weechat;

use crate::servers::{Peer, ServerProc, Wire};
use crate::toolbox::Toolbox;
use crate::wire::{Client, Target, reply_to, ws_connect};
use anyhow::{Context, Result};
use futures_util::{StreamExt, TryStreamExt};
use std::time::Duration;

/// Quick (CI) or full sizes.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub quick: bool,
    pub runs: usize,
}

impl Size {
    /// `full` in a full run, `quick` in --quick.
    pub fn pick<T>(&self, quick: T, full: T) -> T {
        if self.quick { quick } else { full }
    }
}

/// One run's figures: metric key → value.
pub type Figures = Vec<(&'static str, f64)>;

/// A started server and the target the generator connects to.
#[derive(Debug)]
pub struct Bed {
    pub server: ServerProc,
    pub target: Target,
}

/// Password of every pool user (the server only checks its length).
const PASSWORD: &str = "bench-password-1";

impl Bed {
    /// Starts `peer`; for heartlink also registers `users` pool users.
    pub async fn start(peer: Peer, tools: &Toolbox, users: usize) -> Result<Self> {
        let server = ServerProc::start(peer, tools).await?;
        let mut target = Target { peer, addr: server.addr, nodes: Vec::new(), tokens: Vec::new() };
        if peer == Peer::Heartlink {
            target.tokens = register_pool(&target, users).await?;
        }
        Ok(Self { server, target })
    }

    /// `count` rooms: created by pool user 0 on heartlink, named elsewhere.
    pub async fn rooms(&self, count: usize) -> Result<Vec<String>> {
        create_rooms(&self.target, count).await
    }

    /// Stops the server; an error if it crashed during the run.
    pub async fn finish(self) -> Result<()> {
        self.server.stop().await
    }
}

/// `count` rooms on `target`: created by pool user 0 on heartlink, named elsewhere.
pub async fn create_rooms(target: &Target, count: usize) -> Result<Vec<String>> {
    match target.peer.wire() {
        Wire::Irc => Ok((0..count).map(|i| format!("#r{i}")).collect()),
        Wire::Rooms => Ok((0..count).map(|i| format!("r{i}")).collect()),
        Wire::Heartlink => {
            let mut client = target.connect(0).await?;
            let ws = client.ws().context("heartlink speaks WebSocket")?;
            let mut ids = Vec::with_capacity(count);
            for i in 0..count {
                // Stay under the server's 50 requests/s per connection (burst 100).
                if i >= 80 {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                let create = serde_json::json!({"type": "create_room", "name": format!("bench room {i}")});
                let reply = reply_to(ws, create.to_string(), "room_created").await?;
                let value: serde_json::Value = serde_json::from_str(&reply)?;
                ids.push(value["room"]["id"].as_str().context("room_created without room.id")?.to_owned());
            }
            client.close().await?;
            Ok(ids)
        }
    }
}

/// Registers `count` users (a handful at a time: each costs an argon2 hash,
/// two at a time on the server) and returns their session tokens.
pub async fn register_pool(target: &Target, count: usize) -> Result<Vec<String>> {
    let addr = target.addr;
    futures_util::stream::iter(0..count)
        .map(|i| async move {
            let mut ws = ws_connect(addr).await?;
            let register = serde_json::json!({"type": "register", "username": format!("bench{i}"), "password": PASSWORD});
            let reply = reply_to(&mut ws, register.to_string(), "connection_established").await?;
            let value: serde_json::Value = serde_json::from_str(&reply)?;
            let _ = ws.close().await;
            value["token"].as_str().map(str::to_owned).context("connection_established without token")
        })
        .buffered(4)
        .try_collect()
        .await
        .context("registering the user pool")
}

/// Opens `count` connections, connection i joined to `rooms[room_of(i)]`,
/// `parallel` at a time. Fails on the first connection that fails.
pub async fn open_joined(
    target: &Target,
    count: usize,
    rooms: &[String],
    room_of: impl Fn(usize) -> usize,
    parallel: usize,
) -> Result<Vec<Client>> {
    futures_util::stream::iter(0..count)
        .map(|i| {
            let room = rooms[room_of(i) % rooms.len()].clone();
            async move {
                let mut client = target.connect(i).await.with_context(|| format!("connection {i}"))?;
                client.join(&room, None).await.with_context(|| format!("connection {i} joining"))?;
                Ok::<_, anyhow::Error>(client)
            }
        })
        .buffered(parallel)
        .try_collect()
        .await
}

/// Waits `seconds`, checking every second that the server is still up.
pub async fn settle(bed: &mut Bed, seconds: f64) -> Result<()> {
    let until = tokio::time::Instant::now() + Duration::from_secs_f64(seconds);
    while tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(250).min(until - tokio::time::Instant::now())).await;
        bed.server.check_alive()?;
    }
    Ok(())
}
