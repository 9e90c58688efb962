//! Replies that list things come in pages bounded in bytes as well as in
//! count, so that no member can grow a reply past what a connection can
//! write (docs/PROTOCOL.md, "Replies are bounded"): the byte budget for the
//! messages of a `history` or `joined`, and the opaque cursors of the
//! `rooms` and `members` pages.

use crate::store::{MemberPosition, PageBudget, SeqMessage};
use crate::wire;
use crate::wire_size::wire_len;
use heartlink_protocol::limits::REPLY_BYTES;
use heartlink_protocol::{RoomId, ServerMsg, UserId};

/// Room for the request's `ref` (at most 64 characters, each escaped to at
/// most 6 bytes) and its key, which the envelope measured without.
const REF_ALLOWANCE: usize = 16 + 64 * 6;

/// The bytes left for messages in `envelope`, a reply whose `messages` is
/// still empty: whatever it may grow to stays within `REPLY_BYTES`.
pub fn message_bytes(envelope: &ServerMsg) -> usize {
    REPLY_BYTES.saturating_sub(wire_len(envelope)).saturating_sub(REF_ALLOWANCE)
}

/// What a stored message adds to a reply's `messages`: its wire encoding and
/// the comma after it.
pub fn message_size(message: &SeqMessage) -> usize {
    wire::chat_message_len(message).saturating_add(1)
}

/// A budget of `count` messages within what `envelope` leaves of the reply's bound.
pub fn budget<'a>(count: u32, envelope: &ServerMsg, size: &'a (dyn Fn(&SeqMessage) -> usize + Sync)) -> PageBudget<'a> {
    PageBudget { count, bytes: message_bytes(envelope), size }
}

/// A `cursor` this server did not give out (or that was mangled).
#[derive(Debug, PartialEq, Eq)]
pub struct BadCursor;

/// Where a `rooms` page ended: rooms are listed by creation time, then id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RoomPosition {
    pub created_at: u64,
    pub room: RoomId,
}

const ROOMS_PREFIX: &str = "r1.";
const MEMBERS_PREFIX: &str = "m1.";

/// The opaque text of a cursor: a kind and version prefix, then the
/// position in hex (a time and an id). Clients only hand it back.
fn encode(prefix: &str, time: u64, id: &[u8; 16]) -> String {
    let mut bytes = Vec::with_capacity(24);
    bytes.extend_from_slice(&time.to_be_bytes());
    bytes.extend_from_slice(id);
    format!("{prefix}{}", hex::encode(bytes))
}

fn decode(prefix: &str, text: &str) -> Result<(u64, [u8; 16]), BadCursor> {
    let digits = text.strip_prefix(prefix).ok_or(BadCursor)?;
    if digits.len() != 48 {
        return Err(BadCursor);
    }
    let bytes = hex::decode(digits).map_err(|_| BadCursor)?;
    let (time, id) = bytes.split_at(8);
    let time = u64::from_be_bytes(time.try_into().map_err(|_| BadCursor)?);
    Ok((time, id.try_into().map_err(|_| BadCursor)?))
}

impl RoomPosition {
    /// The `cursor` of a `rooms` page that ended here.
    pub fn cursor(self) -> String {
        encode(ROOMS_PREFIX, self.created_at, self.room.as_bytes())
    }

    /// Reads back a `list_rooms.cursor`.
    pub fn from_cursor(text: &str) -> Result<Self, BadCursor> {
        let (created_at, id) = decode(ROOMS_PREFIX, text)?;
        Ok(Self { created_at, room: RoomId::from_bytes(id) })
    }
}

/// The `cursor` of a `members` page (or `joined.members_cursor`) that ended here.
pub fn member_cursor(position: MemberPosition) -> String {
    encode(MEMBERS_PREFIX, position.joined_at, position.user.as_bytes())
}

/// Reads back a `members.cursor`.
pub fn member_position(text: &str) -> Result<MemberPosition, BadCursor> {
    let (joined_at, id) = decode(MEMBERS_PREFIX, text)?;
    Ok(MemberPosition { joined_at, user: UserId::from_bytes(id) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use heartlink_protocol::limits::{BODY_CHARS, CLIENT_MSG_ID_CHARS, JOIN_MEMBERS_MAX, LIST_LIMIT, ROOM_NAME_CHARS};
    use heartlink_protocol::{ChatMessage, Member, ReadMarker, Room, RoomSummary, User, encode_server};
    use heartlink_protocol::RequestRef;

    fn widest_user() -> User {
        User { id: UserId::random(), username: "w".repeat(32) }
    }

    fn widest_room() -> Room {
        // Quotes are escaped to two bytes; a 4-byte character takes four.
        Room { id: RoomId::random(), name: "😀".repeat(*ROOM_NAME_CHARS.end()), created_by: Some(UserId::random()), created_at: u64::MAX, ..Room::default() }
    }

    fn widest_message(seq: u64) -> ChatMessage {
        ChatMessage {
            room_id: RoomId::random(),
            seq,
            sender: widest_user(),
            body: "😀".repeat(*BODY_CHARS.end()),
            ts: u64::MAX,
            client_msg_id: "\"".repeat(*CLIENT_MSG_ID_CHARS.end()),
            ..ChatMessage::default()
        }
    }

    #[test]
    fn the_largest_joined_with_a_full_message_budget_fits() {
        let members = (0..JOIN_MEMBERS_MAX).map(|_| Member { user: widest_user(), online: true, ..Member::default() }).collect();
        let reads = (0..JOIN_MEMBERS_MAX).map(|_| ReadMarker { user: widest_user(), seq: u64::MAX }).collect();
        let mut joined = ServerMsg::Joined {
            room: widest_room(),
            members,
            last_seq: u64::MAX,
            messages: Vec::new(),
            has_more: true,
            reads,
            members_cursor: Some(member_cursor(MemberPosition { joined_at: u64::MAX, user: UserId::random() })),
        };
        let budget = message_bytes(&joined);
        let one = wire_len(&widest_message(1)) + 1;
        assert!(budget > 10 * one, "room for at least ten of the largest messages: {budget} vs {one}");
        let fitting: Vec<ChatMessage> = (1..).map(widest_message).take(budget / one).collect();
        if let ServerMsg::Joined { messages, .. } = &mut joined {
            *messages = fitting;
        }
        let reference = RequestRef::try_from("\u{1}".repeat(64)).unwrap_or_else(|_| RequestRef::try_from("r".repeat(64)).unwrap());
        let text = encode_server(&joined, Some(&reference));
        assert!(text.len() <= REPLY_BYTES, "{} > {REPLY_BYTES}", text.len());
    }

    #[test]
    fn a_full_rooms_or_members_page_fits_without_cutting() {
        let rows = *LIST_LIMIT.end() as usize;
        let rooms = (0..rows).map(|_| RoomSummary { room: widest_room(), last_seq: u64::MAX, read_seq: u64::MAX, mentions: u64::MAX }).collect();
        let cursor = Some(RoomPosition { created_at: u64::MAX, room: RoomId::random() }.cursor());
        let page = ServerMsg::Rooms { rooms, has_more: true, cursor };
        assert!(wire_len(&page) + REF_ALLOWANCE <= REPLY_BYTES, "{}", wire_len(&page));
        let members = (0..rows).map(|_| Member { user: widest_user(), online: true, ..Member::default() }).collect();
        let page = ServerMsg::Members { room_id: RoomId::random(), members, has_more: true, cursor: Some(member_cursor(MemberPosition { joined_at: 1, user: UserId::random() })) };
        assert!(wire_len(&page) + REF_ALLOWANCE <= REPLY_BYTES, "{}", wire_len(&page));
    }

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let rooms = RoomPosition { created_at: 1_700_000_000_123, room: RoomId::random() };
        assert_eq!(RoomPosition::from_cursor(&rooms.cursor()), Ok(rooms));
        let members = MemberPosition { joined_at: 42, user: UserId::random() };
        assert_eq!(member_position(&member_cursor(members)), Ok(members));
        assert_eq!(member_position(&rooms.cursor()), Err(BadCursor), "a rooms cursor is not a members cursor");
        for bad in ["", "r1.", "r1.zz", "m1.00", &format!("r1.{}", "g".repeat(48)), &format!("r2.{}", "0".repeat(48))] {
            assert_eq!(RoomPosition::from_cursor(bad), Err(BadCursor), "{bad:?}");
        }
    }
}
