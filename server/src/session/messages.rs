//! Message requests: send (through the group commit), history, typing, read.

use super::Session;
use super::requests::{Fail, Handled};
use crate::bus::RoomEvent;
use crate::clock::now_ms;
use crate::commit::{ReplyTo, Submission};
use crate::live::{Admission, Rate};
use crate::store::{MessageRecord, NewMessage};
use crate::wire;
use heartlink_protocol::{AttachmentRef, Body, ClientMsgId, ErrorCode, PageLimit, RelKind, RelatesTo, RequestRef, RoomId, ServerMsg, UserId};
use std::time::Instant;

/// What a send stores, once its relation (if any) was checked.
#[derive(Default)]
struct Related {
    /// The text to store (none for a deletion).
    body: String,
    /// A reply mentions the sender of the message it answers.
    replied_to: Option<UserId>,
    /// An edit does not mention again whom its target mentioned.
    already_mentioned: Vec<UserId>,
}

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
        relates_to: Option<RelatesTo>,
        reference: Option<&RequestRef>,
    ) -> Handled {
        self.require_joined(room_id).await?;
        self.refuse_if_ended(room_id).await?;
        let shared = std::sync::Arc::clone(&self.conn.shared);
        let me = &self.handle.user;
        if let Admission::RetryAfter(wait) = shared.live.admit(Rate::Sends, me.id).await? {
            let retry_after_ms = crate::rate_limit::retry_after_ms(wait);
            return Err(Fail::RateLimited { message: "sending too fast; slow down", retry_after_ms });
        }
        // A retry of a stored send gets its original ack, whatever its
        // target has become since (deleted, say): the store finds it.
        let retry = match relates_to {
            Some(_) => shared.store.sent_seq(me.id, room_id, client_msg_id.as_str()).await?.is_some(),
            None => false,
        };
        let related = match relates_to {
            Some(relation) if !retry => self.check_relation(room_id, relation, body, attachment.is_some()).await?,
            // A deletion keeps no text.
            Some(RelatesTo { rel: RelKind::Delete, .. }) => Related::default(),
            _ => Related { body: body.into(), ..Related::default() },
        };
        let Related { body, replied_to, already_mentioned } = related;
        if body.is_empty() && attachment.is_none() && !relates_to.is_some_and(|r| r.rel == RelKind::Delete) {
            return Err(Fail::code(ErrorCode::BadRequest, heartlink_protocol::EMPTY_BODY));
        }
        let attachment = match attachment {
            Some(request) => Some(Box::new(wire::attachment_record(super::attach::attachment(&shared, me.id, request).await?))),
            None => None,
        };
        let mentions = match relates_to.map(|relation| relation.rel) {
            Some(RelKind::Delete | RelKind::React) => Vec::new(),
            _ => {
                let named = super::mentions::mentions(&shared, room_id, me.id, &body, replied_to).await?;
                named.into_iter().filter(|user| !already_mentioned.contains(user)).collect()
            }
        };
        let record = MessageRecord {
            sender: wire::sender(me),
            body,
            ts: now_ms(),
            client_msg_id: client_msg_id.into(),
            attachment,
            relates_to: relates_to.map(wire::relation_record),
            mentions,
            deleted: false,
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

    /// Checks a relation against its target (PROTOCOL.md, "Relations").
    async fn check_relation(&self, room_id: RoomId, relation: RelatesTo, body: Body, has_attachment: bool) -> Result<Related, Fail> {
        let shared = &self.conn.shared;
        let room = shared.store.room(room_id).await?.ok_or(Fail::code(ErrorCode::NotFound, "no such room"))?;
        let target = super::relations::target(shared.store.as_ref(), room_id, relation).await?;
        let body: String = body.into();
        let check = super::relations::Check {
            rel: relation.rel,
            sender: self.handle.user.id,
            room_kind: room.kind,
            room_creator: room.created_by,
            body: &body,
            has_attachment,
        };
        check.against(&target)?;
        Ok(match relation.rel {
            RelKind::Reply => Related { body, replied_to: Some(target.sender.id), ..Related::default() },
            RelKind::Edit => Related { body, already_mentioned: target.mentions, ..Related::default() },
            RelKind::Delete => Related::default(),
            RelKind::React => Related { body, ..Related::default() },
        })
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
