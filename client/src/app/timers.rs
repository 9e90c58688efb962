//! The app's clock work: our typing indicator (sent while typing, stopped
//! after idling), others' indicators expiring, our read marker for the room
//! being looked at, and going away after idling.

use super::{App, Effect};
use crate::events::ConnState;
use heartlink_protocol::ClientMsg;
use tokio::time::{Duration, Instant};

/// Typing indicators: resend `active:true` this often while the user types,
/// and send `active:false` after this long without a keystroke. The server
/// expires an indicator that is not repeated within 8 s.
const TYPING_REPEAT: Duration = Duration::from_secs(3);
const TYPING_IDLE: Duration = Duration::from_secs(5);
/// How long a received typing indicator is shown without a repeat.
pub(super) const TYPING_SHOWN: Duration = Duration::from_secs(10);

impl App {
    /// Timers: stop our typing indicator after idling, expire others',
    /// and move our read marker in the room being looked at.
    pub(super) fn tick(&mut self, now: Instant) -> Vec<Effect> {
        self.now = now;
        let mut effects = Vec::new();
        if let Some((room_id, _)) = self.typing_sent {
            if now.duration_since(self.last_keystroke) >= TYPING_IDLE {
                self.typing_sent = None;
                effects.push(Self::request(ClientMsg::Typing { room_id, active: false }));
            }
        }
        for room in &mut self.rooms {
            room.expire_typing(now);
        }
        effects.extend(self.mark_read());
        effects.extend(self.away_after_idling());
        self.media_tick();
        effects.extend(self.ring_again());
        effects
    }

    /// Sends `read` for the open room when it shows newer messages than the
    /// marker we sent (at most once per tick, so not once per message).
    pub(super) fn mark_read(&mut self) -> Option<Effect> {
        if self.conn != ConnState::Connected {
            return None;
        }
        let room = self.active_room_mut()?;
        room.unread = 0;
        room.mentions = 0;
        let newest = room.newest_seq();
        if room.scroll > 0 || newest <= room.read_sent {
            return None;
        }
        room.read_sent = newest;
        Some(Self::request(ClientMsg::Read { room_id: room.id(), seq: newest }))
    }

    /// Called on every edit of the input: tell the room we are typing.
    pub(super) fn typed(&mut self) -> Option<Effect> {
        self.last_keystroke = self.now;
        let room_id = self.active_room()?.id();
        if self.input.text().starts_with('/') || self.input.is_empty() {
            return None;
        }
        let fresh = matches!(self.typing_sent, Some((id, at)) if id == room_id && self.now.duration_since(at) < TYPING_REPEAT);
        if fresh {
            return None;
        }
        self.typing_sent = Some((room_id, self.now));
        Some(Self::request(ClientMsg::Typing { room_id, active: true }))
    }

    /// Stops our typing indicator (message sent, room switched).
    pub(super) fn stop_typing(&mut self) -> Option<Effect> {
        let (room_id, _) = self.typing_sent.take()?;
        Some(Self::request(ClientMsg::Typing { room_id, active: false }))
    }
}
