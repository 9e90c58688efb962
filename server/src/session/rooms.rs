//! Room requests: create_room, join, leave, with the per-user quotas that
//! bound how fast rooms and memberships can grow. (Matching is in
//! `matching.rs`.)

use super::Session;
use super::pages;
use super::requests::{Fail, Handled};
use crate::bus::{RoomEvent, UserEvent};
use crate::clock::ordered_now_ms;
use crate::disguise::PairMask;
use crate::live::{Admission, Quota};
use crate::report::Chain;
use crate::store::{RoomKindRecord, RoomRecord};
use crate::wire;
use heartlink_protocol::limits::{JOIN_LATEST, JOIN_MEMBERS_MAX, JOIN_SINCE_MAX};
use heartlink_protocol::{ErrorCode, RequestRef, RoomId, RoomName, ServerMsg, UserId};

impl Session {
    pub(super) async fn create_room(&mut self, name: RoomName, reference: Option<&RequestRef>) -> Handled {
        let me = self.handle.user.id;
        self.check_membership_cap(me).await?;
        if let Admission::RetryAfter(wait) = self.conn.shared.live.quota_take(Quota::Rooms, me).await? {
            return Err(Fail::RateLimited {
                message: "you created too many rooms in the last hour; try again later",
                retry_after_ms: crate::rate_limit::retry_after_ms(wait),
            });
        }
        let now = ordered_now_ms();
        let record = RoomRecord {
            id: RoomId::random(),
            name: name.to_string(),
            kind: RoomKindRecord::Group,
            created_by: me,
            created_at: now,
            pair: Vec::new(),
        };
        // Durable on return: the id is about to be shared.
        self.conn.shared.store.create_room(&record, &[me], now).await?;
        tracing::info!(conn = %self.handle.id, room = %record.id, "room created");
        self.respond(&ServerMsg::RoomCreated { room: wire::room(&record) }, reference).await
    }

    pub(super) async fn join(&mut self, room_id: RoomId, since: Option<u64>, reference: Option<&RequestRef>) -> Handled {
        let shared = std::sync::Arc::clone(&self.conn.shared);
        let me = self.handle.user.clone();
        let room = shared.store.room(room_id).await?.ok_or(Fail::code(ErrorCode::NotFound, "no such room"))?;
        if !room.admits(me.id) {
            return Err(Fail::code(ErrorCode::Forbidden, "this pair room admits only its two users"));
        }
        if room.kind == RoomKindRecord::Group && shared.store.is_banned_from(room_id, me.id).await? {
            return Err(Fail::code(ErrorCode::Forbidden, "you are banned from this room"));
        }
        // A pair room's anonymity is in place before anything of it is delivered.
        let mask = match room.kind {
            RoomKindRecord::Pair => shared.store.pair(room_id).await?.map(|pair| PairMask::new(&pair)),
            RoomKindRecord::Group => None,
        };
        if !shared.store.is_member(room_id, me.id).await? {
            self.check_membership_cap(me.id).await?;
        }
        let new_member = shared.store.add_member(room_id, me.id, ordered_now_ms()).await?;
        // Live delivery starts after what the client holds, which may be
        // ahead of this node (it came from another one). A `since` past
        // this node's delivery is checked against the store: past the last
        // durable message, it means the last durable message.
        let since = match (since, shared.hub.delivered(room_id)) {
            (Some(since), Some(delivered)) if since > delivered => Some(since.min(shared.store.last_seq(room_id).await?)),
            (since, _) => since,
        };
        let cut = match mask {
            Some(mask) => shared.hub.join_masked(self.handle.id, room_id, mask, since).await?,
            None => shared.hub.join_after(self.handle.id, room_id, since).await?,
        };
        if new_member {
            self.publish_room(room_id, RoomEvent::UserJoined { user: me.clone(), from: self.handle.id }).await;
        }
        let (members, members_cursor) = self.member_page(room_id, None, JOIN_MEMBERS_MAX as usize).await?;
        let reads = self.leading_reads(room_id).await?;
        let mut joined = ServerMsg::Joined {
            room: wire::room(&room),
            members,
            last_seq: cut,
            messages: Vec::new(),
            has_more: false,
            reads,
            members_cursor,
        };
        // The messages get what the rest of the reply leaves of the bound.
        let size = pages::message_size;
        let page = match since {
            Some(since) => shared.store.page_after(room_id, since, cut, pages::budget(JOIN_SINCE_MAX, &joined, &size)).await?,
            None => shared.store.page_latest(room_id, cut, pages::budget(JOIN_LATEST, &joined, &size)).await?,
        };
        if let ServerMsg::Joined { messages, has_more, .. } = &mut joined {
            *messages = wire::chat_messages(room_id, page.messages);
            *has_more = page.has_more;
        }
        self.respond(&joined, reference).await
    }

    pub(super) async fn leave(&mut self, room_id: RoomId, reference: Option<&RequestRef>) -> Handled {
        let shared = std::sync::Arc::clone(&self.conn.shared);
        let Some(room) = shared.store.room(room_id).await? else {
            return Err(Fail::code(ErrorCode::NotFound, "no such room"));
        };
        // Leaving a stranger chat ends it for both (the history stays).
        if room.kind == RoomKindRecord::Pair {
            let pair = shared.store.pair(room_id).await?;
            if let Some(pair) = pair.filter(|pair| pair.ended.is_none() && pair.sides(self.handle.user.id).is_some()) {
                self.end_pair(&pair, None).await?;
            }
        }
        // This connection stops at once: nothing of the room after `left`.
        let was_member = shared.store.remove_member(room_id, self.handle.user.id).await?;
        shared.hub.unjoin(self.handle.id, room_id);
        if was_member {
            // Everyone else gets `user_left`; the user's other connections stop too.
            self.publish_room(room_id, RoomEvent::UserLeft { user: self.handle.user.clone(), from: self.handle.id }).await;
        }
        self.respond(&ServerMsg::Left { room_id }, reference).await
    }

    /// `forbidden` when `user` already is a member of as many rooms as a
    /// user may be (`--memberships-per-user`; 0 = unlimited).
    pub(super) async fn check_membership_cap(&self, user: UserId) -> Handled {
        let cap = self.conn.shared.config.memberships_per_user;
        if cap > 0 && self.conn.shared.store.membership_count(user).await? >= cap {
            return Err(Fail::code(ErrorCode::Forbidden, "you are a member of too many rooms; leave one first"));
        }
        Ok(())
    }

    /// Publishes an ephemeral room event; a bus failure is logged, not
    /// fatal to the request (what it reports already happened).
    pub(super) async fn publish_room(&self, room: RoomId, event: RoomEvent) {
        if let Err(err) = self.conn.shared.bus.publish_room(room, event).await {
            tracing::warn!(conn = %self.handle.id, %room, cause = %Chain(&err), "room event not published");
        }
    }

    pub(super) async fn publish_user(&self, user: UserId, event: UserEvent) {
        if let Err(err) = self.conn.shared.bus.publish_user(user, event).await {
            tracing::warn!(conn = %self.handle.id, %user, cause = %Chain(&err), "user event not published");
        }
    }
}
