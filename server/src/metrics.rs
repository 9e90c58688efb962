//! The server's Prometheus metrics (`GET /metrics`), through the `metrics`
//! facade and its Prometheus exporter.
//!
//! The recorder is process-wide (the `metrics` facade has one global
//! recorder), installed on first use; the handles below are looked up once
//! and then cost an atomic operation each, so counting every message stays
//! off the send path's profile.

use metrics::{Counter, Gauge, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

const CONNECTIONS: &str = "heartlink_connections";
const MESSAGES: &str = "heartlink_messages_total";
const ACK_SECONDS: &str = "heartlink_ack_seconds";
const MEDIA_BYTES: &str = "heartlink_media_bytes_total";
const HTTP_REQUESTS: &str = "heartlink_http_requests_total";
const UPLOADS_COMPLETED: &str = "heartlink_uploads_completed_total";

/// Histogram buckets for the time from a `send` to its ack: group commit
/// acks in about a millisecond on an idle server and in tens under load.
const ACK_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

struct Handles {
    prometheus: Option<PrometheusHandle>,
    connections: Gauge,
    messages: Counter,
    ack: Histogram,
    uploaded: Counter,
    downloaded: Counter,
    uploads_completed: Counter,
}

static HANDLES: OnceLock<Handles> = OnceLock::new();

fn handles() -> &'static Handles {
    HANDLES.get_or_init(|| {
        let builder = PrometheusBuilder::new().set_buckets_for_metric(Matcher::Full(ACK_SECONDS.to_owned()), ACK_BUCKETS);
        // Another recorder may already be installed (an embedding program
        // or a test harness); the server then counts into that one and its
        // own `/metrics` says so instead of failing.
        let prometheus = match builder.map(PrometheusBuilder::install_recorder) {
            Ok(Ok(handle)) => Some(handle),
            Ok(Err(err)) => {
                tracing::warn!(cause = %err, "metrics recorder not installed; /metrics will be empty");
                None
            }
            Err(err) => {
                tracing::warn!(cause = %err, "metrics buckets refused; /metrics will be empty");
                None
            }
        };
        metrics::describe_gauge!(CONNECTIONS, "Open WebSocket connections");
        metrics::describe_counter!(MESSAGES, "Messages made durable and broadcast");
        metrics::describe_histogram!(ACK_SECONDS, metrics::Unit::Seconds, "Time from a send being queued to its ack");
        metrics::describe_counter!(MEDIA_BYTES, metrics::Unit::Bytes, "Attachment bytes received (upload) and sent (download)");
        metrics::describe_counter!(HTTP_REQUESTS, "HTTP requests by route and status");
        metrics::describe_counter!(UPLOADS_COMPLETED, "Uploads that received their last byte");
        Handles {
            prometheus,
            connections: metrics::gauge!(CONNECTIONS),
            messages: metrics::counter!(MESSAGES),
            ack: metrics::histogram!(ACK_SECONDS),
            uploaded: metrics::counter!(MEDIA_BYTES, "direction" => "upload"),
            downloaded: metrics::counter!(MEDIA_BYTES, "direction" => "download"),
            uploads_completed: metrics::counter!(UPLOADS_COMPLETED),
        }
    })
}

/// Installs the recorder (idempotent); the server calls it before serving
/// so that every series exists from the first scrape.
pub fn init() {
    let handles = handles();
    handles.connections.increment(0.0);
    handles.messages.increment(0);
    handles.uploaded.increment(0);
    handles.downloaded.increment(0);
    handles.uploads_completed.increment(0);
}

/// The Prometheus text exposition (format 0.0.4), or `None` when another
/// recorder owns the process.
pub fn render() -> Option<String> {
    let handle = handles().prometheus.as_ref()?;
    handle.run_upkeep();
    Some(handle.render())
}

/// Counts an open WebSocket connection until the guard is dropped.
#[derive(Debug)]
pub struct ConnectionGuard(());

impl ConnectionGuard {
    pub fn open() -> Self {
        handles().connections.increment(1.0);
        Self(())
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        handles().connections.decrement(1.0);
    }
}

/// `count` messages were made durable; `waited` is each one's time since it was queued.
pub fn messages_committed(waited: impl Iterator<Item = Duration>) {
    let handles = handles();
    for wait in waited {
        handles.messages.increment(1);
        handles.ack.record(wait.as_secs_f64());
    }
}

/// Attachment bytes received from an uploader.
pub fn media_uploaded(bytes: u64) {
    handles().uploaded.increment(bytes);
}

/// Attachment bytes sent to a downloader.
pub fn media_downloaded(bytes: u64) {
    handles().downloaded.increment(bytes);
}

/// An upload received its last byte and became a media.
pub fn upload_completed() {
    handles().uploads_completed.increment(1);
}

/// One HTTP request answered (route is a fixed label, never a raw path).
pub fn http_request(route: &'static str, status: u16) {
    metrics::counter!(HTTP_REQUESTS, "route" => route, "status" => status.to_string()).increment(1);
}
