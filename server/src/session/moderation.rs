//! Keeping people out: `block` / `unblock` (a block also ends the stranger
//! chat with them and keeps them out of this user's matches), `report`
//! (stored for the operator with a copy of the messages concerned), and a
//! group room creator's `kick`, `ban`, `unban`.

use super::Session;
use super::requests::{Fail, Handled};
use crate::bus::RoomEvent;
use crate::clock::now_ms;
use crate::live::{Admission, Quota};
use crate::store::{BlockOutcome, BlockRecord, PageBudget, ReportRecord, ReportedMessage, RoomBanRecord, RoomKindRecord, RoomRecord};
use crate::wire;
use heartlink_protocol::{ErrorCode, LeaveReason, ReportReason, RequestRef, RoomId, ServerMsg, User, UserId};
use std::sync::Arc;

/// Messages copied into a report that names one: it and those just before it.
const REPORT_CONTEXT: u32 = 10;
/// Messages copied into a report of a whole room: the latest.
const REPORT_LATEST: u32 = 20;

/// What the creator does to a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Removal {
    Kick,
    Ban,
}

impl Session {
    pub(super) async fn block(&mut self, user_id: Option<UserId>, room_id: Option<RoomId>, reference: Option<&RequestRef>) -> Handled {
        let shared = Arc::clone(&self.conn.shared);
        let me = self.handle.user.clone();
        let (user, shown) = match (user_id, room_id) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(Fail::code(ErrorCode::BadRequest, "block needs either user_id or room_id, not both"));
            }
            (Some(user_id), None) => {
                if user_id == me.id {
                    return Err(Fail::code(ErrorCode::BadRequest, "you cannot block yourself"));
                }
                let account = shared.store.user(user_id).await?.ok_or(Fail::code(ErrorCode::NotFound, "no such user"))?;
                (account.summary(), account.summary())
            }
            (None, Some(room_id)) => {
                let pair = self.my_pair(room_id, "block{room_id} works only in a chat with a stranger; block a member by user_id").await?;
                let Some((_, peer)) = pair.sides(me.id) else { return Err(Fail::code(ErrorCode::Forbidden, "this is not your chat")) };
                let found = (peer.user.clone(), pair.shown(peer));
                // Blocking ends the chat; every connection of mine hears it.
                if pair.ended.is_none() {
                    self.end_pair(&pair, None).await?;
                }
                found
            }
        };
        let record = BlockRecord { user, shown: shown.clone(), at: now_ms() };
        match shared.store.block_user(me.id, &record, shared.config.blocks_per_user).await? {
            BlockOutcome::Full => return Err(Fail::code(ErrorCode::Forbidden, "your block list is full; unblock someone first")),
            BlockOutcome::Added => tracing::info!(conn = %self.handle.id, "user blocked"),
            BlockOutcome::Already(_) => {}
        }
        self.respond(&ServerMsg::Blocked { user: wire::user(shown) }, reference).await
    }

    pub(super) async fn unblock(&mut self, user_id: UserId, reference: Option<&RequestRef>) -> Handled {
        let me = self.handle.user.id;
        let removed = self.conn.shared.store.unblock_user(me, user_id).await?;
        let block = removed.ok_or(Fail::code(ErrorCode::NotFound, "that user is not blocked"))?;
        self.respond(&ServerMsg::Unblocked { user: wire::user(block.shown) }, reference).await
    }

    pub(super) async fn report(&mut self, room_id: RoomId, seq: Option<u64>, reason: ReportReason, reference: Option<&RequestRef>) -> Handled {
        let shared = Arc::clone(&self.conn.shared);
        let me = self.handle.user.clone();
        let room = shared.store.room(room_id).await?.ok_or(Fail::code(ErrorCode::NotFound, "no such room"))?;
        if !shared.store.is_member(room_id, me.id).await? {
            return Err(Fail::code(ErrorCode::Forbidden, "you can only report rooms you are in"));
        }
        let last = shared.store.last_seq(room_id).await?;
        if seq.is_some_and(|seq| seq == 0 || seq > last) {
            return Err(Fail::code(ErrorCode::NotFound, "no such message in this room"));
        }
        if let Admission::RetryAfter(wait) = shared.live.quota_take(Quota::Reports, me.id).await? {
            return Err(Fail::RateLimited {
                message: "you filed too many reports in the last hour; try again later",
                retry_after_ms: crate::rate_limit::retry_after_ms(wait),
            });
        }
        let page = match seq {
            Some(seq) => shared.store.page_after(room_id, seq.saturating_sub(u64::from(REPORT_CONTEXT)), seq, PageBudget::count(REPORT_CONTEXT)).await?,
            None => shared.store.page_latest(room_id, last, PageBudget::count(REPORT_LATEST)).await?,
        };
        let messages = page.messages.into_iter().map(|message| ReportedMessage { seq: message.seq, message: message.record }).collect();
        let peer = match shared.store.pair(room_id).await? {
            Some(pair) => pair.sides(me.id).map(|(_, peer)| peer.user.clone()),
            None => None,
        };
        let report = ReportRecord {
            id: uuid::Uuid::new_v4(),
            reporter: wire::sender(&me),
            room: room_id,
            room_name: room.name,
            seq,
            reason: reason.into(),
            at: now_ms(),
            peer,
            messages,
            open: true,
        };
        shared.store.add_report(&report).await?;
        tracing::info!(conn = %self.handle.id, report = %report.id, room = %room_id, "report filed");
        self.respond(&ServerMsg::Reported { room_id }, reference).await
    }

    /// The group room `room_id`, if this user created it (the checks every
    /// creator's request shares), and the other user's account.
    async fn my_group_room(&self, room_id: RoomId, user_id: UserId, yourself: &'static str) -> Result<(RoomRecord, User), Fail> {
        let shared = &self.conn.shared;
        let room = shared.store.room(room_id).await?.ok_or(Fail::code(ErrorCode::NotFound, "no such room"))?;
        if room.kind != RoomKindRecord::Group {
            return Err(Fail::code(ErrorCode::BadRequest, "kick, ban and unban work in group rooms"));
        }
        if room.created_by != self.handle.user.id {
            return Err(Fail::code(ErrorCode::Forbidden, "only the room's creator may do that"));
        }
        if user_id == self.handle.user.id {
            return Err(Fail::code(ErrorCode::BadRequest, yourself));
        }
        let user = shared.store.user(user_id).await?.ok_or(Fail::code(ErrorCode::NotFound, "no such user"))?;
        Ok((room, wire::account(&user)))
    }

    pub(super) async fn remove_member(&mut self, room_id: RoomId, user_id: UserId, removal: Removal, reference: Option<&RequestRef>) -> Handled {
        let yourself = match removal {
            Removal::Kick => "you cannot kick yourself; leave the room instead",
            Removal::Ban => "you cannot ban yourself",
        };
        let (_, user) = self.my_group_room(room_id, user_id, yourself).await?;
        let shared = Arc::clone(&self.conn.shared);
        if removal == Removal::Ban {
            let ban = RoomBanRecord { user: wire::sender(&user), by: self.handle.user.id, at: now_ms() };
            shared.store.ban_from_room(room_id, &ban).await?;
        }
        let was_member = shared.store.remove_member(room_id, user.id).await?;
        if removal == Removal::Kick && !was_member {
            return Err(Fail::code(ErrorCode::NotFound, "that user is not a member of this room"));
        }
        let reason = match removal {
            Removal::Kick => LeaveReason::Kicked,
            Removal::Ban => LeaveReason::Banned,
        };
        if was_member {
            self.publish_room(room_id, RoomEvent::Removed { user: user.clone(), reason }).await;
        }
        tracing::info!(conn = %self.handle.id, room = %room_id, ?removal, "member removed by the creator");
        let reply = match removal {
            Removal::Kick => ServerMsg::Kicked { room_id, user },
            Removal::Ban => ServerMsg::Banned { room_id, user },
        };
        self.respond(&reply, reference).await
    }

    pub(super) async fn unban(&mut self, room_id: RoomId, user_id: UserId, reference: Option<&RequestRef>) -> Handled {
        let (_, user) = self.my_group_room(room_id, user_id, "you cannot be banned from your own room").await?;
        if !self.conn.shared.store.unban_from_room(room_id, user.id).await? {
            return Err(Fail::code(ErrorCode::NotFound, "that user is not banned from this room"));
        }
        self.respond(&ServerMsg::Unbanned { room_id, user }, reference).await
    }
}
