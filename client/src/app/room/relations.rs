//! Replies, edits, deletions and reactions as the room shows them
//! (PROTOCOL.md, "Relations"). Each is a message with its own seq; what it
//! does to its target is worked out here from every relation held for that
//! target, in seq order, each time it is asked — so applying them is
//! idempotent (a relation replayed by `join{since}` or history is the same
//! entry of the map) and order-tolerant (a relation that arrived before its
//! target applies as soon as the target is held).

use super::RoomView;
use heartlink_protocol::{ChatMessage, RelKind, UserId};

/// One emoji under a message and who reacted with it (first reaction first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub emoji: String,
    pub users: Vec<UserId>,
}

/// What the relations held make of a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    /// The newest edit's text, if the sender edited it.
    pub edited: Option<String>,
    /// Deleted by its sender or the room's creator (or blanked by the server).
    pub deleted: bool,
    /// In the order each emoji was first used.
    pub reactions: Vec<Reaction>,
}

/// Whether a message shows as a line of its own: a plain message or a
/// reply. An edit, a deletion or a reaction changes another message instead.
pub fn shows_as_message(message: &ChatMessage) -> bool {
    // A call's answers are part of its invitation's line (its story).
    let call_answer = message.call.as_deref().is_some_and(|call| call.action != heartlink_protocol::CallAction::Invite);
    !call_answer && message.relates_to.is_none_or(|relation| relation.rel == RelKind::Reply)
}

impl RoomView {
    /// The relations of message `seq` applied in seq order. Relations the
    /// protocol does not allow (an edit by someone else, a deletion by
    /// neither the sender nor the creator, a relation older than its
    /// target) are ignored, whatever a server sends.
    pub fn annotations(&self, seq: u64) -> Annotations {
        let mut annotations = Annotations::default();
        let Some(target) = self.messages.get(&seq) else { return annotations };
        annotations.deleted = target.deleted;
        let Some(relations) = self.relations.get(&seq) else { return annotations };
        for relation in relations.iter().filter(|at| **at > seq).filter_map(|at| self.messages.get(at)) {
            let Some(rel) = relation.relates_to.map(|r| r.rel) else { continue };
            if self.is_void(relation) {
                continue;
            }
            let sender = relation.sender.id;
            match rel {
                RelKind::Edit if sender == target.sender.id => annotations.edited = Some(relation.body.clone()),
                RelKind::Delete if self.may_delete(sender, target) => annotations.deleted = true,
                RelKind::React if !relation.body.is_empty() => toggle(&mut annotations.reactions, &relation.body, sender),
                RelKind::Edit | RelKind::Delete | RelKind::React | RelKind::Reply => {}
            }
        }
        annotations
    }

    /// The text message `seq` shows now (its newest edit), `None` once deleted or when not held.
    pub fn current_body(&self, seq: u64) -> Option<String> {
        let message = self.messages.get(&seq)?;
        let annotations = self.annotations(seq);
        if annotations.deleted {
            return None;
        }
        Some(annotations.edited.unwrap_or_else(|| message.body.clone()))
    }

    /// The seqs of the messages shown as lines, oldest first.
    pub fn shown_seqs(&self) -> impl DoubleEndedIterator<Item = u64> + '_ {
        self.messages.values().filter(|message| shows_as_message(message)).map(|message| message.seq)
    }

    /// A relation that was itself deleted (a reaction taken back that way,
    /// an edit removed) no longer counts.
    fn is_void(&self, relation: &ChatMessage) -> bool {
        if relation.deleted {
            return true;
        }
        let Some(deletions) = self.relations.get(&relation.seq) else { return false };
        deletions.iter().filter_map(|at| self.messages.get(at)).any(|deletion| {
            deletion.relates_to.is_some_and(|r| r.rel == RelKind::Delete) && self.may_delete(deletion.sender.id, relation)
        })
    }

    fn may_delete(&self, who: UserId, target: &ChatMessage) -> bool {
        who == target.sender.id || self.room.created_by == Some(who)
    }
}

/// A reaction is a toggle: the same user with the same emoji again takes it back.
fn toggle(reactions: &mut Vec<Reaction>, emoji: &str, user: UserId) {
    let index = match reactions.iter().position(|reaction| reaction.emoji == emoji) {
        Some(index) => index,
        None => {
            reactions.push(Reaction { emoji: emoji.to_owned(), users: Vec::new() });
            reactions.len() - 1
        }
    };
    let Some(reaction) = reactions.get_mut(index) else { return };
    match reaction.users.iter().position(|who| *who == user) {
        Some(at) => drop(reaction.users.remove(at)),
        None => reaction.users.push(user),
    }
    if reaction.users.is_empty() {
        reactions.remove(index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::tests_support::{alice, bob, message, room, room_id};
    use heartlink_protocol::RelatesTo;

    fn relation(seq: u64, sender: &heartlink_protocol::User, target: u64, rel: RelKind, body: &str) -> ChatMessage {
        let mut m = message(room_id(1), seq, sender, body, &format!("r{seq}"));
        m.relates_to = Some(RelatesTo { seq: target, rel });
        m
    }

    fn room_with(messages: Vec<ChatMessage>) -> RoomView {
        let mut view = RoomView::new(room(room_id(1), "general"));
        for m in messages {
            view.insert(m, None);
        }
        view
    }

    #[test]
    fn relations_apply_in_seq_order_whatever_order_they_arrive_in_and_twice_is_once() {
        let all = vec![
            message(room_id(1), 1, &bob(), "helo", "b1"),
            relation(2, &bob(), 1, RelKind::Edit, "hello"),
            relation(3, &alice(), 1, RelKind::React, "👍"),
            relation(4, &bob(), 1, RelKind::React, "👍"),
            relation(5, &alice(), 1, RelKind::React, "❤️"),
            relation(6, &alice(), 1, RelKind::React, "👍"),
            relation(7, &bob(), 1, RelKind::Edit, "hello!"),
        ];
        let forward = room_with(all.clone());
        let mut backward: Vec<_> = all.clone();
        backward.reverse();
        backward.extend(all.clone()); // replayed by a resume: nothing doubles
        let backward = room_with(backward);
        for view in [&forward, &backward] {
            let annotations = view.annotations(1);
            assert_eq!(annotations.edited.as_deref(), Some("hello!"));
            let shown: Vec<(&str, usize)> = annotations.reactions.iter().map(|r| (r.emoji.as_str(), r.users.len())).collect();
            assert_eq!(shown, [("👍", 1), ("❤️", 1)], "alice's second 👍 took hers back");
            assert_eq!(annotations.reactions[0].users, [bob().id]);
        }
        assert_eq!(forward.shown_seqs().collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn a_relation_held_before_its_target_applies_when_the_target_arrives() {
        let mut view = room_with(vec![relation(9, &bob(), 4, RelKind::Delete, "")]);
        assert_eq!(view.annotations(4), Annotations::default());
        view.insert(message(room_id(1), 4, &bob(), "oops", "b4"), None);
        assert!(view.annotations(4).deleted);
        assert_eq!(view.current_body(4), None);
    }

    #[test]
    fn edits_by_others_and_deletions_by_strangers_are_ignored_but_the_creator_may_delete() {
        // The room's creator is alice (the fixture).
        let view = room_with(vec![
            message(room_id(1), 1, &bob(), "mine", "b1"),
            relation(2, &alice(), 1, RelKind::Edit, "not yours"),
            message(room_id(1), 3, &alice(), "hers", "a3"),
            relation(4, &bob(), 3, RelKind::Delete, ""),
        ]);
        assert_eq!(view.current_body(1).as_deref(), Some("mine"));
        assert_eq!(view.current_body(3).as_deref(), Some("hers"));
        let view = room_with(vec![message(room_id(1), 1, &bob(), "spam", "b1"), relation(2, &alice(), 1, RelKind::Delete, "")]);
        assert!(view.annotations(1).deleted, "the creator may delete");
    }

    #[test]
    fn a_deleted_reaction_or_a_message_blanked_in_history_counts_as_deleted() {
        let mut blanked = message(room_id(1), 1, &bob(), "", "b1");
        blanked.deleted = true;
        let mut gone_reaction = relation(2, &alice(), 1, RelKind::React, "");
        gone_reaction.deleted = true;
        let view = room_with(vec![blanked, gone_reaction, relation(3, &bob(), 1, RelKind::React, "🔥")]);
        let annotations = view.annotations(1);
        assert!(annotations.deleted);
        assert_eq!(annotations.reactions.len(), 1);
        let view = room_with(vec![
            message(room_id(1), 1, &bob(), "hi", "b1"),
            relation(2, &alice(), 1, RelKind::React, "👍"),
            relation(3, &alice(), 2, RelKind::Delete, ""),
        ]);
        assert!(view.annotations(1).reactions.is_empty(), "the reaction was deleted");
    }
}
