//! The three deployments the cluster group compares, and a bed of one: the
//! node processes (each pinned to the server CPU, with a data dir of its
//! own), for PostgreSQL + Redis a fresh database and a fresh redis-server,
//! the registered user pool, and a target that spreads connection n over
//! node n % nodes.

use super::engines::Engines;
use super::postgres::Postgres;
use super::redis::RedisProc;
use crate::scenarios::register_pool;
use crate::servers::{Peer, ServerProc};
use crate::toolbox::Toolbox;
use crate::wire::Target;
use anyhow::{Context, Result};
use std::sync::Arc;

/// One column of the cluster table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deployment {
    /// `heartlink-server start`: sled in the data dir, fan-out in the process.
    SledOne,
    /// One node with `--store postgres://… --bus redis://…`.
    PostgresOne,
    /// Three nodes on one database and one Redis, clients spread over them.
    PostgresThree,
}

impl Deployment {
    pub const ALL: [Deployment; 3] = [Deployment::SledOne, Deployment::PostgresOne, Deployment::PostgresThree];

    pub fn name(self) -> &'static str {
        match self {
            Self::SledOne => "1 node, sled",
            Self::PostgresOne => "1 node, PostgreSQL + Redis",
            Self::PostgresThree => "3 nodes, PostgreSQL + Redis",
        }
    }

    pub fn nodes(self) -> usize {
        if self == Self::PostgresThree { 3 } else { 1 }
    }

    pub fn on_postgres(self) -> bool {
        self != Self::SledOne
    }
}

/// A started deployment.
#[derive(Debug)]
pub struct ClusterBed {
    pub deployment: Deployment,
    pub nodes: Vec<ServerProc>,
    pub target: Target,
    pub engines: Engines,
    redis: Option<RedisProc>,
    /// The bed's database (dropped at the end) on its server.
    database: Option<(Arc<Postgres>, String)>,
}

impl ClusterBed {
    /// Starts `deployment` (`postgres` is required for the PostgreSQL ones)
    /// and registers `users` pool users through the first node.
    pub async fn start(
        deployment: Deployment,
        tools: &Toolbox,
        postgres: Option<&Arc<Postgres>>,
        users: usize,
    ) -> Result<Self> {
        let mut bed = Self {
            deployment,
            nodes: Vec::new(),
            target: Target {
                peer: Peer::Heartlink,
                addr: ([127, 0, 0, 1], 0).into(),
                nodes: Vec::new(),
                tokens: Vec::new(),
            },
            engines: Engines { nodes: Vec::new(), postgres: None, redis: None },
            redis: None,
            database: None,
        };
        match bed.start_nodes(tools, postgres, users).await {
            Ok(()) => Ok(bed),
            Err(err) => {
                // The database of a bed that never ran is dropped all the same.
                let _ = bed.finish().await;
                Err(err)
            }
        }
    }

    async fn start_nodes(&mut self, tools: &Toolbox, postgres: Option<&Arc<Postgres>>, users: usize) -> Result<()> {
        let mut extra = Vec::new();
        if self.deployment.on_postgres() {
            let postgres = postgres.context("a PostgreSQL deployment without PostgreSQL")?;
            let (name, url) = postgres.fresh_database().await?;
            self.database = Some((Arc::clone(postgres), name));
            let redis = RedisProc::start(tools).await?;
            extra = vec!["--store".to_owned(), url, "--bus".to_owned(), redis.url.clone()];
            self.engines.postgres = Some(Arc::clone(postgres));
            self.engines.redis = Some(redis.probe);
            self.redis = Some(redis);
        }
        // One after another: the first applies the migrations, the others find them done.
        for n in 0..self.deployment.nodes() {
            let node =
                ServerProc::start_with(Peer::Heartlink, tools, &extra).await.with_context(|| format!("node {n}"))?;
            self.engines.nodes.push(node.pid);
            self.nodes.push(node);
        }
        self.target.addr = self.nodes[0].addr;
        if self.nodes.len() > 1 {
            self.target.nodes = self.nodes.iter().map(|node| node.addr).collect();
        }
        // Tokens are in the shared store: any node resumes them.
        self.target.tokens = register_pool(&self.target, users).await?;
        Ok(())
    }

    /// An error when a node or redis-server has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        for (n, node) in self.nodes.iter_mut().enumerate() {
            node.check_alive().with_context(|| format!("node {n}"))?;
        }
        if let Some(redis) = &mut self.redis {
            redis.check_alive()?;
        }
        Ok(())
    }

    /// Stops everything and drops the database; the first crash found is the error.
    pub async fn finish(self) -> Result<()> {
        let mut result = Ok(());
        for (n, node) in self.nodes.into_iter().enumerate() {
            let stopped = node.stop().await.with_context(|| format!("node {n}"));
            result = result.and(stopped);
        }
        if let Some(redis) = self.redis {
            result = result.and(redis.stop().await);
        }
        if let Some((postgres, name)) = self.database {
            result = result.and(postgres.drop_database(&name).await);
        }
        result
    }
}
