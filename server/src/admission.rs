//! Connection caps: at most `max_connections` open connections in all, and
//! `max_connections_per_address` from one address (an IPv6 /64).
//!
//! A connection over a cap is not just dropped: it completes the WebSocket
//! handshake (within a short deadline), gets `error{code:"rate_limited"}`
//! and is closed with 1013 and the reason, so a client learns why. Those
//! refusals are bounded too: at most [`MAX_REFUSING`] at once, a few per
//! address; a connection beyond that is closed at the TCP level at once (it
//! never became a WebSocket) and counted for a periodic log line.
//!
//! Counts live in one small map keyed by address whose entries exist only
//! while that address has connections or refusals open, so it holds at most
//! `max_connections + MAX_REFUSING` entries of a few bytes.

use crate::address::AddressKey;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Refusals (handshake, error, close) in progress at once, all addresses.
pub const MAX_REFUSING: usize = 256;
/// Refusals in progress at once for one address.
const MAX_REFUSING_PER_ADDRESS: usize = 4;

#[derive(Debug, Default)]
struct PerAddress {
    open: usize,
    refusing: usize,
}

#[derive(Debug, Default)]
struct Counts {
    open: usize,
    refusing: usize,
    by_address: HashMap<AddressKey, PerAddress>,
}

#[derive(Debug)]
struct Inner {
    counts: Mutex<Counts>,
    max_open: usize,
    max_per_address: usize,
    /// Connections closed without a refusal since the last report.
    dropped: AtomicU64,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Counts> {
        // A few integer updates; never held across an await.
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The caps; cheap to clone (shared counts).
#[derive(Debug, Clone)]
pub struct Admission {
    inner: Arc<Inner>,
}

/// Which cap a refused connection met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    PerAddress,
    Total,
}

impl Cap {
    /// The `error` message the client gets.
    pub fn message(self) -> &'static str {
        match self {
            Self::PerAddress => "too many connections from your address; close some or try again later",
            Self::Total => "the server has as many connections as it takes; try again later",
        }
    }

    /// The close frame's reason (1013).
    pub fn close_reason(self) -> &'static str {
        match self {
            Self::PerAddress => "too many connections from your address",
            Self::Total => "server full",
        }
    }
}

/// What to do with a new connection.
#[derive(Debug)]
pub enum Decision {
    /// Serve it; the permit counts it until dropped.
    Admit(Permit),
    /// Refuse it with an error and a close frame; the permit counts the refusal.
    Refuse(Permit, Cap),
    /// Close it at once: too many refusals are already in progress.
    Drop(Cap),
}

/// Counts one open connection or refusal until dropped.
#[derive(Debug)]
pub struct Permit {
    inner: Arc<Inner>,
    address: AddressKey,
    refusal: bool,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.inner.lock();
        let refusal = self.refusal;
        if refusal {
            counts.refusing -= 1;
        } else {
            counts.open -= 1;
        }
        if let Some(entry) = counts.by_address.get_mut(&self.address) {
            if refusal {
                entry.refusing -= 1;
            } else {
                entry.open -= 1;
            }
            if entry.open == 0 && entry.refusing == 0 {
                counts.by_address.remove(&self.address);
            }
        }
    }
}

impl Admission {
    /// Caps of `max_open` connections, `max_per_address` per address.
    pub fn new(max_open: usize, max_per_address: usize) -> Self {
        let inner = Inner { counts: Mutex::default(), max_open, max_per_address, dropped: AtomicU64::new(0) };
        Self { inner: Arc::new(inner) }
    }

    /// Counts a connection from `ip` in, or says how to refuse it.
    pub fn admit(&self, ip: IpAddr) -> Decision {
        let address = AddressKey::from(ip);
        let mut counts = self.inner.lock();
        let entry_open = counts.by_address.get(&address).map_or(0, |entry| entry.open);
        let cap = if counts.open >= self.inner.max_open {
            Some(Cap::Total)
        } else if entry_open >= self.inner.max_per_address {
            Some(Cap::PerAddress)
        } else {
            None
        };
        let refusing_here = counts.by_address.get(&address).map_or(0, |entry| entry.refusing);
        if let Some(cap) = cap {
            if counts.refusing >= MAX_REFUSING || refusing_here >= MAX_REFUSING_PER_ADDRESS {
                self.inner.dropped.fetch_add(1, Ordering::Relaxed);
                return Decision::Drop(cap);
            }
        }
        let refusal = cap.is_some();
        let entry = counts.by_address.entry(address).or_default();
        if refusal {
            entry.refusing += 1;
            counts.refusing += 1;
        } else {
            entry.open += 1;
            counts.open += 1;
        }
        let permit = Permit { inner: Arc::clone(&self.inner), address, refusal };
        match cap {
            Some(cap) => Decision::Refuse(permit, cap),
            None => Decision::Admit(permit),
        }
    }

    /// Open connections, refusals in progress, and addresses tracked.
    pub fn counts(&self) -> (usize, usize, usize) {
        let counts = self.inner.lock();
        (counts.open, counts.refusing, counts.by_address.len())
    }

    /// Connections closed without a refusal since the last call.
    pub fn take_dropped(&self) -> u64 {
        self.inner.dropped.swap(0, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn caps_per_address_and_in_all_and_permits_give_back() {
        let admission = Admission::new(3, 2);
        let a1 = admission.admit(ip(1));
        let a2 = admission.admit(ip(1));
        assert!(matches!(a1, Decision::Admit(_)) && matches!(a2, Decision::Admit(_)));
        assert!(matches!(admission.admit(ip(1)), Decision::Refuse(_, Cap::PerAddress)));
        let b1 = admission.admit(ip(2));
        assert!(matches!(b1, Decision::Admit(_)));
        assert!(matches!(admission.admit(ip(3)), Decision::Refuse(_, Cap::Total)));
        drop(a1);
        assert!(matches!(admission.admit(ip(3)), Decision::Admit(_)), "a closed connection frees its place");
        drop((a2, b1));
        assert_eq!(admission.counts(), (0, 0, 0), "no address is remembered once its connections are gone");
    }

    #[test]
    fn refusals_in_progress_are_bounded_per_address() {
        let admission = Admission::new(0, 0);
        let refusing: Vec<_> = (0..MAX_REFUSING_PER_ADDRESS).map(|_| admission.admit(ip(1))).collect();
        assert!(refusing.iter().all(|decision| matches!(decision, Decision::Refuse(..))));
        assert!(matches!(admission.admit(ip(1)), Decision::Drop(_)));
        assert_eq!(admission.take_dropped(), 1);
        assert!(matches!(admission.admit(ip(2)), Decision::Refuse(..)), "another address still gets its refusal");
    }
}
