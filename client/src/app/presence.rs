//! Presence: mine (`away` after ten idle minutes or `/away`, back with the
//! next key or `/back`) and others' (`● online`, `◐ away`, `○ last seen`)
//! as the server reports them. The server holds back `offline` for its
//! grace period, so a reconnect does not flap; the client shows what it gets.

use super::room::members::status_of;
use super::{App, Effect};
use crate::events::ConnState;
use crate::sanitize::sanitize_line;
use heartlink_protocol::{ClientMsg, PresenceStatus, RoomId, User};
use tokio::time::Duration;

/// Idle this long (no key, click or paste) and others see you away.
pub const AWAY_AFTER: Duration = Duration::from_secs(10 * 60);

impl App {
    /// A key, a click or a paste: the user is here. Back from an idle away.
    pub(super) fn user_is_here(&mut self) -> Vec<Effect> {
        self.last_activity = self.now;
        if self.status == PresenceStatus::Away && !self.away_by_hand {
            return self.set_status(PresenceStatus::Online, false);
        }
        Vec::new()
    }

    /// The clock: ten idle minutes make the user away.
    pub(super) fn away_after_idling(&mut self) -> Vec<Effect> {
        let idle = self.now.saturating_duration_since(self.last_activity) >= AWAY_AFTER;
        if idle && self.status == PresenceStatus::Online && self.conn == ConnState::Connected {
            return self.set_status(PresenceStatus::Away, false);
        }
        Vec::new()
    }

    /// `/away`, `/back`, idling: tell the server (no reply). While
    /// disconnected the status is kept and sent after the next re-sync.
    pub(super) fn set_status(&mut self, status: PresenceStatus, by_hand: bool) -> Vec<Effect> {
        self.away_by_hand = by_hand && status == PresenceStatus::Away;
        if status == PresenceStatus::Online {
            self.last_activity = self.now;
        }
        let changed = self.status != status;
        self.status = status;
        if by_hand {
            let text = if status == PresenceStatus::Away { "you are away (/back to return)" } else { "you are back" };
            self.notify(text, false);
        }
        if !changed || self.conn != ConnState::Connected {
            return Vec::new();
        }
        vec![Self::request(ClientMsg::SetStatus { status })]
    }

    /// After a reconnect the server starts us `online`: say `away` again if we are.
    pub(super) fn resend_status(&self) -> Vec<Effect> {
        if self.status == PresenceStatus::Away {
            return vec![Self::request(ClientMsg::SetStatus { status: PresenceStatus::Away })];
        }
        Vec::new()
    }

    /// `presence{user, online, status, last_seen, room_id}`: in every room
    /// the user is a member of, or only in `room_id` (a stranger's alias
    /// is not the same user anywhere else).
    pub(super) fn presence(&mut self, user: &User, online: bool, status: Option<heartlink_protocol::PresenceStatus>, last_seen: Option<u64>, only: Option<RoomId>) {
        let status = status_of(online, status);
        let name = sanitize_line(&user.username);
        let (offset, format) = (self.utc_offset_secs, self.look.time_format.clone());
        for room in self.rooms.iter_mut().filter(|room| only.is_none_or(|id| room.id() == id)) {
            let Some(before) = room.set_presence(user.id, status, last_seen) else { continue };
            let text = match (before, status) {
                (_, PresenceStatus::Online) if before == PresenceStatus::Away => format!("{name} is back"),
                (_, PresenceStatus::Online) => format!("{name} is online"),
                (_, PresenceStatus::Away) => format!("{name} is away"),
                (_, PresenceStatus::Offline) => match last_seen {
                    Some(at) => format!("{name} went offline (last seen {})", crate::timeline::clock(at, offset, &format)),
                    None => format!("{name} went offline"),
                },
            };
            room.notice(text);
        }
    }
}
