//! Send→receive latency: every message body starts with the generator's
//! monotonic clock (nanoseconds since the run began), so a receiver in the
//! same process computes the latency from the frame alone, with no table of
//! in-flight messages. Histograms are HDR (3 significant digits, 1 µs..60 s).

use hdrhistogram::Histogram;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::Instant;

static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Nanoseconds since the generator started.
pub fn now_ns() -> u64 {
    u64::try_from(EPOCH.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// A body of about `len` bytes that carries the send instant.
pub fn stamped_body(len: usize) -> String {
    let mut body = now_ns().to_string();
    body.push(' ');
    while body.len() < len {
        body.push('x');
    }
    body
}

/// The leading decimal number of `text` (the stamp), if any.
pub fn leading_number(text: &[u8]) -> Option<u64> {
    let digits = text.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 19 {
        return None;
    }
    // By hand: this runs for every received frame.
    text[..digits].iter().try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
}

/// A histogram shared by the tasks of one measurement. The generator runs on
/// a single-threaded runtime, so the mutex is never contended; it only
/// satisfies `Send` for `tokio::spawn`.
#[derive(Clone, Debug)]
pub struct Recorder {
    histogram: Arc<Mutex<Histogram<u64>>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// An empty recorder for microsecond values up to 60 s.
    pub fn new() -> Self {
        let histogram = Histogram::new_with_bounds(1, 60_000_000, 3)
            .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable_histogram()));
        Self { histogram: Arc::new(Mutex::new(histogram)) }
    }

    fn lock(&self) -> MutexGuard<'_, Histogram<u64>> {
        self.histogram.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records the latency of a message stamped at `sent_ns`.
    pub fn record_since(&self, sent_ns: u64) {
        self.record_between(sent_ns, now_ns());
    }

    /// Records the latency of a message stamped at `sent_ns` that arrived at `received_ns`.
    pub fn record_between(&self, sent_ns: u64, received_ns: u64) {
        self.record_micros(received_ns.saturating_sub(sent_ns) / 1000);
    }

    /// Records one value in microseconds (clamped into range).
    pub fn record_micros(&self, micros: u64) {
        self.lock().saturating_record(micros.max(1));
    }

    /// Forgets everything recorded (after a warm-up).
    pub fn reset(&self) {
        self.lock().reset();
    }

    /// Count, p50 and p99 in milliseconds.
    pub fn summary(&self) -> Summary {
        let h = self.lock();
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        Summary { count: h.len(), p50_ms: ms(0.5), p99_ms: ms(0.99) }
    }
}

/// `Histogram::new(3)` cannot fail (3 significant figures is valid); this
/// keeps the no-`expect` lint satisfied without hiding a real error path.
fn unreachable_histogram() -> Histogram<u64> {
    Histogram::new_with_max(3_600_000_000, 2).unwrap_or_else(|_| std::process::abort())
}

/// What one latency measurement found.
#[derive(Clone, Copy, Debug, Default)]
pub struct Summary {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_through_a_frame() {
        let body = stamped_body(32);
        assert!(body.len() >= 32);
        let frame = format!(r#"{{"type":"chat_message","body":"{body}","ts":1}}"#);
        let at = memchr::memmem::find(frame.as_bytes(), br#""body":""#).unwrap() + 8;
        assert!(leading_number(&frame.as_bytes()[at..]).is_some_and(|ns| ns <= now_ns()));
        assert_eq!(leading_number(b"x12"), None);
        assert_eq!(leading_number(b"1234 x"), Some(1234));
        assert_eq!(leading_number(b"99999999999999999999"), None);
    }
}
