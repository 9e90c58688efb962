//! HTTP/1.1 on the server's one port (hyper), TLS included: the WebSocket
//! upgrade at `/ws`, `/healthz`, `/metrics` and the `/media` endpoints.
//!
//! One task per TCP connection. It runs the TLS handshake and then hyper's
//! connection until it ends or upgrades. The first request must arrive
//! within the connection's deadline (`--auth-timeout-secs`, which for a
//! WebSocket also covers its first frame); later keep-alive requests get
//! the same time for their headers. On an upgrade the task takes the stream
//! back from hyper, drops hyper's state, and becomes the WebSocket session.

mod health;
pub mod reply;
mod routes;

use crate::admission::{Cap, Permit};
use crate::config::AllowedOrigins;
use crate::handshake::{self, Ws};
use crate::shared::Shared;
use crate::tls::ServerStream;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use health::HealthCache;
pub use reply::{Body, HttpError};

/// hyper's connection buffer cap (its minimum is 8 KiB): request heads
/// beyond this are refused, so a connection's memory stays bounded.
const MAX_BUF: usize = 64 * 1024;
/// How long in-flight HTTP requests get to finish once the server shuts down.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What a connection serves besides `/ws`.
#[derive(Debug, Clone)]
pub enum Site {
    /// Only the WebSocket (the Autobahn echo binary); every other path is 404.
    WebSocketOnly(Arc<AllowedOrigins>),
    /// The whole server.
    Full(Arc<Shared>),
    /// A connection over a connection cap: `/ws` upgrades to be told why,
    /// every other path gets 503 with the same reason.
    Refused(Arc<Shared>, Cap),
}

impl Site {
    fn origins(&self) -> &AllowedOrigins {
        match self {
            Self::WebSocketOnly(origins) => origins,
            Self::Full(shared) | Self::Refused(shared, _) => &shared.config.allowed_origins,
        }
    }
}

/// Serves one accepted TCP connection of the server until it closes;
/// `permit` counts it against the connection caps meanwhile.
pub async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, permit: Permit) {
    // One fixed lifetime before login, from this moment (failures do not extend it).
    let deadline = Instant::now() + shared.config.auth_timeout;
    // Boxed, and the socket never a local of this function: whatever is in
    // scope across an await stays in the task for the connection's whole
    // life, and an idle WebSocket should hold neither the TLS and HTTP
    // state nor a dead copy of its socket (docs/BENCHMARKS.md, B1).
    let site = Site::Full(Arc::clone(&shared));
    let Some(ws) = Box::pin(upgrade(stream, peer, &shared, site, deadline)).await else { return };
    let _counted = crate::metrics::ConnectionGuard::open();
    crate::session::serve(ws, peer, shared, deadline).await;
    drop(permit);
}

/// Answers a connection over a connection cap with the reason: a WebSocket
/// gets `rate_limited` and close 1013, plain HTTP a 503.
pub async fn refuse(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, permit: Permit, cap: Cap) {
    let deadline = Instant::now() + crate::session::REFUSAL_DEADLINE.min(shared.config.auth_timeout);
    let site = Site::Refused(Arc::clone(&shared), cap);
    if let Some(ws) = Box::pin(upgrade(stream, peer, &shared, site, deadline)).await {
        crate::session::refuse(ws, peer, shared, cap).await;
    }
    drop(permit);
}

/// TLS (when on) and HTTP until the connection upgrades to a WebSocket.
/// TLS, the HTTP request and (for a WebSocket) its first frame all count
/// against the deadline.
async fn upgrade(stream: TcpStream, peer: SocketAddr, shared: &Shared, site: Site, deadline: Instant) -> Option<Ws> {
    let stream = match &shared.tls {
        Some(tls) => match tokio::time::timeout_at(deadline, tls.accept(stream)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(err)) => {
                tracing::debug!(%peer, cause = %err, "TLS handshake failed");
                return None;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake not completed in time");
                return None;
            }
        },
        None => ServerStream::Plain(stream),
    };
    accept(stream, peer, site, deadline, shared.shutdown.clone()).await
}

/// Runs HTTP on `stream` until the connection ends (`None`) or upgrades to
/// a WebSocket at `/ws` (the socket, configured as PROTOCOL.md says).
pub async fn accept(
    stream: ServerStream,
    peer: SocketAddr,
    site: Site,
    deadline: Instant,
    shutdown: CancellationToken,
) -> Option<Ws> {
    let pending_upgrade: Arc<Mutex<Option<OnUpgrade>>> = Arc::default();
    let started = Arc::new(AtomicBool::new(false));
    let service = {
        let (site, pending_upgrade, started) = (site.clone(), Arc::clone(&pending_upgrade), Arc::clone(&started));
        service_fn(move |request| {
            started.store(true, Ordering::Relaxed);
            let (site, pending_upgrade) = (site.clone(), Arc::clone(&pending_upgrade));
            async move { Ok::<_, std::convert::Infallible>(routes::route(request, peer, site, pending_upgrade).await) }
        })
    };
    let timeout = site_timeout(&site);
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .max_buf_size(MAX_BUF)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let mut deadline_passed = false;
    let mut shutting_down = false;
    let grace = tokio::time::sleep(Duration::MAX);
    let mut grace = std::pin::pin!(grace);
    let outcome = loop {
        tokio::select! {
            outcome = connection.as_mut() => break outcome,
            () = tokio::time::sleep_until(deadline), if !deadline_passed => {
                deadline_passed = true;
                if !started.load(Ordering::Relaxed) {
                    tracing::debug!(%peer, "no HTTP request in time");
                    return None;
                }
            }
            () = shutdown.cancelled(), if !shutting_down => {
                shutting_down = true;
                connection.as_mut().graceful_shutdown();
                grace.as_mut().reset(Instant::now() + SHUTDOWN_GRACE);
            }
            () = grace.as_mut() => return None,
        }
    };
    if let Err(err) = outcome {
        tracing::debug!(%peer, cause = %err, "HTTP connection ended with an error");
        return None;
    }
    let on_upgrade = pending_upgrade.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()?;
    let upgraded = match tokio::time::timeout_at(deadline, on_upgrade).await {
        Ok(Ok(upgraded)) => upgraded,
        Ok(Err(err)) => {
            tracing::debug!(%peer, cause = %err, "WebSocket upgrade failed");
            return None;
        }
        Err(_) => return None,
    };
    match upgraded.downcast::<TokioIo<ServerStream>>() {
        Ok(parts) => Some(handshake::websocket(parts.io.into_inner(), parts.read_buf).await),
        Err(_) => {
            tracing::error!(%peer, "the upgraded connection is not the accepted stream");
            None
        }
    }
}

fn site_timeout(site: &Site) -> Duration {
    match site {
        Site::WebSocketOnly(_) => Duration::from_secs(heartlink_protocol::limits::FIRST_FRAME_SECS),
        Site::Full(shared) => shared.config.auth_timeout,
        Site::Refused(shared, _) => crate::session::REFUSAL_DEADLINE.min(shared.config.auth_timeout),
    }
}
