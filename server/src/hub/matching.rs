//! The match queue: one waiting connection at a time, paired with the next
//! user who asks.

use super::{ConnHandle, ConnId, Hub};

/// What a `match` request led to.
#[derive(Debug)]
pub enum MatchOutcome {
    /// Nobody else is waiting: this connection (or another of the user's) waits.
    Waiting,
    /// Paired with the connection that was waiting.
    Matched(ConnHandle),
}

impl Hub {
    /// Pairs `conn` with the waiting connection of another user, or makes it wait.
    pub fn request_match(&self, conn: ConnId) -> MatchOutcome {
        let mut state = self.lock();
        let Some(me) = state.conns.get(&conn).map(|entry| entry.handle.user.id) else {
            return MatchOutcome::Waiting;
        };
        let waiting = state.waiting.and_then(|id| state.conns.get(&id)).map(|entry| entry.handle.clone());
        match waiting {
            Some(other) if other.user.id != me => {
                state.waiting = None;
                MatchOutcome::Matched(other)
            }
            // The user is already waiting (from this or another connection).
            Some(_) => MatchOutcome::Waiting,
            None => {
                state.waiting = Some(conn);
                MatchOutcome::Waiting
            }
        }
    }

    /// Stops waiting if `conn`'s user is the one waiting.
    pub fn cancel_match(&self, conn: ConnId) {
        let mut state = self.lock();
        let me = state.conns.get(&conn).map(|entry| entry.handle.user.id);
        let waiting_user = state.waiting.and_then(|id| state.conns.get(&id)).map(|entry| entry.handle.user.id);
        if me.is_some() && me == waiting_user {
            state.waiting = None;
        }
    }
}
