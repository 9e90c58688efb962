//! Token buckets for request and send rates, per-address budgets for
//! password hashing and registration, and the failed-login throttle.

use crate::address::AddressKey;
use crate::bounded_map::{BoundedMap, Bounds, Full, HeapBytes};
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
        Self::with_rate(f64::from(rate), f64::from(burst), now)
    }

    /// A full bucket refilled at `rate` tokens per second (fractions allowed).
    pub fn with_rate(rate: f64, burst: f64, now: Instant) -> Self {
        Self { rate, burst, tokens: burst, last: now }
    }

    /// Returns one token (never above the burst).
    pub fn give_back(&mut self) {
        self.tokens = (self.tokens + 1.0).min(self.burst);
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

/// Counts failed logins per key (a username, or an address and a username)
/// over a sliding window. Consulted *before* any password hash is computed,
/// so a flood of wrong passwords costs the server almost nothing. Its map is
/// bounded (see [`BoundedMap`]); a key's failures are forgotten a window
/// after its last one.
#[derive(Debug)]
pub struct LoginThrottle<K> {
    limit: usize,
    window: Duration,
    failures: Mutex<BoundedMap<K, VecDeque<Instant>>>,
}

impl<K: Hash + Eq + HeapBytes> LoginThrottle<K> {
    /// At most `limit` failures per `window`, for at most `max_entries` keys
    /// and `max_bytes` bytes.
    pub fn new(limit: usize, window: Duration, max_entries: usize, max_bytes: usize) -> Self {
        let bounds = Bounds { max_entries, max_bytes, idle: window };
        Self { limit: limit.max(1), window, failures: Mutex::new(BoundedMap::new(bounds)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BoundedMap<K, VecDeque<Instant>>> {
        // std Mutex: short critical sections, never across an await.
        self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Err(retry_after)` when `key` has used up its failures.
    pub fn check(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let mut failures = self.lock();
        let Some(times) = failures.get_mut(key, now) else {
            return Ok(());
        };
        while times.front().is_some_and(|t| now.saturating_duration_since(*t) >= self.window) {
            times.pop_front();
        }
        let verdict = match times.front() {
            Some(oldest) if times.len() >= self.limit => Err(self.window.saturating_sub(now - *oldest)),
            _ => Ok(()),
        };
        // A key whose failures have all aged out is forgotten now, so that
        // checking it again and again does not keep it alive.
        if times.is_empty() {
            failures.remove(key);
        }
        verdict
    }

    /// Records one failed attempt. `false` when the map is full of recent
    /// failures and this one could not be recorded (see accounts.rs for why
    /// that cannot happen at the configured sizes).
    pub fn record_failure(&self, key: K, now: Instant) -> bool {
        let bytes = key.heap_bytes() + self.limit * std::mem::size_of::<Instant>();
        let mut failures = self.lock();
        match failures.get_or_insert_with(key, bytes, now, || VecDeque::with_capacity(self.limit)) {
            Ok(times) => {
                if times.len() >= self.limit {
                    times.pop_front();
                }
                times.push_back(now);
                true
            }
            Err(Full) => false,
        }
    }

    /// Forgets the failures after a successful login.
    pub fn clear(&self, key: &K) {
        self.lock().remove(key);
    }

    /// Drops keys whose last failure is a window old.
    pub fn sweep(&self, now: Instant) {
        self.lock().sweep(now);
    }

    /// Keys tracked and their estimated bytes.
    pub fn size(&self) -> (usize, usize) {
        let failures = self.lock();
        (failures.len(), failures.bytes())
    }
}

/// A token bucket per source address: `count` per `period`, all of them at
/// once at most. Taken before a password hash (login, register) or a
/// registration. Its map is bounded; an address's entry is dropped once its
/// bucket would be full again. When the map is full of recently active
/// addresses a new address is refused too (for a second): memory stays
/// bounded, at the price of new addresses waiting during such a flood.
#[derive(Debug)]
pub struct AddressBudget {
    rate: f64,
    burst: f64,
    buckets: Mutex<BoundedMap<AddressKey, TokenBucket>>,
}

/// How long a new address is told to wait when the budget map is full.
const BUDGET_FULL_RETRY: Duration = Duration::from_secs(1);

impl AddressBudget {
    /// `count` per `period` per address (burst `count`); `count` 0 = unlimited.
    pub fn new(count: u32, period: Duration, max_entries: usize) -> Self {
        let rate = f64::from(count) / period.as_secs_f64().max(f64::MIN_POSITIVE);
        let bounds = Bounds { max_entries, max_bytes: max_entries.saturating_mul(128), idle: period };
        Self { rate, burst: f64::from(count), buckets: Mutex::new(BoundedMap::new(bounds)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BoundedMap<AddressKey, TokenBucket>> {
        // std Mutex: held for a few arithmetic operations, never across an await.
        self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes one unit for `source`, or says how long until one is available.
    pub fn take(&self, source: AddressKey, now: Instant) -> Result<(), Duration> {
        if self.rate == 0.0 {
            return Ok(());
        }
        let (rate, burst) = (self.rate, self.burst);
        match self.lock().get_or_insert_with(source, 0, now, || TokenBucket::with_rate(rate, burst, now)) {
            Ok(bucket) => bucket.take(now),
            Err(Full) => Err(BUDGET_FULL_RETRY),
        }
    }

    /// Gives back a unit taken for work that was then not done.
    pub fn give_back(&self, source: AddressKey, now: Instant) {
        if let Some(bucket) = self.lock().get_mut(&source, now) {
            bucket.give_back();
        }
    }

    /// Drops the addresses whose bucket is full again.
    pub fn sweep(&self, now: Instant) {
        self.lock().sweep(now);
    }

    /// Addresses tracked and their estimated bytes.
    pub fn size(&self) -> (usize, usize) {
        let buckets = self.lock();
        (buckets.len(), buckets.bytes())
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
        let throttle = LoginThrottle::<Box<str>>::new(5, Duration::from_secs(60), 100, 1 << 20);
        let (bob, alice): (Box<str>, Box<str>) = ("bob".into(), "alice".into());
        for i in 0..5 {
            assert!(throttle.check(&bob, start).is_ok());
            assert!(throttle.record_failure(bob.clone(), start + Duration::from_secs(i)));
        }
        let wait = throttle.check(&bob, start + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(throttle.check(&alice, start).is_ok(), "other usernames are unaffected");
        assert!(throttle.check(&bob, start + Duration::from_secs(60)).is_ok());
        throttle.clear(&bob);
        assert!(throttle.check(&bob, start).is_ok());
    }

    #[test]
    fn throttle_memory_is_bounded_and_forgotten_after_the_window() {
        let start = Instant::now();
        let throttle = LoginThrottle::<Box<str>>::new(5, Duration::from_secs(60), 1000, 1 << 20);
        let mut recorded = 0;
        for i in 0..5000 {
            recorded += usize::from(throttle.record_failure(format!("user{i}").into(), start));
        }
        assert_eq!(recorded, 1000, "beyond the cap failures are not recorded");
        let (entries, bytes) = throttle.size();
        assert!(entries == 1000 && bytes <= 1 << 20, "{entries} entries, {bytes} bytes");
        throttle.sweep(start + Duration::from_secs(60));
        assert_eq!(throttle.size(), (0, 0), "a window after the last failure nothing is left");
    }

    #[test]
    fn address_budget_allows_its_burst_then_its_rate_and_is_bounded() {
        let start = Instant::now();
        let budget = AddressBudget::new(30, Duration::from_secs(60), 2);
        let home = AddressKey::V4([127, 0, 0, 1]);
        for _ in 0..30 {
            assert!(budget.take(home, start).is_ok());
        }
        let wait = budget.take(home, start).unwrap_err();
        assert!(wait > Duration::from_millis(1900) && wait <= Duration::from_secs(2), "{wait:?}");
        assert!(budget.take(home, start + Duration::from_secs(2)).is_ok(), "one more every 2 s");
        assert!(budget.take(AddressKey::V4([10, 0, 0, 1]), start).is_ok());
        assert!(budget.take(AddressKey::V4([10, 0, 0, 2]), start).is_err(), "the map is full");
        budget.give_back(home, start + Duration::from_secs(2));
        assert!(budget.take(home, start + Duration::from_secs(2)).is_ok(), "a unit given back can be taken again");
        budget.sweep(start + Duration::from_secs(62));
        assert_eq!(budget.size().0, 0);
        assert!(AddressBudget::new(0, Duration::from_secs(60), 1).take(home, start).is_ok(), "0 = unlimited");
    }
}
