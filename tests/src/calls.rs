//! Call steps over a raw connection (PROTOCOL.md, "Calls"): a `send` with a
//! `call`, answered by the sender's own `chat_message` and `ack`, or an error.

use crate::WsClient;
use serde_json::{Value, json};

impl WsClient {
    /// Sends a call step; expects the echo and the `ack` (returned in that order).
    pub async fn call_step(&mut self, room_id: &Value, client_msg_id: &str, call: Value) -> (Value, Value) {
        self.send(json!({"type": "send", "room_id": room_id, "client_msg_id": client_msg_id, "call": call})).await;
        let echo = self.recv_type("chat_message").await;
        let ack = self.recv_type("ack").await;
        assert_eq!((&echo["client_msg_id"], &ack["client_msg_id"]), (&json!(client_msg_id), &json!(client_msg_id)));
        assert_eq!((&ack["seq"], &ack["ts"]), (&echo["seq"], &echo["ts"]), "ack {ack} vs echo {echo}");
        (echo, ack)
    }

    /// Invites the room to a call; returns the invitation's `chat_message`.
    pub async fn invite(&mut self, room_id: &Value, client_msg_id: &str) -> Value {
        let (echo, ack) = self.call_step(room_id, client_msg_id, json!({"action": "invite"})).await;
        assert_eq!(ack["call"], echo["call"], "the ack carries the invitation's call");
        echo
    }

    /// Answers call `call_id` (`accept`, `decline`, `cancel`); returns the `chat_message`.
    pub async fn answer(&mut self, room_id: &Value, client_msg_id: &str, action: &str, call_id: &Value) -> Value {
        let (echo, ack) = self.call_step(room_id, client_msg_id, json!({"action": action, "call_id": call_id})).await;
        assert!(ack.get("call").is_none(), "only an invitation's ack carries the call: {ack}");
        assert_eq!(echo["call"], json!({"call_id": call_id, "action": action}));
        echo
    }

    /// Sends a call answer that must be refused with `code`.
    pub async fn answer_refused(&mut self, room_id: &Value, action: &str, call_id: &Value, code: &str) -> Value {
        let request = json!({"type": "send", "room_id": room_id, "client_msg_id": format!("refused-{action}-{}", crate::now_ms()),
            "call": {"action": action, "call_id": call_id}});
        self.expect_error(request, code).await
    }
}
