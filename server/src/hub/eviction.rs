//! Ending a session from outside it: when its token is revoked (a logout on
//! another connection, "log out everywhere", the per-user token cap), the
//! hub marks the connection and its session closes with 1008 and the reason.

use super::{ConnId, Hub, TokenHash};
use heartlink_protocol::UserId;
use std::sync::{Arc, OnceLock};
use tokio::sync::Notify;

/// One connection's eviction notice. Cheap to clone; one small allocation
/// per connection (idle connections are most of them).
#[derive(Debug, Clone, Default)]
pub struct Eviction(Arc<Notice>);

#[derive(Debug, Default)]
struct Notice {
    /// The close reason; the first eviction wins.
    reason: OnceLock<&'static str>,
    wake: Notify,
}

impl Eviction {
    /// Tells the session to close with `reason` (a no-op after the first).
    pub fn evict(&self, reason: &'static str) {
        if self.0.reason.set(reason).is_ok() {
            // Stores a permit when the session is not waiting: no lost wake-up.
            self.0.wake.notify_one();
        }
    }

    /// The reason, once the connection is evicted. Cancel-safe: the reason
    /// is checked on every call, so a wake-up lost with a dropped future
    /// costs nothing.
    pub async fn wait(&self) -> &'static str {
        loop {
            if let Some(reason) = self.0.reason.get() {
                return reason;
            }
            self.0.wake.notified().await;
        }
    }

    /// Whether the connection has been evicted.
    pub fn reason(&self) -> Option<&'static str> {
        self.0.reason.get().copied()
    }
}

impl Hub {
    /// Evicts every connection authenticated with `token` but `except`;
    /// returns how many. Call it after the token is revoked in the store,
    /// so a connection registered after this call finds the token gone
    /// (see `Session::start`).
    pub fn evict_token(&self, token: &TokenHash, except: Option<ConnId>, reason: &'static str) -> usize {
        self.evict_where(|entry| entry.token == *token, except, reason)
    }

    /// Evicts every connection of `user` but `except`; returns how many.
    pub fn evict_user(&self, user: UserId, except: Option<ConnId>, reason: &'static str) -> usize {
        self.evict_where(|entry| entry.handle.user.id == user, except, reason)
    }

    fn evict_where(&self, matches: impl Fn(&super::ConnEntry) -> bool, except: Option<ConnId>, reason: &'static str) -> usize {
        let state = self.lock();
        let mut evicted = 0;
        for (id, entry) in &state.conns {
            if Some(*id) != except && matches(entry) {
                entry.handle.eviction.evict(reason);
                evicted += 1;
            }
        }
        evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_waiting_session_learns_the_first_reason() {
        let eviction = Eviction::default();
        let waiting = tokio::spawn({
            let eviction = eviction.clone();
            async move { eviction.wait().await }
        });
        tokio::task::yield_now().await;
        eviction.evict("logged out");
        eviction.evict("something later");
        let reason = tokio::time::timeout(Duration::from_secs(5), waiting).await.unwrap().unwrap();
        assert_eq!(reason, "logged out");
        assert_eq!(eviction.reason(), Some("logged out"));
    }

    #[tokio::test]
    async fn an_eviction_before_the_wait_is_not_lost() {
        let eviction = Eviction::default();
        eviction.evict("logged out everywhere");
        let reason = tokio::time::timeout(Duration::from_secs(5), eviction.wait()).await.unwrap();
        assert_eq!(reason, "logged out everywhere");
    }

    #[test]
    fn a_logout_evicts_the_tokens_connections_and_everywhere_evicts_the_users() {
        use crate::hub::ConnHandle;
        use heartlink_protocol::User;
        let hub = Hub::new();
        let alice = User { id: UserId::from_bytes([1; 16]), username: "alice".into() };
        let bob = User { id: UserId::from_bytes([2; 16]), username: "bob".into() };
        let mut handles = Vec::new();
        let mut inboxes = Vec::new();
        // alice: connections 1 and 2 share token A, 3 has token B; bob: 4 with token C.
        for (id, user, token) in [(1, &alice, [0xA; 32]), (2, &alice, [0xA; 32]), (3, &alice, [0xB; 32]), (4, &bob, [0xC; 32])] {
            let (handle, inbox) = ConnHandle::new(id, user.clone(), 8);
            hub.connect(handle.clone(), token, true, &[]);
            handles.push(handle);
            inboxes.push(inbox);
        }
        let reasons = |handles: &[ConnHandle]| handles.iter().map(|h| h.eviction.reason()).collect::<Vec<_>>();
        assert_eq!(hub.evict_token(&[0xA; 32], Some(1), "logged out"), 1);
        assert_eq!(reasons(&handles), vec![None, Some("logged out"), None, None]);
        assert_eq!(hub.evict_user(alice.id, Some(1), "logged out everywhere"), 2);
        assert_eq!(reasons(&handles), vec![None, Some("logged out"), Some("logged out everywhere"), None]);
    }
}
