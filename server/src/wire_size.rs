//! How many bytes a value takes in a text frame, counted without building
//! the text: replies are cut to a byte budget before they are encoded.

use serde::Serialize;

/// The length of `value`'s JSON encoding (compact, as frames are sent).
/// A value that cannot be encoded counts as too large for any budget.
pub fn wire_len<T: Serialize + ?Sized>(value: &T) -> usize {
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => usize::MAX,
    }
}

struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 = self.0.saturating_add(bytes.len());
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heartlink_protocol::{ChatMessage, ServerMsg, encode_server};

    #[test]
    fn counts_exactly_what_the_encoder_writes() {
        let message = ChatMessage { body: "\"quoted\" ❤️\n\t\\".repeat(50), client_msg_id: "c1".into(), ..ChatMessage::default() };
        let reply = ServerMsg::History { room_id: message.room_id, messages: vec![message.clone()], has_more: true };
        assert_eq!(wire_len(&reply), encode_server(&reply, None).len());
        assert_eq!(wire_len(&message), serde_json::to_string(&message).unwrap().len());
    }
}
