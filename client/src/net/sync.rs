//! What the network task must remember across connections: the open rooms
//! with the last seq held in each, the outbox of un-acked messages, and which
//! request each `ref` belongs to. Pure bookkeeping, no I/O: it turns server
//! frames into events and tells the task which frames to send.

use crate::events::{NetEvent, Outgoing, RequestKind};
use heartlink_protocol::{
    ChatMessage, ClientMsg, ErrorCode, RequestRef, RoomId, ServerFrame, ServerMsg, encode_request,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tokio::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, Default)]
struct RoomSync {
    /// Every message up to this seq has been handed to the app.
    held: Option<u64>,
    /// The `since` of the join request in flight, if any.
    asked_since: Option<Option<u64>>,
    /// A `join{since}` page said newer messages remain: until the last page
    /// arrives, live messages (which are newer than the gap) must not move
    /// `held`, or the paging — and a reconnect — would skip the gap.
    gap_open: bool,
}

/// The task's memory. See the module doc.
#[derive(Debug, Default)]
pub struct SyncState {
    rooms: BTreeMap<RoomId, RoomSync>,
    outbox: Vec<Outgoing>,
    refs: HashMap<String, RequestKind>,
    next_ref: u64,
    /// Rooms whose join reply is still awaited since the connection opened.
    resyncing: BTreeSet<RoomId>,
    /// The `ping` sent after the re-joins and the outbox has not been
    /// answered yet: its `pong` proves the server handled all of them.
    awaiting_pong: bool,
    /// `Resynced` was reported for this connection.
    resynced: bool,
    connected: bool,
}

/// Frames to send and events to report, the result of each step.
#[derive(Debug, Default)]
pub struct Step {
    pub frames: Vec<String>,
    pub events: Vec<NetEvent>,
}

impl SyncState {
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    /// The connection is authenticated: re-join every room (joins first, so
    /// the server knows the rooms before the outbox's sends arrive), then
    /// re-send the outbox with the original ids, then a `ping`. The
    /// connection counts as re-synced once every join is answered and the
    /// `pong` is back — not merely because the login worked: a server that
    /// accepts the login and then fails must not reset the backoff.
    pub fn on_connected(&mut self) -> Step {
        self.connected = true;
        self.refs.clear();
        self.resynced = false;
        let mut step = Step::default();
        let rooms: Vec<(RoomId, Option<u64>)> = self.rooms.iter().map(|(id, sync)| (*id, sync.held)).collect();
        self.resyncing = rooms.iter().map(|(id, _)| *id).collect();
        for (room_id, since) in rooms {
            step.frames.push(self.join_frame(room_id, since));
        }
        let outbox: Vec<ClientMsg> = self.outbox.iter().map(Outgoing::to_msg).collect();
        for msg in outbox {
            step.frames.push(self.request(&msg));
        }
        step.frames.push(self.request(&ClientMsg::Ping));
        self.awaiting_pong = true;
        step
    }

    /// Reports `Resynced` once both conditions hold.
    fn check_resynced(&mut self, step: &mut Step) {
        if self.connected && !self.resynced && self.resyncing.is_empty() && !self.awaiting_pong {
            self.resynced = true;
            step.events.push(NetEvent::Resynced);
        }
    }

    pub fn on_disconnected(&mut self) {
        self.connected = false;
        self.awaiting_pong = false;
        self.resyncing.clear();
        for sync in self.rooms.values_mut() {
            sync.asked_since = None;
        }
    }

    /// Opens a room: joined now if connected, and after every reconnect.
    pub fn join(&mut self, room_id: RoomId) -> Option<String> {
        let since = self.rooms.entry(room_id).or_default().held;
        self.connected.then(|| self.join_frame(room_id, since))
    }

    /// Forgets a room; the `leave` frame goes out only when connected (the
    /// membership ends on the server then; offline, the room is simply not re-joined).
    pub fn leave(&mut self, room_id: RoomId) -> Option<String> {
        self.rooms.remove(&room_id);
        self.resyncing.remove(&room_id);
        self.outbox.retain(|out| out.room_id != room_id);
        self.connected.then(|| self.request(&ClientMsg::Leave { room_id }))
    }

    /// Queues a message; it goes out now when connected.
    pub fn send(&mut self, outgoing: Outgoing) -> Option<String> {
        let frame = self.connected.then(|| self.request(&outgoing.to_msg()));
        self.outbox.push(outgoing);
        frame
    }

    /// Encodes a request, with a `ref` when it has a reply to match.
    pub fn request(&mut self, msg: &ClientMsg) -> String {
        if matches!(msg, ClientMsg::Typing { .. } | ClientMsg::Read { .. } | ClientMsg::Ping) {
            return encode_request(msg, None);
        }
        self.next_ref += 1;
        let text = format!("r{}", self.next_ref);
        let reference = RequestRef::try_from(text.as_str()).ok();
        if reference.is_some() {
            self.refs.insert(text, RequestKind::of(msg));
        }
        encode_request(msg, reference.as_ref())
    }

    /// Outbox messages whose rate-limit wait is over, sent again.
    pub fn due_retries(&mut self, now: Instant) -> Vec<String> {
        let due: Vec<ClientMsg> = self
            .outbox
            .iter_mut()
            .filter(|out| out.not_before.is_some_and(|at| at <= now))
            .map(|out| {
                out.not_before = None;
                out.to_msg()
            })
            .collect();
        if !self.connected {
            return Vec::new();
        }
        due.iter().map(|msg| self.request(msg)).collect()
    }

    /// The earliest rate-limit wait still running.
    pub fn next_retry(&self) -> Option<Instant> {
        self.outbox.iter().filter_map(|out| out.not_before).min()
    }

    /// Applies one frame from the server.
    pub fn on_frame(&mut self, frame: ServerFrame, now: Instant) -> Step {
        let request = frame.reference.as_ref().and_then(|reference| self.refs.remove(reference));
        let mut step = Step::default();
        match &frame.msg {
            ServerMsg::ChatMessage(message) => self.hold(message.room_id, message.seq),
            ServerMsg::Joined { room, messages, last_seq, has_more, .. } => {
                self.on_joined(room.id, messages, *last_seq, *has_more, &mut step);
            }
            ServerMsg::Ack { room_id, client_msg_id, .. } => {
                self.outbox.retain(|out| !(out.room_id == *room_id && out.client_msg_id.as_str() == client_msg_id));
            }
            ServerMsg::Left { room_id } => {
                self.rooms.remove(room_id);
            }
            ServerMsg::Pong => {
                self.awaiting_pong = false;
                self.check_resynced(&mut step);
            }
            ServerMsg::Error { code, message, retry_after_ms } => {
                if let Some(request) = request {
                    return self.on_refused(request, *code, message, *retry_after_ms, now);
                }
            }
            _ => {}
        }
        step.events.insert(0, NetEvent::Server(frame.msg));
        step
    }

    fn on_joined(&mut self, room_id: RoomId, messages: &[ChatMessage], last_seq: u64, has_more: bool, step: &mut Step) {
        let Some(sync) = self.rooms.get_mut(&room_id) else { return };
        let newest = messages.iter().map(|m| m.seq).max();
        let asked_since = sync.asked_since.take().flatten();
        // For `join{since}`, has_more means newer messages remain: page on from
        // the newest one received. For a plain join it means older ones remain
        // (scrollback fetches them), and everything up to last_seq is in hand.
        let forward_gap = asked_since.is_some() && has_more;
        let held = if forward_gap { newest } else { Some(last_seq) };
        sync.held = sync.held.max(held);
        sync.gap_open = forward_gap && newest.is_some();
        if sync.gap_open {
            // From the page's newest message: pages are cut by size as well
            // as count, and the live stream must not shorten the gap.
            step.frames.push(self.join_frame(room_id, newest));
            return;
        }
        if self.resyncing.remove(&room_id) {
            self.check_resynced(step);
        }
    }

    fn on_refused(&mut self, request: RequestKind, code: ErrorCode, message: &str, retry_ms: Option<u64>, now: Instant) -> Step {
        let mut step = Step::default();
        match &request {
            RequestKind::Send { room_id, client_msg_id } => {
                let position =
                    self.outbox.iter().position(|out| out.room_id == *room_id && out.client_msg_id.as_str() == client_msg_id);
                // An `internal` with a pause is a store that failed to commit
                // (e.g. its database restarting): the send is kept and retried.
                let retry_later = code == ErrorCode::RateLimited || (code == ErrorCode::Internal && retry_ms.is_some());
                if retry_later {
                    let wait = Duration::from_millis(retry_ms.unwrap_or(1000));
                    if let Some(out) = position.and_then(|index| self.outbox.get_mut(index)) {
                        out.not_before = Some(now + wait);
                    }
                    return step;
                }
                if let Some(index) = position {
                    self.outbox.remove(index);
                }
            }
            RequestKind::Join(room_id) => {
                self.rooms.remove(room_id);
                if self.resyncing.remove(room_id) {
                    self.check_resynced(&mut step);
                }
            }
            RequestKind::Other { .. } => {}
        }
        step.events.insert(0, NetEvent::Refused { request, code, message: message.to_owned() });
        step
    }

    fn hold(&mut self, room_id: RoomId, seq: u64) {
        if let Some(sync) = self.rooms.get_mut(&room_id).filter(|sync| !sync.gap_open) {
            sync.held = sync.held.max(Some(seq));
        }
    }

    fn join_frame(&mut self, room_id: RoomId, since: Option<u64>) -> String {
        if let Some(sync) = self.rooms.get_mut(&room_id) {
            sync.asked_since = Some(since);
        }
        self.request(&ClientMsg::Join { room_id, since })
    }
}

#[cfg(test)]
mod tests;
