//! Calls in the sled store: each call's state (`calls`), the pending ring
//! expiries (`call_expiries`, ordered by time), who declined (`call_declines`)
//! and the call that rings in each room (`call_ringing`).
//!
//! A batch of messages is judged with a [`CallBook`]: it reads the stored
//! state once, keeps what earlier messages of the batch changed, and
//! collects the writes, which go into the batch's own transaction. The
//! append lock makes the reads and the transaction one step.

use super::keys::{concat, id_at, u64_at};
use super::{SledStore, StoreError, Trees, decode, encode};
use crate::store::call_rules::{self, CallRefusal, Step};
use crate::store::{CallActionRecord, CallStateRecord, DueCall, MessageRecord};
use heartlink_protocol::{CallId, RoomId, UserId};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use std::collections::{HashMap, HashSet};

/// `room ++ call_id`: a call's state.
pub(super) fn call_key(room: RoomId, call: CallId) -> Vec<u8> {
    concat(&[room.as_bytes(), call.as_bytes()])
}

/// `expires_at ++ room ++ call_id`: a pending expiry, earliest first.
pub(super) fn expiry_key(expires_at: u64, room: RoomId, call: CallId) -> Vec<u8> {
    concat(&[&expires_at.to_be_bytes(), room.as_bytes(), call.as_bytes()])
}

/// `room ++ call_id ++ user`: a decline.
pub(super) fn decline_key(room: RoomId, call: CallId, user: UserId) -> Vec<u8> {
    concat(&[room.as_bytes(), call.as_bytes(), user.as_bytes()])
}

/// Which call tree a write goes to.
#[derive(Debug, Clone, Copy)]
pub(super) enum CallTree {
    Calls,
    Expiries,
    Declines,
    Ringing,
}

/// One write of a call step: insert `value`, or remove when `None`.
#[derive(Debug)]
pub(super) struct CallOp {
    tree: CallTree,
    key: Vec<u8>,
    value: Option<Vec<u8>>,
}

/// The call trees inside a transaction, in [`CallTree`] order.
pub(super) type CallTrees<'a> = (&'a TransactionalTree, &'a TransactionalTree, &'a TransactionalTree, &'a TransactionalTree);

/// Applies a batch's call writes inside its transaction.
pub(super) fn apply_ops(trees: CallTrees<'_>, ops: &[CallOp]) -> Result<(), ConflictableTransactionError<()>> {
    let (calls, expiries, declines, ringing) = trees;
    for op in ops {
        let tree = match op.tree {
            CallTree::Calls => calls,
            CallTree::Expiries => expiries,
            CallTree::Declines => declines,
            CallTree::Ringing => ringing,
        };
        match &op.value {
            Some(value) => tree.insert(op.key.as_slice(), value.as_slice())?,
            None => tree.remove(op.key.as_slice())?,
        };
    }
    Ok(())
}

/// The calls a batch touches: stored state overlaid with the batch's own changes.
pub(super) struct CallBook<'t> {
    trees: &'t Trees,
    states: HashMap<(RoomId, CallId), Option<CallStateRecord>>,
    ringing: HashMap<RoomId, Option<CallId>>,
    declined: HashSet<(RoomId, CallId, UserId)>,
    ops: Vec<CallOp>,
}

impl<'t> CallBook<'t> {
    pub(super) fn new(trees: &'t Trees) -> Self {
        Self { trees, states: HashMap::new(), ringing: HashMap::new(), declined: HashSet::new(), ops: Vec::new() }
    }

    /// The writes collected so far, in order.
    pub(super) fn into_ops(self) -> Vec<CallOp> {
        self.ops
    }

    /// Judges a fresh message's `call` (if any) and records what it changes.
    pub(super) fn apply(&mut self, room: RoomId, record: &MessageRecord) -> Result<Result<(), CallRefusal>, StoreError> {
        let Some(call) = record.call.as_deref() else { return Ok(Ok(())) };
        let (id, at) = (call.call_id, record.ts);
        let state = self.state(room, id)?;
        let step = match call_rules::judge(state.as_ref(), &record.sender, call, at) {
            Ok(step) => step,
            Err(refusal) => return Ok(Err(refusal)),
        };
        match (step, state) {
            (Step::Rings(new), _) => {
                let current = match self.ringing_call(room)? {
                    Some(other) => self.state(room, other)?,
                    None => None,
                };
                if let Err(refusal) = call_rules::invite_allowed(current.as_ref(), at) {
                    return Ok(Err(refusal));
                }
                self.op(CallTree::Expiries, expiry_key(new.expires_at, room, id), Some(Vec::new()));
                self.set_ringing(room, Some(id));
                self.put_state(room, id, new)?;
            }
            (Step::Ends(action), Some(state)) => self.end(room, id, state, action)?,
            (Step::Declines, Some(state)) => {
                let me = record.sender.id;
                if self.has_declined(room, id, me)? {
                    return Ok(Err(CallRefusal::AlreadyDeclined));
                }
                self.declined.insert((room, id, me));
                self.op(CallTree::Declines, decline_key(room, id, me), Some(Vec::new()));
                let members = self.trees.members.scan_prefix(room.as_bytes()).keys().map(|key| Ok(UserId::from_bytes(id_at("members", &key?, 16)?)));
                if call_rules::everyone_declined(state.inviter.id, members, |user| self.has_declined(room, id, user))? {
                    self.end(room, id, state, CallActionRecord::Decline)?;
                }
            }
            // `judge` answers these only with a state.
            (Step::Ends(_) | Step::Declines, None) => return Ok(Err(CallRefusal::UnknownCall)),
        }
        Ok(Ok(()))
    }

    /// Stops the ring: the step that ended it, no pending expiry, a free room.
    fn end(&mut self, room: RoomId, id: CallId, mut state: CallStateRecord, action: CallActionRecord) -> Result<(), StoreError> {
        self.op(CallTree::Expiries, expiry_key(state.expires_at, room, id), None);
        if self.ringing_call(room)? == Some(id) {
            self.set_ringing(room, None);
        }
        state.ended = Some(action);
        self.put_state(room, id, state)
    }

    fn state(&mut self, room: RoomId, id: CallId) -> Result<Option<CallStateRecord>, StoreError> {
        if let Some(known) = self.states.get(&(room, id)) {
            return Ok(known.clone());
        }
        let stored = self.trees.call_state(room, id)?;
        self.states.insert((room, id), stored.clone());
        Ok(stored)
    }

    fn put_state(&mut self, room: RoomId, id: CallId, state: CallStateRecord) -> Result<(), StoreError> {
        self.op(CallTree::Calls, call_key(room, id), Some(encode("calls", &state)?));
        self.states.insert((room, id), Some(state));
        Ok(())
    }

    fn ringing_call(&mut self, room: RoomId) -> Result<Option<CallId>, StoreError> {
        if let Some(known) = self.ringing.get(&room) {
            return Ok(*known);
        }
        let stored = match self.trees.call_ringing.get(room.as_bytes())? {
            Some(value) => Some(CallId::from_bytes(id_at("call_ringing", &value, 0)?)),
            None => None,
        };
        self.ringing.insert(room, stored);
        Ok(stored)
    }

    fn set_ringing(&mut self, room: RoomId, call: Option<CallId>) {
        self.op(CallTree::Ringing, room.as_bytes().to_vec(), call.map(|id| id.as_bytes().to_vec()));
        self.ringing.insert(room, call);
    }

    fn has_declined(&self, room: RoomId, id: CallId, user: UserId) -> Result<bool, StoreError> {
        Ok(self.declined.contains(&(room, id, user)) || self.trees.call_declines.contains_key(decline_key(room, id, user))?)
    }

    fn op(&mut self, tree: CallTree, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.ops.push(CallOp { tree, key, value });
    }
}

impl Trees {
    pub(super) fn call_state(&self, room: RoomId, id: CallId) -> Result<Option<CallStateRecord>, StoreError> {
        self.calls.get(call_key(room, id))?.map(|value| decode("calls", &value)).transpose()
    }
}

impl SledStore {
    /// See [`Store::next_call_expiry`](crate::store::Store::next_call_expiry).
    pub(super) fn next_call_expiry_now(&self) -> Result<Option<u64>, StoreError> {
        match self.trees.call_expiries.first()? {
            Some((key, _)) => Ok(Some(u64_at("call_expiries", &key, 0)?)),
            None => Ok(None),
        }
    }

    /// See [`Store::due_calls`](crate::store::Store::due_calls). Under the
    /// append lock, so that a pending expiry whose call has ended (which
    /// only a damaged store holds) is dropped without racing a batch.
    pub(super) fn due_calls_now(&self, now: u64, limit: usize) -> Result<Vec<DueCall>, StoreError> {
        let _batches_wait = self.counters.append_lock();
        let mut due = Vec::new();
        for entry in self.trees.call_expiries.range(..expiry_key(now.saturating_add(1), RoomId::from_bytes([0; 16]), CallId::from_bytes([0; 16]))) {
            if due.len() >= limit {
                break;
            }
            let (key, _) = entry?;
            let expires_at = u64_at("call_expiries", &key, 0)?;
            let room = RoomId::from_bytes(id_at("call_expiries", &key, 8)?);
            let call_id = CallId::from_bytes(id_at("call_expiries", &key, 24)?);
            match self.trees.call_state(room, call_id)? {
                Some(state) if state.ended.is_none() => due.push(DueCall { room, call_id, inviter: state.inviter, expires_at }),
                _ => {
                    tracing::warn!(%room, call = %call_id, "dropping the pending expiry of a call that does not ring");
                    self.trees.call_expiries.remove(&key)?;
                }
            }
        }
        Ok(due)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::call_rules::CallRefusal;
    use crate::store::{Appended, CallActionRecord, CallRecord, MessageRecord, NewMessage, SledStore, Store, UserSummary};
    use heartlink_protocol::{CallId, RoomId, UserId};

    fn user(n: u8) -> UserSummary {
        UserSummary { id: UserId::from_bytes([n; 16]), username: format!("u{n}") }
    }

    fn step(room: RoomId, sender: u8, client_msg_id: &str, ts: u64, call: CallRecord) -> NewMessage {
        let record = MessageRecord { sender: user(sender), body: String::new(), ts, client_msg_id: client_msg_id.into(), attachment: None, call: Some(Box::new(call)), ..MessageRecord::default() };
        NewMessage { room, record }
    }

    fn call(id: CallId, action: CallActionRecord) -> CallRecord {
        let expires_at = (action == CallActionRecord::Invite).then_some(1000);
        CallRecord { call_id: id, action, url: None, expires_at }
    }

    async fn room_of(store: &SledStore, members: &[u8]) -> RoomId {
        let room = RoomId::from_bytes([7; 16]);
        let record = crate::store::RoomRecord {
            id: room,
            name: "r".into(),
            kind: crate::store::RoomKindRecord::Group,
            created_by: user(1).id,
            created_at: 0,
            pair: Vec::new(),
        };
        let ids: Vec<UserId> = members.iter().map(|n| user(*n).id).collect();
        store.create_room(&record, &ids, 0).await.unwrap();
        room
    }

    fn refusals(answers: &[Appended]) -> Vec<Option<CallRefusal>> {
        answers.iter().map(|a| a.refused).collect()
    }

    #[tokio::test]
    async fn the_first_step_that_ends_a_ring_wins_even_within_one_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let room = room_of(&store, &[1, 2, 3]).await;
        let id = CallId::from_bytes([9; 16]);
        let batch = vec![
            step(room, 1, "i", 10, call(id, CallActionRecord::Invite)),
            step(room, 2, "a", 20, call(id, CallActionRecord::Accept)),
            step(room, 3, "a", 21, call(id, CallActionRecord::Accept)),
            step(room, 1, "c", 22, call(id, CallActionRecord::Cancel)),
            step(room, 1, "m", 1000, call(id, CallActionRecord::Missed)),
        ];
        let answers = store.append_batch(batch).await.unwrap();
        let finished = Some(CallRefusal::Finished);
        assert_eq!(refusals(&answers), [None, None, finished, finished, finished]);
        assert_eq!(answers.iter().map(|a| a.seq).collect::<Vec<_>>(), [1, 2, 0, 0, 0], "refused steps take no seq");
        assert_eq!(store.last_seq(room).await.unwrap(), 2);
        assert_eq!(store.next_call_expiry().await.unwrap(), None, "an answered call has no pending expiry");
    }

    #[tokio::test]
    async fn a_pending_expiry_survives_a_reopen_and_is_rung_out_once() {
        let dir = tempfile::tempdir().unwrap();
        let id = CallId::from_bytes([9; 16]);
        let room;
        {
            let store = SledStore::open(dir.path()).unwrap();
            room = room_of(&store, &[1, 2]).await;
            store.append_batch(vec![step(room, 1, "i", 10, call(id, CallActionRecord::Invite))]).await.unwrap();
            assert!(store.due_calls(999, 10).await.unwrap().is_empty(), "not before its expiry");
            let early = store.append_batch(vec![step(room, 1, "m", 999, call(id, CallActionRecord::Missed))]).await.unwrap();
            assert_eq!(refusals(&early), [Some(CallRefusal::NotDue)]);
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.next_call_expiry().await.unwrap(), Some(1000));
        let due = store.due_calls(1000, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].room, due[0].call_id, due[0].inviter.clone(), due[0].expires_at), (room, id, user(1), 1000));
        let missed = || step(room, 1, "missed-x", 1001, call(id, CallActionRecord::Missed));
        let first = store.append_batch(vec![missed(), missed()]).await.unwrap();
        assert_eq!((first[0].seq, first[0].fresh, first[1].seq, first[1].fresh), (2, true, 2, false), "the second is a retry");
        assert!(store.due_calls(u64::MAX, 10).await.unwrap().is_empty());
        let late = store.append_batch(vec![step(room, 2, "a", 1002, call(id, CallActionRecord::Accept))]).await.unwrap();
        assert_eq!(refusals(&late), [Some(CallRefusal::Finished)]);
        let other_key = store.append_batch(vec![step(room, 1, "m2", 1003, call(id, CallActionRecord::Missed))]).await.unwrap();
        assert_eq!(refusals(&other_key), [Some(CallRefusal::Finished)], "never a second missed");
    }

    #[tokio::test]
    async fn declines_end_the_ring_when_every_other_current_member_declined() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let room = room_of(&store, &[1, 2, 3]).await;
        let id = CallId::from_bytes([9; 16]);
        store.append_batch(vec![step(room, 1, "i", 10, call(id, CallActionRecord::Invite))]).await.unwrap();
        let second = CallId::from_bytes([8; 16]);
        let busy = store.append_batch(vec![step(room, 2, "i", 11, call(second, CallActionRecord::Invite))]).await.unwrap();
        assert_eq!(refusals(&busy), [Some(CallRefusal::RoomRinging)]);
        let answers = store.append_batch(vec![
            step(room, 2, "d", 20, call(id, CallActionRecord::Decline)),
            step(room, 2, "d2", 21, call(id, CallActionRecord::Decline)),
        ]).await.unwrap();
        assert_eq!(refusals(&answers), [None, Some(CallRefusal::AlreadyDeclined)]);
        assert_eq!(store.next_call_expiry().await.unwrap(), Some(1000), "carol has not declined");
        let answers = store.append_batch(vec![step(room, 3, "d", 22, call(id, CallActionRecord::Decline))]).await.unwrap();
        assert_eq!(refusals(&answers), [None]);
        assert_eq!(store.next_call_expiry().await.unwrap(), None, "everyone else declined: the ring ended");
        let after = store.append_batch(vec![step(room, 2, "i2", 30, call(second, CallActionRecord::Invite))]).await.unwrap();
        assert_eq!(refusals(&after), [None], "the room is free for the next call");
        // Someone who left is not waited for.
        assert!(store.remove_member(room, user(3).id).await.unwrap());
        let answers = store.append_batch(vec![step(room, 1, "d", 31, call(second, CallActionRecord::Decline))]).await.unwrap();
        assert_eq!(refusals(&answers), [None]);
        assert_eq!(store.next_call_expiry().await.unwrap(), None, "alice declined bob's call; carol is gone");
    }
}
