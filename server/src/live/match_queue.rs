//! The in-memory match queue: one FIFO for random matches and one per code,
//! each user waiting at most once, and who may not be paired with whom
//! (blocks either way, the partner of one's last pair room for a while).

use super::{MatchOutcome, MatchTicket};
use crate::node::ConnId;
use heartlink_protocol::UserId;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Partners of a user's last pair room are not matched again for this long.
pub const REMATCH_AFTER: Duration = Duration::from_secs(600);

#[derive(Debug)]
struct Waiting {
    ticket: MatchTicket,
    since: Instant,
}

/// The queues (keyed by code; `None` is the random queue) and the last partners.
#[derive(Debug, Default)]
pub struct MatchQueue {
    queues: HashMap<Option<String>, VecDeque<Waiting>>,
    /// The queue each waiting user is in.
    waiting: HashMap<UserId, Option<String>>,
    /// Each user's last partner and when they were paired (or their chat ended).
    last_partner: HashMap<UserId, (UserId, Instant)>,
}

impl MatchQueue {
    /// Pairs `me` with the first compatible ticket waiting in its queue, or
    /// makes it wait. A user waiting already keeps their place when they ask
    /// again with the same code (from any connection); a new code moves
    /// them to that queue.
    pub fn request(&mut self, me: MatchTicket, now: Instant) -> MatchOutcome {
        if let Some(code) = self.waiting.get(&me.user.id) {
            if *code == me.code {
                return MatchOutcome::Waiting;
            }
            self.remove_user(me.user.id);
        }
        let queue = self.queues.entry(me.code.clone()).or_default();
        let found = queue.iter().position(|waiting| compatible(&self.last_partner, &waiting.ticket, &me, now));
        if let Some(other) = found.and_then(|index| queue.remove(index)) {
            if queue.is_empty() {
                self.queues.remove(&me.code);
            }
            self.waiting.remove(&other.ticket.user.id);
            self.note_partners(me.user.id, other.ticket.user.id, now);
            return MatchOutcome::Matched(other.ticket);
        }
        self.waiting.insert(me.user.id, me.code.clone());
        queue.push_back(Waiting { ticket: me, since: now });
        MatchOutcome::Waiting
    }

    /// `a` and `b` were just paired, or their chat just ended.
    pub fn note_partners(&mut self, a: UserId, b: UserId, now: Instant) {
        self.last_partner.insert(a, (b, now));
        self.last_partner.insert(b, (a, now));
    }

    /// Takes the user's wait out of its queue, if they wait; returns it.
    pub fn remove_user(&mut self, user: UserId) -> Option<MatchTicket> {
        let code = self.waiting.remove(&user)?;
        self.take_from(&code, |waiting| waiting.ticket.user.id == user)
    }

    /// `conn` closed: its wait, if it waited, ends.
    pub fn remove_conn(&mut self, conn: ConnId) {
        let user = self.queues.values().flatten().find(|waiting| waiting.ticket.conn == conn).map(|waiting| waiting.ticket.user.id);
        if let Some(user) = user {
            self.remove_user(user);
        }
    }

    fn take_from(&mut self, code: &Option<String>, which: impl Fn(&Waiting) -> bool) -> Option<MatchTicket> {
        let queue = self.queues.get_mut(code)?;
        let index = queue.iter().position(which)?;
        let taken = queue.remove(index).map(|waiting| waiting.ticket);
        if queue.is_empty() {
            self.queues.remove(code);
        }
        taken
    }

    /// Ends the waits older than `max_wait` and returns them; forgets last
    /// partners older than [`REMATCH_AFTER`].
    pub fn expire(&mut self, max_wait: Duration, now: Instant) -> Vec<MatchTicket> {
        let mut expired = Vec::new();
        for queue in self.queues.values_mut() {
            // FIFO: the oldest waits are at the front.
            while queue.front().is_some_and(|waiting| now.duration_since(waiting.since) >= max_wait) {
                if let Some(waiting) = queue.pop_front() {
                    expired.push(waiting.ticket);
                }
            }
        }
        self.queues.retain(|_, queue| !queue.is_empty());
        for ticket in &expired {
            self.waiting.remove(&ticket.user.id);
        }
        self.last_partner.retain(|_, (_, at)| now.duration_since(*at) < REMATCH_AFTER);
        expired
    }

    /// How many users wait, in all queues.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.waiting.len()
    }
}

/// Whether `a` and `b` may be paired now.
fn compatible(last_partner: &HashMap<UserId, (UserId, Instant)>, a: &MatchTicket, b: &MatchTicket, now: Instant) -> bool {
    let (a_id, b_id) = (a.user.id, b.user.id);
    let recent = |user: UserId, other: UserId| {
        last_partner.get(&user).is_some_and(|(partner, at)| *partner == other && now.duration_since(*at) < REMATCH_AFTER)
    };
    a_id != b_id && !a.avoid.contains(&b_id) && !b.avoid.contains(&a_id) && !recent(a_id, b_id) && !recent(b_id, a_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{ConnIds, NodeId};
    use heartlink_protocol::User;

    struct People {
        ids: ConnIds,
    }

    impl People {
        fn ticket(&self, user: &User, code: Option<&str>, avoid: &[UserId]) -> MatchTicket {
            MatchTicket { conn: self.ids.next(), user: user.clone(), code: code.map(str::to_owned), avoid: avoid.to_vec() }
        }
    }

    fn user(name: &str) -> User {
        User { id: UserId::random(), username: name.into() }
    }

    #[test]
    fn codes_pair_only_equal_codes_and_random_waits_are_fifo() {
        let people = People { ids: ConnIds::new(NodeId::from_raw(1)) };
        let (mut queue, now) = (MatchQueue::default(), Instant::now());
        let (alice, bob, carol, dave) = (user("alice"), user("bob"), user("carol"), user("dave"));
        let alice_waits = people.ticket(&alice, Some("4242"), &[]);
        assert_eq!(queue.request(alice_waits.clone(), now), MatchOutcome::Waiting);
        assert_eq!(queue.request(people.ticket(&carol, Some("1111"), &[]), now), MatchOutcome::Waiting);
        assert_eq!(queue.request(people.ticket(&dave, None, &[]), now), MatchOutcome::Waiting, "random never takes a coded wait");
        assert_eq!(queue.request(people.ticket(&bob, Some("4242"), &[]), now), MatchOutcome::Matched(alice_waits));
        assert_eq!(queue.len(), 2, "carol and dave still wait");
        // alice, asking for a random match, gets dave, who waited first.
        assert!(matches!(queue.request(people.ticket(&alice, None, &[]), now), MatchOutcome::Matched(ticket) if ticket.user.id == dave.id));
    }

    #[test]
    fn blocks_either_way_and_recent_partners_are_never_paired() {
        let people = People { ids: ConnIds::new(NodeId::from_raw(1)) };
        let (mut queue, now) = (MatchQueue::default(), Instant::now());
        let (alice, bob, carol) = (user("alice"), user("bob"), user("carol"));
        assert_eq!(queue.request(people.ticket(&alice, None, &[bob.id]), now), MatchOutcome::Waiting);
        assert_eq!(queue.request(people.ticket(&bob, None, &[]), now), MatchOutcome::Waiting, "alice blocked bob");
        let carol_ticket = people.ticket(&carol, None, &[alice.id]);
        // carol blocked alice: she skips alice and takes bob, who waited after her.
        assert!(matches!(queue.request(carol_ticket, now), MatchOutcome::Matched(ticket) if ticket.user.id == bob.id));
        // bob and carol were just paired: not again for ten minutes.
        assert_eq!(queue.request(people.ticket(&bob, None, &[]), now), MatchOutcome::Waiting);
        assert_eq!(queue.request(people.ticket(&carol, None, &[alice.id]), now), MatchOutcome::Waiting);
        let later = now + REMATCH_AFTER;
        assert!(queue.expire(Duration::from_secs(3600), later).is_empty());
        queue.remove_user(carol.id);
        assert!(matches!(queue.request(people.ticket(&carol, None, &[alice.id]), later), MatchOutcome::Matched(ticket) if ticket.user.id == bob.id));
    }

    #[test]
    fn waits_end_by_cancel_close_or_expiry() {
        let people = People { ids: ConnIds::new(NodeId::from_raw(1)) };
        let (mut queue, now) = (MatchQueue::default(), Instant::now());
        let (alice, bob) = (user("alice"), user("bob"));
        let alice_waits = people.ticket(&alice, Some("1234"), &[]);
        queue.request(alice_waits.clone(), now);
        assert_eq!(queue.request(people.ticket(&alice, Some("1234"), &[]), now), MatchOutcome::Waiting, "asking twice keeps the place");
        assert_eq!(queue.len(), 1);
        queue.remove_conn(people.ids.next());
        assert_eq!(queue.len(), 1, "another connection closing changes nothing");
        queue.remove_conn(alice_waits.conn);
        assert_eq!(queue.len(), 0);
        queue.request(people.ticket(&alice, None, &[]), now);
        queue.request(people.ticket(&bob, Some("99999"), &[]), now + Duration::from_secs(5));
        let expired = queue.expire(Duration::from_secs(10), now + Duration::from_secs(10));
        assert_eq!(expired.iter().map(|ticket| ticket.user.id).collect::<Vec<_>>(), [alice.id]);
        assert_eq!(queue.len(), 1);
        assert!(queue.remove_user(bob.id).is_some());
        assert_eq!(queue.len(), 0);
    }
}
