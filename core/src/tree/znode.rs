//! One znode: data, ACL, persisted stat and children names.

use std::sync::Arc;

use crate::Data;
use imbl::OrdSet;

use crate::proto::records::{Acl, Stat};

use super::NodeKind;

/// The Stat fields that are stored (ZooKeeper's StatPersisted); dataLength and numChildren are derived.
///
/// `cversion` here counts the creates under this node: it is what a create's `parent_cversion` sets and what
/// sequential suffixes come from. Clients see `2 * cversion - numChildren` (see [`ZNode::stat`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PersistedStat {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    /// The raw owner (see [`NodeKind`]): container and TTL markers included.
    pub ephemeral_owner: i64,
    pub pzxid: i64,
}

/// A znode as stored in the tree.
///
/// Kept compact: the ACL list is shared with every node that has the same list (the tree interns it), the data
/// is a `Data` shared with the txn that set it, and leaf nodes have an empty, unallocated children set.
/// Cloning is O(1): the children set is a persistent B-tree, so a snapshot that shares a node with 100,000
/// children does not copy them when the live tree adds one more (only the touched B-tree nodes are copied).
#[derive(Debug, Clone)]
pub struct ZNode {
    data: Data,
    acl: Arc<[Acl]>,
    stat: PersistedStat,
    children: OrdSet<Arc<str>>,
    /// This node's term of the tree digest, as last set by the tree (which knows the path): a change
    /// subtracts it instead of hashing the old content again.
    pub(super) hash: u64,
}

impl ZNode {
    pub(super) fn new(data: Data, acl: Arc<[Acl]>, stat: PersistedStat) -> ZNode {
        ZNode {
            data,
            acl,
            stat,
            children: OrdSet::new(),
            hash: 0,
        }
    }

    pub fn data(&self) -> &Data {
        &self.data
    }

    pub fn acl(&self) -> &[Acl] {
        &self.acl
    }

    /// The stored stat fields, as snapshots and the digest see them.
    pub fn persisted_stat(&self) -> &PersistedStat {
        &self.stat
    }

    /// The Stat as clients see it (DataNode.copyStat): container and TTL owners read as 0, and cversion is
    /// `2 * stored cversion - numChildren`, so that a delete (which leaves the stored count alone) still
    /// raises it by one.
    pub fn stat(&self) -> Stat {
        let num_children = self.num_children() as i32;
        let s = &self.stat;
        Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion.wrapping_mul(2).wrapping_sub(num_children),
            aversion: s.aversion,
            ephemeral_owner: self.kind().client_owner(),
            data_length: self.data.len() as i32,
            num_children,
            pzxid: s.pzxid,
        }
    }

    pub fn kind(&self) -> NodeKind {
        NodeKind::from_owner(self.stat.ephemeral_owner)
    }

    /// Children names, sorted.
    pub fn children(&self) -> impl Iterator<Item = &str> {
        self.children.iter().map(|c| &**c)
    }

    pub fn num_children(&self) -> usize {
        self.children.len()
    }

    pub fn has_child(&self, name: &str) -> bool {
        self.children.contains(name)
    }

    pub(super) fn stat_mut(&mut self) -> &mut PersistedStat {
        &mut self.stat
    }

    pub(super) fn set_data(&mut self, data: Data) {
        self.data = data;
    }

    /// Replaces the ACL, returning the old one (for the tree's interning table).
    pub(super) fn replace_acl(&mut self, acl: Arc<[Acl]>) -> Arc<[Acl]> {
        std::mem::replace(&mut self.acl, acl)
    }

    /// Adds a child name; false if it was there already.
    pub(super) fn add_child(&mut self, name: &str) -> bool {
        self.children.insert(Arc::from(name)).is_none()
    }

    pub(super) fn remove_child(&mut self, name: &str) {
        self.children.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(owner: i64) -> ZNode {
        let stat = PersistedStat {
            ephemeral_owner: owner,
            cversion: 3,
            ..PersistedStat::default()
        };
        ZNode::new(Data::from_static(b"abc"), Arc::from(Vec::new()), stat)
    }

    #[test]
    fn client_stat_masks_container_and_ttl_owners() {
        assert_eq!(
            node(NodeKind::Container.to_owner()).stat().ephemeral_owner,
            0
        );
        assert_eq!(
            node(NodeKind::Ttl(100).to_owner()).stat().ephemeral_owner,
            0
        );
        assert_eq!(node(77).stat().ephemeral_owner, 77);
    }

    #[test]
    fn client_cversion_counts_creates_and_deletes() {
        // 3 creates, 1 child left: 2 deletes happened, so 5 changes.
        let mut n = node(0);
        n.add_child("a");
        let s = n.stat();
        assert_eq!(s.cversion, 5);
        assert_eq!(s.num_children, 1);
        assert_eq!(s.data_length, 3);
    }

    #[test]
    fn children_are_sorted() {
        let mut n = node(0);
        for c in ["b", "a", "c10", "c2"] {
            n.add_child(c);
        }
        assert_eq!(n.children().collect::<Vec<_>>(), ["a", "b", "c10", "c2"]);
        n.remove_child("b");
        assert!(!n.has_child("b"));
        assert_eq!(n.num_children(), 3);
    }
}
