//! Opening the server's state and running the accept loop until shutdown.

use crate::accounts::{Accounts, AuthError};
use crate::admission::{Admission, Decision};
use crate::bus::Bus;
use crate::bus::local::{LocalBus, LocalSubscriptions};
use crate::bus::redis::{RedisBusError, RedisConnected};
use crate::commit;
use crate::config::Config;
use crate::hub::{self, Hub};
use crate::live::LiveState;
use crate::live::local::LocalLive;
use crate::live::redis::RedisLive;
use crate::media::Media;
use crate::media::catalog::MediaCatalog;
use crate::node::{ConnIds, NodeId};
use crate::shared::{Parts, Shared};
use crate::store::{SledStore, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Commit-queue capacity: sends waiting for their flush before senders wait.
const COMMIT_QUEUE: usize = 16 * 1024;
/// How often aged-out throttle, budget and quota entries are forgotten, and
/// connections closed over the caps without a refusal are reported.
const AUTH_SWEEP: Duration = Duration::from_secs(10);

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The data dir could not be opened or flushed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The account service could not start.
    #[error(transparent)]
    Accounts(#[from] AuthError),
    /// The TLS certificate or key could not be used.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// No randomness for this node's id.
    #[error("no randomness for the node id")]
    Randomness(#[source] getrandom::Error),
    /// The media directories could not be made.
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),
    /// Redis (`--bus`) did not answer.
    #[error(transparent)]
    Bus(#[from] RedisBusError),
}

/// A server whose data dir is open, ready to serve a listener.
#[derive(Debug)]
pub struct Server {
    config: Config,
    store: Arc<dyn Store>,
    live: Arc<dyn LiveState>,
    accounts: Accounts,
    tls: Option<crate::tls::Tls>,
    media: Media,
    /// The media metadata, for the operator's export.
    media_catalog: Arc<dyn MediaCatalog>,
    node: NodeId,
    /// The Redis bus, connected (`connect_bus`) before the listener is announced.
    redis: Option<RedisConnected>,
    /// The live state when it is in Redis (its heartbeat runs with the server).
    redis_live: Option<Arc<RedisLive>>,
}

impl Server {
    /// Opens the data dir (the embedded store). A damaged database is
    /// an error, never replaced.
    pub fn open(config: Config) -> Result<Self, ServerError> {
        let store = Arc::new(SledStore::open(&config.data_dir)?);
        Self::with_stores(config, store.clone(), store)
    }

    /// A single-node server on `store` and `media_catalog` (the media's
    /// metadata), with its live state in memory.
    pub fn with_stores(config: Config, store: Arc<dyn Store>, media_catalog: Arc<dyn MediaCatalog>) -> Result<Self, ServerError> {
        let tls = match &config.tls {
            Some(files) => Some(crate::tls::load(&files.cert, &files.key)?),
            None => None,
        };
        let node = NodeId::random().map_err(ServerError::Randomness)?;
        let redis_live = match &config.bus {
            Some(url) => Some(Arc::new(RedisLive::new(url, node, &config).map_err(|source| {
                RedisBusError::Url { url: crate::bus::redis::redacted(url), source }
            })?)),
            None => None,
        };
        let live: Arc<dyn LiveState> = match &redis_live {
            Some(redis_live) => redis_live.clone(),
            None => Arc::new(LocalLive::new(&config)),
        };
        let accounts = Accounts::new(Arc::clone(&store), Arc::clone(&live), &config)?;
        let media = Media::open(&config.data_dir, Arc::clone(&media_catalog), config.media, Arc::clone(&live))?;
        crate::metrics::init();
        Ok(Self { config, store, live, accounts, tls, media, media_catalog, node, redis: None, redis_live })
    }

    /// Connects to the bus of `config.bus` (Redis) now, so that a node whose
    /// Redis does not answer refuses to start; `run` connects otherwise.
    pub async fn connect_bus(mut self) -> Result<Self, ServerError> {
        if let (Some(url), None) = (&self.config.bus, &self.redis) {
            self.redis = Some(RedisConnected::connect(url, self.node).await?);
        }
        Ok(self)
    }

    /// The URL scheme clients use: `wss` with TLS, else `ws`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "wss" } else { "ws" }
    }

    /// Serves `listener` until `shutdown` is cancelled; then stops accepting,
    /// closes every session with 1001, and flushes the store.
    pub async fn run(self, listener: TcpListener, shutdown: CancellationToken) -> Result<(), ServerError> {
        let Self { config, store, live, accounts, tls, media, media_catalog, node, redis, redis_live } = self.connect_bus().await?;
        let (hub, bus): (Arc<Hub>, Arc<dyn Bus>) = match redis {
            None => {
                let hub = Arc::new(Hub::new(Arc::clone(&store), Arc::new(LocalSubscriptions)));
                (hub.clone(), Arc::new(LocalBus::new(hub)))
            }
            Some(redis) => {
                let hub = Arc::new(Hub::new(Arc::clone(&store), redis.subscriptions()));
                (hub.clone(), Arc::new(redis.start(hub, shutdown.clone())))
            }
        };
        let tracker = TaskTracker::new();
        let (followers, activity) = crate::activity::spawn(Arc::clone(&store), Arc::clone(&bus), media.clone(), shutdown.clone());
        let (commit, flusher) = commit::spawn_flusher(Arc::clone(&store), Arc::clone(&bus), Arc::new(followers), COMMIT_QUEUE);
        tracker.spawn(hub::upkeep::run(Arc::clone(&hub), Arc::clone(&bus), shutdown.clone()));
        tracing::debug!(%node, "node id");
        // The operator's commands reach this server here (admin/listener.rs).
        match crate::admin::listener::bind(&config.data_dir) {
            Ok(socket) => {
                let operator = crate::admin::operator::Operator {
                    store: Arc::clone(&store),
                    media: media_catalog,
                    bus: Some(Arc::clone(&bus)),
                };
                tracker.spawn(crate::admin::listener::serve(socket, operator, shutdown.clone()));
            }
            Err(err) => tracing::error!(cause = %err, "cannot open the admin socket; `heartlink-server admin` will refuse this data dir while the server runs"),
        }
        let shared = Arc::new(Shared::new(Parts {
            config,
            store: Arc::clone(&store),
            bus,
            live,
            hub,
            accounts,
            commit,
            shutdown: shutdown.clone(),
            tls,
            media: media.clone(),
            conn_ids: ConnIds::new(node),
        }));
        tracker.spawn(crate::media::sweep::run(media, shutdown.clone()));
        if let Some(redis_live) = &redis_live {
            tracker.spawn(crate::live::redis::nodes::run(Arc::clone(redis_live), Arc::clone(&shared)));
        }
        tracker.spawn(crate::sweeper::run(Arc::clone(&shared), shutdown.clone()));
        tracker.spawn(crate::match_expiry::run(Arc::clone(&shared), shutdown.clone()));
        tracker.spawn(crate::calls::expiry::run(Arc::clone(&shared), shutdown.clone()));
        let admission = Admission::new(shared.config.max_connections, shared.config.max_connections_per_address);
        tracker.spawn(sweep_auth(Arc::clone(&shared), admission.clone()));
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        // Chat frames are small and latency-sensitive.
                        let _ = stream.set_nodelay(true);
                        // HTTP first: `/ws` upgrades into a session, other paths are answered there.
                        match admission.admit(peer.ip()) {
                            Decision::Admit(permit) => {
                                tracker.spawn(crate::http::serve(stream, peer, Arc::clone(&shared), permit));
                            }
                            Decision::Refuse(permit, cap) => {
                                tracker.spawn(crate::http::refuse(stream, peer, Arc::clone(&shared), permit, cap));
                            }
                            Decision::Drop(cap) => {
                                tracing::debug!(%peer, reason = cap.close_reason(), "closed at once: too many refusals in progress");
                                drop(stream);
                            }
                        }
                    }
                    Err(err) => {
                        // Usually EMFILE: back off briefly instead of spinning.
                        tracing::warn!(cause = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
        drop(listener);
        tracing::info!("shutting down: closing sessions");
        tracker.close();
        tracker.wait().await;
        if let Some(redis_live) = &redis_live {
            redis_live.leave().await;
        }
        let ((hashed, abandoned), _) = shared.accounts.stats();
        tracing::info!(hashed, abandoned, "password hashes computed, and dropped because their connection had closed");
        // The sessions are gone; dropping the last handle on the commit queue
        // lets the flusher drain what is queued and stop.
        drop(shared);
        if let Err(err) = flusher.await {
            tracing::error!(cause = %err, "flusher task failed");
        }
        if let Err(err) = activity.await {
            tracing::error!(cause = %err, "room activity task failed");
        }
        store.flush().await?;
        tracing::info!("shutdown complete; everything flushed");
        Ok(())
    }
}

/// Forgets aged-out login throttle, budget and quota entries (so their
/// memory goes back even when no new attempt comes), and reports
/// connections that were closed over the caps without a refusal.
async fn sweep_auth(shared: Arc<Shared>, admission: Admission) {
    let mut every = tokio::time::interval(AUTH_SWEEP);
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            _ = every.tick() => {
                shared.accounts.sweep(std::time::Instant::now());
                if let Err(err) = shared.live.sweep().await {
                    tracing::error!(cause = %crate::report::Chain(&err), "sweeping the live state failed");
                }
                let dropped = admission.take_dropped();
                if dropped > 0 {
                    let (open, refusing, _) = admission.counts();
                    tracing::warn!(dropped, open, refusing, "connections over the caps closed at once (too many refusals in progress)");
                }
            }
        }
    }
}
