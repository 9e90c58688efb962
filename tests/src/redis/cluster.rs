//! Several server nodes in this test process, sharing one store and one
//! real Redis: each node has its own runtime (so that dropping it is a node
//! dying: every task gone at once, sockets closed, heartbeats stopped), its
//! own listener on port 0, its own hub, bus connection and node id.
//!
//! The store is one `SledStore` shared by the nodes (sled is opened by one
//! process only; the nodes are in one): the durable side is what a shared
//! database gives a cluster, the live side goes through Redis as it would
//! between machines.

use super::RedisServer;
use crate::WAIT;
use heartlink_server::store::SledStore;
use heartlink_server::{Config, Server};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Redis, the shared store and the nodes.
#[derive(Debug)]
pub struct Cluster {
    pub redis: RedisServer,
    store: Arc<SledStore>,
    _store_dir: tempfile::TempDir,
    pub nodes: Vec<Node>,
}

/// One node: a `Server` running on a runtime of its own.
#[derive(Debug)]
pub struct Node {
    /// `ws://127.0.0.1:PORT/ws`
    pub url: String,
    /// `127.0.0.1:PORT`
    pub addr: String,
    shutdown: CancellationToken,
    runtime: Option<tokio::runtime::Runtime>,
    stopped: Option<tokio::sync::oneshot::Receiver<Result<(), heartlink_server::ServerError>>>,
    data_dir: std::path::PathBuf,
    _own_dir: Option<tempfile::TempDir>,
}

impl Cluster {
    /// Redis and `nodes` nodes with `tune` applied to each node's config
    /// (after the test defaults: no send rate limit, long outbound queues).
    pub async fn start(nodes: usize, tune: impl Fn(&mut Config)) -> Self {
        let redis = RedisServer::start();
        let store_dir = tempfile::tempdir().expect("store dir");
        let store = Arc::new(SledStore::open(store_dir.path()).expect("open the shared store"));
        let mut cluster = Self { redis, store, _store_dir: store_dir, nodes: Vec::new() };
        for index in 0..nodes {
            // The first node's data dir is the store's (its admin socket
            // answers `heartlink-server admin` there); the others get their own.
            let dir = if index == 0 { Some(cluster._store_dir.path().to_path_buf()) } else { None };
            let node = cluster.start_node_in(dir, &tune).await;
            cluster.nodes.push(node);
        }
        cluster
    }

    /// Starts one more node on the cluster's store and Redis (not added to `nodes`).
    pub async fn start_node(&self, tune: impl Fn(&mut Config)) -> Node {
        self.start_node_in(None, tune).await
    }

    async fn start_node_in(&self, data_dir: Option<std::path::PathBuf>, tune: impl Fn(&mut Config)) -> Node {
        let own_dir = match data_dir {
            Some(_) => None,
            None => Some(tempfile::tempdir().expect("node dir")),
        };
        let data_dir = data_dir.or_else(|| own_dir.as_ref().map(|dir| dir.path().to_path_buf())).expect("a data dir");
        let mut config = Config::new(data_dir.clone());
        config.send_rate = 0;
        config.outbound_queue = 64 * 1024;
        config.registrations_per_hour = 1000;
        config.auth_per_minute = 1000;
        config.bus = Some(self.redis.url.clone());
        tune(&mut config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the node");
        let shutdown = CancellationToken::new();
        let (listening, addr) = tokio::sync::oneshot::channel();
        let (done, stopped) = tokio::sync::oneshot::channel();
        let store = Arc::clone(&self.store);
        let token = shutdown.clone();
        runtime.spawn(async move {
            let server = Server::with_stores(config, store.clone(), store).expect("build the node");
            let server = match server.connect_bus().await {
                Ok(server) => server,
                Err(err) => {
                    let _ = done.send(Err(err));
                    return;
                }
            };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the node's listener");
            let _ = listening.send(listener.local_addr().expect("its address").to_string());
            let _ = done.send(server.run(listener, token).await);
        });
        let addr = tokio::time::timeout(WAIT, addr).await.expect("the node did not start in time").expect("the node failed to start");
        Node {
            url: format!("ws://{addr}/ws"),
            addr,
            shutdown,
            runtime: Some(runtime),
            stopped: Some(stopped),
            data_dir,
            _own_dir: own_dir,
        }
    }
}

impl Node {
    /// The node's data dir (its media and its admin socket; the store is shared).
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// Stops the node cleanly (its connections get 1001).
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(stopped) = self.stopped.take() {
            let outcome = tokio::time::timeout(WAIT, stopped).await.expect("the node did not stop in time");
            outcome.expect("the node's task vanished").expect("the node stopped with an error");
        }
    }

    /// The node dies: its runtime is dropped with every task on it, at once,
    /// with no shutdown (sockets close, nothing more is sent to Redis).
    pub fn kill(mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// `GET /healthz`: the status code and the body.
    pub async fn health(&self) -> (u16, serde_json::Value) {
        healthz(&self.addr).await
    }
}

/// `GET /healthz` on `addr` (`host:port`), over plain HTTP/1.1: the status code and the JSON body.
pub async fn healthz(addr: &str) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect for /healthz");
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n").await.expect("send /healthz");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("read /healthz");
        String::from_utf8(response).expect("a text reply")
    };
    let response = tokio::time::timeout(WAIT, exchange).await.expect("/healthz did not answer in time");
    let status = response.split(' ').nth(1).and_then(|code| code.parse().ok()).expect("a status line");
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    (status, serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
}

impl Drop for Node {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
