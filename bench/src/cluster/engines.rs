//! What a measurement window cost the server side, per message: CPU of the
//! heartlink nodes, of PostgreSQL (its backends and background processes,
//! `pg_stat_activity`, plus the postmaster when the bench started it) and
//! of redis-server, all read from /proc like every other server figure;
//! the WAL PostgreSQL wrote; the publishes and commands Redis served.

use super::postgres::Postgres;
use super::redis::{Calls, RedisProbe};
use crate::proc_stat::cpu_seconds;
use anyhow::Result;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// The processes a bed runs on.
#[derive(Debug, Clone)]
pub struct Engines {
    pub nodes: Vec<u32>,
    pub postgres: Option<Arc<Postgres>>,
    pub redis: Option<RedisProbe>,
}

/// Readings at the start of a window.
#[derive(Debug)]
pub struct EngineMeter {
    engines: Engines,
    at: Instant,
    nodes: f64,
    postgres: Option<(u64, HashMap<u32, f64>)>,
    redis: Option<(f64, Calls)>,
}

/// What a window cost, for `units` messages (acked, or delivered).
#[derive(Debug, Clone, Copy)]
pub struct EngineCost {
    pub units: u64,
    pub wall_secs: f64,
    /// CPU seconds of every node together.
    pub nodes_cpu: f64,
    /// None without PostgreSQL or when its processes cannot be read (another host).
    pub postgres_cpu: Option<f64>,
    pub wal_bytes: Option<u64>,
    pub redis_cpu: Option<f64>,
    pub redis_calls: Option<Calls>,
}

impl Engines {
    /// Starts a window now.
    pub async fn meter(&self) -> Result<EngineMeter> {
        let postgres = match &self.postgres {
            Some(pg) => {
                let (wal, pids) = pg.probe().await?;
                Some((wal, cpu_of(pids.into_iter().chain(pg.postmaster()))))
            }
            None => None,
        };
        let redis = match self.redis {
            Some(redis) => Some((cpu_seconds(redis.pid)?, redis.calls().await?)),
            None => None,
        };
        Ok(EngineMeter { nodes: nodes_cpu(&self.nodes)?, engines: self.clone(), at: Instant::now(), postgres, redis })
    }
}

impl EngineMeter {
    /// Ends the window; `units` is what the window's work is counted in.
    pub async fn finish(self, units: u64) -> Result<EngineCost> {
        let wall_secs = self.at.elapsed().as_secs_f64();
        let nodes_cpu = nodes_cpu(&self.engines.nodes)? - self.nodes;
        let (mut postgres_cpu, mut wal_bytes) = (None, None);
        if let (Some(pg), Some((wal_before, before))) = (&self.engines.postgres, &self.postgres) {
            let (wal, pids) = pg.probe().await?;
            let after = cpu_of(pids.into_iter().chain(pg.postmaster()));
            // A process that started during the window counts from zero; one
            // that ended is lost (pooled connections live as long as the node).
            let spent: f64 = after.iter().map(|(pid, cpu)| cpu - before.get(pid).copied().unwrap_or(0.0)).sum();
            postgres_cpu = (!after.is_empty()).then_some(spent);
            wal_bytes = Some(wal.saturating_sub(*wal_before));
        }
        let (mut redis_cpu, mut redis_calls) = (None, None);
        if let (Some(probe), Some((cpu_before, calls_before))) = (self.engines.redis, self.redis) {
            redis_cpu = Some(cpu_seconds(probe.pid)? - cpu_before);
            let calls = probe.calls().await?;
            // INFO's own call is counted by Redis too; one per reading.
            redis_calls = Some(Calls {
                publish: calls.publish.saturating_sub(calls_before.publish),
                all: calls.all.saturating_sub(calls_before.all).saturating_sub(1),
            });
        }
        Ok(EngineCost { units, wall_secs, nodes_cpu, postgres_cpu, wal_bytes, redis_cpu, redis_calls })
    }
}

impl EngineCost {
    /// Microseconds of CPU per unit: `cpu` seconds over the window's units.
    pub fn micros_per_unit(&self, cpu: f64) -> f64 {
        if self.units == 0 { f64::NAN } else { cpu * 1e6 / self.units as f64 }
    }

    /// Per unit: `count` over the window's units.
    pub fn per_unit(&self, count: u64) -> f64 {
        if self.units == 0 { f64::NAN } else { count as f64 / self.units as f64 }
    }
}

fn nodes_cpu(pids: &[u32]) -> Result<f64> {
    pids.iter().map(|pid| cpu_seconds(*pid)).sum()
}

/// CPU seconds of every readable process among `pids`.
fn cpu_of(pids: impl Iterator<Item = u32>) -> HashMap<u32, f64> {
    pids.filter_map(|pid| cpu_seconds(pid).ok().map(|cpu| (pid, cpu))).collect()
}
