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
fn call_key(room: RoomId, call: CallId) -> Vec<u8> {
    concat(&[room.as_bytes(), call.as_bytes()])
}

/// `expires_at ++ room ++ call_id`: a pending expiry, earliest first.
fn expiry_key(expires_at: u64, room: RoomId, call: CallId) -> Vec<u8> {
    concat(&[&expires_at.to_be_bytes(), room.as_bytes(), call.as_bytes()])
}

/// `room ++ call_id ++ user`: a decline.
fn decline_key(room: RoomId, call: CallId, user: UserId) -> Vec<u8> {
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
    fn call_state(&self, room: RoomId, id: CallId) -> Result<Option<CallStateRecord>, StoreError> {
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
