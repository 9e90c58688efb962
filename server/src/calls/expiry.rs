//! Appends `missed` when a ring expires unanswered: the server's own step
//! of a call, sent as the inviter with `client_msg_id` `missed-<call_id>`.
//!
//! The pending expiries live in the store, written in the invitation's own
//! transaction, so a restart finds them (and a ring that expired while the
//! server was down gets its `missed` at once). The `missed` goes through
//! `Store::append_batch` like any call step: it is appended only while the
//! call still rings and is past its expiry, and ends the ring in the same
//! transaction, so it is appended once however many nodes run this task,
//! and never after an answer that won. Its idempotency key makes a second
//! attempt (a crash before the answer came back) a retry, not a copy.
//!
//! The task sleeps until the earliest pending expiry, an invitation made on
//! this node ([`RingClock`](super::RingClock)), or [`POLL`] (an invitation
//! made on another node of a shared store), whichever comes first.

use crate::bus::MessageBatch;
use crate::clock::now_ms;
use crate::report::Chain;
use crate::shared::Shared;
use crate::store::{CallActionRecord, CallRecord, DueCall, MessageRecord, NewMessage, SeqMessage, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The longest sleep between looks at the store.
pub const POLL: Duration = Duration::from_secs(5);
/// Calls rung out per store batch.
const BATCH: usize = 64;
/// The pause after a store error before trying again.
const BACKOFF: Duration = Duration::from_secs(1);

/// Rings out expired calls until `shutdown`.
pub async fn run(shared: Arc<Shared>, shutdown: CancellationToken) {
    loop {
        let wait = match ring_out(&shared).await {
            Ok(rung_out) => {
                if rung_out > 0 {
                    tracing::info!(calls = rung_out, "rang out unanswered calls");
                }
                until_next(&shared).await
            }
            Err(err) => {
                tracing::error!(cause = %Chain(&err), "appending missed calls failed; trying again");
                BACKOFF
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
            () = shared.rings.wake.notified() => {}
        }
    }
}

/// How long to sleep before the next expiry may be due.
async fn until_next(shared: &Shared) -> Duration {
    let now = now_ms();
    let stored = match shared.store.next_call_expiry().await {
        Ok(next) => next,
        Err(err) => {
            tracing::error!(cause = %Chain(&err), "reading the next call expiry failed");
            return BACKOFF;
        }
    };
    let next = [stored, shared.rings.announced(now)].into_iter().flatten().min();
    next.map_or(POLL, |at| Duration::from_millis(at.saturating_sub(now)).min(POLL))
}

/// Appends the `missed` of every call due now; returns how many it appended.
pub async fn ring_out(shared: &Shared) -> Result<usize, StoreError> {
    let mut rung_out = 0;
    loop {
        let now = now_ms();
        let due = shared.store.due_calls(now, BATCH).await?;
        let full = due.len() == BATCH;
        if due.is_empty() {
            return Ok(rung_out);
        }
        let messages: Vec<NewMessage> = due.into_iter().map(|call| missed(call, now)).collect();
        let appended = shared.store.append_batch(messages.clone()).await?;
        let mut batch = MessageBatch::default();
        for (NewMessage { room, record }, appended) in messages.into_iter().zip(appended) {
            // Refused: an answer won the race since the call was listed.
            if appended.fresh {
                batch.messages.push(crate::wire::chat_message(room, SeqMessage { seq: appended.seq, record }));
            }
        }
        let fresh = batch.messages.len();
        rung_out += fresh;
        if fresh > 0 {
            if let Err(err) = shared.bus.publish_messages(batch).await {
                // Durable all the same: hubs fill the gap from the store.
                tracing::error!(cause = %Chain(&err), "publishing missed calls failed");
            }
        }
        // Nothing new in a full batch would mean calls the store cannot ring
        // out; the next wake tries again rather than spinning here.
        if !full || fresh == 0 {
            return Ok(rung_out);
        }
    }
}

/// The `missed` of a due call, sent as its inviter.
fn missed(call: DueCall, now: u64) -> NewMessage {
    let step = CallRecord { call_id: call.call_id, action: CallActionRecord::Missed, url: None, expires_at: None };
    let record = MessageRecord {
        sender: call.inviter,
        body: String::new(),
        ts: now.max(call.expires_at),
        client_msg_id: format!("{}{}", super::MISSED_PREFIX, call.call_id),
        attachment: None,
        call: Some(Box::new(step)),
        ..MessageRecord::default()
    };
    NewMessage { room: call.room, record }
}
