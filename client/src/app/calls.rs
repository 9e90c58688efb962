//! Call invitations: `/call` rings the open room; a ringing call shows a
//! banner on every member's screen (who, since when, `/accept` `/decline`)
//! and rings the bell with a desktop notification, again every few seconds,
//! until someone accepts, the caller cancels, everyone declined or it
//! expires. `/accept` opens the call's link (http(s) only) and prints it;
//! `/hangup` (`/cancel-call`) stops the caller's own ringing call. The
//! terminal carries no sound: the link does.

use super::{App, Effect};
use crate::app::room::CallStory;
use crate::sanitize::sanitize_line;
use heartlink_protocol::{CallAction, CallRequest, CallRequestAction, ChatMessage, RoomId};
use tokio::time::Duration;

/// A ringing call rings the bell again this often.
const RING_EVERY: Duration = Duration::from_secs(6);

/// A ringing call somewhere, for the banner and the answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ringing {
    pub room: RoomId,
    pub room_name: String,
    pub story: CallStory,
    pub mine: bool,
}

impl App {
    /// Every call ringing now in the rooms joined here, newest first.
    pub fn ringing_calls(&self) -> Vec<Ringing> {
        let me = self.me.as_ref().map(|me| me.id);
        let now = self.media.wall_ms;
        let mut calls: Vec<Ringing> = self
            .rooms
            .iter()
            .flat_map(|room| {
                room.call_stories().into_iter().filter(|story| story.ringing(now)).map(|story| Ringing {
                    room: room.id(),
                    room_name: room.room.name.clone(),
                    mine: Some(story.caller.id) == me,
                    story,
                })
            })
            .collect();
        calls.sort_by_key(|call| std::cmp::Reverse(call.story.expires_at));
        calls
    }

    /// The banner over the messages while a call rings (the newest one).
    pub fn call_banner(&self) -> Option<String> {
        let call = self.ringing_calls().into_iter().next()?;
        let since = self.rooms.iter().find(|room| room.id() == call.room).and_then(|room| room.messages.get(&call.story.seq)).map_or(0, |m| m.ts);
        let secs = self.media.wall_ms.saturating_sub(since) / 1000;
        let room = sanitize_line(&call.room_name);
        let caller = sanitize_line(&call.story.caller.username);
        let when = if since == 0 || self.media.wall_ms == 0 { String::new() } else { format!(" · {}:{:02}", secs / 60, secs % 60) };
        Some(if call.mine {
            format!("📞 calling {room}{when} · /hangup to stop")
        } else {
            format!("📞 {caller} is calling in {room}{when} · /accept · /decline")
        })
    }

    /// `/call`: an invitation in the open room.
    pub(super) fn call(&mut self) -> Vec<Effect> {
        let Some(room) = self.active_room().filter(|room| !room.ended).map(super::RoomView::id) else {
            self.notify("no room is open to call", true);
            return Vec::new();
        };
        let invite = CallRequest { action: CallRequestAction::Invite, call_id: None };
        self.queue_send(room, "", None, None, Some(invite))
    }

    /// `/accept`, `/decline`: the newest call ringing for me.
    pub(super) fn answer_call(&mut self, action: CallRequestAction) -> Vec<Effect> {
        let Some(call) = self.ringing_calls().into_iter().find(|call| !call.mine) else {
            self.notify("no call is ringing for you", true);
            return Vec::new();
        };
        let answer = CallRequest { action, call_id: Some(call.story.call_id) };
        let mut effects = self.queue_send(call.room, "", None, None, Some(answer));
        if action == CallRequestAction::Accept {
            match call.story.url.as_deref() {
                Some(url) => {
                    self.notify(format!("the call's link (open it on another device too): {}", sanitize_line(url)), false);
                    effects.extend(self.open_url(url));
                }
                None => self.notify("the call has no link to open", true),
            }
        }
        effects
    }

    /// `/hangup`: stops my ringing call.
    pub(super) fn hang_up(&mut self) -> Vec<Effect> {
        let Some(call) = self.ringing_calls().into_iter().find(|call| call.mine) else {
            self.notify("no call of yours is ringing (an accepted call goes on in its link)", true);
            return Vec::new();
        };
        let cancel = CallRequest { action: CallRequestAction::Cancel, call_id: Some(call.story.call_id) };
        self.queue_send(call.room, "", None, None, Some(cancel))
    }

    /// A live invitation from someone else rings at once.
    pub(super) fn call_arrived(&mut self, message: &ChatMessage) -> Vec<Effect> {
        let me = self.me.as_ref().map(|me| me.id);
        let invite = message.call.as_deref().filter(|call| call.action == CallAction::Invite);
        let Some(invite) = invite.filter(|_| Some(message.sender.id) != me) else { return Vec::new() };
        let expired = invite.expires_at.is_some_and(|at| self.media.wall_ms > 0 && self.media.wall_ms >= at);
        if expired || self.muted.contains(&message.room_id) || self.settings.bell == crate::settings::Bell::Off {
            return Vec::new();
        }
        self.last_ring = Some(self.now);
        let name = self.rooms.iter().find(|room| room.id() == message.room_id).map(|room| room.room.name.clone()).unwrap_or_default();
        let mut effects = vec![Effect::Bell];
        if self.settings.desktop != crate::settings::Desktop::Off {
            let body = format!("{} is calling — /accept or /decline", sanitize_line(&message.sender.username));
            effects.push(Effect::Notify { title: format!("heartlink · {}", sanitize_line(&name)), body });
        }
        effects
    }

    /// The clock: a call still ringing for me rings again.
    pub(super) fn ring_again(&mut self) -> Vec<Effect> {
        let ringing = self.ringing_calls().into_iter().any(|call| !call.mine && !self.muted.contains(&call.room));
        if !ringing || self.settings.bell == crate::settings::Bell::Off {
            self.last_ring = None;
            return Vec::new();
        }
        if self.last_ring.is_some_and(|at| self.now.saturating_duration_since(at) < RING_EVERY) {
            return Vec::new();
        }
        self.last_ring = Some(self.now);
        vec![Effect::Bell]
    }
}
