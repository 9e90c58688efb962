//! The presence book of the in-memory live state: per user, how many
//! connections count for presence, how many of them are away, what the
//! others were last told, and whether the user is leaving (their last
//! connection closed, the grace period runs).
//!
//! What the others see changes only when the user's shown status does: a
//! user whose last connection closes still shows as before until the grace
//! period ends with no connection back; a connection that comes back within
//! it changes nothing they see (unless it brings an away user back).

use super::Closed;
use heartlink_protocol::{PresenceStatus, UserId};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy)]
struct Person {
    connections: usize,
    away: usize,
    /// What the members of the user's rooms were last told.
    shown: PresenceStatus,
    /// Set while the grace period after the last connection runs.
    leaving: Option<u64>,
}

impl Person {
    /// What the connections say now (when there are any).
    fn status(&self) -> PresenceStatus {
        if self.connections > 0 && self.away >= self.connections { PresenceStatus::Away } else { PresenceStatus::Online }
    }

    /// Moves `shown` to what the connections say; the new status when it changed.
    fn update(&mut self) -> Option<PresenceStatus> {
        let now = self.status();
        (now != self.shown).then(|| {
            self.shown = now;
            now
        })
    }
}

/// Every user with a connection or in their grace period.
#[derive(Debug, Default)]
pub(super) struct PresenceBook {
    people: HashMap<UserId, Person>,
    next_leaving: u64,
}

impl PresenceBook {
    /// A connection of `user` opened; the status to announce, if it changed.
    pub(super) fn opened(&mut self, user: UserId) -> Option<PresenceStatus> {
        let person = self.people.entry(user).or_insert(Person { connections: 0, away: 0, shown: PresenceStatus::Offline, leaving: None });
        person.connections += 1;
        person.leaving = None;
        person.update()
    }

    /// A connection of `user` (away or not) closed.
    pub(super) fn closed(&mut self, user: UserId, away: bool) -> Closed {
        let Some(person) = self.people.get_mut(&user) else { return Closed::Stays(None) };
        person.connections = person.connections.saturating_sub(1);
        if away {
            person.away = person.away.saturating_sub(1);
        }
        if person.connections > 0 {
            return Closed::Stays(person.update());
        }
        self.next_leaving += 1;
        person.leaving = Some(self.next_leaving);
        Closed::Last { leaving: self.next_leaving }
    }

    /// One of `user`'s connections became away (or back); the status to announce, if it changed.
    pub(super) fn set_away(&mut self, user: UserId, away: bool) -> Option<PresenceStatus> {
        let person = self.people.get_mut(&user)?;
        if away {
            person.away = (person.away + 1).min(person.connections);
        } else {
            person.away = person.away.saturating_sub(1);
        }
        person.update()
    }

    /// The grace period of `leaving` ended: `true` when the user is still
    /// gone (they are offline now, and forgotten here).
    pub(super) fn offline_due(&mut self, user: UserId, leaving: u64) -> bool {
        let gone = self.people.get(&user).is_some_and(|person| person.connections == 0 && person.leaving == Some(leaving));
        if gone {
            self.people.remove(&user);
        }
        gone
    }

    /// What the others see of `user`.
    pub(super) fn shown(&self, user: UserId) -> PresenceStatus {
        self.people.get(&user).map_or(PresenceStatus::Offline, |person| person.shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reconnect_within_the_grace_changes_nothing_others_see() {
        let mut book = PresenceBook::default();
        let alice = UserId::random();
        assert_eq!(book.opened(alice), Some(PresenceStatus::Online));
        let Closed::Last { leaving } = book.closed(alice, false) else { panic!("her last connection") };
        assert_eq!(book.shown(alice), PresenceStatus::Online, "still shown online during the grace");
        assert_eq!(book.opened(alice), None, "back within the grace: nothing to announce");
        assert!(!book.offline_due(alice, leaving), "the old grace period no longer counts");
        let Closed::Last { leaving } = book.closed(alice, false) else { panic!("her last connection") };
        assert!(book.offline_due(alice, leaving));
        assert_eq!(book.shown(alice), PresenceStatus::Offline);
        assert_eq!(book.opened(alice), Some(PresenceStatus::Online));
    }

    #[test]
    fn away_needs_every_connection_away() {
        let mut book = PresenceBook::default();
        let bob = UserId::random();
        book.opened(bob);
        book.opened(bob);
        assert_eq!(book.set_away(bob, true), None, "his other screen is still active");
        assert_eq!(book.set_away(bob, true), Some(PresenceStatus::Away));
        assert_eq!(book.opened(bob), Some(PresenceStatus::Online), "a new connection is active");
        assert!(matches!(book.closed(bob, false), Closed::Stays(Some(PresenceStatus::Away))), "the active one left");
        assert_eq!(book.set_away(bob, false), Some(PresenceStatus::Online));
    }
}
