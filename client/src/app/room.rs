//! One room as the client sees it: messages deduplicated by seq (relations
//! among them, indexed by their target), pending own messages, notices,
//! members, typing users, read markers, unread and mention counts, the
//! selected message and the scroll position. A room of the list that this
//! connection has not joined yet holds only its counts.

mod calls;
pub(super) mod members;
mod relations;

pub use calls::{CallOutcome, CallStory, CallThread};
pub use members::MemberView;
pub use relations::{Annotations, Reaction, shows_as_message};

use heartlink_protocol::{ChatMessage, ReadMarker, RelatesTo, Room, RoomId, RoomKind, User, UserId};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tokio::time::Instant;

/// An own message not yet acked by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub client_msg_id: String,
    pub body: String,
    /// A reply, edit, deletion or reaction: what it applies to.
    pub relates_to: Option<RelatesTo>,
    /// An uploaded attachment it carries.
    pub attachment: Option<crate::session::SentAttachment>,
    /// A call invitation or answer.
    pub call: Option<heartlink_protocol::CallRequest>,
    /// Why the server refused it for good, if it did.
    pub failed: Option<String>,
}

/// A line that is not a chat message: joins, leaves, presence, the client's
/// own reports. `after_seq` anchors it in the timeline after that message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub after_seq: u64,
    pub text: String,
    pub alert: bool,
}

#[derive(Debug, Clone)]
pub struct RoomView {
    pub room: Room,
    /// Keyed by seq: the map is the deduplication.
    pub messages: BTreeMap<u64, ChatMessage>,
    /// Relation messages (edit, delete, react, reply) by the seq they
    /// apply to, held or not yet: a relation that arrives before its
    /// target (history paged in later) applies once the target arrives.
    pub relations: BTreeMap<u64, BTreeSet<u64>>,
    /// The messages of each call (invitation and answers) by call id.
    pub calls: BTreeMap<heartlink_protocol::CallId, CallThread>,
    pub pending: Vec<Pending>,
    pub notices: Vec<Notice>,
    pub members: Vec<MemberView>,
    /// Who is typing, until when (the server repeats `active` while they type).
    pub typing: BTreeMap<UserId, (String, Instant)>,
    /// Other members' read markers.
    pub reads: HashMap<UserId, (String, u64)>,
    pub unread: u64,
    /// Unread messages that mention me (or reply to me).
    pub mentions: u64,
    /// This connection joined the room (its messages arrive live); the
    /// other rooms of the list only have counts, kept by `room_activity`.
    pub subscribed: bool,
    /// The newest seq the server knows of, and my read marker there (from
    /// `list_rooms` and `room_activity`), for a room not joined here.
    pub last_seq: u64,
    pub read_seq: u64,
    /// The "new since you left" line goes after this seq.
    pub since_left: Option<u64>,
    /// The message selected with ↑/↓ (its seq), for e/r/d/+.
    pub selected: Option<u64>,
    /// A pair room whose chat was ended (by either side): read-only.
    pub ended: bool,
    /// A pair room's peer once both revealed.
    pub revealed: Option<User>,
    /// Users banned from this group room during this session (for `/unban NAME`).
    pub banned: Vec<User>,
    /// Whether older history remains on the server.
    pub has_older: bool,
    pub loading_older: bool,
    /// Lines scrolled up from the bottom (0 = following new messages).
    pub scroll: usize,
    /// A `joined` reply has arrived at least once.
    pub joined: bool,
    /// Messages new to us loaded by the re-join after a reconnect.
    pub missed: usize,
    /// The newest seq we told the server we have read.
    pub read_sent: u64,
    /// The room that was open when `/join` opened this one: it opens again
    /// if the server refuses the join (a failed command changes nothing).
    pub return_to: Option<RoomId>,
}

impl RoomView {
    /// A room known only by id until its `joined` reply arrives.
    pub fn placeholder(id: RoomId) -> Self {
        let short: String = id.to_string().chars().take(8).collect();
        let room = Room { id, name: short, kind: RoomKind::Group, created_by: None, created_at: 0, ended: false };
        Self::new(room)
    }

    pub fn new(room: Room) -> Self {
        Self {
            ended: room.ended,
            room,
            messages: BTreeMap::new(),
            relations: BTreeMap::new(),
            calls: BTreeMap::new(),
            pending: Vec::new(),
            notices: Vec::new(),
            members: Vec::new(),
            typing: BTreeMap::new(),
            reads: HashMap::new(),
            unread: 0,
            mentions: 0,
            subscribed: false,
            last_seq: 0,
            read_seq: 0,
            since_left: None,
            selected: None,
            revealed: None,
            banned: Vec::new(),
            has_older: false,
            loading_older: false,
            scroll: 0,
            joined: false,
            missed: 0,
            read_sent: 0,
            return_to: None,
        }
    }

    pub fn id(&self) -> RoomId {
        self.room.id
    }

    pub fn newest_seq(&self) -> u64 {
        self.messages.keys().next_back().copied().unwrap_or(0)
    }

    pub fn is_pair(&self) -> bool {
        self.room.kind == RoomKind::Pair
    }

    /// A pair room still anonymous and open: the stranger banner shows.
    pub fn with_stranger(&self) -> bool {
        self.is_pair() && self.revealed.is_none() && !self.ended
    }

    pub fn oldest_seq(&self) -> Option<u64> {
        self.messages.keys().next().copied()
    }

    pub fn notice(&mut self, text: impl Into<String>) {
        let after_seq = self.newest_seq();
        self.notices.push(Notice { after_seq, text: text.into(), alert: false });
    }

    pub fn alert(&mut self, text: impl Into<String>) {
        let after_seq = self.newest_seq();
        self.notices.push(Notice { after_seq, text: text.into(), alert: true });
    }

    /// Adds a message unless its seq is already held; an own message
    /// replaces its pending copy. Returns whether it was new *and* not the
    /// echo of something we sent from this client.
    pub fn insert(&mut self, message: ChatMessage, me: Option<UserId>) -> bool {
        if let Some(held) = self.messages.get_mut(&message.seq) {
            // A copy made from an ack lacks what only the server describes
            // (the attachment's type and size, the call's link): the real
            // message replaces it.
            let richer = (held.attachment.is_none() && message.attachment.is_some()) || (held.call.is_none() && message.call.is_some());
            if richer && held.client_msg_id == message.client_msg_id && held.sender.id == message.sender.id {
                *held = message.clone();
                self.file_call(&message);
            }
            return false;
        }
        let own = me == Some(message.sender.id);
        let was_pending = own && self.take_pending(&message.client_msg_id);
        if let Some(relation) = message.relates_to {
            self.relations.entry(relation.seq).or_default().insert(message.seq);
        }
        self.file_call(&message);
        self.messages.insert(message.seq, message);
        !was_pending
    }

    fn take_pending(&mut self, client_msg_id: &str) -> bool {
        let before = self.pending.len();
        self.pending.retain(|pending| pending.client_msg_id != client_msg_id);
        self.pending.len() != before
    }

    /// `ack`: the message is durable. Normally its `chat_message` came first
    /// and replaced the pending copy; if not, the copy becomes the message.
    /// Returns whether a pending copy was waiting for it.
    pub fn acked(&mut self, client_msg_id: &str, seq: u64, ts: u64, me: &User, call: Option<heartlink_protocol::CallInfo>) -> bool {
        let Some(index) = self.pending.iter().position(|p| p.client_msg_id == client_msg_id) else { return false };
        let pending = self.pending.remove(index);
        if self.messages.contains_key(&seq) {
            return true;
        }
        self.insert(
            ChatMessage {
                room_id: self.room.id,
                seq,
                sender: me.clone(),
                body: pending.body,
                ts,
                client_msg_id: pending.client_msg_id,
                relates_to: pending.relates_to,
                call: call.map(Box::new).or_else(|| {
                    // An answer's ack carries no call object: it is rebuilt from the request.
                    let request = pending.call?;
                    let action = match request.action {
                        heartlink_protocol::CallRequestAction::Invite => return None,
                        heartlink_protocol::CallRequestAction::Accept => heartlink_protocol::CallAction::Accept,
                        heartlink_protocol::CallRequestAction::Decline => heartlink_protocol::CallAction::Decline,
                        heartlink_protocol::CallRequestAction::Cancel => heartlink_protocol::CallAction::Cancel,
                    };
                    Some(Box::new(heartlink_protocol::CallInfo { call_id: request.call_id?, action, url: None, expires_at: None }))
                }),
                ..ChatMessage::default()
            },
            Some(me.id),
        );
        true
    }

    /// Messages after the read marker `read` up to `last_seq` that someone
    /// else sent and that show as a message (an edit, a deletion or a
    /// reaction changes one instead): my own messages are read by me,
    /// wherever I sent them from. Messages not held here (older than the
    /// page joined, or a room not joined) count.
    pub fn unread_after(&self, read: u64, last_seq: u64, me: Option<UserId>) -> u64 {
        let unread = last_seq.saturating_sub(read);
        let not_counted = self
            .messages
            .range(read.saturating_add(1)..=last_seq)
            .filter(|(_, m)| Some(m.sender.id) == me || !relations::shows_as_message(m))
            .count();
        unread.saturating_sub(not_counted as u64)
    }

    pub fn fail(&mut self, client_msg_id: &str, reason: String) {
        if let Some(pending) = self.pending.iter_mut().find(|p| p.client_msg_id == client_msg_id) {
            pending.failed = Some(reason);
        }
    }

    pub fn set_reads(&mut self, reads: Vec<ReadMarker>) {
        for marker in reads {
            self.read_receipt(marker.user, marker.seq);
        }
    }

    /// Read markers only move forward.
    pub fn read_receipt(&mut self, user: User, seq: u64) {
        let entry = self.reads.entry(user.id).or_insert((user.username.clone(), 0));
        entry.1 = entry.1.max(seq);
    }

    /// Users (other than me) whose read marker is exactly `seq`, sorted.
    pub fn readers_at(&self, seq: u64) -> Vec<&str> {
        let mut names: Vec<&str> =
            self.reads.values().filter(|(_, at)| *at == seq).map(|(name, _)| name.as_str()).collect();
        names.sort_unstable();
        names
    }

    pub fn expire_typing(&mut self, now: Instant) -> bool {
        let before = self.typing.len();
        self.typing.retain(|_, (_, until)| *until > now);
        before != self.typing.len()
    }
}
