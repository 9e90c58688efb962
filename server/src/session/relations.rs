//! `send{relates_to}`: replies, edits, deletions and reactions
//! (PROTOCOL.md, "Relations"; the rules where it is silent are in
//! docs/PROTOCOL.md). Each is checked against its target here; what a
//! deletion does to its target happens in the store, in the batch that
//! stores the deletion.

use super::requests::Fail;
use crate::store::{MessageRecord, RelKindRecord, RoomKindRecord};
use heartlink_protocol::{ErrorCode, RelKind, RelatesTo, RoomId, UserId};
use unicode_segmentation::UnicodeSegmentation;

/// The longest reaction, in bytes (PROTOCOL.md).
pub const REACTION_BYTES: usize = 32;

fn bad(message: &'static str) -> Fail {
    Fail::code(ErrorCode::BadRequest, message)
}

/// Whether `body` is one emoji: a single grapheme cluster of at most
/// [`REACTION_BYTES`] that the Unicode emoji list knows (skin tones,
/// ZWJ sequences and flags included; text without VS16 too).
pub fn is_one_emoji(body: &str) -> bool {
    body.len() <= REACTION_BYTES && body.graphemes(true).count() == 1 && emojis::get(body).is_some()
}

/// What a relation's sender is allowed, given the message it relates to.
pub struct Check<'a> {
    pub rel: RelKind,
    pub sender: UserId,
    pub room_kind: RoomKindRecord,
    pub room_creator: UserId,
    /// The send's text (for a reaction, the emoji).
    pub body: &'a str,
    pub has_attachment: bool,
}

impl Check<'_> {
    /// `Ok` when the relation may be stored; the `error` otherwise. The order
    /// of the checks is the order of the answers: a meaningless relation is
    /// `bad_request` before anyone's permission is looked at.
    pub fn against(&self, target: &MessageRecord) -> Result<(), Fail> {
        if target.deleted {
            return Err(bad("that message was deleted"));
        }
        let target_kind = target.relates_to.map(|relation| relation.rel);
        // Only messages people wrote take relations (a reply is one); a
        // relation applies to what it relates to, not to other relations,
        // except that a reaction may be taken back by deleting it.
        let relatable = matches!(target_kind, None | Some(RelKindRecord::Reply));
        match self.rel {
            RelKind::Reply => {
                if !relatable {
                    return Err(bad("reply to the message itself, not to an edit, deletion or reaction"));
                }
                if self.body.is_empty() && !self.has_attachment {
                    return Err(bad(heartlink_protocol::EMPTY_BODY));
                }
            }
            RelKind::Edit => {
                if !relatable {
                    return Err(bad("only a message can be edited, not an edit, deletion or reaction"));
                }
                if target.call.is_some() {
                    return Err(bad("only a text message can be edited, not a call"));
                }
                if target.attachment.is_some() {
                    return Err(bad("only a text message can be edited, not one with an attachment"));
                }
                if self.has_attachment {
                    return Err(bad("an edit carries new text, not an attachment"));
                }
                if self.body.is_empty() {
                    return Err(bad("an edit needs the new text; delete the message instead"));
                }
                if target.sender.id != self.sender {
                    return Err(Fail::code(ErrorCode::Forbidden, "only its sender may edit a message"));
                }
            }
            RelKind::Delete => {
                if !relatable && target_kind != Some(RelKindRecord::React) {
                    return Err(bad("delete the message itself, not an edit or a deletion"));
                }
                if self.has_attachment {
                    return Err(bad("a deletion carries no attachment"));
                }
                let creator = self.room_kind == RoomKindRecord::Group && self.room_creator == self.sender;
                if target.sender.id != self.sender && !creator {
                    return Err(Fail::code(ErrorCode::Forbidden, "only its sender or the room's creator may delete a message"));
                }
            }
            RelKind::React => {
                if !relatable {
                    return Err(bad("react to the message itself, not to an edit, deletion or reaction"));
                }
                if self.has_attachment {
                    return Err(bad("a reaction carries no attachment"));
                }
                if !is_one_emoji(self.body) {
                    return Err(bad("a reaction is one emoji (at most 32 bytes)"));
                }
            }
        }
        Ok(())
    }
}

/// The target of `relation` in `room`, or `not_found`.
pub async fn target(store: &dyn crate::store::Store, room: RoomId, relation: RelatesTo) -> Result<MessageRecord, Fail> {
    match store.message(room, relation.seq).await? {
        Some(target) => Ok(target),
        None => Err(Fail::code(ErrorCode::NotFound, "there is no message with that seq in this room")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RelationRecord, UserSummary};

    fn alice() -> UserId {
        UserId::from_bytes([1; 16])
    }

    fn bob() -> UserId {
        UserId::from_bytes([2; 16])
    }

    fn message(sender: UserId, relation: Option<RelKindRecord>) -> MessageRecord {
        MessageRecord {
            sender: UserSummary { id: sender, username: "someone".into() },
            body: "text".into(),
            relates_to: relation.map(|rel| RelationRecord { seq: 1, rel }),
            ..MessageRecord::default()
        }
    }

    fn check(rel: RelKind, sender: UserId, body: &str) -> Check<'_> {
        Check { rel, sender, room_kind: RoomKindRecord::Group, room_creator: bob(), body, has_attachment: false }
    }

    fn code(result: Result<(), Fail>) -> Option<ErrorCode> {
        match result {
            Ok(()) => None,
            Err(Fail::Refused { code, .. }) => Some(code),
            Err(_) => panic!("not a refusal"),
        }
    }

    #[test]
    fn each_relation_has_its_rules() {
        let text = message(alice(), None);
        assert_eq!(code(check(RelKind::Edit, alice(), "fixed").against(&text)), None);
        assert_eq!(code(check(RelKind::Edit, bob(), "mine now").against(&text)), Some(ErrorCode::Forbidden));
        assert_eq!(code(check(RelKind::Edit, alice(), "").against(&text)), Some(ErrorCode::BadRequest));
        assert_eq!(code(check(RelKind::Delete, bob(), "").against(&text)), None, "bob created the group room");
        let mut pair = check(RelKind::Delete, bob(), "");
        pair.room_kind = RoomKindRecord::Pair;
        assert_eq!(code(pair.against(&text)), Some(ErrorCode::Forbidden), "no creator's right in a pair room");
        assert_eq!(code(check(RelKind::Delete, UserId::random(), "").against(&text)), Some(ErrorCode::Forbidden));
        assert_eq!(code(check(RelKind::React, bob(), "👍").against(&text)), None);
        assert_eq!(code(check(RelKind::Reply, bob(), "sure").against(&text)), None);

        let reaction = message(alice(), Some(RelKindRecord::React));
        assert_eq!(code(check(RelKind::Edit, alice(), "x").against(&reaction)), Some(ErrorCode::BadRequest));
        assert_eq!(code(check(RelKind::React, alice(), "👍").against(&reaction)), Some(ErrorCode::BadRequest));
        assert_eq!(code(check(RelKind::Delete, alice(), "").against(&reaction)), None, "a reaction is taken back by deleting it");
        let deletion = message(alice(), Some(RelKindRecord::Delete));
        assert_eq!(code(check(RelKind::Delete, alice(), "").against(&deletion)), Some(ErrorCode::BadRequest));
        let edit = message(alice(), Some(RelKindRecord::Edit));
        assert_eq!(code(check(RelKind::Edit, alice(), "again").against(&edit)), Some(ErrorCode::BadRequest));
        let reply = message(alice(), Some(RelKindRecord::Reply));
        assert_eq!(code(check(RelKind::Edit, alice(), "better reply").against(&reply)), None);

        let mut deleted = message(alice(), None);
        deleted.deleted = true;
        for rel in [RelKind::Edit, RelKind::Reply, RelKind::React, RelKind::Delete] {
            assert_eq!(code(check(rel, alice(), "👍").against(&deleted)), Some(ErrorCode::BadRequest), "{rel:?}");
        }
    }

    #[test]
    fn a_reaction_is_exactly_one_emoji() {
        for good in ["👍", "❤️", "❤", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷"] {
            assert!(is_one_emoji(good), "{good:?}");
        }
        for bad in ["", "a", "👍👍", "👍 ", ":+1:", "ok", "1", "#"] {
            assert!(!is_one_emoji(bad), "{bad:?}");
        }
    }
}
