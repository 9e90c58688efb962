//! The requests that list a user's rooms and a room's members, a page at a
//! time: `list_rooms`, `members`, and the member and read-marker parts of
//! `joined` (docs/PROTOCOL.md, "Replies are bounded").

use super::Session;
use super::pages::{self, BadCursor, RoomPosition};
use super::requests::{Fail, Handled};
use crate::store::{MemberPosition, RoomRecord};
use crate::wire;
use heartlink_protocol::limits::JOIN_MEMBERS_MAX;
use heartlink_protocol::{ErrorCode, ListLimit, Member, PresenceStatus, ReadMarker, RequestRef, RoomId, RoomSummary, ServerMsg, UserId};

/// Unread mentions counted per room at most (`list_rooms` then says this
/// many; a client shows it as "999+").
pub const MENTIONS_COUNTED: u64 = 999;

/// The members of a pair room.
const PAIR_MEMBERS: usize = 2;

impl From<BadCursor> for Fail {
    fn from(BadCursor: BadCursor) -> Self {
        Fail::code(ErrorCode::BadRequest, "cursor is not one this server gave out; start again without it")
    }
}

impl Session {
    /// `list_rooms`: the user's rooms oldest first (by creation time, then
    /// id), `limit` at a time, after `cursor`.
    pub(super) async fn list_rooms(&mut self, cursor: Option<String>, limit: Option<ListLimit>, reference: Option<&RequestRef>) -> Handled {
        let after = cursor.as_deref().map(RoomPosition::from_cursor).transpose()?;
        let limit = limit.unwrap_or_default().get() as usize;
        let shared = std::sync::Arc::clone(&self.conn.shared);
        let me = self.handle.user.id;
        // Every room of the user is read to sort them: the membership cap
        // (`--memberships-per-user`) bounds this.
        let mut records: Vec<RoomRecord> = Vec::new();
        for room_id in shared.store.rooms_of(me).await? {
            if let Some(record) = shared.store.room(room_id).await? {
                records.push(record);
            }
        }
        let position = |record: &RoomRecord| RoomPosition { created_at: record.created_at, room: record.id };
        records.retain(|record| after.is_none_or(|after| position(record) > after));
        records.sort_by_key(position);
        let has_more = records.len() > limit;
        records.truncate(limit);
        let cursor = if has_more { records.last().map(|record| position(record).cursor()) } else { None };
        let mut rooms = Vec::with_capacity(records.len());
        for record in records {
            let last_seq = self.delivered(record.id).await?;
            let read_seq = shared.store.read_seq(record.id, me).await?;
            // Read from the mentions index, up to the cap: the cost is the
            // unread mentions counted, not the room's size.
            let mentions = shared.store.mentions_after(record.id, me, read_seq, MENTIONS_COUNTED).await?;
            rooms.push(RoomSummary { last_seq, read_seq, room: wire::room(&record), mentions });
        }
        self.respond(&ServerMsg::Rooms { rooms, has_more, cursor }, reference).await
    }

    /// `members`: a page of a joined room's members, in join order.
    pub(super) async fn members(
        &mut self,
        room_id: RoomId,
        cursor: Option<String>,
        limit: Option<ListLimit>,
        reference: Option<&RequestRef>,
    ) -> Handled {
        self.require_joined(room_id).await?;
        let after = cursor.as_deref().map(pages::member_position).transpose()?;
        let mut limit = limit.unwrap_or_default().get() as usize;
        if self.conn.shared.hub.pair_view(room_id, self.handle.user.id).is_some() {
            // Both members of a pair room in one page: a cursor would carry an account id.
            limit = limit.max(PAIR_MEMBERS);
        }
        let (members, cursor) = self.member_page(room_id, after, limit).await?;
        let page = ServerMsg::Members { room_id, members, has_more: cursor.is_some(), cursor };
        self.respond(&page, reference).await
    }

    /// Up to `limit` members after `after`, each with whether they are
    /// online, and the cursor to go on from when more follow.
    pub(super) async fn member_page(
        &self,
        room_id: RoomId,
        after: Option<MemberPosition>,
        limit: usize,
    ) -> Result<(Vec<Member>, Option<String>), Fail> {
        let shared = &self.conn.shared;
        let page = shared.store.member_page(room_id, after, limit).await?;
        let ids: Vec<UserId> = page.members.iter().map(|member| member.user.id).collect();
        let statuses = shared.live.statuses(&ids).await?;
        // Last seen only for those who are offline: one read each, at most a page.
        let offline: Vec<UserId> = ids.iter().zip(&statuses).filter(|(_, s)| **s == PresenceStatus::Offline).map(|(id, _)| *id).collect();
        let seen: std::collections::HashMap<UserId, u64> =
            offline.iter().zip(shared.store.last_seen(&offline).await?).filter_map(|(id, at)| at.map(|at| (*id, at))).collect();
        let members = page
            .members
            .into_iter()
            .zip(statuses)
            .map(|(member, status)| {
                let last_seen = seen.get(&member.user.id).copied().filter(|_| status == PresenceStatus::Offline);
                let online = status != PresenceStatus::Offline;
                Member { user: wire::user(member.user), online, status: Some(status), last_seen }
            })
            .collect();
        Ok((members, page.next.map(pages::member_cursor)))
    }

    /// `joined.reads`: the read markers of the room's other current
    /// members, the furthest ahead first, at most `JOIN_MEMBERS_MAX`.
    pub(super) async fn leading_reads(&self, room_id: RoomId) -> Result<Vec<ReadMarker>, Fail> {
        let me = self.handle.user.id;
        let leading = self.conn.shared.store.leading_reads(room_id, JOIN_MEMBERS_MAX as usize, me).await?;
        Ok(leading.into_iter().map(|(user, seq)| ReadMarker { user: wire::user(user), seq }).collect())
    }
}
