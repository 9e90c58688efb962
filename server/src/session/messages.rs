//! Message requests: send (through the group commit), history, typing, read.

use super::Session;
use super::requests::{Fail, Handled};
use crate::clock::now_ms;
use crate::commit::{Committed, PendingWrite, Submission};
use crate::hub::frame;
use crate::store::{PageBudget, StoredMessage};
use heartlink_protocol::{
    AttachmentRef, Body, ChatMessage, ClientMsgId, ErrorCode, PageLimit, RequestRef, RoomId, ServerMsg, encode_server,
};
use std::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

impl Session {
    /// `send`: gives the message the room's next seq and queues it for the
    /// group commit; the flusher writes it, and acks and broadcasts it once
    /// it is on disk. The session does not wait, so one connection can have many
    /// sends in flight.
    pub(super) async fn send_message(
        &mut self,
        room_id: RoomId,
        client_msg_id: ClientMsgId,
        body: Body,
        attachment: Option<AttachmentRef>,
        reference: Option<&RequestRef>,
    ) -> Handled {
        self.require_joined(room_id)?;
        let shared = std::sync::Arc::clone(&self.conn.shared);
        let me = self.handle.user.clone();
        if let Err(wait) = shared.send_limiter.take(me.id, Instant::now()) {
            return Err(Fail::RateLimited { message: "sending too fast; slow down", retry_after_ms: crate::rate_limit::retry_after_ms(wait) });
        }
        let attachment = match attachment {
            Some(request) => Some(Box::new(super::attach::attachment(&shared, me.id, request).await?)),
            None => None,
        };
        let queued_at = Instant::now();
        let room = shared.sequencer.room(room_id)?;
        let ack = |seq, ts| {
            let ack = ServerMsg::Ack { room_id, client_msg_id: client_msg_id.to_string(), seq, ts, call: None };
            Utf8Bytes::from(encode_server(&ack, reference))
        };
        // Held until the item is queued: the commit queue must see this
        // room's messages in seq order (see sequencer.rs).
        let mut last = room.lock().await;
        // The pending table first: a send leaves it only after it is in the store.
        let earlier = match room.pending_seq(me.id, &client_msg_id) {
            Some(found) => Some(found),
            None => shared.store.dedup(me.id, room_id, &client_msg_id)?,
        };
        let item = if let Some((seq, ts)) = earlier {
            // A retry. Its original may still be waiting for its flush, so
            // the repeated ack also waits for the commit queue.
            Submission { write: None, item: Committed::Reply { conn: self.handle.id, frame: ack(seq, ts) } }
        } else {
            let seq = *last + 1;
            let stored = StoredMessage { sender: me.clone(), body: body.into(), ts: now_ms(), client_msg_id: client_msg_id.to_string(), attachment };
            let ts = stored.ts;
            let write = shared.store.prepare_message(room_id, seq, &stored)?;
            room.add_pending(me.id, client_msg_id.clone(), seq, ts);
            *last = seq;
            let event = frame(&ServerMsg::ChatMessage(stored.into_chat(room_id, seq)));
            let failed = ServerMsg::error(ErrorCode::Internal, "the message could not be saved; send it again");
            let message = Committed::Message {
                room: std::sync::Arc::clone(&room),
                seq,
                event,
                queued_at,
                sender: self.handle.id,
                ack: ack(seq, ts),
                failed: Utf8Bytes::from(encode_server(&failed, reference)),
            };
            Submission { write: Some(PendingWrite { write, sender: me.id, client_msg_id }), item: message }
        };
        shared.commit.submit(item).await.map_err(|err| Fail::Internal(err.to_string()))?;
        drop(last);
        Ok(())
    }

    /// `history`: durable messages below `before_seq` (or the latest), oldest
    /// first, as many as `limit` asks and the reply's byte bound allows.
    pub(super) async fn history(
        &mut self,
        room_id: RoomId,
        before_seq: Option<u64>,
        limit: PageLimit,
        reference: Option<&RequestRef>,
    ) -> Handled {
        self.require_joined(room_id)?;
        let shared = std::sync::Arc::clone(&self.conn.shared);
        let durable = shared.sequencer.room(room_id)?.durable();
        let upto = before_seq.map_or(durable, |before| before.saturating_sub(1).min(durable));
        let envelope = ServerMsg::History { room_id, messages: Vec::new(), has_more: true };
        let budget = PageBudget { count: limit.get(), bytes: super::pages::message_bytes(&envelope) };
        let page = shared.store.latest(room_id, upto, budget)?;
        let messages: Vec<ChatMessage> = page.messages;
        self.respond(&ServerMsg::History { room_id, messages, has_more: page.has_more }, reference).await
    }

    /// `typing`: no reply; the hub broadcasts changes and expires the indicator.
    pub(super) fn typing(&mut self, room_id: RoomId, active: bool) -> Handled {
        self.require_joined(room_id)?;
        let until = Instant::now() + self.conn.shared.config.typing_ttl;
        self.conn.shared.hub.typing(self.handle.id, room_id, active, until);
        Ok(())
    }

    /// `read`: moves the marker forward (clamped to the last seq) and tells the others.
    pub(super) fn read(&mut self, room_id: RoomId, seq: u64) -> Handled {
        self.require_joined(room_id)?;
        let shared = &self.conn.shared;
        let seq = seq.min(shared.sequencer.room(room_id)?.durable());
        if let Some(moved) = shared.store.advance_read(room_id, self.handle.user.id, seq)? {
            shared.hub.read_receipt(room_id, self.handle.user.clone(), moved, self.handle.id);
        }
        Ok(())
    }
}
