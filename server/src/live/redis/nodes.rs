//! Node liveness for the Redis live state: each node renews its liveness key
//! every [`BEAT`] (it expires after `NODE_TTL`), and looks for nodes whose key
//! expired: the first node to see one unregisters it and starts the grace
//! period of every user who had a connection there and has none left; when
//! it ends with no connection back, the members of their rooms are told
//! they went offline, as when a last connection closes.

use super::{NODE_TTL, RedisLive, TIMEOUT, TimedOut, failed, scripts};
use crate::live::LiveError;
use crate::shared::Shared;
use heartlink_protocol::UserId;
use std::sync::Arc;
use std::time::Duration;

/// How often a node renews its liveness key and looks for dead nodes.
const BEAT: Duration = Duration::from_secs(1);

impl RedisLive {
    /// Renews this node's liveness key (registering the node).
    pub async fn heartbeat(&self) -> Result<(), LiveError> {
        let node = self.node().to_string();
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("SET").arg(format!("hl:node:{node}")).arg(1).arg("PX").arg(NODE_TTL.as_millis() as u64).ignore();
        pipe.cmd("SADD").arg("hl:nodes").arg(&node).ignore();
        self.query(&pipe).await
    }

    /// Nodes registered whose liveness key expired, each reaped: the users
    /// whose grace period starts now, with its id.
    async fn reap(&self) -> Result<Vec<(UserId, u64)>, LiveError> {
        let mut conn = self.conn().await?.0;
        let nodes: Vec<String> = match tokio::time::timeout(TIMEOUT, redis::cmd("SMEMBERS").arg("hl:nodes").query_async(&mut conn)).await {
            Ok(outcome) => outcome.map_err(failed)?,
            Err(_) => return Err(failed(TimedOut)),
        };
        let mut pipe = redis::pipe();
        for node in &nodes {
            pipe.cmd("EXISTS").arg(format!("hl:node:{node}"));
        }
        let alive: Vec<bool> = self.query(&pipe).await?;
        let mut gone = Vec::new();
        for (node, _) in nodes.iter().zip(alive).filter(|(_, alive)| !alive) {
            let mut invocation = scripts::REAP_NODE.prepare_invoke();
            invocation.arg(node);
            let reaped: Vec<(String, u64)> = self.run(&invocation).await?;
            tracing::warn!(%node, users = reaped.len(), "a node stopped renewing its liveness key: its connections no longer count");
            gone.extend(reaped.into_iter().filter_map(|(user, leaving)| Some((UserId(user.parse().ok()?), leaving))));
        }
        Ok(gone)
    }

    /// This node leaves the cluster cleanly (after its connections closed):
    /// its liveness key goes at once, so another node reaps it without waiting for the TTL.
    pub async fn leave(&self) {
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(format!("hl:node:{}", self.node())).ignore();
        if let Err(err) = self.query::<()>(&pipe).await {
            tracing::warn!(cause = %crate::report::Chain(&err), "could not remove this node's liveness key; it expires by itself");
        }
    }

    async fn query<T: redis::FromRedisValue>(&self, pipe: &redis::Pipeline) -> Result<T, LiveError> {
        let mut conn = self.conn().await?.0;
        match tokio::time::timeout(TIMEOUT, pipe.query_async(&mut conn)).await {
            Ok(outcome) => outcome.map_err(failed),
            Err(_) => Err(failed(TimedOut)),
        }
    }
}

/// Beats and reaps until shutdown.
pub async fn run(live: Arc<RedisLive>, shared: Arc<Shared>) {
    let mut every = tokio::time::interval(BEAT);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let outcome = async {
            live.heartbeat().await?;
            live.reap().await
        };
        match outcome.await {
            Ok(gone) => {
                failing = false;
                for (user, leaving) in gone {
                    let record = match shared.store.user(user).await {
                        Ok(Some(record)) => record,
                        Ok(None) => continue,
                        Err(err) => {
                            tracing::error!(cause = %crate::report::Chain(&err), "could not read a user of a dead node");
                            continue;
                        }
                    };
                    let user = crate::wire::user(record.summary());
                    tokio::spawn(crate::session::presence::offline_after_grace(Arc::clone(&shared), user, leaving, crate::clock::now_ms()));
                }
            }
            Err(err) if !failing => {
                failing = true;
                tracing::error!(cause = %crate::report::Chain(&err), "node heartbeat failed (Redis down?); retrying every second");
            }
            Err(_) => {}
        }
    }
}
