//! The in-process bus: with one node, publishing is delivering to its hub,
//! synchronously and in the order of the calls. Nothing needs subscribing:
//! every publish reaches the one hub, which ignores rooms and users it has
//! no connections for.

use super::{Bus, BusError, Deliver, MessageBatch, PresenceState, RoomEvent, Subscriptions, UserEvent};
use async_trait::async_trait;
use heartlink_protocol::{RoomId, User, UserId};
use std::sync::Arc;

/// The bus of a single-node server.
#[derive(Debug)]
pub struct LocalBus {
    node: Arc<dyn Deliver>,
}

impl LocalBus {
    /// A bus that delivers to `node` (the hub).
    pub fn new(node: Arc<dyn Deliver>) -> Self {
        Self { node }
    }
}

#[async_trait]
impl Bus for LocalBus {
    async fn publish_messages(&self, batch: MessageBatch) -> Result<(), BusError> {
        self.node.deliver_messages(batch);
        Ok(())
    }

    async fn publish_room(&self, room: RoomId, event: RoomEvent) -> Result<(), BusError> {
        self.node.deliver_room(room, &event);
        Ok(())
    }

    async fn publish_presence(&self, user: User, presence: PresenceState, rooms: Vec<RoomId>) -> Result<(), BusError> {
        self.node.deliver_presence(&user, presence, &rooms);
        Ok(())
    }

    async fn publish_user(&self, user: UserId, event: UserEvent) -> Result<(), BusError> {
        self.node.deliver_user(user, &event);
        Ok(())
    }
}

/// Subscriptions of a single-node server: nothing to do.
#[derive(Debug, Default)]
pub struct LocalSubscriptions;

#[async_trait]
impl Subscriptions for LocalSubscriptions {
    async fn subscribe_room(&self, _room: RoomId) -> Result<(), BusError> {
        Ok(())
    }

    fn unsubscribe_room(&self, _room: RoomId) {}

    async fn subscribe_user(&self, _user: UserId) -> Result<(), BusError> {
        Ok(())
    }

    fn unsubscribe_user(&self, _user: UserId) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{ConnIds, NodeId};
    use std::sync::Mutex;

    /// Records what reaches it, in order.
    #[derive(Debug, Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Deliver for Recorder {
        fn deliver_messages(&self, batch: MessageBatch) {
            let seqs: Vec<u64> = batch.messages.iter().map(|m| m.seq).collect();
            self.0.lock().unwrap().push(format!("messages {seqs:?}"));
        }
        fn deliver_room(&self, _room: RoomId, event: &RoomEvent) {
            let active = matches!(event, RoomEvent::Typing { active: true, .. });
            self.0.lock().unwrap().push(format!("room typing {active}"));
        }
        fn deliver_presence(&self, user: &User, presence: PresenceState, rooms: &[RoomId]) {
            let online = presence.status != heartlink_protocol::PresenceStatus::Offline;
            self.0.lock().unwrap().push(format!("presence {} {online} {}", user.username, rooms.len()));
        }
        fn deliver_user(&self, _user: UserId, event: &UserEvent) {
            let failed = matches!(event, UserEvent::MatchFailed { .. });
            self.0.lock().unwrap().push(format!("user match failed {failed}"));
        }
        fn resync(&self, _rooms: &[RoomId]) {}
    }

    #[tokio::test]
    async fn every_publish_reaches_the_hub_in_order() {
        let recorder = Arc::new(Recorder::default());
        let bus = LocalBus::new(recorder.clone());
        let alice = User { id: UserId::random(), username: "alice".into() };
        let conn = ConnIds::new(NodeId::from_raw(7)).next();
        let message = |seq| heartlink_protocol::ChatMessage { seq, ..Default::default() };
        bus.publish_messages(MessageBatch { messages: vec![message(1), message(2)], replies: Vec::new() }).await.unwrap();
        bus.publish_room(RoomId::random(), RoomEvent::Typing { user: alice.clone(), active: true }).await.unwrap();
        let online = PresenceState { status: heartlink_protocol::PresenceStatus::Online, last_seen: None };
        bus.publish_presence(alice.clone(), online, vec![RoomId::random(), RoomId::random()]).await.unwrap();
        bus.publish_user(alice.id, UserEvent::MatchFailed { conn }).await.unwrap();
        bus.publish_messages(MessageBatch { messages: vec![message(3)], replies: Vec::new() }).await.unwrap();
        let seen = recorder.0.lock().unwrap().clone();
        assert_eq!(
            seen,
            ["messages [1, 2]", "room typing true", "presence alice true 2", "user match failed true", "messages [3]"]
        );
    }
}
