//! Reconnection delays: exponential backoff with jitter, capped.
//!
//! Jitter ("equal jitter": half fixed, half random) keeps a crowd of clients
//! that lost the same server from hammering it in lockstep when it returns.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_secs(1), Duration::from_secs(30))
    }
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap, failures: 0 }
    }

    /// How many attempts failed in a row.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Records a failure and returns how long to wait before the next try:
    /// between half and all of `min(cap, base · 2^failures)`.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.failures = self.failures.saturating_add(1);
        let half = ceiling / 2;
        half + half.mul_f64(fastrand::f64())
    }

    /// A connection worked: start again from the base delay.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// The longest delay.
    pub fn cap(&self) -> Duration {
        self.cap
    }

    /// Sets the longest delay (for the outage that is starting).
    pub fn set_cap(&mut self, cap: Duration) {
        self.cap = cap;
    }

    fn ceiling(&self) -> Duration {
        let factor = 2u32.saturating_pow(self.failures.min(16));
        self.base.saturating_mul(factor).min(self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_with_jitter_up_to_the_cap() {
        let mut backoff = Backoff::default();
        let mut previous_ceiling = Duration::ZERO;
        for failure in 0..12u32 {
            let ceiling = Duration::from_secs(1).saturating_mul(2u32.pow(failure)).min(Duration::from_secs(30));
            let delay = backoff.next_delay();
            assert!(delay >= ceiling / 2 && delay <= ceiling, "failure {failure}: {delay:?} vs {ceiling:?}");
            assert!(ceiling >= previous_ceiling);
            previous_ceiling = ceiling;
        }
        assert_eq!(backoff.failures(), 12);
        assert!(backoff.next_delay() <= Duration::from_secs(30));
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_secs(1));
    }

    #[test]
    fn jitter_spreads_clients_apart() {
        let delays: std::collections::BTreeSet<Duration> =
            (0..20).map(|_| Backoff::default().next_delay()).collect();
        assert!(delays.len() > 1, "20 fresh clients all picked {delays:?}");
    }
}
