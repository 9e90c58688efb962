//! Noticing that the computer slept. The monotonic clock (tokio's
//! `Instant`) stops while a laptop is suspended; the wall clock does not.
//! When the wall clock has run well ahead of the monotonic one since the
//! last look, the machine was asleep: every socket it had is probably dead
//! on the other end, so the task reconnects at once instead of waiting out
//! a heartbeat (a complaint users file against other terminal clients).

use super::WallClock;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// How often the clocks are compared.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);
/// How far the wall clock may run ahead before it counts as a sleep: more
/// than any NTP step, less than any sleep worth noticing.
const SLEPT_AFTER: Duration = Duration::from_secs(10);

/// The two clocks at the last look.
pub struct SleepWatch {
    clock: WallClock,
    wall: SystemTime,
    mono: Instant,
}

impl SleepWatch {
    pub fn new(clock: WallClock) -> Self {
        let wall = clock();
        Self { clock, wall, mono: Instant::now() }
    }

    /// Looks at both clocks; true if the wall clock ran ahead by more than
    /// [`SLEPT_AFTER`] since the last look (a clock set back is ignored).
    pub fn slept(&mut self) -> bool {
        let (wall, mono) = ((self.clock)(), Instant::now());
        let wall_passed = wall.duration_since(self.wall).unwrap_or(Duration::ZERO);
        let mono_passed = mono.duration_since(self.mono);
        self.wall = wall;
        self.mono = mono;
        wall_passed > mono_passed + SLEPT_AFTER
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn a_wall_clock_jump_is_a_sleep_and_a_step_back_is_not() {
        let ahead = Arc::new(AtomicU64::new(0));
        let clock_ahead = Arc::clone(&ahead);
        let clock: WallClock = Arc::new(move || SystemTime::now() + Duration::from_secs(clock_ahead.load(Ordering::SeqCst)));
        let mut watch = SleepWatch::new(clock);
        assert!(!watch.slept(), "nothing happened");
        ahead.store(5, Ordering::SeqCst);
        assert!(!watch.slept(), "a small step (NTP) is not a sleep");
        ahead.store(65, Ordering::SeqCst);
        assert!(watch.slept(), "a minute passed on the wall clock only");
        assert!(!watch.slept(), "reported once");
        ahead.store(0, Ordering::SeqCst);
        assert!(!watch.slept(), "a clock set back is not a sleep");
    }
}
