//! Room requests: create_room, join, leave, list_rooms, match.

use super::Session;
use super::requests::{Fail, Handled};
use crate::bus::{RoomEvent, UserEvent};
use crate::clock::ordered_now_ms;
use crate::live::{MatchOutcome, MatchTicket};
use crate::report::Chain;
use crate::store::{RoomKindRecord, RoomRecord};
use crate::wire;
use heartlink_protocol::limits::{JOIN_LATEST, JOIN_SINCE_MAX};
use heartlink_protocol::{ErrorCode, Member, ReadMarker, RequestRef, RoomId, RoomName, RoomSummary, ServerMsg, UserId};

impl Session {
    pub(super) async fn create_room(&mut self, name: RoomName, reference: Option<&RequestRef>) -> Handled {
        let me = self.handle.user.id;
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
        let new_member = shared.store.add_member(room_id, me.id, ordered_now_ms()).await?;
        let cut = shared.hub.join(self.handle.id, room_id).await?;
        if new_member {
            self.publish_room(room_id, RoomEvent::UserJoined { user: me.clone(), from: self.handle.id }).await;
        }
        let page = match since {
            Some(since) => shared.store.page_after(room_id, since, cut, JOIN_SINCE_MAX).await?,
            None => shared.store.page_latest(room_id, cut, JOIN_LATEST).await?,
        };
        let members = shared.store.members(room_id).await?;
        let ids: Vec<UserId> = members.iter().map(|member| member.user.id).collect();
        let online = shared.live.online(&ids).await?;
        let members: Vec<Member> = members
            .into_iter()
            .zip(online)
            .map(|(member, online)| Member { user: wire::user(member.user), online, ..Member::default() })
            .collect();
        let reads = shared
            .store
            .reads(room_id)
            .await?
            .into_iter()
            .filter(|(user, _)| *user != me.id)
            .filter_map(|(user, seq)| {
                let user = members.iter().find(|member| member.user.id == user)?.user.clone();
                Some(ReadMarker { user, seq })
            })
            .collect();
        let joined = ServerMsg::Joined {
            room: wire::room(&room),
            members,
            last_seq: cut,
            messages: wire::chat_messages(room_id, page.messages),
            has_more: page.has_more,
            reads,
            members_cursor: None,
        };
        self.respond(&joined, reference).await
    }

    pub(super) async fn leave(&mut self, room_id: RoomId, reference: Option<&RequestRef>) -> Handled {
        let shared = std::sync::Arc::clone(&self.conn.shared);
        if shared.store.room(room_id).await?.is_none() {
            return Err(Fail::code(ErrorCode::NotFound, "no such room"));
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

    pub(super) async fn list_rooms(&mut self, reference: Option<&RequestRef>) -> Handled {
        let shared = std::sync::Arc::clone(&self.conn.shared);
        let me = self.handle.user.id;
        let mut rooms = Vec::new();
        for room_id in shared.store.rooms_of(me).await? {
            let Some(record) = shared.store.room(room_id).await? else { continue };
            rooms.push(RoomSummary {
                room: wire::room(&record),
                last_seq: self.delivered(room_id).await?,
                read_seq: shared.store.read_seq(room_id, me).await?,
                mentions: 0,
            });
        }
        rooms.sort_by_key(|summary| (summary.room.created_at, summary.room.id));
        self.respond(&ServerMsg::Rooms { rooms, has_more: false, cursor: None }, reference).await
    }

    pub(super) async fn request_match(&mut self, reference: Option<&RequestRef>) -> Handled {
        let shared = std::sync::Arc::clone(&self.conn.shared);
        let me = self.handle.user.clone();
        let other = match shared.live.request_match(MatchTicket { conn: self.handle.id, user: me.clone() }).await? {
            MatchOutcome::Waiting => return self.respond(&ServerMsg::MatchWaiting, reference).await,
            MatchOutcome::Matched(other) => other,
        };
        let now = ordered_now_ms();
        let record = RoomRecord {
            id: RoomId::random(),
            name: format!("{} & {}", other.user.username, me.username),
            kind: RoomKindRecord::Pair,
            created_by: me.id,
            created_at: now,
            pair: vec![other.user.id, me.id],
        };
        if let Err(err) = shared.store.create_room(&record, &record.pair, now).await {
            self.publish_user(other.user.id, UserEvent::MatchFailed { conn: other.conn }).await;
            return Err(err.into());
        }
        tracing::info!(room = %record.id, "pair room created by match");
        let room = wire::room(&record);
        self.publish_user(other.user.id, UserEvent::Matched { conn: other.conn, room: room.clone() }).await;
        self.respond(&ServerMsg::Matched { room }, reference).await
    }

    /// Publishes an ephemeral room event; a bus failure is logged, not
    /// fatal to the request (what it reports already happened).
    pub(super) async fn publish_room(&self, room: RoomId, event: RoomEvent) {
        if let Err(err) = self.conn.shared.bus.publish_room(room, event).await {
            tracing::warn!(conn = %self.handle.id, %room, cause = %Chain(&err), "room event not published");
        }
    }

    async fn publish_user(&self, user: UserId, event: UserEvent) {
        if let Err(err) = self.conn.shared.bus.publish_user(user, event).await {
            tracing::warn!(conn = %self.handle.id, %user, cause = %Chain(&err), "user event not published");
        }
    }
}
