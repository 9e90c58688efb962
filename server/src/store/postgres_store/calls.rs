//! Calls in PostgreSQL: the `calls` rows (state, whether the ring expiry is
//! pending, whether it is the room's ringing call) and `call_declines`.
//!
//! A batch judges its call steps with a [`CallBook`] inside its own
//! transaction: the rows it reads are locked (`FOR UPDATE`), what earlier
//! messages of the batch changed is kept in memory, and the changes are
//! written before the commit. The rules themselves are `call_rules.rs`,
//! shared with the sled store.

use super::{big, from_json, small, to_json, uuid_of};
use crate::store::call_rules::{self, CallRefusal, Step};
use crate::store::{CallActionRecord, CallStateRecord, DueCall, MessageRecord, StoreError, StoredCall};
use heartlink_protocol::{CallId, RoomId, UserId};
use std::collections::{HashMap, HashSet};
use tokio_postgres::Transaction;

/// The calls a batch touches: stored state overlaid with the batch's changes.
#[derive(Default)]
pub(super) struct CallBook {
    states: HashMap<(RoomId, CallId), Option<CallStateRecord>>,
    /// Calls whose state the batch changed.
    changed: HashSet<(RoomId, CallId)>,
    ringing: HashMap<RoomId, Option<CallId>>,
    /// Rooms whose ringing call the batch changed.
    ringing_changed: HashSet<RoomId>,
    declined: HashSet<(RoomId, CallId, UserId)>,
    new_declines: Vec<(RoomId, CallId, UserId)>,
}

impl CallBook {
    /// Judges a fresh message's `call` (if any) and records what it changes.
    pub(super) async fn apply(&mut self, tx: &Transaction<'_>, room: RoomId, record: &MessageRecord) -> Result<Result<(), CallRefusal>, StoreError> {
        let Some(call) = record.call.as_deref() else { return Ok(Ok(())) };
        let (id, at) = (call.call_id, record.ts);
        let state = self.state(tx, room, id).await?;
        let step = match call_rules::judge(state.as_ref(), &record.sender, call, at) {
            Ok(step) => step,
            Err(refusal) => return Ok(Err(refusal)),
        };
        match (step, state) {
            (Step::Rings(new), _) => {
                let current = match self.ringing_call(tx, room).await? {
                    Some(other) => self.state(tx, room, other).await?,
                    None => None,
                };
                if let Err(refusal) = call_rules::invite_allowed(current.as_ref(), at) {
                    return Ok(Err(refusal));
                }
                self.put_state(room, id, new);
                self.ringing.insert(room, Some(id));
                self.ringing_changed.insert(room);
            }
            (Step::Ends(action), Some(state)) => self.end(tx, room, id, state, action).await?,
            (Step::Declines, Some(state)) => {
                let me = record.sender.id;
                if self.has_declined(tx, room, id, me).await? {
                    return Ok(Err(CallRefusal::AlreadyDeclined));
                }
                self.declined.insert((room, id, me));
                self.new_declines.push((room, id, me));
                let rows = tx.query("SELECT user_id FROM members WHERE room_id = $1", &[&uuid_of(room.as_bytes())]).await?;
                let members: Vec<UserId> = rows.iter().map(|row| UserId::from_bytes(*row.get::<_, uuid::Uuid>(0).as_bytes())).collect();
                let stored: HashSet<UserId> = tx
                    .query("SELECT user_id FROM call_declines WHERE room_id = $1 AND call_id = $2", &[&uuid_of(room.as_bytes()), &uuid_of(id.as_bytes())])
                    .await?
                    .iter()
                    .map(|row| UserId::from_bytes(*row.get::<_, uuid::Uuid>(0).as_bytes()))
                    .collect();
                let declined = |user: UserId| Ok(stored.contains(&user) || self.declined.contains(&(room, id, user)));
                if call_rules::everyone_declined(state.inviter.id, members.into_iter().map(Ok), declined)? {
                    self.end(tx, room, id, state, CallActionRecord::Decline).await?;
                }
            }
            (Step::Ends(_) | Step::Declines, None) => return Ok(Err(CallRefusal::UnknownCall)),
        }
        Ok(Ok(()))
    }

    /// Stops the ring: the step that ended it, no pending expiry, a free room.
    async fn end(&mut self, tx: &Transaction<'_>, room: RoomId, id: CallId, mut state: CallStateRecord, action: CallActionRecord) -> Result<(), StoreError> {
        if self.ringing_call(tx, room).await? == Some(id) {
            self.ringing.insert(room, None);
            self.ringing_changed.insert(room);
        }
        state.ended = Some(action);
        self.put_state(room, id, state);
        Ok(())
    }

    async fn state(&mut self, tx: &Transaction<'_>, room: RoomId, id: CallId) -> Result<Option<CallStateRecord>, StoreError> {
        if let Some(known) = self.states.get(&(room, id)) {
            return Ok(known.clone());
        }
        let row = tx
            .query_opt("SELECT state FROM calls WHERE room_id = $1 AND call_id = $2 FOR UPDATE", &[&uuid_of(room.as_bytes()), &uuid_of(id.as_bytes())])
            .await?;
        let stored = row.map(|row| from_json("calls", row.get(0))).transpose()?;
        self.states.insert((room, id), stored.clone());
        Ok(stored)
    }

    fn put_state(&mut self, room: RoomId, id: CallId, state: CallStateRecord) {
        self.states.insert((room, id), Some(state));
        self.changed.insert((room, id));
    }

    async fn ringing_call(&mut self, tx: &Transaction<'_>, room: RoomId) -> Result<Option<CallId>, StoreError> {
        if let Some(known) = self.ringing.get(&room) {
            return Ok(*known);
        }
        let row = tx.query_opt("SELECT call_id FROM calls WHERE room_id = $1 AND ringing FOR UPDATE", &[&uuid_of(room.as_bytes())]).await?;
        let stored = row.map(|row| CallId::from_bytes(*row.get::<_, uuid::Uuid>(0).as_bytes()));
        self.ringing.insert(room, stored);
        Ok(stored)
    }

    async fn has_declined(&self, tx: &Transaction<'_>, room: RoomId, id: CallId, user: UserId) -> Result<bool, StoreError> {
        if self.declined.contains(&(room, id, user)) {
            return Ok(true);
        }
        let row = tx
            .query_opt(
                "SELECT 1 FROM call_declines WHERE room_id = $1 AND call_id = $2 AND user_id = $3",
                &[&uuid_of(room.as_bytes()), &uuid_of(id.as_bytes()), &uuid_of(user.as_bytes())],
            )
            .await?;
        Ok(row.is_some())
    }

    /// Writes what the batch changed, inside its transaction.
    pub(super) async fn write(self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        for room in &self.ringing_changed {
            tx.execute("UPDATE calls SET ringing = false WHERE room_id = $1 AND ringing", &[&uuid_of(room.as_bytes())]).await?;
        }
        for (room, id) in &self.changed {
            let Some(Some(state)) = self.states.get(&(*room, *id)) else { continue };
            let ringing = self.ringing.get(room).copied().flatten() == Some(*id);
            put_call(tx, *room, *id, state, ringing).await?;
        }
        for (room, id) in self.ringing.iter().filter(|(room, _)| self.ringing_changed.contains(room)) {
            if let Some(id) = id {
                tx.execute("UPDATE calls SET ringing = true WHERE room_id = $1 AND call_id = $2", &[&uuid_of(room.as_bytes()), &uuid_of(id.as_bytes())])
                    .await?;
            }
        }
        for (room, id, user) in &self.new_declines {
            tx.execute(
                "INSERT INTO call_declines (room_id, call_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&uuid_of(room.as_bytes()), &uuid_of(id.as_bytes()), &uuid_of(user.as_bytes())],
            )
            .await?;
        }
        Ok(())
    }
}

/// Stores a call's state; its expiry is pending while it has not ended.
async fn put_call(tx: &Transaction<'_>, room: RoomId, id: CallId, state: &CallStateRecord, ringing: bool) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO calls (room_id, call_id, state, expires_at, pending, ringing) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (room_id, call_id) DO UPDATE SET state = $3, expires_at = $4, pending = $5",
        &[&uuid_of(room.as_bytes()), &uuid_of(id.as_bytes()), &to_json("calls", state)?, &big(state.expires_at), &state.ended.is_none(), &ringing],
    )
    .await?;
    Ok(())
}

/// Writes an exported call back as it was.
pub(super) async fn restore_call(tx: &Transaction<'_>, room: RoomId, call: &StoredCall) -> Result<(), StoreError> {
    put_call(tx, room, call.call_id, &call.state, call.ringing).await?;
    for user in &call.declined {
        tx.execute(
            "INSERT INTO call_declines (room_id, call_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&uuid_of(room.as_bytes()), &uuid_of(call.call_id.as_bytes()), &uuid_of(user.as_bytes())],
        )
        .await?;
    }
    Ok(())
}

/// See [`Store::next_call_expiry`](crate::store::Store::next_call_expiry).
pub(super) async fn next_call_expiry(client: &tokio_postgres::Client) -> Result<Option<u64>, StoreError> {
    let row = client.query_one("SELECT MIN(expires_at) FROM calls WHERE pending", &[]).await?;
    Ok(row.get::<_, Option<i64>>(0).map(small))
}

/// See [`Store::due_calls`](crate::store::Store::due_calls).
pub(super) async fn due_calls(client: &tokio_postgres::Client, now: u64, limit: usize) -> Result<Vec<DueCall>, StoreError> {
    let rows = client
        .query(
            "SELECT room_id, call_id, state FROM calls WHERE pending AND expires_at <= $1 ORDER BY expires_at, room_id, call_id LIMIT $2",
            &[&big(now), &big(limit as u64)],
        )
        .await?;
    let mut due = Vec::with_capacity(rows.len());
    for row in rows {
        let room = RoomId::from_bytes(*row.get::<_, uuid::Uuid>(0).as_bytes());
        let call_id = CallId::from_bytes(*row.get::<_, uuid::Uuid>(1).as_bytes());
        let state: CallStateRecord = from_json("calls", row.get(2))?;
        due.push(DueCall { room, call_id, inviter: state.inviter, expires_at: state.expires_at });
    }
    Ok(due)
}

/// See [`Store::calls_after`](crate::store::Store::calls_after).
pub(super) async fn calls_after(client: &tokio_postgres::Client, room: RoomId, after: Option<CallId>, limit: usize) -> Result<Vec<StoredCall>, StoreError> {
    let after = after.map(|id| uuid_of(id.as_bytes()));
    let rows = client
        .query(
            "SELECT call_id, state, ringing, ARRAY(SELECT d.user_id FROM call_declines d WHERE d.room_id = c.room_id AND d.call_id = c.call_id ORDER BY d.user_id)
             FROM calls c WHERE room_id = $1 AND ($2::uuid IS NULL OR call_id > $2) ORDER BY call_id LIMIT $3",
            &[&uuid_of(room.as_bytes()), &after, &big(limit as u64)],
        )
        .await?;
    rows.into_iter()
        .map(|row| {
            let declined: Vec<uuid::Uuid> = row.get(3);
            Ok(StoredCall {
                call_id: CallId::from_bytes(*row.get::<_, uuid::Uuid>(0).as_bytes()),
                state: from_json("calls", row.get(1))?,
                declined: declined.into_iter().map(|id| UserId::from_bytes(*id.as_bytes())).collect(),
                ringing: row.get(2),
            })
        })
        .collect()
}
