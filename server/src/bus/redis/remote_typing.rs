//! Typing indicators that other nodes switched on, kept on the viewers' node
//! so that they go off when their node dies.
//!
//! An indicator lives with the typing connection on its node (`hub/typing.rs`),
//! which switches it off when it expires or the connection closes. A node that
//! dies (`kill -9`, a lost machine) switches nothing off: its viewers on other
//! nodes would see "typing…" until the user's next change. So each node notes
//! which node switched each remote indicator on, and once that node's liveness
//! key (renewed every second, expiring after `NODE_TTL`) is gone on two looks
//! in a row, delivers `typing{active:false}` to its own viewers: within a few
//! seconds of the death, well inside the typing expiry the protocol promises.
//! Two looks, not one: a Redis that restarted empty has no liveness key at
//! all until each node's next beat.

use crate::bus::{Deliver, RoomEvent};
use crate::live::redis::nodes::liveness_key;
use crate::node::NodeId;
use heartlink_protocol::{RoomId, User, UserId};
use redis::aio::ConnectionManager;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the nodes of remote indicators are looked at.
const LOOK: Duration = Duration::from_secs(1);

/// Per user typing in a room: the node that switched the indicator on, and the user as published.
type Typers = HashMap<UserId, (NodeId, User)>;

/// Per room, the users whose indicator another node switched on.
#[derive(Debug, Default)]
pub(super) struct RemoteTyping {
    rooms: Mutex<HashMap<RoomId, Typers>>,
}

impl RemoteTyping {
    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, Typers>> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `event` of `room` arrived from `node`: a typing change is noted (the
    /// latest node to switch a user's indicator on owns it).
    pub fn note(&self, node: NodeId, room: RoomId, event: &RoomEvent) {
        let RoomEvent::Typing { user, active } = event else { return };
        let mut rooms = self.rooms();
        if *active {
            rooms.entry(room).or_default().insert(user.id, (node, user.clone()));
        } else if let Some(users) = rooms.get_mut(&room) {
            users.remove(&user.id);
            if users.is_empty() {
                rooms.remove(&room);
            }
        }
    }

    /// This node no longer has connections in `room`: nobody here to switch off for.
    pub fn forget_room(&self, room: RoomId) {
        self.rooms().remove(&room);
    }

    /// The nodes that own an indicator now.
    fn owners(&self) -> Vec<NodeId> {
        let owners: HashSet<NodeId> = self.rooms().values().flat_map(|users| users.values().map(|(node, _)| *node)).collect();
        owners.into_iter().collect()
    }

    /// Takes out every indicator of the nodes in `dead`.
    fn take_of(&self, dead: &HashSet<NodeId>) -> Vec<(RoomId, User)> {
        let mut taken = Vec::new();
        let mut rooms = self.rooms();
        rooms.retain(|room, users| {
            users.retain(|_, (node, user)| {
                let keep = !dead.contains(node);
                if !keep {
                    taken.push((*room, user.clone()));
                }
                keep
            });
            !users.is_empty()
        });
        taken
    }
}

/// Every [`LOOK`], switches off for this node's viewers the indicators of
/// nodes whose liveness key was gone on this look and the one before.
pub(super) async fn expire_dead_nodes(
    typing: Arc<RemoteTyping>,
    mut conn: ConnectionManager,
    deliver: Arc<dyn Deliver>,
    shutdown: CancellationToken,
) {
    let mut every = tokio::time::interval(LOOK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut missing_before: HashSet<NodeId> = HashSet::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let owners = typing.owners();
        if owners.is_empty() {
            missing_before.clear();
            continue;
        }
        let mut pipe = redis::pipe();
        for node in &owners {
            pipe.cmd("EXISTS").arg(liveness_key(*node));
        }
        let alive: Vec<bool> = match tokio::time::timeout(super::REDIS_TIMEOUT, pipe.query_async(&mut conn)).await {
            Ok(Ok(alive)) => alive,
            // Redis down: nothing is known about the nodes; look again later.
            _ => continue,
        };
        let missing: HashSet<NodeId> = owners.iter().zip(alive).filter(|(_, alive)| !alive).map(|(node, _)| *node).collect();
        let dead: HashSet<NodeId> = missing.intersection(&missing_before).copied().collect();
        missing_before = missing;
        if dead.is_empty() {
            continue;
        }
        for (room, user) in typing.take_of(&dead) {
            tracing::debug!(%room, user = %user.username, "the typing user's node is gone: indicator off");
            deliver.deliver_room(room, &RoomEvent::Typing { user, active: false });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> User {
        User { id: UserId::random(), username: name.to_owned() }
    }

    #[test]
    fn the_latest_node_to_switch_an_indicator_on_owns_it_and_a_stop_forgets_it() {
        let typing = RemoteTyping::default();
        let (one, two) = (NodeId::from_raw(1), NodeId::from_raw(2));
        let room = RoomId::random();
        let bob = user("bob");
        typing.note(one, room, &RoomEvent::Typing { user: bob.clone(), active: true });
        // bob reconnected to node two and types there: node one's death must not switch him off.
        typing.note(two, room, &RoomEvent::Typing { user: bob.clone(), active: true });
        assert_eq!(typing.owners(), [two]);
        assert!(typing.take_of(&HashSet::from([one])).is_empty());
        assert_eq!(typing.take_of(&HashSet::from([two])), [(room, bob.clone())]);
        assert!(typing.owners().is_empty());

        typing.note(one, room, &RoomEvent::Typing { user: bob.clone(), active: true });
        typing.note(one, room, &RoomEvent::Typing { user: bob.clone(), active: false });
        assert!(typing.owners().is_empty(), "a stop forgets the indicator");
        typing.note(one, room, &RoomEvent::Typing { user: bob, active: true });
        typing.forget_room(room);
        assert!(typing.owners().is_empty(), "a room left forgets its indicators");
    }
}
