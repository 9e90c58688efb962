//! Message requests: send (through the group commit), history, typing, read.

use super::Session;
use super::requests::{Fail, Handled};
use crate::bus::RoomEvent;
use crate::clock::now_ms;
use crate::commit::{ReplyTo, Submission};
use crate::live::{Admission, Rate};
use crate::store::{MessageRecord, NewMessage};
use crate::wire;
use heartlink_protocol::{AttachmentRef, Body, ClientMsgId, PageLimit, RequestRef, RoomId, ServerMsg};
use std::time::Instant;

impl Session {
    /// `send`: queues the message for the group commit, which gives it its
    /// seq (or finds the original of a retry), and acks and publishes it once
    /// it is on disk. The session does not wait, so one connection can have
    /// many sends in flight; its sends keep their order (the queue is FIFO
    /// and the store numbers a batch in order).
    pub(super) async fn send_message(
        &mut self,
        room_id: RoomId,
        client_msg_id: ClientMsgId,
        body: Body,
        attachment: Option<AttachmentRef>,
        reference: Option<&RequestRef>,
    ) -> Handled {
        self.require_joined(room_id).await?;
        let shared = std::sync::Arc::clone(&self.conn.shared);
        let me = &self.handle.user;
        if let Admission::RetryAfter(wait) = shared.live.admit(Rate::Sends, me.id).await? {
            let retry_after_ms = crate::rate_limit::retry_after_ms(wait);
            return Err(Fail::RateLimited { message: "sending too fast; slow down", retry_after_ms });
        }
        let attachment = match attachment {
            Some(request) => Some(Box::new(wire::attachment_record(super::attach::attachment(&shared, me.id, request).await?))),
            None => None,
        };
        let record = MessageRecord {
            sender: wire::sender(me),
            body: body.into(),
            ts: now_ms(),
            client_msg_id: client_msg_id.into(),
            attachment,
            call: None,
        };
        let submission = Submission {
            message: NewMessage { room: room_id, record },
            reply: ReplyTo { conn: self.handle.id, reference: reference.cloned() },
            queued_at: Instant::now(),
        };
        shared.commit.submit(submission).await?;
        Ok(())
    }

    /// `history`: durable messages below `before_seq` (or the latest), oldest
    /// first, as many as `limit` asks and the reply's byte bound allows,
    /// never past what this node has delivered live.
    pub(super) async fn history(
        &mut self,
        room_id: RoomId,
        before_seq: Option<u64>,
        limit: PageLimit,
        reference: Option<&RequestRef>,
    ) -> Handled {
        self.require_joined(room_id).await?;
        let store = &self.conn.shared.store;
        let delivered = self.delivered(room_id).await?;
        let upto = before_seq.map_or(delivered, |before| before.saturating_sub(1).min(delivered));
        let envelope = ServerMsg::History { room_id, messages: Vec::new(), has_more: true };
        let size = super::pages::message_size;
        let page = store.page_latest(room_id, upto, super::pages::budget(limit.get(), &envelope, &size)).await?;
        let messages = wire::chat_messages(room_id, page.messages);
        self.respond(&ServerMsg::History { room_id, messages, has_more: page.has_more }, reference).await
    }

    /// `typing`: no reply; the hub records the change, publishes it and
    /// expires the indicator.
    pub(super) async fn typing(&mut self, room_id: RoomId, active: bool) -> Handled {
        self.require_joined(room_id).await?;
        let until = Instant::now() + self.conn.shared.config.typing_ttl;
        self.conn.shared.hub.typing(self.handle.id, room_id, active, until);
        Ok(())
    }

    /// `read`: moves the marker forward (clamped to the last seq) and tells the others.
    pub(super) async fn read(&mut self, room_id: RoomId, seq: u64) -> Handled {
        self.require_joined(room_id).await?;
        let shared = std::sync::Arc::clone(&self.conn.shared);
        let seq = seq.min(self.delivered(room_id).await?);
        let me = &self.handle.user;
        if let Some(moved) = shared.store.advance_read(room_id, me.id, seq).await? {
            let receipt = RoomEvent::ReadReceipt { user: me.clone(), seq: moved, from: self.handle.id };
            self.publish_room(room_id, receipt).await;
        }
        Ok(())
    }

    /// The room's last seq as this connection sees it: what the hub has
    /// delivered (the room is live here while this connection is joined),
    /// else the store's.
    pub(super) async fn delivered(&self, room_id: RoomId) -> Result<u64, Fail> {
        match self.conn.shared.hub.delivered(room_id) {
            Some(seq) => Ok(seq),
            None => Ok(self.conn.shared.store.last_seq(room_id).await?),
        }
    }
}
