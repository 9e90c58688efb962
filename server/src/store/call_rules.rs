//! The rules of a call's story (PROTOCOL.md, "Calls"), as the store applies
//! them to each call message it appends: whoever implements `Store` decides
//! with these functions, inside the transaction that numbers the message, so
//! that two answers on two nodes, or an answer and the ring's expiry, cannot
//! both win.

use super::call_records::{CallActionRecord, CallRecord, CallStateRecord};
use heartlink_protocol::UserId;

/// Why a call message was not appended (the sender gets an `error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallRefusal {
    /// No call with this id in this room.
    UnknownCall,
    /// The call no longer rings: answered, cancelled, declined by everyone else, or expired.
    Finished,
    /// Only the inviter may cancel.
    NotInviter,
    /// The inviter does not accept or decline their own call.
    Inviter,
    /// This member declined already.
    AlreadyDeclined,
    /// Another call still rings in this room.
    RoomRinging,
    /// `missed` before the ring expired.
    NotDue,
}

/// What an allowed step does to its call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An invitation: the call rings until `expires_at`.
    Rings(CallStateRecord),
    /// The ring stops with this step.
    Ends(CallActionRecord),
    /// A member declined; the ring stops if every other member has.
    Declines,
}

/// Whether a call rings at `at` (ms).
pub fn rings(state: &CallStateRecord, at: u64) -> bool {
    state.ended.is_none() && at < state.expires_at
}

/// Judges `call`, sent by `sender` at `at`, against the stored `state` of its
/// call (`None`: no such call in the room). An invitation needs no state and
/// an empty room (see [`invite_allowed`]). Role before state: a wrong user's
/// `cancel` is refused as such even when the call is over.
pub fn judge(state: Option<&CallStateRecord>, sender: &super::UserSummary, call: &CallRecord, at: u64) -> Result<Step, CallRefusal> {
    let Some(state) = state else {
        return match call.action {
            CallActionRecord::Invite => {
                let expires_at = call.expires_at.unwrap_or(at);
                Ok(Step::Rings(CallStateRecord { inviter: sender.clone(), expires_at, ended: None }))
            }
            _ => Err(CallRefusal::UnknownCall),
        };
    };
    let by_inviter = sender.id == state.inviter.id;
    match call.action {
        // A call id names one invitation (the server draws it).
        CallActionRecord::Invite => Err(CallRefusal::Finished),
        CallActionRecord::Cancel if !by_inviter => Err(CallRefusal::NotInviter),
        CallActionRecord::Accept | CallActionRecord::Decline if by_inviter => Err(CallRefusal::Inviter),
        CallActionRecord::Missed if !by_inviter => Err(CallRefusal::NotInviter),
        CallActionRecord::Missed if state.ended.is_some() => Err(CallRefusal::Finished),
        CallActionRecord::Missed if at < state.expires_at => Err(CallRefusal::NotDue),
        CallActionRecord::Missed => Ok(Step::Ends(CallActionRecord::Missed)),
        _ if !rings(state, at) => Err(CallRefusal::Finished),
        CallActionRecord::Decline => Ok(Step::Declines),
        action => Ok(Step::Ends(action)),
    }
}

/// Whether a new invitation may ring in a room where `ringing` (the state of
/// the room's latest ringing call, if any) is at `at`.
pub fn invite_allowed(ringing: Option<&CallStateRecord>, at: u64) -> Result<(), CallRefusal> {
    match ringing {
        Some(state) if rings(state, at) => Err(CallRefusal::RoomRinging),
        _ => Ok(()),
    }
}

/// Whether, with `declined` (which includes the latest decliner), every
/// current member other than `inviter` has declined. `members` is the room's
/// current member list, read lazily: the answer is known at the first
/// member who has not declined.
pub fn everyone_declined(
    inviter: UserId,
    members: impl IntoIterator<Item = Result<UserId, super::StoreError>>,
    mut declined: impl FnMut(UserId) -> Result<bool, super::StoreError>,
) -> Result<bool, super::StoreError> {
    for member in members {
        let member = member?;
        if member != inviter && !declined(member)? {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::UserSummary;
    use heartlink_protocol::CallId;

    fn user(n: u8) -> UserSummary {
        UserSummary { id: UserId::from_bytes([n; 16]), username: format!("u{n}") }
    }

    fn step(action: CallActionRecord) -> CallRecord {
        CallRecord { call_id: CallId::from_bytes([9; 16]), action, url: None, expires_at: None }
    }

    fn ringing() -> CallStateRecord {
        CallStateRecord { inviter: user(1), expires_at: 1000, ended: None }
    }

    #[test]
    fn an_invitation_rings_and_answers_need_their_call() {
        let invite = CallRecord { expires_at: Some(1000), ..step(CallActionRecord::Invite) };
        assert_eq!(judge(None, &user(1), &invite, 5), Ok(Step::Rings(ringing())));
        assert_eq!(judge(Some(&ringing()), &user(1), &invite, 5), Err(CallRefusal::Finished));
        for action in [CallActionRecord::Accept, CallActionRecord::Decline, CallActionRecord::Cancel, CallActionRecord::Missed] {
            assert_eq!(judge(None, &user(2), &step(action), 5), Err(CallRefusal::UnknownCall), "{action:?}");
        }
    }

    #[test]
    fn who_may_do_what_while_it_rings() {
        let state = ringing();
        assert_eq!(judge(Some(&state), &user(2), &step(CallActionRecord::Accept), 5), Ok(Step::Ends(CallActionRecord::Accept)));
        assert_eq!(judge(Some(&state), &user(2), &step(CallActionRecord::Decline), 5), Ok(Step::Declines));
        assert_eq!(judge(Some(&state), &user(1), &step(CallActionRecord::Cancel), 5), Ok(Step::Ends(CallActionRecord::Cancel)));
        assert_eq!(judge(Some(&state), &user(2), &step(CallActionRecord::Cancel), 5), Err(CallRefusal::NotInviter));
        assert_eq!(judge(Some(&state), &user(1), &step(CallActionRecord::Accept), 5), Err(CallRefusal::Inviter));
        assert_eq!(judge(Some(&state), &user(1), &step(CallActionRecord::Decline), 5), Err(CallRefusal::Inviter));
        assert_eq!(judge(Some(&state), &user(1), &step(CallActionRecord::Missed), 999), Err(CallRefusal::NotDue));
        assert_eq!(judge(Some(&state), &user(2), &step(CallActionRecord::Missed), 1000), Err(CallRefusal::NotInviter));
    }

    #[test]
    fn an_ended_or_expired_call_takes_no_answer_but_its_missed_once() {
        let expired = ringing();
        assert_eq!(judge(Some(&expired), &user(2), &step(CallActionRecord::Accept), 1000), Err(CallRefusal::Finished));
        assert_eq!(judge(Some(&expired), &user(1), &step(CallActionRecord::Cancel), 1000), Err(CallRefusal::Finished));
        assert_eq!(judge(Some(&expired), &user(1), &step(CallActionRecord::Missed), 1000), Ok(Step::Ends(CallActionRecord::Missed)));
        let accepted = CallStateRecord { ended: Some(CallActionRecord::Accept), ..ringing() };
        assert_eq!(judge(Some(&accepted), &user(3), &step(CallActionRecord::Accept), 5), Err(CallRefusal::Finished));
        assert_eq!(judge(Some(&accepted), &user(3), &step(CallActionRecord::Decline), 5), Err(CallRefusal::Finished));
        assert_eq!(judge(Some(&accepted), &user(1), &step(CallActionRecord::Missed), 2000), Err(CallRefusal::Finished));
        assert_eq!(judge(Some(&accepted), &user(3), &step(CallActionRecord::Cancel), 5), Err(CallRefusal::NotInviter));
    }

    #[test]
    fn one_call_rings_per_room_and_everyone_must_decline() {
        assert_eq!(invite_allowed(None, 5), Ok(()));
        assert_eq!(invite_allowed(Some(&ringing()), 5), Err(CallRefusal::RoomRinging));
        assert_eq!(invite_allowed(Some(&ringing()), 1000), Ok(()), "an expired ring does not block the room");
        let members = |ids: &[u8]| ids.iter().map(|n| Ok(UserId::from_bytes([*n; 16]))).collect::<Vec<_>>();
        let declined = |ids: &'static [u8]| move |user: UserId| Ok(ids.iter().any(|n| UserId::from_bytes([*n; 16]) == user));
        let inviter = UserId::from_bytes([1; 16]);
        assert!(everyone_declined(inviter, members(&[1, 2, 3]), declined(&[2, 3])).unwrap());
        assert!(!everyone_declined(inviter, members(&[1, 2, 3]), declined(&[2])).unwrap());
        assert!(everyone_declined(inviter, members(&[2]), declined(&[2])).unwrap(), "an inviter who left");
    }
}
