//! Token buckets for request and send rates, and the failed-login throttle.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A wait as `retry_after_ms`: whole milliseconds, at least 1.
pub fn retry_after_ms(wait: Duration) -> u64 {
    u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// A token bucket: `rate` tokens per second, holding at most `burst`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket. `rate` 0 means unlimited.
    pub fn new(rate: u32, burst: u32, now: Instant) -> Self {
        Self { rate: f64::from(rate), burst: f64::from(burst), tokens: f64::from(burst), last: now }
    }

    /// Takes one token, or says how long until one is available.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        if self.rate == 0.0 {
            return Ok(());
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

/// One token bucket per key (per user for sends).
#[derive(Debug)]
pub struct KeyedLimiter<K> {
    rate: u32,
    buckets: Mutex<HashMap<K, TokenBucket>>,
}

impl<K: Hash + Eq> KeyedLimiter<K> {
    /// `rate` per second with a burst of twice that; 0 = unlimited.
    pub fn new(rate: u32) -> Self {
        Self { rate, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token from `key`'s bucket.
    pub fn take(&self, key: K, now: Instant) -> Result<(), Duration> {
        if self.rate == 0 {
            return Ok(());
        }
        // std Mutex: held for a few arithmetic operations, never across an await.
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let rate = self.rate;
        buckets.entry(key).or_insert_with(|| TokenBucket::new(rate, rate.saturating_mul(2), now)).take(now)
    }
}

/// Counts failed logins per username over a sliding minute. Consulted
/// *before* any password hash is computed, so a flood of wrong passwords
/// costs the server almost nothing.
#[derive(Debug)]
pub struct LoginThrottle {
    limit: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Above this many tracked usernames, stale entries are swept on insert.
const THROTTLE_SWEEP_AT: usize = 10_000;

impl LoginThrottle {
    /// At most `limit` failures per `window`.
    pub fn new(limit: usize, window: Duration) -> Self {
        Self { limit, window, failures: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        // std Mutex: short critical sections, never across an await.
        self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Err(retry_after)` when `username` has used up its failures.
    pub fn check(&self, username: &str, now: Instant) -> Result<(), Duration> {
        let mut failures = self.lock();
        let Some(times) = failures.get_mut(username) else {
            return Ok(());
        };
        while times.front().is_some_and(|t| now.saturating_duration_since(*t) >= self.window) {
            times.pop_front();
        }
        match times.front() {
            Some(oldest) if times.len() >= self.limit => Err(self.window.saturating_sub(now - *oldest)),
            _ => Ok(()),
        }
    }

    /// Records one failed attempt.
    pub fn record_failure(&self, username: &str, now: Instant) {
        let mut failures = self.lock();
        if failures.len() >= THROTTLE_SWEEP_AT {
            let window = self.window;
            failures.retain(|_, times| times.back().is_some_and(|t| now.saturating_duration_since(*t) < window));
        }
        failures.entry(username.to_owned()).or_default().push_back(now);
    }

    /// Forgets the failures after a successful login.
    pub fn clear(&self, username: &str) {
        self.lock().remove(username);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 20, start);
        for _ in 0..20 {
            assert!(bucket.take(start).is_ok());
        }
        let wait = bucket.take(start).unwrap_err();
        assert!(wait > Duration::from_millis(90) && wait <= Duration::from_millis(100), "{wait:?}");
        assert!(bucket.take(start + Duration::from_millis(100)).is_ok());
        assert!(TokenBucket::new(0, 0, start).take(start).is_ok(), "rate 0 is unlimited");
    }

    #[test]
    fn throttle_blocks_after_limit_until_oldest_failure_ages_out() {
        let start = Instant::now();
        let throttle = LoginThrottle::new(5, Duration::from_secs(60));
        for i in 0..5 {
            assert!(throttle.check("bob", start).is_ok());
            throttle.record_failure("bob", start + Duration::from_secs(i));
        }
        let wait = throttle.check("bob", start + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(throttle.check("alice", start).is_ok(), "other usernames are unaffected");
        assert!(throttle.check("bob", start + Duration::from_secs(60)).is_ok());
        throttle.clear("bob");
        assert!(throttle.check("bob", start).is_ok());
    }
}
