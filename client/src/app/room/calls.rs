//! A room's calls, worked out from its messages: the invitation (its link
//! and when it stops ringing) and the answers, in seq order. Answers the
//! protocol does not allow (a cancel by someone else, an accept by the
//! caller) are ignored, whatever a server sends.

use super::RoomView;
use heartlink_protocol::{CallAction, CallId, ChatMessage, User};
use std::collections::BTreeSet;

/// The messages of one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallThread {
    pub invite: Option<u64>,
    pub answers: BTreeSet<u64>,
}

/// How a call stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    Ringing,
    Accepted(String),
    /// Every other member declined (their names).
    Declined(Vec<String>),
    Cancelled,
    Missed,
}

/// One call as the client knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallStory {
    pub call_id: CallId,
    pub caller: User,
    pub seq: u64,
    pub url: Option<String>,
    pub expires_at: Option<u64>,
    /// The outcome as the messages tell it (a ringing call may have expired by now).
    pub told: CallOutcome,
}

impl CallStory {
    /// The outcome at wall-clock `now_ms` (0: unknown): a call still
    /// ringing past its expiry is missed, even before the server says so.
    pub fn outcome(&self, now_ms: u64) -> CallOutcome {
        match (&self.told, self.expires_at) {
            (CallOutcome::Ringing, Some(expires)) if now_ms > 0 && now_ms >= expires => CallOutcome::Missed,
            (told, _) => told.clone(),
        }
    }

    pub fn ringing(&self, now_ms: u64) -> bool {
        self.outcome(now_ms) == CallOutcome::Ringing
    }
}

impl RoomView {
    /// Files a message of a call under its call id.
    pub(super) fn file_call(&mut self, message: &ChatMessage) {
        let Some(call) = message.call.as_deref() else { return };
        let thread = self.calls.entry(call.call_id).or_default();
        if call.action == CallAction::Invite {
            thread.invite = Some(message.seq);
        } else {
            thread.answers.insert(message.seq);
        }
    }

    /// The story of a call whose invitation is held.
    pub fn call_story(&self, call_id: CallId) -> Option<CallStory> {
        let thread = self.calls.get(&call_id)?;
        let invite = self.messages.get(&thread.invite?)?;
        let info = invite.call.as_deref()?;
        let caller = invite.sender.clone();
        let mut declined: Vec<String> = Vec::new();
        let mut told = CallOutcome::Ringing;
        for answer in thread.answers.iter().filter(|seq| **seq > invite.seq).filter_map(|seq| self.messages.get(seq)) {
            let Some(action) = answer.call.as_deref().map(|call| call.action) else { continue };
            let by_caller = answer.sender.id == caller.id;
            told = match action {
                CallAction::Accept if !by_caller => CallOutcome::Accepted(answer.sender.username.clone()),
                CallAction::Cancel if by_caller => CallOutcome::Cancelled,
                CallAction::Missed => CallOutcome::Missed,
                CallAction::Decline if !by_caller => {
                    if !declined.contains(&answer.sender.username) {
                        declined.push(answer.sender.username.clone());
                    }
                    continue;
                }
                _ => continue,
            };
            break;
        }
        if told == CallOutcome::Ringing && !declined.is_empty() {
            let others = self.members.iter().filter(|member| member.user.id != caller.id).count();
            if others > 0 && declined.len() >= others {
                told = CallOutcome::Declined(declined);
            }
        }
        Some(CallStory { call_id, caller, seq: invite.seq, url: info.url.clone(), expires_at: info.expires_at, told })
    }

    /// Every call of the room whose invitation is held, oldest first.
    pub fn call_stories(&self) -> Vec<CallStory> {
        let mut stories: Vec<CallStory> = self.calls.keys().filter_map(|id| self.call_story(*id)).collect();
        stories.sort_by_key(|story| story.seq);
        stories
    }
}
