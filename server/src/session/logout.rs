//! Ending sessions by token: `logout` (this token, on every connection
//! using it), `logout{everywhere}` (every token of the user), and the
//! per-user token cap applied when a session starts.
//!
//! The order matters: the store forgets the token first, then a user event
//! on the bus closes the connections using it, on every node. A session
//! that authenticated with the token just before the revocation and
//! registered just after the event checks the store once more
//! (`check_token`) and closes too.

use super::Session;
use super::requests::{Fail, Handled};
use super::socket::End;
use crate::bus::UserEvent;
use crate::hub::ConnHandle;
use crate::node::ConnId;
use crate::report::Chain;
use crate::shared::Shared;
use crate::store::TokenHash;
use heartlink_protocol::UserId;

/// Close reason for the other connections of a logged-out token.
pub const LOGGED_OUT: &str = "logged out";
/// Close reason for the other connections of a user who logged out everywhere.
pub const LOGGED_OUT_EVERYWHERE: &str = "logged out everywhere";
/// Close reason for a connection whose token the per-user cap revoked.
pub const TOO_MANY_SESSIONS: &str = "signed out: too many sessions; log in again";

/// The close code for a session whose token was revoked elsewhere: log in
/// again, no blind retry.
const REVOKED: u16 = 1008;

impl Session {
    /// `logout`: revokes this connection's token (every token of the user
    /// with `everywhere`), durably, and closes the connections using them
    /// with 1008; this one closes with 1000.
    pub(super) async fn logout(&mut self, everywhere: bool) -> Handled {
        let shared = std::sync::Arc::clone(&self.conn.shared);
        let (me, user) = (self.handle.id, self.handle.user.id);
        if everywhere {
            let revoked = shared.store.revoke_user_tokens(user).await?;
            tracing::info!(conn = %me, user = %self.handle.user.username, tokens = revoked.len(), "logged out everywhere");
            close_connections(&shared, user, None, Some(me), LOGGED_OUT_EVERYWHERE).await;
        } else {
            shared.accounts.logout(&self.token_hash).await?;
            close_connections(&shared, user, Some(self.token_hash), Some(me), LOGGED_OUT).await;
        }
        Err(Fail::End(End::close(1000, "logged out")))
    }
}

/// Closes `user`'s connections on every node (only those of `token` when
/// given, all but `except`) with 1008 and `reason`.
async fn close_connections(shared: &Shared, user: UserId, token: Option<TokenHash>, except: Option<ConnId>, reason: &'static str) {
    let event = UserEvent::Close { code: REVOKED, reason: reason.into(), except, token };
    if let Err(err) = shared.bus.publish_user(user, event).await {
        // The tokens are revoked: those connections fail at their next resume.
        tracing::error!(%user, cause = %Chain(&err), "could not close the connections of a revoked token");
    }
}

/// Closes a session whose token was revoked between authentication and
/// registering with the hub (see the module doc).
pub(super) async fn check_token(shared: &Shared, handle: &ConnHandle, token: &TokenHash) {
    match shared.store.token_exists(token).await {
        Ok(true) => {}
        Ok(false) => {
            handle.close(REVOKED, LOGGED_OUT.into());
        }
        Err(err) => tracing::error!(conn = %handle.id, cause = %Chain(&err), "could not check the session's token"),
    }
}

/// Applies the per-user token cap: revokes the user's oldest tokens beyond
/// `--tokens-per-user` (never this session's) and closes the connections
/// using them. Not durable on its own: a crash may bring a trimmed token
/// back until the next login trims it again.
pub(super) async fn trim_tokens(shared: &Shared, handle: &ConnHandle, current: &TokenHash) {
    let cap = shared.config.tokens_per_user;
    if cap == 0 {
        return;
    }
    let user = handle.user.id;
    match shared.store.trim_tokens(user, cap, current).await {
        Ok(revoked) => {
            for token in &revoked {
                close_connections(shared, user, Some(*token), None, TOO_MANY_SESSIONS).await;
            }
            if !revoked.is_empty() {
                tracing::info!(user = %handle.user.username, revoked = revoked.len(), "oldest tokens revoked: over the per-user cap");
            }
        }
        Err(err) => tracing::error!(conn = %handle.id, cause = %Chain(&err), "could not apply the token cap"),
    }
}
