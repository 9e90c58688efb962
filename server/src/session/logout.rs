//! Ending sessions by token: `logout` (this token, on every connection
//! using it), `logout{everywhere}` (every token of the user), and the
//! per-user token cap applied when a session starts.
//!
//! The order matters: the store forgets the token first, then the hub
//! evicts the connections it knows. A session that authenticated with the
//! token just before the revocation and registers with the hub just after
//! the eviction checks the store once more (`check_token`) and closes too.

use super::Session;
use super::requests::{Fail, Handled};
use super::socket::End;

/// Close reason for the other connections of a logged-out token.
pub const LOGGED_OUT: &str = "logged out";
/// Close reason for the other connections of a user who logged out everywhere.
pub const LOGGED_OUT_EVERYWHERE: &str = "logged out everywhere";
/// Close reason for a connection whose token the per-user cap revoked.
pub const TOO_MANY_SESSIONS: &str = "signed out: too many sessions; log in again";

impl Session {
    /// `logout`: revokes this connection's token (every token of the user
    /// with `everywhere`), durably, and closes the connections using them
    /// with 1008; this one closes with 1000.
    pub(super) async fn logout(&mut self, everywhere: bool) -> Handled {
        let shared = std::sync::Arc::clone(&self.conn.shared);
        let me = self.handle.id;
        let evicted = if everywhere {
            let revoked = shared.store.revoke_user_tokens(self.handle.user.id)?;
            shared.store.flush().await?;
            tracing::info!(conn = me, user = %self.handle.user.username, tokens = revoked.len(), "logged out everywhere");
            shared.hub.evict_user(self.handle.user.id, Some(me), LOGGED_OUT_EVERYWHERE)
        } else {
            shared.accounts.logout(&self.token_hash).await.map_err(|err| Fail::Internal(err.to_string()))?;
            shared.hub.evict_token(&self.token_hash, Some(me), LOGGED_OUT)
        };
        if evicted > 0 {
            tracing::info!(conn = me, connections = evicted, "closing the other connections of the revoked token(s)");
        }
        Err(Fail::End(End::close(1000, "logged out")))
    }

    /// Closes this session if its token was revoked between authentication
    /// and registering with the hub (see the module doc).
    pub(super) fn check_token(&self) {
        match self.conn.shared.store.token_exists(&self.token_hash) {
            Ok(true) => {}
            Ok(false) => self.handle.eviction.evict(LOGGED_OUT),
            Err(err) => tracing::error!(conn = self.handle.id, cause = %err, "could not check the session's token"),
        }
    }

    /// Applies the per-user token cap: revokes the user's oldest tokens
    /// beyond `--tokens-per-user` (never this session's) and closes the
    /// connections using them. Not flushed on its own: a crash may bring a
    /// trimmed token back until the next login trims it again.
    pub(super) fn trim_tokens(&self) {
        let shared = &self.conn.shared;
        let cap = shared.config.tokens_per_user;
        if cap == 0 {
            return;
        }
        match shared.store.trim_tokens(self.handle.user.id, cap, &self.token_hash) {
            Ok(revoked) => {
                for token in &revoked {
                    shared.hub.evict_token(token, None, TOO_MANY_SESSIONS);
                }
                if !revoked.is_empty() {
                    tracing::info!(user = %self.handle.user.username, revoked = revoked.len(), "oldest tokens revoked: over the per-user cap");
                }
            }
            Err(err) => tracing::error!(conn = self.handle.id, cause = %err, "could not apply the token cap"),
        }
    }
}
