//! The hashing threads' queue: bounded, and fair between source addresses.
//!
//! A plain FIFO let one address with many connections fill the queue, so a
//! real user's login waited behind all of its jobs (9.4 s, then a timeout).
//! Here each address has its own short line and the threads take one job
//! per address in turn: a user from another address waits for at most one
//! job of each address that has jobs waiting, however many that address
//! queued. The queue holds at most `max_total` jobs, `max_per_key` of one
//! address; a job beyond either is refused at once (the caller answers
//! `rate_limited`) rather than waiting for room.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// The queue (or this address's line in it) is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

struct State<K, J> {
    lines: HashMap<K, VecDeque<J>>,
    /// Addresses with jobs waiting, in the order they get their next turn.
    turns: VecDeque<K>,
    total: usize,
    closed: bool,
}

/// See the module documentation.
pub struct FairQueue<K, J> {
    state: Mutex<State<K, J>>,
    ready: Condvar,
    max_total: usize,
    max_per_key: usize,
}

impl<K, J> std::fmt::Debug for FairQueue<K, J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FairQueue").field("max_total", &self.max_total).field("max_per_key", &self.max_per_key).finish()
    }
}

impl<K: Hash + Eq + Copy, J> FairQueue<K, J> {
    /// An empty queue with these bounds.
    pub fn new(max_total: usize, max_per_key: usize) -> Self {
        let state = State { lines: HashMap::new(), turns: VecDeque::new(), total: 0, closed: false };
        Self { state: Mutex::new(state), ready: Condvar::new(), max_total, max_per_key: max_per_key.max(1) }
    }

    fn lock(&self) -> MutexGuard<'_, State<K, J>> {
        // Held for a few pointer moves; a thread that panicked mid-job left nothing half-done here.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job` in `key`'s line.
    pub fn push(&self, key: K, job: J) -> Result<(), QueueFull> {
        let mut state = self.lock();
        if state.closed || state.total >= self.max_total {
            return Err(QueueFull);
        }
        let line = state.lines.entry(key).or_default();
        if line.len() >= self.max_per_key {
            return Err(QueueFull);
        }
        line.push_back(job);
        if line.len() == 1 {
            state.turns.push_back(key);
        }
        state.total += 1;
        drop(state);
        self.ready.notify_one();
        Ok(())
    }

    /// The next job, by turns between addresses; waits for one. `None` once
    /// the queue is closed (jobs still queued then are dropped).
    pub fn pop(&self) -> Option<J> {
        let mut state = self.lock();
        loop {
            if state.closed {
                return None;
            }
            if let Some(job) = Self::take_turn(&mut state) {
                return Some(job);
            }
            state = self.ready.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn take_turn(state: &mut State<K, J>) -> Option<J> {
        let key = state.turns.pop_front()?;
        let line = state.lines.get_mut(&key)?;
        let job = line.pop_front();
        if line.is_empty() {
            state.lines.remove(&key);
        } else {
            state.turns.push_back(key);
        }
        if job.is_some() {
            state.total -= 1;
        }
        job
    }

    /// Wakes the threads to stop; queued jobs are dropped.
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.lines.clear();
        state.turns.clear();
        state.total = 0;
        drop(state);
        self.ready.notify_all();
    }

    /// Jobs waiting.
    pub fn waiting(&self) -> usize {
        self.lock().total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_take_turns_and_lines_are_bounded() {
        let queue = FairQueue::new(100, 3);
        for n in 0..3 {
            queue.push('a', format!("a{n}")).unwrap();
        }
        assert_eq!(queue.push('a', "a3".to_owned()), Err(QueueFull), "one address's line is bounded");
        queue.push('b', "b0".to_owned()).unwrap();
        queue.push('c', "c0".to_owned()).unwrap();
        let order: Vec<String> = (0..5).filter_map(|_| queue.pop()).collect();
        assert_eq!(order, ["a0", "b0", "c0", "a1", "a2"], "b and c do not wait behind all of a");
        assert_eq!(queue.waiting(), 0);
    }

    #[test]
    fn the_whole_queue_is_bounded_and_closing_drops_what_waits() {
        let queue = FairQueue::new(2, 10);
        queue.push(1, ()).unwrap();
        queue.push(2, ()).unwrap();
        assert_eq!(queue.push(3, ()), Err(QueueFull));
        queue.close();
        assert_eq!(queue.pop(), None);
        assert_eq!(queue.push(3, ()), Err(QueueFull));
    }
}
