//! Account bans: stored first (durable), then every connection of the user,
//! on every node, is closed with 4003 through the bus; logins and resumes
//! are refused in `accounts.rs` while the ban stands.
//!
//! A session that passed its login check just before a ban and registered
//! with the hub just after the close event went out would miss it; it looks
//! at the store once more after registering (`check_session`), as the
//! logout path does with its token.

use super::BANNED_CLOSE;
use crate::bus::{Bus, UserEvent};
use crate::hub::ConnHandle;
use crate::report::Chain;
use crate::shared::Shared;
use crate::store::{BanRecord, Store, StoreError};
use heartlink_protocol::UserId;
use std::borrow::Cow;

/// The close frame's reason for a banned account's connections: at most
/// 123 bytes, cut on a character boundary.
pub fn close_reason(reason: &str) -> Cow<'static, str> {
    const MAX: usize = 123;
    let mut text = if reason.is_empty() { "banned".to_owned() } else { format!("banned: {reason}") };
    if text.len() > MAX {
        let mut cut = MAX;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    Cow::Owned(text)
}

/// Stores the ban, then (with a running server's bus) closes the user's
/// connections everywhere. The ban holds even if the close cannot be
/// published: those connections are refused at their next resume.
pub async fn ban(store: &dyn Store, bus: Option<&dyn Bus>, ban: BanRecord) -> Result<(), StoreError> {
    store.ban_user(&ban).await?;
    if let Some(bus) = bus {
        close_everywhere(bus, ban.user_id, &ban.reason).await;
    }
    Ok(())
}

/// Closes every connection of `user` with 4003.
pub async fn close_everywhere(bus: &dyn Bus, user: UserId, reason: &str) {
    let event = UserEvent::Close { code: BANNED_CLOSE, reason: close_reason(reason), except: None, token: None };
    if let Err(err) = bus.publish_user(user, event).await {
        tracing::error!(%user, cause = %Chain(&err), "could not close a banned user's connections");
    }
}

/// Closes a session that was being set up while its user was banned.
pub async fn check_session(shared: &Shared, handle: &ConnHandle) {
    match shared.store.user_ban(handle.user.id).await {
        Ok(None) => {}
        Ok(Some(ban)) => {
            handle.close(BANNED_CLOSE, close_reason(&ban.reason));
        }
        Err(err) => tracing::error!(conn = %handle.id, cause = %Chain(&err), "could not check the session's account for a ban"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_reason_fits_a_close_frame() {
        assert_eq!(close_reason(""), "banned");
        assert_eq!(close_reason("spam"), "banned: spam");
        let long = close_reason(&"é".repeat(100));
        assert!(long.len() <= 123 && long.starts_with("banned: é"), "{long}");
    }
}
