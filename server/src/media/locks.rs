//! One request at a time per upload, and a bound on each user's running
//! transfers.
//!
//! A client whose connection died mid-PATCH comes back with a HEAD while
//! the server may still be reading the dead PATCH (a silent network cut is
//! only noticed at the idle timeout). So a request that finds the upload
//! busy asks the holder to stop: the PATCH keeps what it has received
//! (durably) and lets go, and the new request then sees the real offset.

use heartlink_protocol::{MediaId, UserId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long a request waits for an upload's current holder to let go.
const TAKEOVER_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct Slot {
    lock: Arc<tokio::sync::Mutex<()>>,
    /// Cancelled to ask the current holder to stop.
    stop: Mutex<CancellationToken>,
}

/// The per-upload locks.
#[derive(Debug, Default)]
pub struct UploadLocks {
    slots: Mutex<HashMap<MediaId, Arc<Slot>>>,
}

/// Holding an upload; `stop` fires when another request wants it.
#[derive(Debug)]
pub struct UploadGuard {
    _held: tokio::sync::OwnedMutexGuard<()>,
    /// Keeps the slot in the map while it is held.
    _slot: Arc<Slot>,
    pub stop: CancellationToken,
}

impl UploadLocks {
    /// Takes the upload, asking its holder (if any) to stop first. `None`
    /// when the holder did not let go in time.
    pub async fn acquire(&self, id: MediaId) -> Option<UploadGuard> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // Forget slots nobody holds or waits for, so the map stays as
            // small as the set of busy uploads.
            slots.retain(|_, slot| Arc::strong_count(slot) > 1);
            Arc::clone(slots.entry(id).or_default())
        };
        let held = match Arc::clone(&slot.lock).try_lock_owned() {
            Ok(held) => held,
            Err(_) => {
                slot.stop.lock().unwrap_or_else(std::sync::PoisonError::into_inner).cancel();
                tokio::time::timeout(TAKEOVER_WAIT, Arc::clone(&slot.lock).lock_owned()).await.ok()?
            }
        };
        let stop = CancellationToken::new();
        *slot.stop.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = stop.clone();
        Some(UploadGuard { _held: held, _slot: slot, stop })
    }
}

/// Running transfers (PATCHes, downloads) per user.
#[derive(Debug)]
pub struct TransferCounts {
    limit: usize,
    running: Arc<Mutex<HashMap<UserId, usize>>>,
}

/// One running transfer; counted until dropped.
#[derive(Debug)]
pub struct TransferGuard {
    user: UserId,
    running: Arc<Mutex<HashMap<UserId, usize>>>,
}

impl TransferCounts {
    pub fn new(limit: usize) -> Self {
        Self { limit, running: Arc::default() }
    }

    /// Counts a new transfer of `user`'s, or `None` when they have `limit` running.
    pub fn start(&self, user: UserId) -> Option<TransferGuard> {
        let mut running = self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = running.entry(user).or_default();
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(TransferGuard { user, running: Arc::clone(&self.running) })
    }
}

impl Drop for TransferGuard {
    fn drop(&mut self) {
        let mut running = self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = running.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_request_stops_the_holder_and_takes_over() {
        let locks = UploadLocks::default();
        let id = MediaId::random();
        let first = locks.acquire(id).await.unwrap();
        let stop = first.stop.clone();
        let holder = tokio::spawn(async move {
            stop.cancelled().await;
            drop(first);
        });
        let second = locks.acquire(id).await.expect("the holder let go");
        assert!(!second.stop.is_cancelled(), "the new holder has its own stop signal");
        holder.await.unwrap();
    }

    #[test]
    fn transfers_are_bounded_per_user() {
        let counts = TransferCounts::new(2);
        let (alice, bob) = (UserId::random(), UserId::random());
        let one = counts.start(alice).unwrap();
        let _two = counts.start(alice).unwrap();
        assert!(counts.start(alice).is_none());
        assert!(counts.start(bob).is_some(), "another user is not affected");
        drop(one);
        assert!(counts.start(alice).is_some());
    }
}
