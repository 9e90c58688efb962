//! Composite keys and the fixed-width numbers inside keys and values.
//! Reading one from disk never guesses: bytes that are too short are
//! [`StoreError::Corrupt`], not zeros.

use super::StoreError;
use heartlink_protocol::{MediaId, RoomId, UserId};

/// The parts, one after the other.
pub(super) fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `room ++ seq`: a room's messages in seq order.
pub(super) fn message_key(room: RoomId, seq: u64) -> Vec<u8> {
    concat(&[room.as_bytes(), &seq.to_be_bytes()])
}

/// `sender ++ room ++ client_msg_id`: the idempotency key of a send.
pub(super) fn dedup_key(sender: UserId, room: RoomId, client_msg_id: &str) -> Vec<u8> {
    concat(&[sender.as_bytes(), room.as_bytes(), client_msg_id.as_bytes()])
}

/// `user ++ room ++ seq`: a message of `room` that mentions `user`.
pub(super) fn mention_key(user: UserId, room: RoomId, seq: u64) -> Vec<u8> {
    concat(&[user.as_bytes(), room.as_bytes(), &seq.to_be_bytes()])
}

/// `room ++ target ++ seq`: message `seq` relates to message `target`.
pub(super) fn relation_key(room: RoomId, target: u64, seq: u64) -> Vec<u8> {
    concat(&[room.as_bytes(), &target.to_be_bytes(), &seq.to_be_bytes()])
}

/// `media ++ room ++ seq`: message `seq` of `room` carries `media`.
pub(super) fn media_message_key(media: MediaId, room: RoomId, seq: u64) -> Vec<u8> {
    concat(&[media.as_bytes(), room.as_bytes(), &seq.to_be_bytes()])
}

/// The big-endian u64 at `at`.
pub(super) fn u64_at(tree: &'static str, bytes: &[u8], at: usize) -> Result<u64, StoreError> {
    let slice = bytes.get(at..at + 8).ok_or_else(|| short(tree, bytes.len(), at + 8))?;
    let mut buf = [0u8; 8];
    buf.copy_from_slice(slice);
    Ok(u64::from_be_bytes(buf))
}

/// The 16-byte id at `at`.
pub(super) fn id_at(tree: &'static str, bytes: &[u8], at: usize) -> Result<[u8; 16], StoreError> {
    let slice = bytes.get(at..at + 16).ok_or_else(|| short(tree, bytes.len(), at + 16))?;
    let mut buf = [0u8; 16];
    buf.copy_from_slice(slice);
    Ok(buf)
}

fn short(tree: &'static str, len: usize, needed: usize) -> StoreError {
    StoreError::Corrupt { tree, detail: format!("{len} bytes where at least {needed} were expected") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_bytes_are_corrupt_not_zero() {
        let seq = 7u64.to_be_bytes();
        assert_eq!(u64_at("reads", &seq, 0).unwrap(), 7);
        assert!(matches!(u64_at("reads", &seq[..7], 0), Err(StoreError::Corrupt { tree: "reads", .. })));
        assert!(matches!(u64_at("messages", &[0u8; 20], 16), Err(StoreError::Corrupt { .. })));
        assert_eq!(id_at("members", &[3u8; 32], 16).unwrap(), [3u8; 16]);
        assert!(matches!(id_at("members", &[3u8; 31], 16), Err(StoreError::Corrupt { tree: "members", .. })));
    }
}
