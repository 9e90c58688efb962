//! What is counted before a password is hashed, per source address: the
//! password checks and registrations it may ask for. In bounded maps (see
//! bounded_map.rs) swept on a timer by the server.
//!
//! These protect this node's CPU (the hashing threads), so they are counted
//! per node. The failed-login counts per username, which bound guessing
//! however it is spread, are shared live state (`live.rs`).
//!
//! The budget maps grow with new addresses; at their cap a new address is
//! refused for a second rather than the map growing.

use crate::accounts::AuthError;
use crate::address::AddressKey;
use crate::config::Config;
use crate::rate_limit::AddressBudget;
use std::time::{Duration, Instant};

/// Addresses each budget tracks at most.
const BUDGET_ENTRIES: usize = 64 * 1024;

/// See the module documentation.
#[derive(Debug)]
pub struct AuthGuards {
    /// Password hashes (login and register) per address.
    hashes: AddressBudget,
    /// Registration attempts per address.
    registrations: AddressBudget,
}

impl AuthGuards {
    /// The guards `config` asks for.
    pub fn new(config: &Config) -> Self {
        Self {
            hashes: AddressBudget::new(config.auth_per_minute, Duration::from_secs(60), BUDGET_ENTRIES),
            registrations: AddressBudget::new(config.registrations_per_hour, Duration::from_secs(3600), BUDGET_ENTRIES),
        }
    }

    /// Before a login's hash (after the failure counts): one of the
    /// address's password checks.
    pub fn admit_login(&self, source: AddressKey, now: Instant) -> Result<(), AuthError> {
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

    /// Forgets what has aged out.
    pub fn sweep(&self, now: Instant) {
        self.hashes.sweep(now);
        self.registrations.sweep(now);
    }

    /// Entries and estimated bytes held by both maps together.
    pub fn size(&self) -> (usize, usize) {
        [self.hashes.size(), self.registrations.size()]
            .into_iter()
            .fold((0, 0), |(entries, bytes), (e, b)| (entries + e, bytes + b))
    }
}
