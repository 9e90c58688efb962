//! Test scaffolding for the hub's unit tests: a hub over a real store in a
//! temporary dir, and connections whose queued frames can be read back.

use super::{ConnHandle, Hub, Inbox};
use crate::bus::{Reply, Subscriptions};
use crate::bus::local::LocalSubscriptions;
use crate::node::{ConnIds, NodeId};
use crate::store::{MessageRecord, NewMessage, SledStore, Store, TokenHash, UserSummary};
use heartlink_protocol::{ChatMessage, RoomId, ServerMsg, User, UserId, encode_server};
use serde_json::Value;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_tungstenite::tungstenite::Utf8Bytes;

pub(super) struct Fixture {
    pub hub: Arc<Hub>,
    pub store: Arc<SledStore>,
    ids: ConnIds,
    _dir: tempfile::TempDir,
}

pub(super) struct TestConn {
    pub handle: ConnHandle,
    pub inbox: Inbox,
}

impl Fixture {
    pub fn new() -> Self {
        Self::with_subscriptions(Arc::new(LocalSubscriptions))
    }

    pub fn with_subscriptions(subscriptions: Arc<dyn Subscriptions>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(dir.path()).unwrap());
        let hub = Arc::new(Hub::new(store.clone(), subscriptions));
        Self { hub, store, ids: ConnIds::new(NodeId::from_raw(1)), _dir: dir }
    }

    /// A new user's connection, registered with the hub.
    pub async fn connect(&self, name: &str) -> TestConn {
        self.connect_as(&User { id: UserId::random(), username: name.into() }).await
    }

    /// Another connection of `user`, with a token of its own.
    pub async fn connect_as(&self, user: &User) -> TestConn {
        let (handle, inbox) = ConnHandle::new(self.ids.next(), user.clone(), 64, &CancellationToken::new());
        self.hub.connect(handle.clone(), self.token_of_id(handle.id)).await.unwrap();
        TestConn { handle, inbox }
    }

    /// The token `conn` authenticated with.
    pub fn token_of(&self, conn: &TestConn) -> TokenHash {
        self.token_of_id(conn.handle.id)
    }

    fn token_of_id(&self, conn: crate::node::ConnId) -> TokenHash {
        use sha2::Digest;
        sha2::Sha256::digest(conn.to_string()).into()
    }

    /// Stores `count` messages in `room` (as the store's own seqs 1, 2, …).
    pub async fn store_messages(&self, room: RoomId, count: u64) {
        let sender = UserSummary { id: UserId::random(), username: "writer".into() };
        let batch = (0..count)
            .map(|n| {
                let record =
                    MessageRecord { sender: sender.clone(), body: format!("m{n}"), ts: n, client_msg_id: format!("{room}-{n}"), ..MessageRecord::default() };
                NewMessage { room, record }
            })
            .collect();
        self.store.append_batch(batch).await.unwrap();
    }
}

impl TestConn {
    /// Everything queued for the connection, decoded, oldest first.
    pub fn frames(&self) -> Vec<Value> {
        std::iter::from_fn(|| self.inbox.try_recv()).map(|frame| serde_json::from_str(&frame).unwrap()).collect()
    }

    /// What was queued, as `type` or `type seq` (for messages and acks).
    pub fn summary(&self) -> Vec<String> {
        self.frames()
            .iter()
            .map(|frame| match (frame["type"].as_str().unwrap(), frame["seq"].as_u64()) {
                (kind, Some(seq)) => format!("{kind} {seq}"),
                (kind, None) => kind.to_owned(),
            })
            .collect()
    }
}

/// A durable message as a bus hands it over.
pub(super) fn message(room: RoomId, seq: u64) -> ChatMessage {
    ChatMessage { room_id: room, seq, body: format!("m{seq}"), ..ChatMessage::default() }
}

/// The ack for `seq`, to be delivered after it.
pub(super) fn ack(conn: &TestConn, room: RoomId, seq: u64) -> Reply {
    let ack = ServerMsg::Ack { room_id: room, client_msg_id: format!("c{seq}"), seq, ts: 1, call: None };
    Reply { conn: conn.handle.id, room, after_seq: seq, frame: Utf8Bytes::from(encode_server(&ack, None)) }
}
