//! `send{call}`: builds a call's step and queues it for the group commit,
//! where the store judges it against the call's rules (the `ack`, or the
//! refusal, comes from there). An invitation gets its id, link and ring
//! expiry here.

use super::Session;
use super::requests::{Fail, Handled};
use crate::clock::now_ms;
use crate::commit::{ReplyTo, Submission};
use crate::live::{Admission, Rate};
use crate::store::{CallRecord, MessageRecord, NewMessage};
use crate::wire;
use heartlink_protocol::{Body, CallId, CallRequest, CallRequestAction, ClientMsgId, ErrorCode, RequestRef, RoomId};
use std::time::Instant;

impl Session {
    /// `send` with a `call`: an invitation (no `call_id`) or an answer.
    pub(super) async fn send_call(
        &mut self,
        room_id: RoomId,
        client_msg_id: ClientMsgId,
        body: Body,
        call: CallRequest,
        reference: Option<&RequestRef>,
    ) -> Handled {
        self.require_joined(room_id).await?;
        let shared = std::sync::Arc::clone(&self.conn.shared);
        let me = &self.handle.user;
        if let Admission::RetryAfter(wait) = shared.live.admit(Rate::Sends, me.id).await? {
            let retry_after_ms = crate::rate_limit::retry_after_ms(wait);
            return Err(Fail::RateLimited { message: "sending too fast; slow down", retry_after_ms });
        }
        let now = now_ms();
        let step = match (call.action, call.call_id) {
            (CallRequestAction::Invite, None) => {
                let call_id = CallId::random();
                let ring = u64::try_from(shared.config.call_ring.as_millis()).unwrap_or(u64::MAX);
                let url = shared.config.call_url_template.url(call_id);
                CallRecord { call_id, action: wire::call_action_record(call.action), url: Some(url), expires_at: Some(now.saturating_add(ring)) }
            }
            (CallRequestAction::Invite, Some(_)) => {
                return Err(Fail::code(ErrorCode::BadRequest, "an invitation gets its call_id from the server"));
            }
            (action, Some(call_id)) => CallRecord { call_id, action: wire::call_action_record(action), url: None, expires_at: None },
            (_, None) => return Err(Fail::code(ErrorCode::BadRequest, "an answer to a call needs its call_id")),
        };
        let expires_at = step.expires_at;
        let record = MessageRecord {
            sender: wire::sender(me),
            body: body.into(),
            ts: now,
            client_msg_id: client_msg_id.into(),
            attachment: None,
            call: Some(Box::new(step)),
            ..MessageRecord::default()
        };
        let submission = Submission {
            message: NewMessage { room: room_id, record },
            reply: ReplyTo { conn: self.handle.id, reference: reference.cloned() },
            queued_at: Instant::now(),
        };
        shared.commit.submit(submission).await?;
        if let Some(expires_at) = expires_at {
            shared.rings.ringing_until(expires_at);
        }
        Ok(())
    }
}
