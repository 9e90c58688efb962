//! Per-user quotas over a rolling window ("at most N rooms created in any
//! hour"): how many times each user did something recently, and how long
//! until they may do it again.
//!
//! Keys are authenticated user ids, never attacker-chosen strings, so the
//! map is bounded by the accounts that acted within the window; `sweep`
//! forgets the rest.

use heartlink_protocol::UserId;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// At most `limit` uses per user in any `window`.
#[derive(Debug)]
pub struct Quota {
    limit: usize,
    window: Duration,
    /// Each user's uses within the window, oldest first (at most `limit`).
    used: Mutex<HashMap<UserId, VecDeque<Instant>>>,
}

impl Quota {
    /// `limit` uses per `window`; 0 = unlimited.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self { limit: limit as usize, window, used: Mutex::new(HashMap::new()) }
    }

    /// `limit` uses per rolling hour; 0 = unlimited.
    pub fn per_hour(limit: u32) -> Self {
        Self::new(limit, Duration::from_secs(3600))
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<UserId, VecDeque<Instant>>> {
        // std Mutex: a few deque operations, never held across an await.
        self.used.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `Err(wait)` when `user` has used up the quota: `wait` is how long
    /// until the oldest use leaves the window.
    pub fn check(&self, user: UserId, now: Instant) -> Result<(), Duration> {
        if self.limit == 0 {
            return Ok(());
        }
        let mut used = self.lock();
        let Some(times) = used.get_mut(&user) else { return Ok(()) };
        self.forget_old(times, now);
        match times.front() {
            Some(oldest) if times.len() >= self.limit => Err(self.window.saturating_sub(now - *oldest)),
            _ => Ok(()),
        }
    }

    /// Counts one use by `user` (even beyond the limit, which `check` guards).
    pub fn record(&self, user: UserId, now: Instant) {
        if self.limit == 0 {
            return;
        }
        let mut used = self.lock();
        let times = used.entry(user).or_default();
        self.forget_old(times, now);
        times.push_back(now);
        while times.len() > self.limit {
            times.pop_front();
        }
    }

    /// `check`, then `record` when allowed.
    pub fn take(&self, user: UserId, now: Instant) -> Result<(), Duration> {
        self.check(user, now)?;
        self.record(user, now);
        Ok(())
    }

    /// Forgets users with no use left in the window.
    pub fn sweep(&self, now: Instant) {
        let window = self.window;
        self.lock().retain(|_, times| times.back().is_some_and(|last| now.saturating_duration_since(*last) < window));
    }

    /// Users currently tracked.
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }

    fn forget_old(&self, times: &mut VecDeque<Instant>, now: Instant) {
        while times.front().is_some_and(|t| now.saturating_duration_since(*t) >= self.window) {
            times.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_holds_in_any_window_and_says_when_to_come_back() {
        let start = Instant::now();
        let quota = Quota::per_hour(3);
        let (alice, bob) = (UserId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
        for minute in 0..3 {
            assert!(quota.take(alice, start + Duration::from_secs(60 * minute)).is_ok());
        }
        let wait = quota.take(alice, start + Duration::from_secs(600)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(3000), "until the first use is an hour old");
        assert!(quota.take(bob, start).is_ok(), "other users have their own quota");
        assert!(quota.take(alice, start + Duration::from_secs(3600)).is_ok());
        assert!(quota.take(alice, start + Duration::from_secs(3601)).is_err());
    }

    #[test]
    fn zero_is_unlimited_and_the_sweep_forgets_idle_users() {
        let start = Instant::now();
        let unlimited = Quota::per_hour(0);
        let alice = UserId::from_bytes([1; 16]);
        assert!((0..1000).all(|_| unlimited.take(alice, start).is_ok()));
        assert_eq!(unlimited.tracked(), 0);

        let quota = Quota::per_hour(5);
        quota.record(alice, start);
        quota.record(UserId::from_bytes([2; 16]), start + Duration::from_secs(1800));
        quota.sweep(start + Duration::from_secs(3600));
        assert_eq!(quota.tracked(), 1, "only the user who acted within the hour is kept");
    }
}
