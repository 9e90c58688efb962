//! What is counted before a password is hashed: failed logins per username
//! (from one address, and from all), and per address the password checks
//! and registrations it may ask for. Live state only, all in bounded maps
//! (see bounded_map.rs) swept on a timer by the server.
//!
//! The failure throttles grow only after a hash (a failure is recorded once
//! the password was checked), so the per-address budget and the hashing
//! threads bound how fast they can fill: two threads hash at most a few
//! hundred passwords a second, far below the maps' caps within the minute
//! an entry lives. The budget maps grow with new addresses; at their cap a
//! new address is refused for a second rather than the map growing.

use crate::accounts::AuthError;
use crate::address::AddressKey;
use crate::config::Config;
use crate::rate_limit::{AddressBudget, LoginThrottle};
use std::time::{Duration, Instant};

/// The per-username bound is this many times the per-source one.
const PER_USER_FACTOR: usize = 10;
/// The failure window.
const WINDOW: Duration = Duration::from_secs(60);
/// Keys each failure throttle tracks at most…
const THROTTLE_ENTRIES: usize = 64 * 1024;
/// …and the bytes they may take (keys are at most 32-byte usernames).
const THROTTLE_BYTES: usize = 16 * 1024 * 1024;
/// Addresses each budget tracks at most.
const BUDGET_ENTRIES: usize = 64 * 1024;

/// See the module documentation.
#[derive(Debug)]
pub struct AuthGuards {
    /// Failed logins per (source address, username): stops one client
    /// guessing, without locking the real user out from elsewhere.
    per_source: LoginThrottle<(AddressKey, Box<str>)>,
    /// Failed logins per username from all sources together, a looser bound
    /// against guessing spread over many addresses.
    per_user: LoginThrottle<Box<str>>,
    /// Password hashes (login and register) per address.
    hashes: AddressBudget,
    /// Registration attempts per address.
    registrations: AddressBudget,
}

impl AuthGuards {
    /// The guards `config` asks for.
    pub fn new(config: &Config) -> Self {
        let failures = config.login_failures_per_minute;
        Self {
            per_source: LoginThrottle::new(failures, WINDOW, THROTTLE_ENTRIES, THROTTLE_BYTES),
            per_user: LoginThrottle::new(failures.saturating_mul(PER_USER_FACTOR), WINDOW, THROTTLE_ENTRIES, THROTTLE_BYTES),
            hashes: AddressBudget::new(config.auth_per_minute, Duration::from_secs(60), BUDGET_ENTRIES),
            registrations: AddressBudget::new(config.registrations_per_hour, Duration::from_secs(3600), BUDGET_ENTRIES),
        }
    }

    /// Before a login's hash: the username's failure counts, then one of
    /// the address's password checks. `canonical` is a valid username.
    pub fn admit_login(&self, source: AddressKey, canonical: &str, now: Instant) -> Result<(), AuthError> {
        let name: Box<str> = canonical.into();
        self.per_source.check(&(source, name.clone()), now).map_err(AuthError::Throttled)?;
        self.per_user.check(&name, now).map_err(AuthError::Throttled)?;
        self.hashes.take(source, now).map_err(AuthError::AddressThrottled)
    }

    /// Before a registration's hash: one of the address's registrations and
    /// one of its password checks.
    pub fn admit_registration(&self, source: AddressKey, now: Instant) -> Result<(), AuthError> {
        self.registrations.take(source, now).map_err(AuthError::RegistrationsThrottled)?;
        self.hashes.take(source, now).map_err(AuthError::AddressThrottled)
    }

    /// The hashing queue had no room: the units taken for this attempt are
    /// given back (the address did not get the work it paid for).
    pub fn not_hashed(&self, source: AddressKey, registration: bool, now: Instant) {
        self.hashes.give_back(source, now);
        if registration {
            self.registrations.give_back(source, now);
        }
    }

    /// A login's password did not match (or the account does not exist).
    pub fn failed_login(&self, source: AddressKey, canonical: &str, now: Instant) {
        let recorded = self.per_source.record_failure((source, canonical.into()), now)
            & self.per_user.record_failure(canonical.into(), now);
        if !recorded {
            tracing::warn!(%source, "login throttle full; a failure was not counted");
        }
    }

    /// A successful login clears its address's failures for that name.
    pub fn succeeded_login(&self, source: AddressKey, canonical: &str) {
        self.per_source.clear(&(source, canonical.into()));
    }

    /// Forgets what has aged out.
    pub fn sweep(&self, now: Instant) {
        self.per_source.sweep(now);
        self.per_user.sweep(now);
        self.hashes.sweep(now);
        self.registrations.sweep(now);
    }

    /// Entries and estimated bytes held by all four maps together.
    pub fn size(&self) -> (usize, usize) {
        [self.per_source.size(), self.per_user.size(), self.hashes.size(), self.registrations.size()]
            .into_iter()
            .fold((0, 0), |(entries, bytes), (e, b)| (entries + e, bytes + b))
    }
}
