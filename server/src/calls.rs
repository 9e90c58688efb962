//! Call invitations (PROTOCOL.md, "Calls"). A call is messages: the
//! invitation, with a link made from `--call-url-template` and a ring expiry,
//! and its answers. The rules are the store's (`store/call_rules.rs`,
//! applied in `Store::append_batch`), so that they hold whichever node an
//! answer arrives on; the session builds the steps (`session/calls.rs`);
//! [`expiry`] appends `missed` when a ring expires unanswered, from the
//! pending expiries the store keeps durably.

pub mod expiry;
pub mod template;

use crate::store::call_rules::CallRefusal;
use crate::store::{Appended, CallActionRecord, MessageRecord, NewMessage, PageBudget, Store};
use heartlink_protocol::{CallInfo, ErrorCode};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Notify;

pub use template::CallUrlTemplate;

/// `client_msg_id`s starting with this are the server's (`missed-<call_id>`):
/// a client's `send` may not use them, so no message can take a `missed`'s
/// idempotency key.
pub const MISSED_PREFIX: &str = "missed-";

/// The `error` a refused call step gets.
pub fn refusal_error(refusal: CallRefusal) -> (ErrorCode, &'static str) {
    match refusal {
        CallRefusal::UnknownCall => (ErrorCode::BadRequest, "no such call in this room"),
        CallRefusal::Finished => (ErrorCode::BadRequest, "that call is over (answered, cancelled, declined or expired)"),
        CallRefusal::NotInviter => (ErrorCode::Forbidden, "only the caller may cancel a call"),
        CallRefusal::Inviter => (ErrorCode::Forbidden, "the caller cannot accept or decline their own call"),
        CallRefusal::AlreadyDeclined => (ErrorCode::BadRequest, "you declined that call already"),
        CallRefusal::RoomRinging => (ErrorCode::BadRequest, "a call is ringing in this room already; answer it or wait"),
        CallRefusal::NotDue => (ErrorCode::BadRequest, "that call is still ringing"),
    }
}

/// The `call` an invitation's `ack` repeats.
pub fn invite_of(record: &MessageRecord) -> Option<CallInfo> {
    let call = record.call.as_deref().filter(|call| call.action == CallActionRecord::Invite)?;
    Some(crate::wire::call(call.clone()))
}

/// A retried invitation is not stored again, and the retry's record holds a
/// call id and expiry drawn for it, never used: its `ack` must repeat the
/// original's. Reads each such original (retried invitations are rare).
pub async fn recall_retried_invites(store: &dyn Store, messages: &mut [NewMessage], appended: &[Appended]) {
    for (message, appended) in messages.iter_mut().zip(appended) {
        if appended.fresh || appended.refused.is_some() || invite_of(&message.record).is_none() {
            continue;
        }
        let original = store.page_after(message.room, appended.seq.saturating_sub(1), appended.seq, PageBudget::count(1)).await;
        match original.map(|page| page.messages.into_iter().next()) {
            Ok(Some(original)) => message.record.call = original.record.call,
            Ok(None) => tracing::warn!(room = %message.room, seq = appended.seq, "the original of a retried invitation is missing"),
            Err(err) => tracing::error!(cause = %crate::report::Chain(&err), "reading a retried invitation's original failed"),
        }
    }
}

/// Wakes the expiry task for a new invitation's expiry, before the store
/// lists it (the invitation may still be in the commit queue).
#[derive(Debug)]
pub struct RingClock {
    earliest: AtomicU64,
    wake: Notify,
}

impl Default for RingClock {
    fn default() -> Self {
        Self { earliest: AtomicU64::new(u64::MAX), wake: Notify::new() }
    }
}

impl RingClock {
    /// A call of this node rings until `expires_at`.
    pub fn ringing_until(&self, expires_at: u64) {
        self.earliest.fetch_min(expires_at, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// The earliest expiry announced and not yet passed at `now`.
    fn announced(&self, now: u64) -> Option<u64> {
        let earliest = self.earliest.load(Ordering::SeqCst);
        if earliest <= now {
            // Passed: the store lists it from now on (the commit took ms).
            let _ = self.earliest.compare_exchange(earliest, u64::MAX, Ordering::SeqCst, Ordering::SeqCst);
            return None;
        }
        (earliest != u64::MAX).then_some(earliest)
    }
}
