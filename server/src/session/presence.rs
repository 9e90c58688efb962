//! Presence (PROTOCOL.md, "Room activity, mentions"): what the members of
//! a user's rooms are told when the user comes online, goes away, comes
//! back, or goes offline — the last only once their last connection has
//! been gone for the grace period (`--presence-grace-secs`), so a
//! reconnect or a script's short visit does not flap.
//!
//! `last_seen` is kept in the store (a write that may lag): set when a
//! connection that counts for presence opens and when the last one closes,
//! so it survives a restart; after a crash it may be as old as the store's
//! last flush.

use super::Session;
use super::requests::{Fail, Handled};
use crate::bus::PresenceState;
use crate::clock::now_ms;
use crate::live::Closed;
use crate::report::Chain;
use crate::shared::Shared;
use heartlink_protocol::{ErrorCode, PresenceStatus, User};
use std::sync::Arc;

impl Session {
    /// `set_status{away|online}`: no reply. The user shows as away once all
    /// of their connections are. A connection without presence changes nothing.
    pub(super) async fn set_status(&mut self, status: PresenceStatus) -> Handled {
        let away = match status {
            PresenceStatus::Away => true,
            PresenceStatus::Online => false,
            PresenceStatus::Offline => {
                return Err(Fail::code(ErrorCode::BadRequest, "set_status takes away or online; close the connection to go offline"));
            }
        };
        if away == self.away {
            return Ok(());
        }
        self.away = away;
        if !self.presence {
            return Ok(());
        }
        let shared = &self.conn.shared;
        if let Some(status) = shared.live.set_away(self.handle.user.id, away).await? {
            publish_presence(shared, &self.handle.user, PresenceState { status, last_seen: None }).await;
        }
        Ok(())
    }
}

/// A connection of `user` that counts for presence opened.
pub(super) async fn opened(shared: &Shared, user: &User) -> Result<(), crate::live::LiveError> {
    record_last_seen(shared, user).await;
    if let Some(status) = shared.live.connection_opened(user.id).await? {
        publish_presence(shared, user, PresenceState { status, last_seen: None }).await;
    }
    Ok(())
}

/// A connection of `user` that counted for presence closed (it was `away`
/// or not): a status change is announced now, offline after the grace.
pub(super) async fn closed(shared: &Arc<Shared>, user: &User, away: bool) {
    match shared.live.connection_closed(user.id, away).await {
        Ok(Closed::Stays(None)) => {}
        Ok(Closed::Stays(Some(status))) => publish_presence(shared, user, PresenceState { status, last_seen: None }).await,
        Ok(Closed::Last { leaving }) => {
            let last_seen = record_last_seen(shared, user).await;
            tokio::spawn(offline_after_grace(Arc::clone(shared), user.clone(), leaving, last_seen));
        }
        Err(err) => tracing::error!(cause = %Chain(&err), "could not count the user's connections"),
    }
}

pub(crate) async fn offline_after_grace(shared: Arc<Shared>, user: User, leaving: u64, last_seen: u64) {
    tokio::select! {
        // Shutting down: every connection closes with 1001; nobody is told.
        () = shared.shutdown.cancelled() => return,
        () = tokio::time::sleep(shared.config.presence_grace) => {}
    }
    match shared.live.offline_due(user.id, leaving).await {
        Ok(true) => {
            let offline = PresenceState { status: PresenceStatus::Offline, last_seen: Some(last_seen) };
            publish_presence(&shared, &user, offline).await;
        }
        Ok(false) => tracing::debug!(user = %user.username, "back within the grace period: no offline"),
        Err(err) => tracing::error!(cause = %Chain(&err), "could not end the user's grace period"),
    }
}

/// Records now as `user`'s last-seen time (may lag; logged on failure).
async fn record_last_seen(shared: &Shared, user: &User) -> u64 {
    let now = now_ms();
    if let Err(err) = shared.store.set_last_seen(user.id, now).await {
        tracing::warn!(user = %user.username, cause = %Chain(&err), "last seen not recorded");
    }
    now
}

/// Publishes `user`'s presence to the rooms they are a member of now (not
/// those they left, and those they joined since they came online); a bus
/// failure is logged (presence is best effort: clients see it again at the
/// next change).
pub(super) async fn publish_presence(shared: &Shared, user: &User, presence: PresenceState) {
    let rooms = shared.store.rooms_of(user.id).await.unwrap_or_else(|err| {
        tracing::error!(cause = %Chain(&err), "could not list the user's rooms for presence");
        Vec::new()
    });
    if let Err(err) = shared.bus.publish_presence(user.clone(), presence, rooms).await {
        tracing::warn!(user = %user.username, cause = %Chain(&err), "presence not published");
    }
}
