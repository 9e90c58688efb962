//! What every session shares: configuration, the seams (store, bus, live
//! state), this node's hub, the commit queue and the account service.

use crate::accounts::Accounts;
use crate::bus::Bus;
use crate::commit::CommitQueue;
use crate::config::Config;
use crate::hub::Hub;
use crate::live::LiveState;
use crate::node::{ConnId, ConnIds};
use crate::store::Store;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The server's shared state, one per `run`.
#[derive(Debug)]
pub struct Shared {
    pub config: Config,
    /// Durable state.
    pub store: Arc<dyn Store>,
    /// Fan-out to every node's connections.
    pub bus: Arc<dyn Bus>,
    /// Ephemeral state every node shares: presence, the match queue, limits.
    pub live: Arc<dyn LiveState>,
    /// This node's connections.
    pub hub: Arc<Hub>,
    pub accounts: Accounts,
    pub commit: CommitQueue,
    /// Cancelled on SIGINT/SIGTERM: sessions close with 1001.
    pub shutdown: CancellationToken,
    /// Present when the server speaks `wss://`.
    pub tls: Option<crate::tls::Tls>,
    /// Attachments: uploads, blobs, downloads.
    pub media: crate::media::Media,
    /// The last `/healthz` probe.
    pub health: crate::http::HealthCache,
    /// Wakes the ring expiry task for invitations made on this node.
    pub rings: crate::calls::RingClock,
    conn_ids: ConnIds,
}

/// The parts [`Shared`] is made of.
#[derive(Debug)]
pub struct Parts {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn Bus>,
    pub live: Arc<dyn LiveState>,
    pub hub: Arc<Hub>,
    pub accounts: Accounts,
    pub commit: CommitQueue,
    pub shutdown: CancellationToken,
    pub tls: Option<crate::tls::Tls>,
    pub media: crate::media::Media,
    pub conn_ids: ConnIds,
}

impl Shared {
    /// Assembles the shared state.
    pub fn new(parts: Parts) -> Self {
        let Parts { config, store, bus, live, hub, accounts, commit, shutdown, tls, media, conn_ids } = parts;
        let health = crate::http::HealthCache::default();
        let rings = crate::calls::RingClock::default();
        Self { config, store, bus, live, hub, accounts, commit, shutdown, tls, media, health, rings, conn_ids }
    }

    /// A fresh connection id, unique across nodes.
    pub fn next_conn_id(&self) -> ConnId {
        self.conn_ids.next()
    }
}
