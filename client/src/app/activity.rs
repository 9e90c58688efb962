//! The room list as a hotlist: every room the user is a member of (from
//! `list_rooms`, paged with its cursor), with unread and mention counts kept
//! live by the messages of joined rooms and by `room_activity` for the
//! others; the bell and desktop notification for a mention or a message in
//! a pair room (unless the room is muted); `Alt+A` to the next room with
//! mentions, then with unread messages (weechat's hotlist order).

use super::{App, Effect, RoomView};
use crate::settings::{Bell, Desktop};
use crate::sanitize::sanitize_line;
use heartlink_protocol::{ClientMsg, ListLimit, RoomId, RoomSummary};

/// A server that keeps saying "more" is not followed past this many pages
/// (of up to 100 rooms each): the list is bounded like everything else.
const MAX_ROOM_PAGES: usize = 100;
const ROOMS_PER_PAGE: u32 = 100;

impl App {
    /// Asks for the room list from its first page; `listing` prints it (`/rooms`).
    pub(super) fn list_rooms(&mut self, listing: bool) -> Vec<Effect> {
        self.listing_rooms |= listing;
        self.rooms_paging = Some(Vec::new());
        let limit = ListLimit::try_from(ROOMS_PER_PAGE).ok();
        vec![Self::request(ClientMsg::ListRooms { cursor: None, limit })]
    }

    /// One `rooms` page: ask for the next, or apply the whole list.
    pub(super) fn rooms_page(&mut self, rooms: Vec<RoomSummary>, has_more: bool, cursor: Option<String>) -> Vec<Effect> {
        let mut gathered = self.rooms_paging.take().unwrap_or_default();
        gathered.extend(rooms);
        let pages = gathered.len().div_ceil(ROOMS_PER_PAGE as usize);
        if let Some(cursor) = cursor.filter(|_| has_more && pages < MAX_ROOM_PAGES) {
            self.rooms_paging = Some(gathered);
            let limit = ListLimit::try_from(ROOMS_PER_PAGE).ok();
            return vec![Self::request(ClientMsg::ListRooms { cursor: Some(cursor), limit })];
        }
        self.rooms_listed(gathered);
        Vec::new()
    }

    /// The whole list: counts for every room, rooms not seen yet added
    /// (not joined until opened), rooms left elsewhere dropped.
    fn rooms_listed(&mut self, rooms: Vec<RoomSummary>) {
        let active = self.active;
        let me = self.me.as_ref().map(|me| me.id);
        for summary in &rooms {
            let id = summary.room.id;
            if self.room_index(id).is_none() {
                self.add_room(RoomView::new(summary.room.clone()));
            }
            let Some(room) = self.room_mut(id) else { continue };
            if !room.subscribed {
                room.room = summary.room.clone();
            }
            room.ended |= summary.room.ended;
            room.last_seq = summary.last_seq;
            room.read_seq = summary.read_seq;
            room.since_left = room.since_left.or(Some(summary.read_seq));
            if Some(id) != active {
                room.unread = room.unread_after(summary.read_seq.max(room.read_sent), summary.last_seq, me);
                room.mentions = summary.mentions;
            }
        }
        let listed: Vec<RoomId> = rooms.iter().map(|summary| summary.room.id).collect();
        let gone: Vec<RoomId> =
            self.rooms.iter().filter(|room| !room.subscribed && !listed.contains(&room.id())).map(RoomView::id).collect();
        for id in gone {
            self.remove_room(id);
        }
        self.sort_rooms();
        self.member_rooms = rooms.clone();
        if !std::mem::take(&mut self.listing_rooms) {
            return;
        }
        if rooms.is_empty() {
            self.notify("you are in no rooms yet: /create <name>, /join <room-id> or /match", false);
        }
        for summary in rooms {
            let unread = summary.last_seq.saturating_sub(summary.read_seq);
            let name = sanitize_line(&summary.room.name);
            self.notify(format!("{name} — {} ({unread} unread)", summary.room.id), false);
        }
    }

    /// `room_activity`: new messages in a room this connection has not joined.
    pub(super) fn room_activity(&mut self, room_id: RoomId, last_seq: u64, mentions: u64) -> Vec<Effect> {
        let Some(room) = self.room_mut(room_id) else {
            // A room joined on another device: learn its name from the list.
            let mut room = RoomView::placeholder(room_id);
            room.last_seq = last_seq;
            room.unread = last_seq;
            room.mentions = mentions;
            self.add_room(room);
            return if self.rooms_paging.is_some() { Vec::new() } else { self.list_rooms(false) };
        };
        if last_seq <= room.last_seq {
            return Vec::new();
        }
        room.last_seq = last_seq;
        room.unread = last_seq.saturating_sub(room.read_seq.max(room.read_sent));
        room.mentions = room.mentions.saturating_add(mentions);
        let (pair, name) = (room.is_pair(), room.room.name.clone());
        let body = if mentions > 0 { "you were mentioned" } else { "new message" };
        self.alert(room_id, mentions > 0, pair, &name, body)
    }

    /// The bell and the desktop notification for a message that is not on
    /// screen: for a mention or a pair room's message (`bell = "mentions"`),
    /// any message (`"all"`) or none (`"off"`); never in a muted room.
    pub(super) fn alert(&self, room_id: RoomId, mention: bool, pair: bool, room_name: &str, body: &str) -> Vec<Effect> {
        if self.muted.contains(&room_id) {
            return Vec::new();
        }
        let ring = match self.settings.bell {
            Bell::All => true,
            Bell::Mentions => mention || pair,
            Bell::Off => false,
        };
        if !ring {
            return Vec::new();
        }
        let mut effects = vec![Effect::Bell];
        if self.settings.desktop != Desktop::Off {
            let title = format!("heartlink · {}", sanitize_line(room_name));
            let body: String = sanitize_line(body).chars().take(200).collect();
            effects.push(Effect::Notify { title, body });
        }
        effects
    }

    /// `Alt+A`: the next room with mentions, else a pair room with unread
    /// messages, else any room with unread messages — after the open one,
    /// wrapping around.
    pub(super) fn next_active_room(&mut self) -> Vec<Effect> {
        let count = self.rooms.len();
        let start = self.active_index().map_or(0, |index| index + 1);
        let order: Vec<usize> = (0..count).map(|step| (start + step) % count).collect();
        let tiers: [&dyn Fn(&RoomView) -> bool; 3] =
            [&|room| room.mentions > 0, &|room| room.unread > 0 && room.is_pair(), &|room| room.unread > 0];
        for tier in tiers {
            let found = order.iter().copied().find(|index| {
                self.rooms.get(*index).is_some_and(|room| Some(room.id()) != self.active && tier(room))
            });
            if let Some(index) = found {
                return self.select_room(index);
            }
        }
        self.notify("no room has new messages", false);
        Vec::new()
    }

    /// `/mute`: the open room rings no bell and sends no notification (again: it does).
    pub(super) fn toggle_mute(&mut self) -> Vec<Effect> {
        let Some(id) = self.active else {
            self.notify("no room is open: /mute silences the open room", true);
            return Vec::new();
        };
        let now_muted = self.muted.insert(id);
        if !now_muted {
            self.muted.remove(&id);
        }
        self.notify(if now_muted { "muted: no bell or notification from this room (/mute again to undo)" } else { "unmuted" }, false);
        self.save_session()
    }
}
