//! The in-memory model of the server for `model.rs`: who is registered,
//! each room's members (oldest membership first) and messages, which rooms
//! each actor's current connection has joined, and each actor's acked sends.
//! It predicts every operation's reply and who receives which event, from
//! docs/PROTOCOL.md alone; the real server must match it after every step.

use std::collections::BTreeSet;

/// Actors (users driven by the operations) and rooms in the model.
pub const ACTORS: usize = 3;
pub const ROOMS: usize = 2;

/// A user: the founder owns the rooms and its connection observes everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Founder,
    Actor(usize),
}

/// A durable message as the model knows it.
#[derive(Debug, Clone)]
pub struct Message {
    pub seq: u64,
    pub sender: Who,
    pub body: String,
    pub client_msg_id: String,
    pub ts: u64,
}

/// An acked send an actor may retry.
#[derive(Debug, Clone)]
pub struct Sent {
    pub room: usize,
    pub client_msg_id: String,
    pub seq: u64,
    pub ts: u64,
}

/// The direct reply an operation must get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Registered,
    UsernameTaken,
    Joined { room: usize },
    Left { room: usize },
    /// A new message: the sender sees its `chat_message`, then the `ack`.
    Sent { room: usize, seq: u64 },
    /// A retry: only the original `ack`, nothing broadcast.
    Resent { room: usize, seq: u64, ts: u64 },
    Forbidden,
}

/// An event a connection other than the actor's must receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    ChatMessage { room: usize, seq: u64 },
    UserJoined { room: usize, who: Who },
    UserLeft { room: usize, who: Who },
}

/// What an operation does: its reply and the events, by recipient.
#[derive(Debug)]
pub struct Effect {
    pub reply: Reply,
    pub events: Vec<(Who, Event)>,
}

#[derive(Debug, Default)]
pub struct Room {
    /// Oldest membership first (PROTOCOL.md, Decisions: `joined.members`).
    pub members: Vec<Who>,
    pub messages: Vec<Message>,
}

#[derive(Debug)]
pub struct Model {
    pub registered: [bool; ACTORS],
    pub rooms: Vec<Room>,
    /// Rooms each actor's *current* connection has joined (join is per connection).
    pub joined: [BTreeSet<usize>; ACTORS],
    pub sent: [Vec<Sent>; ACTORS],
}

impl Model {
    /// The founder has created every room and is their only member.
    pub fn new() -> Self {
        let rooms = (0..ROOMS).map(|_| Room { members: vec![Who::Founder], messages: Vec::new() }).collect();
        Self { registered: [false; ACTORS], rooms, joined: Default::default(), sent: Default::default() }
    }

    pub fn is_member(&self, who: Who, room: usize) -> bool {
        self.rooms[room].members.contains(&who)
    }

    /// The connections that receive `room`'s events: the founder's observer
    /// (joined to every room) and each actor connection that joined it.
    fn joined_connections(&self, room: usize) -> Vec<Who> {
        let actors = (0..ACTORS).filter(|a| self.joined[*a].contains(&room)).map(Who::Actor);
        std::iter::once(Who::Founder).chain(actors).collect()
    }

    fn broadcast(&self, room: usize, except: Who, event: &Event) -> Vec<(Who, Event)> {
        self.joined_connections(room).into_iter().filter(|who| *who != except).map(|who| (who, event.clone())).collect()
    }

    pub fn register(&mut self, actor: usize) -> Effect {
        let reply = if self.registered[actor] { Reply::UsernameTaken } else { Reply::Registered };
        self.registered[actor] = true;
        Effect { reply, events: Vec::new() }
    }

    /// Whether this join would make `actor` a new member (its time then orders `members`).
    pub fn join_adds_member(&self, actor: usize, room: usize) -> bool {
        !self.is_member(Who::Actor(actor), room)
    }

    pub fn join(&mut self, actor: usize, room: usize) -> Effect {
        let who = Who::Actor(actor);
        let mut events = Vec::new();
        if self.join_adds_member(actor, room) {
            // `user_joined` goes to the room's joined connections other than the joiner's.
            events = self.broadcast(room, who, &Event::UserJoined { room, who });
            self.rooms[room].members.push(who);
        }
        self.joined[actor].insert(room);
        Effect { reply: Reply::Joined { room }, events }
    }

    pub fn leave(&mut self, actor: usize, room: usize) -> Effect {
        let who = Who::Actor(actor);
        let mut events = Vec::new();
        if self.is_member(who, room) {
            events = self.broadcast(room, who, &Event::UserLeft { room, who });
            self.rooms[room].members.retain(|member| *member != who);
        }
        self.joined[actor].remove(&room);
        Effect { reply: Reply::Left { room }, events }
    }

    fn may_post(&self, actor: usize, room: usize) -> bool {
        self.is_member(Who::Actor(actor), room) && self.joined[actor].contains(&room)
    }

    /// A new `send`; the message itself is recorded by [`Model::acked`] once
    /// the real ack tells its `ts`.
    pub fn send(&self, actor: usize, room: usize) -> Effect {
        if !self.may_post(actor, room) {
            return Effect { reply: Reply::Forbidden, events: Vec::new() };
        }
        let seq = self.rooms[room].messages.len() as u64 + 1;
        let event = Event::ChatMessage { room, seq };
        Effect { reply: Reply::Sent { room, seq }, events: self.broadcast(room, Who::Actor(actor), &event) }
    }

    /// Records an acked new message.
    pub fn acked(&mut self, actor: usize, room: usize, body: String, client_msg_id: String, ts: u64) {
        let seq = self.rooms[room].messages.len() as u64 + 1;
        let sent = Sent { room, client_msg_id: client_msg_id.clone(), seq, ts };
        self.rooms[room].messages.push(Message { seq, sender: Who::Actor(actor), body, client_msg_id, ts });
        self.sent[actor].push(sent);
    }

    /// The room a `send` aimed at `room` goes to: one the actor's connection
    /// has joined when there is any (`room` picks which), else `room` itself,
    /// which the server must refuse. Aiming keeps most generated sends
    /// successful, so that seqs and retries get exercised, while sends after
    /// a leave or a restart still meet `forbidden`.
    pub fn send_target(&self, actor: usize, room: usize) -> usize {
        let joined: Vec<usize> = self.joined[actor].iter().copied().collect();
        if joined.is_empty() { room } else { joined[room % joined.len()] }
    }

    /// The earlier send a `resend` with `pick` repeats, if the actor has any:
    /// preferably one in a room its connection has joined (the server must
    /// answer the original ack), else any (the server must refuse it).
    pub fn resend_target(&self, actor: usize, pick: usize) -> Option<Sent> {
        let joined: Vec<&Sent> = self.sent[actor].iter().filter(|s| self.joined[actor].contains(&s.room)).collect();
        let pool: Vec<&Sent> = if joined.is_empty() { self.sent[actor].iter().collect() } else { joined };
        (!pool.is_empty()).then(|| pool[pick % pool.len()].clone())
    }

    /// A retry of `original`: the original ack, nothing new broadcast; still
    /// `forbidden` when the sender may no longer post there.
    pub fn resend(&self, actor: usize, original: &Sent) -> Effect {
        let reply = if self.may_post(actor, original.room) {
            Reply::Resent { room: original.room, seq: original.seq, ts: original.ts }
        } else {
            Reply::Forbidden
        };
        Effect { reply, events: Vec::new() }
    }

    /// A restart closes every connection; new ones have joined nothing.
    pub fn restart(&mut self) {
        self.joined = Default::default();
    }
}
