//! Live state in this process's memory, for a single-node server.

use super::match_queue::MatchQueue;
use super::presence::PresenceBook;
use super::{Admission, Closed, LiveError, LiveState, MatchOutcome, MatchTicket, Quota, Rate};
use crate::address::AddressKey;
use crate::config::Config;
use crate::node::ConnId;
use crate::quota::Quota as Window;
use crate::rate_limit::{KeyedLimiter, LoginThrottle};
use async_trait::async_trait;
use heartlink_protocol::{PresenceStatus, UserId};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The per-username login bound is this many times the per-source one.
const PER_USER_FACTOR: usize = 10;
/// Failed logins count for this long.
const LOGIN_WINDOW: Duration = Duration::from_secs(60);
/// Keys each failure count tracks at most…
const THROTTLE_ENTRIES: usize = 64 * 1024;
/// …and the bytes they may take (keys are at most 32-byte usernames). The
/// counts grow only after a hash, and the hashing threads and per-address
/// budgets bound how fast: far below these caps within the minute an entry
/// lives.
const THROTTLE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Default)]
struct People {
    /// Open connections per user and what others see of them.
    presence: PresenceBook,
    /// The connections waiting for a match.
    matches: MatchQueue,
}

/// The in-memory [`LiveState`].
#[derive(Debug)]
pub struct LocalLive {
    /// std Mutex: a few map operations per call, never across an await.
    people: Mutex<People>,
    sends: KeyedLimiter<UserId>,
    upload_creations: KeyedLimiter<UserId>,
    media_requests: KeyedLimiter<UserId>,
    match_requests: KeyedLimiter<UserId>,
    logins_per_source: LoginThrottle<(AddressKey, Box<str>)>,
    logins_per_user: LoginThrottle<Box<str>>,
    rooms: Window,
    pair_rooms: Window,
    reports: Window,
}

impl LocalLive {
    /// Empty state with the limits of `config`.
    pub fn new(config: &Config) -> Self {
        Self {
            people: Mutex::default(),
            sends: KeyedLimiter::new(config.send_rate),
            upload_creations: KeyedLimiter::new(config.media.creations_per_sec),
            media_requests: KeyedLimiter::new(config.media.requests_per_sec),
            match_requests: KeyedLimiter::new(config.match_rate),
            logins_per_source: LoginThrottle::new(
                config.login_failures_per_minute,
                LOGIN_WINDOW,
                THROTTLE_ENTRIES,
                THROTTLE_BYTES,
            ),
            logins_per_user: LoginThrottle::new(
                config.login_failures_per_minute.saturating_mul(PER_USER_FACTOR),
                LOGIN_WINDOW,
                THROTTLE_ENTRIES,
                THROTTLE_BYTES,
            ),
            rooms: Window::per_hour(config.rooms_per_hour),
            pair_rooms: Window::per_hour(config.pair_rooms_per_hour),
            reports: Window::per_hour(config.reports_per_hour),
        }
    }


    fn window(&self, quota: Quota) -> &Window {
        match quota {
            Quota::Rooms => &self.rooms,
            Quota::PairRooms => &self.pair_rooms,
            Quota::Reports => &self.reports,
        }
    }

    fn people(&self) -> MutexGuard<'_, People> {
        self.people.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn admission(outcome: Result<(), Duration>) -> Admission {
    match outcome {
        Ok(()) => Admission::Allowed,
        Err(wait) => Admission::RetryAfter(wait),
    }
}

#[async_trait]
impl LiveState for LocalLive {
    async fn connection_opened(&self, user: UserId) -> Result<Option<PresenceStatus>, LiveError> {
        Ok(self.people().presence.opened(user))
    }

    async fn connection_closed(&self, user: UserId, away: bool) -> Result<Closed, LiveError> {
        Ok(self.people().presence.closed(user, away))
    }

    async fn set_away(&self, user: UserId, away: bool) -> Result<Option<PresenceStatus>, LiveError> {
        Ok(self.people().presence.set_away(user, away))
    }

    async fn offline_due(&self, user: UserId, leaving: u64) -> Result<bool, LiveError> {
        Ok(self.people().presence.offline_due(user, leaving))
    }

    async fn online(&self, users: &[UserId]) -> Result<Vec<bool>, LiveError> {
        let people = self.people();
        Ok(users.iter().map(|user| people.presence.shown(*user) != PresenceStatus::Offline).collect())
    }

    async fn statuses(&self, users: &[UserId]) -> Result<Vec<PresenceStatus>, LiveError> {
        let people = self.people();
        Ok(users.iter().map(|user| people.presence.shown(*user)).collect())
    }

    async fn request_match(&self, me: MatchTicket) -> Result<MatchOutcome, LiveError> {
        Ok(self.people().matches.request(me, Instant::now()))
    }

    async fn cancel_match(&self, user: UserId) -> Result<(), LiveError> {
        self.people().matches.remove_user(user);
        Ok(())
    }

    async fn note_partners(&self, a: UserId, b: UserId) -> Result<(), LiveError> {
        self.people().matches.note_partners(a, b, Instant::now());
        Ok(())
    }

    async fn expire_matches(&self, max_wait: Duration) -> Result<Vec<MatchTicket>, LiveError> {
        Ok(self.people().matches.expire(max_wait, Instant::now()))
    }

    async fn forget_connection(&self, conn: ConnId) -> Result<(), LiveError> {
        self.people().matches.remove_conn(conn);
        Ok(())
    }

    async fn admit(&self, rate: Rate, user: UserId) -> Result<Admission, LiveError> {
        let limiter = match rate {
            Rate::Sends => &self.sends,
            Rate::UploadCreations => &self.upload_creations,
            Rate::MediaRequests => &self.media_requests,
            Rate::Matches => &self.match_requests,
        };
        Ok(admission(limiter.take(user, Instant::now())))
    }

    async fn admit_login(&self, source: AddressKey, name: &str) -> Result<Admission, LiveError> {
        let (now, name): (Instant, Box<str>) = (Instant::now(), name.into());
        let checked = self.logins_per_source.check(&(source, name.clone()), now).and_then(|()| self.logins_per_user.check(&name, now));
        Ok(admission(checked))
    }

    async fn login_failed(&self, source: AddressKey, name: &str) -> Result<(), LiveError> {
        let now = Instant::now();
        let recorded = self.logins_per_source.record_failure((source, name.into()), now)
            & self.logins_per_user.record_failure(name.into(), now);
        if !recorded {
            tracing::warn!(%source, "login throttle full; a failure was not counted");
        }
        Ok(())
    }

    async fn login_succeeded(&self, source: AddressKey, name: &str) -> Result<(), LiveError> {
        self.logins_per_source.clear(&(source, name.into()));
        Ok(())
    }

    async fn quota_check(&self, quota: Quota, user: UserId) -> Result<Admission, LiveError> {
        Ok(admission(self.window(quota).check(user, Instant::now())))
    }

    async fn quota_record(&self, quota: Quota, user: UserId) -> Result<(), LiveError> {
        self.window(quota).record(user, Instant::now());
        Ok(())
    }

    async fn quota_take(&self, quota: Quota, user: UserId) -> Result<Admission, LiveError> {
        Ok(admission(self.window(quota).take(user, Instant::now())))
    }

    async fn sweep(&self) -> Result<(), LiveError> {
        let now = Instant::now();
        self.rooms.sweep(now);
        self.pair_rooms.sweep(now);
        self.reports.sweep(now);
        self.logins_per_source.sweep(now);
        self.logins_per_user.sweep(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{ConnIds, NodeId};
    use heartlink_protocol::User;

    fn live() -> LocalLive {
        LocalLive::new(&Config::new(std::path::PathBuf::from("unused")))
    }

    fn ticket(ids: &ConnIds, user: &User) -> MatchTicket {
        MatchTicket { conn: ids.next(), user: user.clone(), code: None, avoid: Vec::new() }
    }

    #[tokio::test]
    async fn a_user_is_online_from_their_first_connection_to_their_last() {
        let live = live();
        let (alice, bob) = (UserId::random(), UserId::random());
        assert_eq!(live.connection_opened(alice).await.unwrap(), Some(PresenceStatus::Online));
        assert_eq!(live.connection_opened(alice).await.unwrap(), None, "a second connection is not a new arrival");
        assert_eq!(live.online(&[alice, bob]).await.unwrap(), [true, false]);
        assert_eq!(live.connection_closed(alice, false).await.unwrap(), Closed::Stays(None));
        let Closed::Last { leaving } = live.connection_closed(alice, false).await.unwrap() else { panic!("the last one closed") };
        assert_eq!(live.online(&[alice]).await.unwrap(), [true], "shown online during the grace period");
        assert!(live.offline_due(alice, leaving).await.unwrap());
        assert_eq!(live.online(&[alice]).await.unwrap(), [false]);
        assert_eq!(live.statuses(&[alice, bob]).await.unwrap(), [PresenceStatus::Offline; 2]);
    }

    #[tokio::test]
    async fn the_match_queue_pairs_two_users_never_one_with_themself() {
        let (live, ids) = (live(), ConnIds::new(NodeId::from_raw(1)));
        let user = |name: &str| User { id: UserId::random(), username: name.into() };
        let (alice, bob, carol) = (user("alice"), user("bob"), user("carol"));
        let waiting = ticket(&ids, &alice);
        assert_eq!(live.request_match(waiting.clone()).await.unwrap(), MatchOutcome::Waiting);
        assert_eq!(live.request_match(ticket(&ids, &alice)).await.unwrap(), MatchOutcome::Waiting);
        assert_eq!(live.request_match(ticket(&ids, &bob)).await.unwrap(), MatchOutcome::Matched(waiting.clone()));

        // Cancelling, or closing the waiting connection, empties the queue;
        // closing another of the user's connections does not.
        assert_eq!(live.request_match(waiting.clone()).await.unwrap(), MatchOutcome::Waiting);
        live.cancel_match(alice.id).await.unwrap();
        let carol_waiting = ticket(&ids, &carol);
        assert_eq!(live.request_match(carol_waiting.clone()).await.unwrap(), MatchOutcome::Waiting);
        live.forget_connection(ids.next()).await.unwrap();
        assert_eq!(live.request_match(ticket(&ids, &alice)).await.unwrap(), MatchOutcome::Matched(carol_waiting.clone()));
        let bob_waiting = ticket(&ids, &bob);
        assert_eq!(live.request_match(bob_waiting.clone()).await.unwrap(), MatchOutcome::Waiting);
        live.forget_connection(bob_waiting.conn).await.unwrap();
        assert_eq!(live.request_match(ticket(&ids, &carol)).await.unwrap(), MatchOutcome::Waiting, "bob's wait ended");
        assert_eq!(live.expire_matches(std::time::Duration::ZERO).await.unwrap().len(), 1, "carol's wait expires");
    }

    #[tokio::test]
    async fn sends_and_failed_logins_are_counted_per_user_and_name() {
        let mut config = Config::new(std::path::PathBuf::from("unused"));
        config.send_rate = 1;
        config.login_failures_per_minute = 2;
        let live = LocalLive::new(&config);
        let (alice, bob) = (UserId::random(), UserId::random());
        for _ in 0..2 {
            assert_eq!(live.admit(Rate::Sends, alice).await.unwrap(), Admission::Allowed, "a burst of twice the rate");
        }
        assert!(matches!(live.admit(Rate::Sends, alice).await.unwrap(), Admission::RetryAfter(_)));
        assert_eq!(live.admit(Rate::Sends, bob).await.unwrap(), Admission::Allowed, "another user's budget");

        let (home, elsewhere) = (AddressKey::from(std::net::IpAddr::from([10, 0, 0, 1])), AddressKey::from(std::net::IpAddr::from([10, 0, 0, 2])));
        for _ in 0..2 {
            live.login_failed(home, "bob").await.unwrap();
        }
        assert!(matches!(live.admit_login(home, "bob").await.unwrap(), Admission::RetryAfter(_)));
        assert_eq!(live.admit_login(elsewhere, "bob").await.unwrap(), Admission::Allowed, "another address");
        assert_eq!(live.admit_login(home, "alice").await.unwrap(), Admission::Allowed, "another name");
        live.login_succeeded(home, "bob").await.unwrap();
        assert_eq!(live.admit_login(home, "bob").await.unwrap(), Admission::Allowed);
        // Spread over addresses, the per-username count (ten times as many) still stops it.
        for n in 0..20u8 {
            live.login_failed(AddressKey::from(std::net::IpAddr::from([10, 1, 0, n])), "bob").await.unwrap();
        }
        assert!(matches!(live.admit_login(elsewhere, "bob").await.unwrap(), Admission::RetryAfter(_)));
    }

    #[tokio::test]
    async fn quotas_count_per_user_and_kind() {
        let mut config = Config::new(std::path::PathBuf::from("unused"));
        config.rooms_per_hour = 2;
        let live = LocalLive::new(&config);
        let (alice, bob) = (UserId::random(), UserId::random());
        for _ in 0..2 {
            assert_eq!(live.quota_take(Quota::Rooms, alice).await.unwrap(), Admission::Allowed);
        }
        assert!(matches!(live.quota_take(Quota::Rooms, alice).await.unwrap(), Admission::RetryAfter(_)));
        assert_eq!(live.quota_check(Quota::Rooms, bob).await.unwrap(), Admission::Allowed, "another user's quota");
        assert_eq!(live.quota_check(Quota::PairRooms, alice).await.unwrap(), Admission::Allowed, "another quota");
        live.sweep().await.unwrap();
        assert!(matches!(live.quota_check(Quota::Rooms, alice).await.unwrap(), Admission::RetryAfter(_)), "recent uses stay");
    }
}
