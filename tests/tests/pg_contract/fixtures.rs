//! The two stores under the contract, and records to feed them.

use heartlink_protocol::{RoomId, UserId};
use heartlink_server::store::{
    MessageRecord, NewMessage, NewUser, PostgresStore, RoomKindRecord, RoomRecord, SchemaMode, SledStore, Store, UserSummary,
};
use std::sync::Arc;

/// Which implementation a scenario runs against.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Sled,
    Postgres,
}

/// A fresh, empty store of `kind`, plus what keeps it alive (the sled dir)
/// and, for PostgreSQL, its URL (a second node opens the same database).
pub struct Fresh {
    pub store: Arc<dyn Store>,
    pub url: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

pub async fn fresh(kind: Kind) -> Fresh {
    match kind {
        Kind::Sled => {
            let dir = tempfile::tempdir().unwrap();
            let store = SledStore::open(dir.path()).unwrap();
            Fresh { store: Arc::new(store), url: None, _dir: Some(dir) }
        }
        Kind::Postgres => {
            let url = heartlink_tests::postgres::shared().fresh_database();
            let store = PostgresStore::open(&url, SchemaMode::Migrate).await.unwrap();
            Fresh { store: Arc::new(store), url: Some(url), _dir: None }
        }
    }
}

pub fn summary(id: UserId, name: &str) -> UserSummary {
    UserSummary { id, username: name.into() }
}

pub fn message(room: RoomId, sender: UserId, client_msg_id: &str, ts: u64) -> NewMessage {
    let record = MessageRecord {
        sender: summary(sender, "alice"),
        body: format!("body of {client_msg_id}"),
        ts,
        client_msg_id: client_msg_id.into(),
        ..MessageRecord::default()
    };
    NewMessage { room, record }
}

pub async fn user(store: &dyn Store, name: &str) -> UserId {
    let new = NewUser { username: name.into(), canonical: name.into(), lookalikes: vec![format!("look-{name}")], password_hash: "h".into(), created_at: 1 };
    store.create_user(new).await.unwrap().unwrap().id
}

pub async fn room(store: &dyn Store, creator: UserId, members: &[UserId]) -> RoomId {
    let record = RoomRecord {
        id: RoomId::random(),
        name: "general".into(),
        kind: RoomKindRecord::Group,
        created_by: creator,
        created_at: 3,
        pair: Vec::new(),
    };
    store.create_room(&record, members, 5).await.unwrap();
    record.id
}

/// One test per store for each scenario: `name_sled` and `name_postgres`.
#[macro_export]
macro_rules! both_stores {
    ($($scenario:ident),* $(,)?) => {
        mod sled {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario($crate::fixtures::Kind::Sled).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario($crate::fixtures::Kind::Postgres).await;
                }
            )*
        }
    };
}
