//! The DataTree: znodes, their Stat, ACLs, ephemeral owners, containers and TTL nodes.
//!
//! Reads take `&self`; the only mutation is [`DataTree::apply`], which applies one committed txn in zxid order.
//! That is the single place where replicated state changes.

mod apply;
mod digest;
mod node_kind;
mod znode;

pub use apply::{ApplyOutcome, WatchTrigger};
pub use node_kind::NodeKind;
pub use znode::ZNode;

use std::collections::{BTreeMap, BTreeSet};

use crate::proto::records::Stat;
use crate::Zxid;

/// Sessions with their timeouts, kept beside the tree because they are replicated state too
/// (ZooKeeper's ZKDatabase.sessionsWithTimeouts).
pub type SessionTimeouts = BTreeMap<i64, i32>;

/// The replicated znode tree.
pub struct DataTree {
    nodes: BTreeMap<String, ZNode>,
    /// session id -> paths of its ephemeral nodes.
    ephemerals: BTreeMap<i64, BTreeSet<String>>,
    containers: BTreeSet<String>,
    ttls: BTreeSet<String>,
    sessions: SessionTimeouts,
    last_zxid: Zxid,
}

impl DataTree {
    /// A fresh tree holding "/", "/zookeeper", "/zookeeper/quota" and "/zookeeper/config".
    pub fn new() -> DataTree {
        todo!()
    }

    /// The node at `path`, if any.
    pub fn get(&self, path: &str) -> Option<&ZNode> {
        self.nodes.get(path)
    }

    /// The client-visible Stat of `path`.
    pub fn stat(&self, path: &str) -> Option<Stat> {
        self.get(path).map(|n| n.stat())
    }

    /// Children names of `path` in a deterministic (sorted) order.
    pub fn children(&self, path: &str) -> Option<Vec<String>> {
        self.get(path)
            .map(|n| n.children().map(str::to_owned).collect())
    }

    /// Number of all descendants of `path` (getAllChildrenNumber), not counting `path` itself.
    pub fn count_descendants(&self, path: &str) -> Option<i32> {
        let _ = path;
        todo!()
    }

    /// Paths of the ephemeral nodes owned by `session_id`, sorted.
    pub fn ephemerals_of(&self, session_id: i64) -> impl Iterator<Item = &str> {
        self.ephemerals
            .get(&session_id)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Every session that owns ephemerals, with its paths.
    pub fn all_ephemerals(&self) -> &BTreeMap<i64, BTreeSet<String>> {
        &self.ephemerals
    }

    /// Paths of container nodes (candidates for removal when empty).
    pub fn containers(&self) -> &BTreeSet<String> {
        &self.containers
    }

    /// Paths of TTL nodes.
    pub fn ttls(&self) -> &BTreeSet<String> {
        &self.ttls
    }

    /// Live sessions and their timeouts.
    pub fn sessions(&self) -> &SessionTimeouts {
        &self.sessions
    }

    /// The zxid of the last applied txn.
    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }

    /// Number of znodes, including "/" and the /zookeeper subtree (as mntr's zk_znode_count).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Sum of path lengths and data lengths (mntr's zk_approximate_data_size).
    pub fn approximate_data_size(&self) -> u64 {
        todo!()
    }

    /// A digest of the whole tree's content and Stats; equal trees at equal zxids have equal digests.
    pub fn digest(&self) -> u64 {
        todo!()
    }
}

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new()
    }
}
