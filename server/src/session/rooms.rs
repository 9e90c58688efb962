//! Room requests: create_room, join, leave, match, with the per-user quotas
//! that bound how fast rooms and memberships can grow.

use super::Session;
use super::pages;
use super::requests::{Fail, Handled};
use crate::clock::ordered_now_ms;
use crate::hub::{MatchOutcome, frame};
use crate::store::{PageBudget, RoomRecord};
use heartlink_protocol::limits::{JOIN_LATEST, JOIN_MEMBERS_MAX, JOIN_SINCE_MAX};
use heartlink_protocol::{ErrorCode, RequestRef, RoomId, RoomKind, RoomName, ServerMsg, UserId};
use std::time::Instant;

impl Session {
    pub(super) async fn create_room(&mut self, name: RoomName, reference: Option<&RequestRef>) -> Handled {
        let me = self.handle.user.id;
        self.check_membership_cap(me)?;
        if let Err(wait) = self.conn.shared.room_quota.take(me, Instant::now()) {
            return Err(Fail::RateLimited {
                message: "you created too many rooms in the last hour; try again later",
                retry_after_ms: crate::rate_limit::retry_after_ms(wait),
            });
        }
        let now = ordered_now_ms();
        let record = RoomRecord {
            id: RoomId::random(),
            name: name.to_string(),
            kind: RoomKind::Group,
            created_by: me,
            created_at: now,
            pair: Vec::new(),
        };
        self.conn.shared.store.create_room(&record, &[me], now)?;
        // The id is about to be shared: it must survive a crash.
        self.conn.shared.store.flush().await?;
        tracing::info!(conn = self.handle.id, room = %record.id, "room created");
        self.respond(&ServerMsg::RoomCreated { room: record.room() }, reference).await
    }

    pub(super) async fn join(&mut self, room_id: RoomId, since: Option<u64>, reference: Option<&RequestRef>) -> Handled {
        let shared = std::sync::Arc::clone(&self.conn.shared);
        let me = self.handle.user.clone();
        let room = shared.store.room(room_id)?.ok_or(Fail::code(ErrorCode::NotFound, "no such room"))?;
        if !room.admits(me.id) {
            return Err(Fail::code(ErrorCode::Forbidden, "this pair room admits only its two users"));
        }
        if !shared.store.is_member(room_id, me.id)? {
            self.check_membership_cap(me.id)?;
        }
        let new_member = shared.store.add_member(room_id, me.id, ordered_now_ms())?;
        if new_member {
            shared.store.flush().await?;
        }
        let seq = shared.sequencer.room(room_id)?;
        let durable = shared.hub.join(self.handle.id, &seq);
        if new_member {
            shared.hub.user_joined(room_id, me.clone(), self.handle.id);
        }
        let (members, members_cursor) = self.member_page(room_id, None, JOIN_MEMBERS_MAX as usize)?;
        let reads = self.leading_reads(room_id)?;
        let mut joined = ServerMsg::Joined {
            room: room.room(),
            members,
            last_seq: durable,
            messages: Vec::new(),
            has_more: false,
            reads,
            members_cursor,
        };
        // The messages get what the rest of the reply leaves of the bound.
        let bytes = pages::message_bytes(&joined);
        let page = match since {
            Some(since) => shared.store.after(room_id, since, durable, PageBudget { count: JOIN_SINCE_MAX, bytes })?,
            None => shared.store.latest(room_id, durable, PageBudget { count: JOIN_LATEST, bytes })?,
        };
        if let ServerMsg::Joined { messages, has_more, .. } = &mut joined {
            *messages = page.messages;
            *has_more = page.has_more;
        }
        self.respond(&joined, reference).await
    }

    pub(super) async fn leave(&mut self, room_id: RoomId, reference: Option<&RequestRef>) -> Handled {
        let shared = std::sync::Arc::clone(&self.conn.shared);
        if shared.store.room(room_id)?.is_none() {
            return Err(Fail::code(ErrorCode::NotFound, "no such room"));
        }
        if shared.store.remove_member(room_id, self.handle.user.id)? {
            shared.store.flush().await?;
            shared.hub.user_left(room_id, self.handle.user.clone(), self.handle.id);
        } else {
            shared.hub.unjoin(self.handle.id, room_id);
        }
        self.respond(&ServerMsg::Left { room_id }, reference).await
    }

    pub(super) async fn request_match(&mut self, reference: Option<&RequestRef>) -> Handled {
        let shared = std::sync::Arc::clone(&self.conn.shared);
        // Checked before the user waits, so both users of a pair room have
        // room for it by the time it is made.
        self.check_membership_cap(self.handle.user.id)?;
        if let Err(wait) = shared.pair_room_quota.check(self.handle.user.id, Instant::now()) {
            return Err(Fail::RateLimited {
                message: "you started too many stranger chats in the last hour; try again later",
                retry_after_ms: crate::rate_limit::retry_after_ms(wait),
            });
        }
        let other = match shared.hub.request_match(self.handle.id) {
            MatchOutcome::Waiting => return self.respond(&ServerMsg::MatchWaiting, reference).await,
            MatchOutcome::Matched(other) => other,
        };
        let me = &self.handle.user;
        let now = ordered_now_ms();
        let record = RoomRecord {
            id: RoomId::random(),
            name: format!("{} & {}", other.user.username, me.username),
            kind: RoomKind::Pair,
            created_by: me.id,
            created_at: now,
            pair: vec![other.user.id, me.id],
        };
        let stored = match shared.store.create_room(&record, &record.pair, now) {
            Ok(()) => shared.store.flush().await,
            Err(err) => Err(err),
        };
        if let Err(err) = stored {
            let sorry = ServerMsg::error(ErrorCode::Internal, "matching failed; ask again");
            shared.hub.send_to(other.id, frame(&sorry));
            return Err(err.into());
        }
        let now = Instant::now();
        shared.pair_room_quota.record(me.id, now);
        shared.pair_room_quota.record(other.user.id, now);
        tracing::info!(room = %record.id, "pair room created by match");
        let matched = ServerMsg::Matched { room: record.room() };
        shared.hub.send_to(other.id, frame(&matched));
        self.respond(&matched, reference).await
    }

    /// `forbidden` when `user` already is a member of as many rooms as a
    /// user may be (`--memberships-per-user`; 0 = unlimited).
    fn check_membership_cap(&self, user: UserId) -> Handled {
        let cap = self.conn.shared.config.memberships_per_user;
        if cap > 0 && self.conn.shared.store.membership_count(user)? >= cap {
            return Err(Fail::code(ErrorCode::Forbidden, "you are a member of too many rooms; leave one first"));
        }
        Ok(())
    }
}
