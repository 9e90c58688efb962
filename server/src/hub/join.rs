//! Joining a room's live stream: the cut between the `joined` reply and the
//! messages that follow it live.

use super::{Hub, JOINING, delivery};
use crate::bus::BusError;
use crate::node::ConnId;
use crate::store::StoreError;
use heartlink_protocol::RoomId;

/// Why a connection could not join a room's live stream.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The connection is not registered (it is closing).
    #[error("the connection is not registered")]
    NotConnected,
    /// The bus could not subscribe this node to the room.
    #[error("subscribing to the room failed")]
    Subscribe(#[from] BusError),
    /// The room's durable seq could not be read.
    #[error("reading the room's last seq failed")]
    Store(#[from] StoreError),
}

impl Hub {
    /// Joins `conn` to the room's live messages and returns the cut: the
    /// `joined` reply lists the durable messages up to it, and every later
    /// one reaches the connection live, after the reply (the session writes
    /// the reply before it drains its outbound queue). Neither overlaps nor
    /// leaves a gap.
    ///
    /// A room already live here answers at once with the seq delivered so
    /// far. Otherwise the node first subscribes to the room, then reads the
    /// store's durable seq: what was published before the subscription is at
    /// most that seq (in the reply); what comes after is held until the
    /// seq is known, then delivered from it on.
    pub async fn join(&self, conn: ConnId, room: RoomId) -> Result<u64, JoinError> {
        self.join_after(conn, room, None).await
    }

    /// [`Hub::join`] for a connection that already holds the room up to
    /// `since` (a `join{since}`): the cut is never below it. A client that
    /// moved from a node ahead of this one (in a cluster, each node's
    /// delivery lags the store by its own bus latency) holds messages this
    /// node has not delivered yet; they must not reach it a second time
    /// when this node catches up. The caller keeps `since` at or below the
    /// room's last durable seq.
    pub async fn join_after(&self, conn: ConnId, room: RoomId, since: Option<u64>) -> Result<u64, JoinError> {
        let held = since.unwrap_or(0);
        {
            let mut state = self.lock();
            let state = &mut *state;
            let Some(conn_entry) = state.conns.get_mut(&conn) else { return Err(JoinError::NotConnected) };
            conn_entry.rooms.insert(room, ());
            let entry = state.rooms.entry(room).or_default();
            match entry.delivered {
                Some(delivered) => {
                    let cut = delivered.max(held);
                    entry.conns.insert(conn, cut + 1);
                    return Ok(cut);
                }
                None => {
                    entry.conns.entry(conn).or_insert(JOINING);
                }
            }
        }
        let stands = async {
            self.subscriptions.subscribe_room(room).await?;
            Ok::<u64, JoinError>(self.store.last_seq(room).await?)
        };
        let stands = stands.await;
        let mut state = self.lock();
        let last = match stands {
            Ok(last) => last,
            Err(err) => {
                state.leave_room(conn, room, &*self.subscriptions);
                return Err(err);
            }
        };
        let state = &mut *state;
        let Some(entry) = state.rooms.get_mut(&room) else { return Ok(last) };
        // Another joiner may have found the cut first; it holds for everyone.
        let cut = (*entry.delivered.get_or_insert(last)).max(held.min(last));
        // Still joined unless the user left the room meanwhile, elsewhere.
        if let Some(from) = entry.conns.get_mut(&conn) {
            *from = cut + 1;
        }
        // What arrived above the cut meanwhile goes out now.
        delivery::release(entry, &state.conns);
        Ok(cut)
    }

}

#[cfg(test)]
mod tests {
    use super::super::fixture::{Fixture, message};
    use super::*;
    use crate::bus::{Deliver, MessageBatch, Subscriptions};
    use async_trait::async_trait;
    use heartlink_protocol::UserId;
    use std::sync::{Arc, Mutex};
    use tokio::sync::Notify;

    fn batch(room: RoomId, seqs: impl IntoIterator<Item = u64>) -> MessageBatch {
        MessageBatch { messages: seqs.into_iter().map(|seq| message(room, seq)).collect(), replies: Vec::new() }
    }

    #[tokio::test]
    async fn a_join_cuts_between_the_reply_and_the_live_stream() {
        let fixture = Fixture::new();
        let room = RoomId::random();
        fixture.store_messages(room, 3).await;
        let alice = fixture.connect("alice").await;
        assert_eq!(fixture.hub.join(alice.handle.id, room).await.unwrap(), 3, "the first joiner reads the store");

        // The bus hands over 1–3 late (they are in alice's `joined`) and 4.
        fixture.hub.deliver_messages(batch(room, 1..=4));
        assert_eq!(alice.summary(), ["chat_message 4"]);

        let bob = fixture.connect("bob").await;
        assert_eq!(fixture.hub.join(bob.handle.id, room).await.unwrap(), 4, "later joiners cut where delivery is");
        fixture.hub.deliver_messages(batch(room, [5]));
        assert_eq!((alice.summary(), bob.summary()), (vec!["chat_message 5".to_owned()], vec!["chat_message 5".to_owned()]));
        assert_eq!(fixture.hub.delivered(room), Some(5));
    }

    #[tokio::test]
    async fn a_joiner_ahead_of_this_nodes_delivery_gets_nothing_it_holds_a_second_time() {
        let fixture = Fixture::new();
        let room = RoomId::random();
        fixture.store_messages(room, 3).await;
        let alice = fixture.connect("alice").await;
        fixture.hub.join(alice.handle.id, room).await.unwrap();
        // Committed through another node; this node's bus has not handed them over yet.
        fixture.store_messages(room, 3).await;

        // bob moved here from a node that had delivered up to 6.
        let bob = fixture.connect("bob").await;
        assert_eq!(fixture.hub.join_after(bob.handle.id, room, Some(6)).await.unwrap(), 6, "the cut is what bob holds");
        fixture.hub.deliver_messages(batch(room, 4..=7));
        assert_eq!(alice.summary(), ["chat_message 4", "chat_message 5", "chat_message 6", "chat_message 7"]);
        assert_eq!(bob.summary(), ["chat_message 7"], "4–6 are not sent to bob again");
    }

    /// Subscriptions that hold `subscribe_room` until the test lets go, and
    /// record every call.
    #[derive(Debug, Default)]
    struct Gate {
        entered: Notify,
        release: Notify,
        calls: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl Subscriptions for Gate {
        async fn subscribe_room(&self, _room: RoomId) -> Result<(), BusError> {
            self.calls.lock().unwrap().push("subscribe room".into());
            self.entered.notify_one();
            self.release.notified().await;
            Ok(())
        }
        fn unsubscribe_room(&self, _room: RoomId) {
            self.calls.lock().unwrap().push("unsubscribe room".into());
        }
        async fn subscribe_user(&self, _user: UserId) -> Result<(), BusError> {
            self.calls.lock().unwrap().push("subscribe user".into());
            Ok(())
        }
        fn unsubscribe_user(&self, _user: UserId) {
            self.calls.lock().unwrap().push("unsubscribe user".into());
        }
    }

    #[tokio::test]
    async fn messages_arriving_while_a_join_finds_its_cut_are_held_then_cut() {
        let gate = Arc::new(Gate::default());
        let fixture = Fixture::with_subscriptions(gate.clone());
        let room = RoomId::random();
        fixture.store_messages(room, 4).await;
        let alice = fixture.connect("alice").await;
        let hub = Arc::clone(&fixture.hub);
        let conn = alice.handle.id;
        let join = tokio::spawn(async move { hub.join(conn, room).await.unwrap() });
        gate.entered.notified().await;
        // Published around the subscription: 4 is in the store (and the reply), 5 is not yet.
        fixture.hub.deliver_messages(batch(room, [4, 5]));
        assert!(alice.summary().is_empty(), "nothing is delivered before the cut is known");
        gate.release.notify_one();
        assert_eq!(join.await.unwrap(), 4);
        assert_eq!(alice.summary(), ["chat_message 5"]);
    }

    #[tokio::test]
    async fn the_hub_subscribes_to_what_its_connections_need_and_no_more() {
        let gate = Arc::new(Gate::default());
        let fixture = Fixture::with_subscriptions(gate.clone());
        gate.release.notify_one(); // the one join below passes at once
        let room = RoomId::random();
        let alice = fixture.connect("alice").await;
        fixture.hub.join(alice.handle.id, room).await.unwrap();
        fixture.hub.unjoin(alice.handle.id, room);
        fixture.hub.disconnect(alice.handle.id);
        let calls = gate.calls.lock().unwrap().clone();
        assert_eq!(calls, ["subscribe user", "subscribe room", "unsubscribe room", "unsubscribe user"]);
        assert_eq!(fixture.hub.delivered(room), None, "a room without local connections is forgotten");
    }

    #[tokio::test]
    async fn a_closed_connection_gets_nothing_more_and_its_rooms_are_left() {
        let fixture = Fixture::new();
        let room = RoomId::random();
        let (alice, bob) = (fixture.connect("alice").await, fixture.connect("bob").await);
        for conn in [&alice, &bob] {
            fixture.hub.join(conn.handle.id, room).await.unwrap();
        }
        fixture.hub.disconnect(alice.handle.id);
        assert!(!fixture.hub.is_joined(alice.handle.id, room));
        fixture.hub.deliver_messages(batch(room, [1]));
        assert_eq!((alice.summary(), bob.summary()), (Vec::<String>::new(), vec!["chat_message 1".to_owned()]));
        assert!(matches!(fixture.hub.join(alice.handle.id, room).await, Err(JoinError::NotConnected)));
    }
}
