//! The stored records of calls: the `call` a message carries, and the state
//! of each call the store keeps so that answers and the ring's expiry are
//! decided where the messages are numbered (`Store::append_batch`). Storage
//! types: their serde names are the stored format.

use super::records::UserSummary;
use heartlink_protocol::{CallId, RoomId};
use serde::{Deserialize, Serialize};

/// A step in a call's story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallActionRecord {
    Invite,
    Accept,
    Decline,
    Cancel,
    /// Appended by the server when the ring expired unanswered.
    Missed,
}

/// A message's `call`: an invitation (with its link and ring expiry) or a
/// later step of the same call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub call_id: CallId,
    pub action: CallActionRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

/// A call as the store keeps it, from its invitation on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallStateRecord {
    pub inviter: UserSummary,
    /// When the ring expires (ms).
    pub expires_at: u64,
    /// The step that stopped the ring (`accept`, `cancel`, the last
    /// `decline`, `missed`); `None` while it rings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<CallActionRecord>,
}

/// A call's stored state with what the store keeps beside it, as an export
/// carries it: who declined, and whether it is the call ringing in its room.
/// A call that has not ended has a pending expiry at `state.expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCall {
    pub call_id: CallId,
    pub state: CallStateRecord,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub declined: Vec<heartlink_protocol::UserId>,
    #[serde(default)]
    pub ringing: bool,
}

/// A call whose ring expired while it was still ringing: the server owes
/// the room its `missed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueCall {
    pub room: RoomId,
    pub call_id: CallId,
    pub inviter: UserSummary,
    pub expires_at: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use heartlink_protocol::UserId;

    #[test]
    fn the_stored_format_is_fixed() {
        let id = CallId::from_bytes([0x6a; 16]).to_string();
        let invite = format!(r#"{{"call_id":"{id}","action":"invite","url":"https://x.org/{id}","expires_at":9}}"#);
        let decoded: CallRecord = serde_json::from_str(&invite).unwrap();
        assert_eq!((decoded.action, decoded.expires_at), (CallActionRecord::Invite, Some(9)));
        assert_eq!(serde_json::to_string(&decoded).unwrap(), invite);
        let missed = format!(r#"{{"call_id":"{id}","action":"missed"}}"#);
        assert_eq!(serde_json::to_string(&serde_json::from_str::<CallRecord>(&missed).unwrap()).unwrap(), missed);

        let user = UserId::from_bytes([0x5c; 16]);
        let ringing = format!(r#"{{"inviter":{{"id":"{user}","username":"alice"}},"expires_at":9}}"#);
        let state: CallStateRecord = serde_json::from_str(&ringing).unwrap();
        assert_eq!(state.ended, None);
        assert_eq!(serde_json::to_string(&state).unwrap(), ringing);
        let ended = CallStateRecord { ended: Some(CallActionRecord::Accept), ..state };
        assert!(serde_json::to_string(&ended).unwrap().ends_with(r#","ended":"accept"}"#));
    }
}
