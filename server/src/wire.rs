//! The one edge between storage records and wire types: what a stored
//! account, room or message looks like to a client, and which parts of a
//! client's request are stored. Nothing else converts between the two, so
//! the disk format and the protocol can change apart.

use crate::store::{MessageRecord, RoomKindRecord, RoomRecord, SeqMessage, UserRecord, UserSummary};
use heartlink_protocol::{ChatMessage, Room, RoomId, RoomKind, User};

/// The wire `user` of a stored id and name.
pub fn user(summary: UserSummary) -> User {
    User { id: summary.id, username: summary.username }
}

/// The wire `user` of an account.
pub fn account(record: &UserRecord) -> User {
    User { id: record.id, username: record.username.clone() }
}

/// What is stored of a message's sender.
pub fn sender(user: &User) -> UserSummary {
    UserSummary { id: user.id, username: user.username.clone() }
}

/// The wire `room` of a stored room.
pub fn room(record: &RoomRecord) -> Room {
    let kind = match record.kind {
        RoomKindRecord::Group => RoomKind::Group,
        RoomKindRecord::Pair => RoomKind::Pair,
    };
    Room { id: record.id, name: record.name.clone(), kind, created_by: Some(record.created_by), created_at: record.created_at }
}

/// The wire `chat_message` of a stored message.
pub fn chat_message(room_id: RoomId, message: SeqMessage) -> ChatMessage {
    let SeqMessage { seq, record: MessageRecord { sender, body, ts, client_msg_id } } = message;
    ChatMessage { room_id, seq, sender: user(sender), body, ts, client_msg_id, ..ChatMessage::default() }
}

/// The wire messages of a page of stored ones.
pub fn chat_messages(room_id: RoomId, messages: Vec<SeqMessage>) -> Vec<ChatMessage> {
    messages.into_iter().map(|message| chat_message(room_id, message)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use heartlink_protocol::UserId;

    #[test]
    fn records_map_to_what_clients_see() {
        let alice = User { id: UserId::random(), username: "Alice".into() };
        let record = MessageRecord { sender: sender(&alice), body: "hi".into(), ts: 9, client_msg_id: "c".into() };
        let room_id = RoomId::random();
        let chat = chat_message(room_id, SeqMessage { seq: 4, record });
        assert_eq!((chat.room_id, chat.seq, chat.sender, chat.body.as_str(), chat.ts), (room_id, 4, alice.clone(), "hi", 9));

        let pair = RoomRecord {
            id: room_id,
            name: "a & b".into(),
            kind: RoomKindRecord::Pair,
            created_by: alice.id,
            created_at: 1,
            pair: vec![alice.id],
        };
        let wire = room(&pair);
        assert_eq!((wire.kind, wire.created_by, wire.name.as_str()), (RoomKind::Pair, Some(alice.id), "a & b"));
    }
}
