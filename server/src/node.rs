//! Which server process ("node") a connection lives on, and connection ids
//! that stay unique when several nodes share one store and one bus.
//!
//! A node id is 64 random bits drawn at start; a connection id is the node
//! id and a counter. Two nodes draw the same id with probability 2⁻⁶⁴ per
//! pair, and a restarted node draws a new one, so an id from before a
//! restart never names a connection after it.

use std::sync::atomic::{AtomicU64, Ordering};

/// One running server process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct NodeId(u64);

impl NodeId {
    /// A fresh random node id.
    pub fn random() -> Result<Self, getrandom::Error> {
        getrandom::u64().map(Self)
    }

    /// A fixed node id, for tests.
    pub fn from_raw(raw: u64) -> Self {
        Self(raw)
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// One authenticated connection, on whichever node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct ConnId {
    node: NodeId,
    serial: u64,
}

impl ConnId {
    /// The node the connection lives on.
    pub fn node(&self) -> NodeId {
        self.node
    }
}

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.node, self.serial)
    }
}

/// Hands out this node's connection ids.
#[derive(Debug)]
pub struct ConnIds {
    node: NodeId,
    next: AtomicU64,
}

impl ConnIds {
    /// Ids on `node`, from 1.
    pub fn new(node: NodeId) -> Self {
        Self { node, next: AtomicU64::new(1) }
    }

    /// A connection id never handed out before on any node.
    pub fn next(&self) -> ConnId {
        ConnId { node: self.node, serial: self.next.fetch_add(1, Ordering::Relaxed) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_within_a_node_and_between_nodes() {
        let (one, two) = (ConnIds::new(NodeId::from_raw(1)), ConnIds::new(NodeId::from_raw(2)));
        let (a, b, c) = (one.next(), one.next(), two.next());
        assert_ne!(a, b);
        assert_ne!(a, c, "the same serial on two nodes is two connections");
        assert_eq!(c.node(), NodeId::from_raw(2));
        assert_eq!(a.to_string(), "0000000000000001-1");
        assert_ne!(NodeId::random().unwrap(), NodeId::random().unwrap());
    }
}
