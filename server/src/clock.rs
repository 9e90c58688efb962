//! Wall-clock time in the protocol's unit (Unix epoch milliseconds).

use std::sync::atomic::{AtomicU64, Ordering};

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
}

/// Like [`now_ms`], but never the same value twice in this process: rooms
/// and memberships are listed oldest first by this time, and two created
/// within one millisecond must still come out in the order they happened.
pub fn ordered_now_ms() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now_ms().max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(actual) => last = actual,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ordered_times_strictly_increase() {
        let times: Vec<u64> = (0..10_000).map(|_| super::ordered_now_ms()).collect();
        assert!(times.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
