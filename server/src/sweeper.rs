//! Upkeep of what grows with use in the store but is needed only for a
//! while: tokens unused for longer than their lifetime and idempotency
//! records older than the dedup window. (The live state's quota and
//! throttle entries are swept every few seconds by the server's auth sweep.)
//!
//! Every `sweep_interval` one pass asks the store to delete what expired
//! (it works in small steps, never holding a thread or the runtime for
//! long). A record therefore lives at least its window and at most one
//! interval plus one pass longer.

use crate::clock::now_ms;
use crate::report::Chain;
use crate::shared::Shared;
use crate::store::{Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

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
        let pass = sweep_once(&*shared.store, shared.config.token_ttl, shared.config.dedup_window, now_ms());
        let outcome = tokio::select! {
            () = shutdown.cancelled() => return,
            outcome = pass => outcome,
        };
        match outcome {
            Ok(pass) if pass == Pass::default() => tracing::debug!("sweep: nothing expired"),
            Ok(pass) => tracing::info!(tokens = pass.tokens, dedup_records = pass.dedup, "sweep removed expired records"),
            Err(err) => tracing::error!(cause = %Chain(&err), "sweep failed; trying again next interval"),
        }
    }
}

/// One pass at time `now_ms`: deletes tokens unused for longer than
/// `token_ttl` and idempotency records older than `dedup_window`.
pub async fn sweep_once(store: &dyn Store, token_ttl: Duration, dedup_window: Duration, now_ms: u64) -> Result<Pass, StoreError> {
    let tokens = store.sweep_tokens(now_ms, millis(token_ttl)).await?;
    let dedup = store.prune_dedup(now_ms.saturating_sub(millis(dedup_window))).await?;
    Ok(Pass { tokens, dedup })
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MessageRecord, NewMessage, SledStore, UserSummary};
    use heartlink_protocol::{RoomId, UserId};

    #[tokio::test]
    async fn a_pass_removes_expired_tokens_and_old_idempotency_records_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let alice = UserId::from_bytes([1; 16]);
        let day = 24 * 3600 * 1000;
        store.insert_token(&[1; 32], alice, 0).await.unwrap();
        store.insert_token(&[2; 32], alice, 40 * day).await.unwrap();
        let room = RoomId::from_bytes([3; 16]);
        let sender = UserSummary { id: alice, username: "alice".into() };
        let message = |id: &str, ts| {
            let record = MessageRecord { sender: sender.clone(), body: "hi".into(), ts, client_msg_id: id.into(), attachment: None, call: None };
            NewMessage { room, record }
        };
        store.append_batch(vec![message("c1", 0), message("c2", 35 * day)]).await.unwrap();

        let month = Duration::from_secs(30 * 24 * 3600);
        let pass = sweep_once(&store, month, month, 41 * day).await.unwrap();
        assert_eq!(pass, Pass { tokens: 1, dedup: 1 });
        assert!(!store.token_exists(&[1; 32]).await.unwrap() && store.token_exists(&[2; 32]).await.unwrap());
        // A resend of c1 is new now; c2 is still recognised.
        let resent = store.append_batch(vec![message("c1", 41 * day), message("c2", 41 * day)]).await.unwrap();
        assert_eq!(resent.iter().map(|a| (a.seq, a.fresh)).collect::<Vec<_>>(), [(3, true), (2, false)]);
        assert_eq!(sweep_once(&store, month, month, 41 * day).await.unwrap(), Pass::default(), "nothing left to do");
    }
}
