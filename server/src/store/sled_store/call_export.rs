//! Calls out of and back into the call trees (`calls.rs`) for export and
//! import: each call's stored state with its declines and whether it is the
//! one ringing in its room. The state is carried as stored, not re-derived
//! from the call messages: whether a decline ended a ring depended on who
//! was a member then, which the export no longer knows.

use super::calls::{call_key, decline_key, expiry_key};
use super::keys::id_at;
use super::{StoreError, Trees, decode, encode};
use crate::store::StoredCall;
use heartlink_protocol::{CallId, RoomId, UserId};
use std::ops::Bound;

impl Trees {
    /// See [`Store::calls_after`](crate::store::Store::calls_after).
    pub(super) fn calls_after(&self, room: RoomId, after: Option<CallId>, limit: usize) -> Result<Vec<StoredCall>, StoreError> {
        let start = match after {
            Some(call) => Bound::Excluded(call_key(room, call)),
            None => Bound::Included(room.as_bytes().to_vec()),
        };
        let ringing = match self.call_ringing.get(room.as_bytes())? {
            Some(value) => Some(CallId::from_bytes(id_at("call_ringing", &value, 0)?)),
            None => None,
        };
        let mut found = Vec::new();
        for entry in self.calls.range::<Vec<u8>, _>((start, Bound::Unbounded)).take(limit) {
            let (key, value) = entry?;
            if !key.starts_with(room.as_bytes()) {
                break;
            }
            let call_id = CallId::from_bytes(id_at("calls", &key, 16)?);
            let mut declined = Vec::new();
            for decline in self.call_declines.scan_prefix(&key).keys() {
                declined.push(UserId::from_bytes(id_at("call_declines", &decline?, 32)?));
            }
            found.push(StoredCall { call_id, state: decode("calls", &value)?, declined, ringing: ringing == Some(call_id) });
        }
        Ok(found)
    }

    /// Writes an exported call back: its state, its declines, its pending
    /// expiry while it has not ended (so the server still rings it out with
    /// its `missed`), and the room's ringing call.
    pub(super) fn restore_call(&self, room: RoomId, call: &StoredCall) -> Result<(), StoreError> {
        let id = call.call_id;
        self.calls.insert(call_key(room, id), encode("calls", &call.state)?)?;
        for user in &call.declined {
            self.call_declines.insert(decline_key(room, id, *user), &[])?;
        }
        if call.state.ended.is_none() {
            self.call_expiries.insert(expiry_key(call.state.expires_at, room, id), &[])?;
        }
        if call.ringing {
            self.call_ringing.insert(room.as_bytes(), id.as_bytes())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{CallActionRecord, CallStateRecord, RestoreRecord, SledStore, Store, StoredCall, UserSummary};
    use heartlink_protocol::{CallId, RoomId, UserId};

    #[tokio::test]
    async fn calls_read_back_as_restored_and_only_a_ringing_one_is_rung_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let room = RoomId::from_bytes([3; 16]);
        let inviter = UserSummary { id: UserId::from_bytes([1; 16]), username: "alice".into() };
        let ringing = StoredCall {
            call_id: CallId::from_bytes([1; 16]),
            state: CallStateRecord { inviter: inviter.clone(), expires_at: 500, ended: None },
            declined: vec![UserId::from_bytes([2; 16])],
            ringing: true,
        };
        let ended = StoredCall {
            call_id: CallId::from_bytes([2; 16]),
            state: CallStateRecord { inviter, expires_at: 100, ended: Some(CallActionRecord::Accept) },
            declined: Vec::new(),
            ringing: false,
        };
        let records = [&ringing, &ended].map(|call| RestoreRecord::Call { room, call: call.clone() });
        store.restore(records.into()).await.unwrap();
        assert_eq!(store.calls_after(room, None, 10).await.unwrap(), vec![ringing.clone(), ended]);
        assert_eq!(store.calls_after(room, Some(ringing.call_id), 10).await.unwrap().len(), 1);
        assert!(store.calls_after(RoomId::from_bytes([4; 16]), None, 10).await.unwrap().is_empty());
        assert_eq!(store.next_call_expiry().await.unwrap(), Some(500), "the ended call has no pending expiry");
        let due = store.due_calls(600, 10).await.unwrap();
        assert_eq!(due.iter().map(|call| call.call_id).collect::<Vec<_>>(), [ringing.call_id]);
    }
}
