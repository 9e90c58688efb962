//! What every session shares: configuration, store, accounts, hub,
//! sequencer, commit queue, limits and quotas.

use crate::accounts::Accounts;
use crate::commit::CommitQueue;
use crate::config::Config;
use crate::hub::{ConnId, Hub};
use crate::quota::Quota;
use crate::rate_limit::KeyedLimiter;
use crate::sequencer::Sequencer;
use crate::store::Store;
use heartlink_protocol::UserId;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio_util::sync::CancellationToken;

/// The server's shared state, one per `run`.
#[derive(Debug)]
pub struct Shared {
    pub config: Config,
    pub store: Store,
    pub accounts: Accounts,
    pub hub: Arc<Hub>,
    pub sequencer: Sequencer,
    pub commit: CommitQueue,
    /// `send`s per user, shared by all of the user's connections.
    pub send_limiter: KeyedLimiter<UserId>,
    /// Cancelled on SIGINT/SIGTERM: sessions close with 1001.
    pub shutdown: CancellationToken,
    /// Present when the server speaks `wss://`.
    pub tls: Option<crate::tls::Tls>,
    /// Attachments: uploads, blobs, downloads.
    pub media: crate::media::Media,
    /// The last `/healthz` probe.
    pub health: crate::http::HealthCache,
    next_conn: AtomicU64,
    /// Group rooms created per user per hour.
    pub room_quota: Quota,
    /// Pair rooms entered per user per hour.
    pub pair_room_quota: Quota,
}

impl Shared {
    /// Assembles the shared state.
    // One argument per part of the server; a struct of them would repeat this list.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: Config,
        store: Store,
        accounts: Accounts,
        hub: Arc<Hub>,
        commit: CommitQueue,
        tls: Option<crate::tls::Tls>,
        media: crate::media::Media,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            send_limiter: KeyedLimiter::new(config.send_rate),
            sequencer: Sequencer::new(store.clone()),
            store,
            accounts,
            hub,
            commit,
            shutdown,
            tls,
            media,
            health: crate::http::HealthCache::default(),
            next_conn: AtomicU64::new(1),
            room_quota: Quota::per_hour(config.rooms_per_hour),
            pair_room_quota: Quota::per_hour(config.pair_rooms_per_hour),
            config,
        }
    }

    /// A fresh connection number.
    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }
}
