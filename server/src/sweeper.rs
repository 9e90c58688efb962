//! Upkeep of what grows with use but is needed only for a while: tokens
//! unused for longer than their lifetime, idempotency records older than
//! the dedup window, and quota entries of users who did not act within it.
//!
//! Every `sweep_interval` one pass walks the `tokens` and `dedup` trees in
//! chunks on the blocking pool, so a large store never holds a thread (or
//! the runtime) for long. A record therefore lives at least its window and
//! at most one interval plus one pass longer.

use crate::clock::now_ms;
use crate::shared::Shared;
use crate::store::{Store, StoreError, SweepCursor, Swept};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Records looked at per blocking call.
const CHUNK: usize = 10_000;

/// What one pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub tokens: usize,
    pub dedup: usize,
}

/// Sweeps every `sweep_interval` until `shutdown`.
pub async fn run(shared: Arc<Shared>, shutdown: CancellationToken) {
    let every = shared.config.sweep_interval;
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let pass = sweep_once(&shared.store, shared.config.token_ttl, shared.config.dedup_window, now_ms());
        let outcome = tokio::select! {
            () = shutdown.cancelled() => return,
            outcome = pass => outcome,
        };
        match outcome {
            Ok(pass) if pass == Pass::default() => tracing::debug!("sweep: nothing expired"),
            Ok(pass) => tracing::info!(tokens = pass.tokens, dedup_records = pass.dedup, "sweep removed expired records"),
            Err(err) => tracing::error!(cause = %err, "sweep failed; trying again next interval"),
        }
        let now = std::time::Instant::now();
        shared.room_quota.sweep(now);
        shared.pair_room_quota.sweep(now);
    }
}

/// One pass at time `now_ms`: deletes tokens unused for longer than
/// `token_ttl` and idempotency records older than `dedup_window`.
pub async fn sweep_once(store: &Store, token_ttl: Duration, dedup_window: Duration, now_ms: u64) -> Result<Pass, StoreError> {
    let ttl_ms = millis(token_ttl);
    let cutoff = now_ms.saturating_sub(millis(dedup_window));
    let tokens = sweep_tree(store, move |store, from| store.sweep_tokens(now_ms, ttl_ms, from, CHUNK)).await?;
    let dedup = sweep_tree(store, move |store, from| store.prune_dedup(cutoff, from, CHUNK)).await?;
    Ok(Pass { tokens, dedup })
}

/// Runs `chunk` on the blocking pool until the pass is complete; returns
/// how many records it removed.
async fn sweep_tree(
    store: &Store,
    chunk: impl Fn(&Store, Option<&SweepCursor>) -> Result<Swept, StoreError> + Send + Clone + 'static,
) -> Result<usize, StoreError> {
    let mut removed = 0;
    let mut cursor: Option<SweepCursor> = None;
    loop {
        let (store, chunk, from) = (store.clone(), chunk.clone(), cursor.take());
        let swept = tokio::task::spawn_blocking(move || chunk(&store, from.as_ref()))
            .await
            .map_err(|err| StoreError::FlushTask(err.to_string()))??;
        removed += swept.removed;
        match swept.next {
            Some(next) => cursor = Some(next),
            None => return Ok(removed),
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoredMessage;
    use heartlink_protocol::{ClientMsgId, RoomId, User, UserId};

    #[tokio::test]
    async fn a_pass_removes_expired_tokens_and_old_idempotency_records_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let alice = UserId::from_bytes([1; 16]);
        let day = 24 * 3600 * 1000;
        store.insert_token(&[1; 32], alice, 0).unwrap();
        store.insert_token(&[2; 32], alice, 40 * day).unwrap();
        let room = RoomId::from_bytes([3; 16]);
        let sender = User { id: alice, username: "alice".into() };
        let writes: Vec<_> = [(1, 0), (2, 35 * day)]
            .into_iter()
            .map(|(seq, ts)| {
                let message = StoredMessage { sender: sender.clone(), body: "hi".into(), ts, client_msg_id: format!("c{seq}"), attachment: None };
                store.prepare_message(room, seq, &message).unwrap()
            })
            .collect();
        store.write_messages(&writes).unwrap();

        let month = Duration::from_secs(30 * 24 * 3600);
        let pass = sweep_once(&store, month, month, 41 * day).await.unwrap();
        assert_eq!(pass, Pass { tokens: 1, dedup: 1 });
        assert!(!store.token_exists(&[1; 32]).unwrap() && store.token_exists(&[2; 32]).unwrap());
        let id = |n: &str| ClientMsgId::try_from(n).unwrap();
        assert_eq!(store.dedup(alice, room, &id("c1")).unwrap(), None);
        assert_eq!(store.dedup(alice, room, &id("c2")).unwrap(), Some((2, 35 * day)));
        assert_eq!(sweep_once(&store, month, month, 41 * day).await.unwrap(), Pass::default(), "nothing left to do");
    }
}
