//! `GET /healthz`: 200 `{"status":"ok", …}` when the store answers a
//! write-and-read (flushed to disk), the media directory takes a file and
//! the bus answers (Redis, in a cluster); 503 with the reason otherwise.
//!
//! The check writes and fsyncs, and needs no token, so a flood of probes
//! must not become a flood of fsyncs: a result younger than a second is
//! reused, and concurrent probes wait for the one running.

use super::reply;
use crate::shared::Shared;
use http::{Response, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};

/// How long one probe's result answers later ones.
const REUSE_FOR: Duration = Duration::from_secs(1);
/// A store slower than this is not ready.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The last probe, shared by the server's connections.
#[derive(Debug, Default)]
pub struct HealthCache {
    last: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}

/// Answers `/healthz`.
pub(super) async fn check(shared: &std::sync::Arc<Shared>) -> Response<reply::Body> {
    let outcome = probe(shared).await;
    match outcome {
        Ok(()) => reply::json(
            StatusCode::OK,
            &json!({"status": "ok", "store": "ok", "media": "ok", "version": env!("CARGO_PKG_VERSION")}),
        ),
        Err(reason) => {
            tracing::warn!(%reason, "health check failed");
            reply::json(StatusCode::SERVICE_UNAVAILABLE, &json!({"status": "unavailable", "reason": reason}))
        }
    }
}

async fn probe(shared: &std::sync::Arc<Shared>) -> Result<(), String> {
    let mut last = shared.health.last.lock().await;
    if let Some((at, outcome)) = last.as_ref() {
        if at.elapsed() < REUSE_FOR {
            return outcome.clone();
        }
    }
    let (store, media, bus) = (shared.store.clone(), shared.media.clone(), shared.bus.clone());
    let work = async move {
        store.probe().await.map_err(|err| format!("store: {}", crate::report::Chain(&err)))?;
        bus.probe().await.map_err(|err| format!("bus: {}", crate::report::Chain(&err)))?;
        let media = tokio::task::spawn_blocking(move || media.probe()).await;
        match media {
            Ok(outcome) => outcome.map_err(|err| format!("media directory: {err}")),
            Err(err) => Err(format!("probe task failed: {err}")),
        }
    };
    let outcome = match tokio::time::timeout(PROBE_TIMEOUT, work).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("store did not answer within {PROBE_TIMEOUT:?}")),
    };
    *last = Some((Instant::now(), outcome.clone()));
    outcome
}
