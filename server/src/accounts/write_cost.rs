//! What a registration's writes cost after the hash, so that a refused
//! registration (name taken or look-alike) answers no sooner than a new
//! account would: the reply's timing must not say whether a name exists.
//!
//! The hash is paid on both paths already; what differs is the store. On
//! sled a refused name and a new one cost about the same, but on PostgreSQL
//! a new account commits twice (the account, then its token) while a
//! refused one rolls back at once, and that difference alone halves the
//! reply time. Rather than commit dummy rows, a refusal waits out the
//! recently measured cost of the writes of a successful registration.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A refusal never waits longer than this, whatever the store did lately.
const LONGEST_PAD: Duration = Duration::from_secs(2);

/// A moving average of the writes of successful registrations.
#[derive(Debug, Default)]
pub(super) struct WriteCost {
    average_micros: AtomicU64,
}

impl WriteCost {
    /// Counts what a successful registration's writes took: each new
    /// figure moves the average a quarter of the way towards it.
    pub(super) fn record(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        // A lost update under a race only skips one figure of an estimate.
        let old = self.average_micros.load(Ordering::Relaxed);
        let new = if old == 0 { micros } else { old - old / 4 + micros / 4 };
        self.average_micros.store(new, Ordering::Relaxed);
    }

    /// How much longer a refusal whose own writes took `took` should wait.
    pub(super) fn pad_after(&self, took: Duration) -> Duration {
        let average = Duration::from_micros(self.average_micros.load(Ordering::Relaxed));
        average.min(LONGEST_PAD).saturating_sub(took)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_waits_out_the_recent_cost_of_a_success() {
        let cost = WriteCost::default();
        assert_eq!(cost.pad_after(Duration::from_millis(1)), Duration::ZERO, "nothing measured yet");
        cost.record(Duration::from_millis(40));
        assert_eq!(cost.pad_after(Duration::from_millis(5)), Duration::from_millis(35));
        assert_eq!(cost.pad_after(Duration::from_millis(50)), Duration::ZERO, "a slow refusal is not padded");
        cost.record(Duration::from_millis(80));
        assert_eq!(cost.pad_after(Duration::ZERO), Duration::from_millis(50), "the average moves a quarter of the way");
        cost.record(Duration::from_secs(3600));
        assert_eq!(cost.pad_after(Duration::ZERO), LONGEST_PAD, "bounded");
    }
}
