//! The cluster group (`--only C`, and part of every full and quick run):
//! B3 and B2 (rooms of 100) on one node on sled, one node on PostgreSQL +
//! Redis, and three nodes on PostgreSQL + Redis, side by side, with the
//! cross-node delivery latency and what the engines cost per message.
//!
//! Each run starts every deployment afresh (a new database, a new
//! redis-server, new nodes), and runs alternate the deployments (sled,
//! PostgreSQL, three nodes, sled, …) so that a busy spell on a shared
//! machine falls on all three rather than on one. Every node, PostgreSQL
//! (when the bench starts it) and Redis run on the server CPU; the
//! generator keeps the other.
//!
//! Without PostgreSQL or redis-server the two PostgreSQL deployments are
//! reported as not run, with what to install (the sled one still runs).
//! When `HEARTLINK_TEST_POSTGRES` is set (CI), a PostgreSQL that does not
//! answer or a missing redis-server fails the run instead.

pub mod deploy;
pub mod engines;
mod measure;
pub mod postgres;
pub mod redis;
pub mod table;

use crate::report::Outcome;
use crate::scenarios::Size;
use crate::toolbox::{Toolbox, say};
use anyhow::Result;
use deploy::{ClusterBed, Deployment};
use postgres::{Found, Postgres};
use std::sync::Arc;

/// The id `--only` selects the group by.
pub const ID: &str = "C";

/// Every deployment's outcome, and where PostgreSQL came from.
#[derive(Debug)]
pub struct ClusterResults {
    pub outcomes: Vec<(Deployment, Outcome)>,
    pub postgres: String,
}

pub async fn run(tools: &Toolbox, size: Size) -> ClusterResults {
    let (postgres, unavailable) = match engines(tools).await {
        Ok(postgres) => (Some(Arc::new(postgres)), None),
        Err(outcome) => (None, Some(outcome)),
    };
    let described = postgres.as_ref().map_or_else(|| "none".to_owned(), |pg| pg.describe());
    let mut outcomes: Vec<(Deployment, Outcome)> = Deployment::ALL
        .iter()
        .map(|d| match (&unavailable, d.on_postgres()) {
            (Some(outcome), true) => (*d, outcome.clone()),
            _ => (*d, Outcome::Ran(Vec::new())),
        })
        .collect();
    for run in 0..size.runs {
        for (deployment, outcome) in &mut outcomes {
            let Outcome::Ran(runs) = outcome else { continue };
            say(format!("cluster run {}/{}: {}", run + 1, size.runs, deployment.name()));
            let started = std::time::Instant::now();
            match run_once(*deployment, tools, postgres.as_ref(), size).await {
                Ok(figures) => {
                    say(format!("cluster {} done in {:.1} s", deployment.name(), started.elapsed().as_secs_f64()));
                    runs.push(figures);
                }
                Err(err) => {
                    say(format!("cluster {} FAILED after {:.1} s: {err:#}", deployment.name(), started.elapsed().as_secs_f64()));
                    *outcome = Outcome::Failed(format!("{err:#}").replace('|', "/").replace('\n', " "));
                }
            }
        }
    }
    if let Some(Outcome::NotApplicable(why)) = &unavailable {
        say(format!("cluster: NOT RUN on PostgreSQL + Redis: {}", why.trim_start_matches("not run: ")));
    }
    ClusterResults { outcomes, postgres: described }
}

/// PostgreSQL and Redis, or the outcome the PostgreSQL deployments get without them.
async fn engines(tools: &Toolbox) -> Result<Postgres, Outcome> {
    let required = std::env::var(postgres::EXTERNAL_ENV).is_ok_and(|url| !url.is_empty());
    if let Some(why) = redis::RedisProc::missing() {
        return Err(if required { Outcome::Failed(why) } else { Outcome::NotApplicable(format!("not run: {why}")) });
    }
    match Postgres::find(tools).await {
        Ok(Found::Ready(postgres)) => Ok(postgres),
        Ok(Found::Missing(why)) => Err(Outcome::NotApplicable(format!("not run: {why}"))),
        Err(err) => Err(Outcome::Failed(format!("{err:#}").replace('|', "/").replace('\n', " "))),
    }
}

/// One deployment, started afresh: B3, then B2 on the same nodes.
async fn run_once(deployment: Deployment, tools: &Toolbox, postgres: Option<&Arc<Postgres>>, size: Size) -> Result<Vec<(&'static str, f64)>> {
    let mut bed = ClusterBed::start(deployment, tools, postgres, size.pick(20, 200)).await?;
    let result = async {
        let mut figures = measure::durable(&mut bed, size).await?;
        figures.extend(measure::fanout(&mut bed, size).await?);
        Ok::<_, anyhow::Error>(figures)
    }
    .await;
    let finished = bed.finish().await;
    let figures = result?;
    finished?;
    Ok(figures)
}
