//! Opening the server's state and running the accept loop until shutdown.

use crate::accounts::{Accounts, AuthError};
use crate::admission::{Admission, Decision};
use crate::commit;
use crate::config::Config;
use crate::hub::Hub;
use crate::media::Media;
use crate::shared::Shared;
use crate::store::{Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Commit-queue capacity: sends waiting for their flush before senders wait.
const COMMIT_QUEUE: usize = 16 * 1024;
/// How often expired typing indicators are switched off.
const TYPING_SWEEP: Duration = Duration::from_secs(1);
/// How often aged-out throttle and budget entries are forgotten, and
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
    /// The media directories could not be made.
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),
}

/// A server whose data dir is open, ready to serve a listener.
#[derive(Debug)]
pub struct Server {
    config: Config,
    store: Store,
    accounts: Accounts,
    tls: Option<crate::tls::Tls>,
    media: Media,
}

impl Server {
    /// Opens the data dir. A damaged database is an error, never replaced.
    pub fn open(config: Config) -> Result<Self, ServerError> {
        let tls = match &config.tls {
            Some(files) => Some(crate::tls::load(&files.cert, &files.key)?),
            None => None,
        };
        let store = Store::open(&config.data_dir)?;
        let accounts = Accounts::new(store.clone(), &config)?;
        let media = Media::open(&config.data_dir, Arc::new(store.clone()), config.media)?;
        crate::metrics::init();
        Ok(Self { config, store, accounts, tls, media })
    }

    /// The URL scheme clients use: `wss` with TLS, else `ws`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "wss" } else { "ws" }
    }

    /// Serves `listener` until `shutdown` is cancelled; then stops accepting,
    /// closes every session with 1001, and flushes the store.
    pub async fn run(self, listener: TcpListener, shutdown: CancellationToken) -> Result<(), ServerError> {
        let Self { config, store, accounts, tls, media } = self;
        let hub = Arc::new(Hub::new());
        let (commits, flusher) = commit::spawn_flusher(store.clone(), Arc::clone(&hub), COMMIT_QUEUE);
        let shared =
            Arc::new(Shared::new(config, store.clone(), accounts, Arc::clone(&hub), commits, tls, media.clone(), shutdown.clone()));
        let tracker = TaskTracker::new();
        tracker.spawn(sweep_typing(Arc::clone(&hub), shutdown.clone()));
        tracker.spawn(crate::media::sweep::run(media, shutdown.clone()));
        tracker.spawn(crate::sweeper::run(Arc::clone(&shared), shutdown.clone()));
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
        let ((hashed, abandoned), _) = shared.accounts.stats();
        tracing::info!(hashed, abandoned, "password hashes computed, and dropped because their connection had closed");
        // The sessions are gone; dropping the last handle on the commit queue
        // lets the flusher drain what is queued and stop.
        drop(shared);
        if let Err(err) = flusher.await {
            tracing::error!(cause = %err, "flusher task failed");
        }
        store.flush().await?;
        tracing::info!("shutdown complete; everything flushed");
        Ok(())
    }
}

/// Forgets aged-out login throttle and budget entries (so their memory goes
/// back even when no new attempt comes), and reports connections that were
/// closed over the caps without a refusal.
async fn sweep_auth(shared: Arc<Shared>, admission: Admission) {
    let mut every = tokio::time::interval(AUTH_SWEEP);
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            _ = every.tick() => {
                shared.accounts.sweep(std::time::Instant::now());
                let dropped = admission.take_dropped();
                if dropped > 0 {
                    let (open, refusing, _) = admission.counts();
                    tracing::warn!(dropped, open, refusing, "connections over the caps closed at once (too many refusals in progress)");
                }
            }
        }
    }
}

async fn sweep_typing(hub: Arc<Hub>, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(TYPING_SWEEP);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => hub.expire_typing(std::time::Instant::now()),
        }
    }
}
