//! A cluster of real `heartlink-server` processes, deployed as
//! docs/SCALING.md says: every node on one PostgreSQL database
//! (`--store`) and one `redis-server` (`--bus`), each with a data dir of its
//! own whose `media` is a symlink to one shared media dir.
//!
//! Nodes are [`TestServer`]s, so a test can `kill9` one (SIGKILL: no
//! shutdown, its Redis liveness key simply expires) and `restart` it on the
//! same port.

use crate::TestServer;
use crate::redis::RedisServer;

/// Flags every node gets: no per-user send rate (the tests send bursts) and
/// room for the registrations and logins of many test users from loopback.
const NODE_FLAGS: &[&str] =
    &["--send-rate", "0", "--registrations-per-hour", "1000", "--auth-per-minute", "1000", "--presence-grace-secs", "0"];

/// PostgreSQL, Redis and the nodes. Dropping it kills the nodes, then Redis.
#[derive(Debug)]
pub struct ProcessCluster {
    /// The nodes, in start order.
    pub nodes: Vec<TestServer>,
    pub redis: RedisServer,
    /// The database every node shares.
    pub store_url: String,
    /// The media dir every node's `<data-dir>/media` points at.
    pub media_dir: tempfile::TempDir,
}

impl ProcessCluster {
    /// A fresh database, a fresh Redis and `nodes` nodes started one after
    /// another (the first runs the migrations, the others find them done).
    pub fn start(nodes: usize) -> Self {
        let store_url = crate::postgres::shared().fresh_database();
        let redis = RedisServer::start();
        let media_dir = tempfile::tempdir().expect("shared media dir");
        let mut cluster = Self { nodes: Vec::new(), redis, store_url, media_dir };
        for _ in 0..nodes {
            let node = cluster.start_node();
            cluster.nodes.push(node);
        }
        cluster
    }

    /// One more node on the cluster's database, Redis and media dir (not added to `nodes`).
    pub fn start_node(&self) -> TestServer {
        let data_dir = tempfile::tempdir().expect("node data dir");
        std::os::unix::fs::symlink(self.media_dir.path(), data_dir.path().join("media")).expect("link the shared media dir");
        let mut args = vec!["--store", self.store_url.as_str(), "--bus", self.redis.url.as_str()];
        args.extend_from_slice(NODE_FLAGS);
        TestServer::start_on(data_dir, &args)
    }

    /// Every node's URL, starting with node `first` and going round: the
    /// server list of a client that prefers that node.
    pub fn urls_from(&self, first: usize) -> Vec<String> {
        let count = self.nodes.len();
        (0..count).map(|offset| self.nodes[(first + offset) % count].url.clone()).collect()
    }
}
