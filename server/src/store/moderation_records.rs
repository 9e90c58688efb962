//! Storage records of stranger matching and moderation: a pair room's
//! aliases and reveal/end state, blocks, reports (with a copy of the
//! messages they concern) and room bans. Like `records.rs`, their serde names
//! are the stored format.

use super::records::{MessageRecord, UserSummary};
use heartlink_protocol::{RoomId, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One of a pair room's two users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairMemberRecord {
    /// The account.
    pub user: UserSummary,
    /// How the other user sees this one until both revealed: an alias id
    /// that names no account, and an alias name (`quiet-otter`).
    pub alias: UserSummary,
    /// This user asked to reveal.
    #[serde(default)]
    pub revealed: bool,
}

/// A pair room's anonymity and whether its chat ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairRecord {
    pub room: RoomId,
    pub members: [PairMemberRecord; 2],
    /// Set once either user ended the chat (or blocked the other).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<PairEndRecord>,
}

/// Who ended a pair chat, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairEndRecord {
    pub by: UserId,
    pub at: u64,
}

impl PairRecord {
    /// Whether both users revealed.
    pub fn revealed(&self) -> bool {
        self.members.iter().all(|member| member.revealed)
    }

    /// `user`'s side of the pair and the other side, if `user` is one of them.
    pub fn sides(&self, user: UserId) -> Option<(&PairMemberRecord, &PairMemberRecord)> {
        let [first, second] = &self.members;
        if first.user.id == user {
            Some((first, second))
        } else if second.user.id == user {
            Some((second, first))
        } else {
            None
        }
    }

    /// How `member` appears to the other user now: the alias until both revealed.
    pub fn shown(&self, member: &PairMemberRecord) -> UserSummary {
        if self.revealed() { member.user.clone() } else { member.alias.clone() }
    }
}

/// One user blocked by another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRecord {
    /// The blocked account.
    pub user: UserSummary,
    /// How the blocker knew them: the alias when blocked from a stranger
    /// chat before reveal (the blocker's list never shows more).
    pub shown: UserSummary,
    pub at: u64,
}

/// A room ban by its creator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomBanRecord {
    pub user: UserSummary,
    pub by: UserId,
    pub at: u64,
}

/// A message copied into a report, as it was when reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedMessage {
    pub seq: u64,
    pub message: MessageRecord,
}

/// A user's report to the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRecord {
    pub id: Uuid,
    pub reporter: UserSummary,
    pub room: RoomId,
    /// The room's name as stored (a pair room's is neutral).
    pub room_name: String,
    /// The reported message, when the report named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub reason: String,
    pub at: u64,
    /// In a pair room, the peer's real account (for the operator only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<UserSummary>,
    /// The reported message and those just before it (or the room's latest
    /// when no seq was given), copied so the evidence outlives a deletion.
    pub messages: Vec<ReportedMessage>,
    /// Still waiting for the operator.
    #[serde(default = "open_by_default")]
    pub open: bool,
}

fn open_by_default() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pair_sides_and_what_each_sees() {
        let summary = |name: &str| UserSummary { id: UserId::random(), username: name.into() };
        let member = |name: &str, alias: &str| PairMemberRecord { user: summary(name), alias: summary(alias), revealed: false };
        let mut pair = PairRecord { room: RoomId::random(), members: [member("alice", "quiet-otter"), member("bob", "brave-fox")], ended: None };
        let alice = pair.members[0].user.id;
        let (me, peer) = pair.sides(alice).unwrap();
        assert_eq!((me.user.username.as_str(), pair.shown(peer).username.as_str()), ("alice", "brave-fox"));
        assert!(pair.sides(UserId::random()).is_none());
        pair.members[0].revealed = true;
        assert!(!pair.revealed(), "one reveal is not enough");
        pair.members[1].revealed = true;
        let (_, peer) = pair.sides(alice).unwrap();
        assert_eq!(pair.shown(peer).username, "bob");
        let json = serde_json::to_string(&pair).unwrap();
        assert_eq!(serde_json::from_str::<PairRecord>(&json).unwrap(), pair);
    }
}
