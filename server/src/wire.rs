//! The one edge between storage records and wire types: what a stored
//! account, room or message looks like to a client, and which parts of a
//! client's request are stored. Nothing else converts between the two, so
//! the disk format and the protocol can change apart.

use crate::store::{
    AttachmentKindRecord, AttachmentRecord, CallActionRecord, CallRecord, MessageRecord, RelKindRecord, RelationRecord,
    RoomKindRecord, RoomRecord, SeqMessage, UserRecord, UserSummary,
};
use crate::wire_size::wire_len;
use heartlink_protocol::{
    Attachment, AttachmentKind, CallAction, CallInfo, CallRequestAction, ChatMessage, RelKind, RelatesTo, Room, RoomId, RoomKind,
    User,
};

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
    Room { id: record.id, name: record.name.clone(), kind, created_by: Some(record.created_by), created_at: record.created_at, ended: false }
}

/// The wire `chat_message` of a stored message.
pub fn chat_message(room_id: RoomId, message: SeqMessage) -> ChatMessage {
    let SeqMessage { seq, record: MessageRecord { sender, body, ts, client_msg_id, attachment: stored, call, relates_to, mentions, deleted } } =
        message;
    let attachment = stored.map(|stored| Box::new(self::attachment(*stored)));
    let call = call.map(|stored| Box::new(self::call(*stored)));
    let relates_to = relates_to.map(relation);
    ChatMessage {
        room_id,
        seq,
        sender: user(sender),
        body,
        ts,
        client_msg_id,
        attachment,
        call,
        relates_to,
        mentions,
        deleted,
    }
}

/// The wire `call` of a stored one.
pub fn call(record: CallRecord) -> CallInfo {
    let CallRecord { call_id, action, url, expires_at } = record;
    let action = match action {
        CallActionRecord::Invite => CallAction::Invite,
        CallActionRecord::Accept => CallAction::Accept,
        CallActionRecord::Decline => CallAction::Decline,
        CallActionRecord::Cancel => CallAction::Cancel,
        CallActionRecord::Missed => CallAction::Missed,
    };
    CallInfo { call_id, action, url, expires_at }
}

/// What is stored of a client's call action (`missed` is only ever the server's).
pub fn call_action_record(action: CallRequestAction) -> CallActionRecord {
    match action {
        CallRequestAction::Invite => CallActionRecord::Invite,
        CallRequestAction::Accept => CallActionRecord::Accept,
        CallRequestAction::Decline => CallActionRecord::Decline,
        CallRequestAction::Cancel => CallActionRecord::Cancel,
    }
}

/// The wire `relates_to` of a stored relation.
pub fn relation(record: RelationRecord) -> RelatesTo {
    let rel = match record.rel {
        RelKindRecord::Reply => RelKind::Reply,
        RelKindRecord::Edit => RelKind::Edit,
        RelKindRecord::Delete => RelKind::Delete,
        RelKindRecord::React => RelKind::React,
    };
    RelatesTo { seq: record.seq, rel }
}

/// What is stored of a `send`'s `relates_to`.
pub fn relation_record(relation: RelatesTo) -> RelationRecord {
    let rel = match relation.rel {
        RelKind::Reply => RelKindRecord::Reply,
        RelKind::Edit => RelKindRecord::Edit,
        RelKind::Delete => RelKindRecord::Delete,
        RelKind::React => RelKindRecord::React,
    };
    RelationRecord { seq: relation.seq, rel }
}

/// The wire `attachment` of a stored one.
pub fn attachment(record: AttachmentRecord) -> Attachment {
    let AttachmentRecord { media_id, name, mime, size, sha256, kind, width, height, duration_ms, waveform } = record;
    let kind = match kind {
        AttachmentKindRecord::Image => AttachmentKind::Image,
        AttachmentKindRecord::Voice => AttachmentKind::Voice,
        AttachmentKindRecord::File => AttachmentKind::File,
    };
    Attachment { media_id, name, mime, size, sha256, kind, width, height, duration_ms, waveform }
}

/// What is stored of an attachment the media service described.
pub fn attachment_record(attachment: Attachment) -> AttachmentRecord {
    let Attachment { media_id, name, mime, size, sha256, kind, width, height, duration_ms, waveform } = attachment;
    let kind = match kind {
        AttachmentKind::Image => AttachmentKindRecord::Image,
        AttachmentKind::Voice => AttachmentKindRecord::Voice,
        AttachmentKind::File => AttachmentKindRecord::File,
    };
    AttachmentRecord { media_id, name, mime, size, sha256, kind, width, height, duration_ms, waveform }
}

/// The length of [`chat_message`]'s JSON encoding, counted without building
/// it (pages are cut to a byte budget while they are read). A stored record
/// encodes its fields exactly as the wire message does; the wire message
/// adds its room id and seq in front: `"room_id":"<36>",` and `"seq":<n>,`.
/// A test below holds the two to the same length.
pub fn chat_message_len(message: &SeqMessage) -> usize {
    const ROOM_ID: usize = r#""room_id":"","#.len() + 36;
    const SEQ: usize = r#""seq":,"#.len();
    let digits = message.seq.checked_ilog10().map_or(1, |log| log as usize + 1);
    wire_len(&message.record).saturating_add(ROOM_ID + SEQ + digits)
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
        let record =
            MessageRecord { sender: sender(&alice), body: "hi".into(), ts: 9, client_msg_id: "c".into(), ..MessageRecord::default() };
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

    #[test]
    fn a_messages_length_is_counted_exactly_without_building_it() {
        let sender = UserSummary { id: UserId::random(), username: "a\"li\\ce".into() };
        let attachment = AttachmentRecord {
            media_id: heartlink_protocol::MediaId::random(),
            name: "cat \"1\".png".into(),
            mime: "image/png".into(),
            size: 12_345,
            sha256: "ab".repeat(32),
            kind: AttachmentKindRecord::Voice,
            width: None,
            height: Some(7),
            duration_ms: Some(1500),
            waveform: Some(vec![0, 255, 7]),
        };
        let invite = CallRecord {
            call_id: heartlink_protocol::CallId::random(),
            action: CallActionRecord::Invite,
            url: Some("https://meet.example.org/\"x\"?a=1&b=<2>".into()),
            expires_at: Some(u64::MAX),
        };
        let missed = CallRecord { action: CallActionRecord::Missed, url: None, expires_at: None, ..invite.clone() };
        let room = RoomId::random();
        let cases = [(1, None, None), (9, None, Some(missed)), (10, Some(attachment.clone()), None), (u64::MAX, Some(attachment), Some(invite))];
        for (seq, attachment, call) in cases {
            let record = MessageRecord {
                sender: sender.clone(),
                body: "😀 \"quoted\"\n\ttab \u{1}".into(),
                ts: u64::MAX,
                client_msg_id: "c\\1".into(),
                attachment: attachment.map(Box::new),
                relates_to: (seq > 1).then_some(RelationRecord { seq: seq / 2, rel: RelKindRecord::Reply }),
                mentions: if seq == 9 { vec![heartlink_protocol::UserId::random(); 2] } else { Vec::new() },
                deleted: seq == 10,
                call: call.map(Box::new),
            };
            let message = SeqMessage { seq, record };
            assert_eq!(chat_message_len(&message), wire_len(&chat_message(room, message.clone())), "seq {seq}");
        }
    }
}
