//! What receivers count during a measurement: deliveries and acks with
//! their latencies, error replies and closes. Receiver tasks bump the
//! counters; a scenario reads them at the start and end of its window.

use crate::latency::{Recorder, leading_number, now_ns};
use memchr::memmem::Finder;
use std::sync::{Arc, LazyLock};
use std::sync::atomic::{AtomicU64, Ordering};

/// Shared counters of one measurement.
#[derive(Debug, Default)]
pub struct Counters {
    pub delivered: AtomicU64,
    pub acked: AtomicU64,
    /// `error` replies (heartlink) or IRC numerics 4xx/5xx.
    pub errors: AtomicU64,
    /// Connections the server closed as slow consumers (heartlink 4008).
    pub slow_closes: AtomicU64,
    /// Any other close while the measurement was running.
    pub closes: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub delivered: u64,
    pub acked: u64,
    pub errors: u64,
    pub slow_closes: u64,
    pub closes: u64,
}

impl std::ops::Sub for Counts {
    type Output = Counts;
    fn sub(self, rhs: Counts) -> Counts {
        Counts {
            delivered: self.delivered - rhs.delivered,
            acked: self.acked - rhs.acked,
            errors: self.errors - rhs.errors,
            slow_closes: self.slow_closes - rhs.slow_closes,
            closes: self.closes - rhs.closes,
        }
    }
}

/// Counters plus the two latency histograms.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub counters: Arc<Counters>,
    /// send → `chat_message` at a receiver.
    pub delivery: Recorder,
    /// send → `ack` at the sender.
    pub ack: Recorder,
    /// send → `chat_message` at receivers on another node than the sender
    /// (a cluster); those are recorded in `delivery` as well.
    pub cross_node: Recorder,
    /// Whether this receiver is on another node than the sender of what it receives.
    pub remote: bool,
    /// The first error text seen, for the report when a run fails.
    pub first_error: Arc<std::sync::Mutex<Option<String>>>,
}

impl Tally {
    pub fn snapshot(&self) -> Counts {
        let c = &self.counters;
        Counts {
            delivered: c.delivered.load(Ordering::Relaxed),
            acked: c.acked.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
            slow_closes: c.slow_closes.load(Ordering::Relaxed),
            closes: c.closes.load(Ordering::Relaxed),
        }
    }

    /// Clears the histograms (the counters are read as differences).
    pub fn reset_latency(&self) {
        self.delivery.reset();
        self.ack.reset();
        self.cross_node.reset();
    }

    /// The same counters and histograms, for a receiver on another node
    /// than the sender: its deliveries also go into `cross_node`.
    pub fn for_remote_receiver(&self) -> Tally {
        Tally { remote: true, ..self.clone() }
    }

    /// Counts a JSON text frame from heartlink or a JSON room peer.
    pub fn json_frame(&self, frame: &[u8]) {
        self.json_frame_at(frame, now_ns());
    }

    /// Counts a JSON text frame that arrived at `now` (ns, [`now_ns`]).
    /// No JSON parsing: the frame's kind comes from its first bytes and the
    /// stamp is found with memchr, so the receiver stays cheap per frame.
    pub fn json_frame_at(&self, frame: &[u8], now: u64) {
        // heartlink and Node put "type" first; the ceiling's serde_json map
        // sorts keys, so its chat_message starts with "body".
        if frame.starts_with(br#"{"type":"chat_message""#) || frame.starts_with(br#"{"body":"#) {
            self.counters.delivered.fetch_add(1, Ordering::Relaxed);
            if let Some(stamp) = after(frame, &BODY) {
                self.delivery.record_between(stamp, now);
                if self.remote {
                    self.cross_node.record_between(stamp, now);
                }
            }
        } else if ACK.find(frame).is_some() {
            self.counters.acked.fetch_add(1, Ordering::Relaxed);
            if let Some(stamp) = after(frame, &CLIENT_MSG_ID) {
                self.ack.record_between(stamp, now);
            }
        } else if frame.starts_with(br#"{"type":"error""#) {
            self.error(String::from_utf8_lossy(frame).into_owned());
        }
    }

    /// Counts an IRC line; PRIVMSGs are deliveries.
    pub fn irc_line(&self, line: &[u8]) {
        let Some(at) = PRIVMSG.find(line) else {
            if let Some(code) = numeric(line) {
                if crate::wire::irc_refusal(code) {
                    self.error(String::from_utf8_lossy(line).into_owned());
                }
            }
            return;
        };
        self.counters.delivered.fetch_add(1, Ordering::Relaxed);
        if let Some(stamp) = after(&line[at..], &IRC_TEXT) {
            self.delivery.record_since(stamp);
        }
    }

    pub fn error(&self, text: String) {
        self.counters.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        first.get_or_insert(text);
    }

    /// Counts a close by the server.
    pub fn closed(&self, code: Option<u16>) {
        let counter = if code == Some(4008) { &self.counters.slow_closes } else { &self.counters.closes };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn first_error(&self) -> Option<String> {
        self.first_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// Whether a JSON frame is an `ack`.
pub fn is_ack(frame: &[u8]) -> bool {
    ACK.find(frame).is_some()
}

/// The number right after `marker` in `frame`. The finders are built once:
/// `memmem::find` would build one per frame, which showed in the profile.
fn after(frame: &[u8], marker: &Finder<'static>) -> Option<u64> {
    let at = marker.find(frame)?;
    leading_number(&frame[at + marker.needle().len()..])
}

static BODY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(br#""body":""#));
static CLIENT_MSG_ID: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(br#""client_msg_id":""#));
static ACK: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(br#""type":"ack""#));
static PRIVMSG: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" PRIVMSG "));
static IRC_TEXT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" :"));

/// The numeric reply code of an IRC line (`:server 433 nick ...`).
pub fn numeric(line: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(line).ok()?;
    let code = text.split(' ').nth(1)?;
    if code.len() == 3 { code.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_receiver_counts_into_both_histograms_and_a_local_one_only_into_delivery() {
        let tally = Tally::default();
        let remote = tally.for_remote_receiver();
        let frame = |stamp: u64| format!(r#"{{"type":"chat_message","room_id":"r","seq":1,"body":"{stamp} xx"}}"#);
        tally.json_frame_at(frame(1_000_000).as_bytes(), 3_000_000);
        remote.json_frame_at(frame(1_000_000).as_bytes(), 9_000_000);
        assert_eq!(tally.snapshot().delivered, 2, "both receivers share the counters");
        assert_eq!(tally.delivery.summary().count, 2);
        let cross = tally.cross_node.summary();
        assert_eq!(cross.count, 1);
        assert!((cross.p99_ms - 8.0).abs() < 0.01, "the remote delivery took 8 ms: {}", cross.p99_ms);
        tally.reset_latency();
        assert_eq!(remote.cross_node.summary().count, 0, "a reset clears the shared cross-node histogram");
    }
}
