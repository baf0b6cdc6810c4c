//! Rebuilding a [`DataTree`] from snapshot records: each node's path, data, ACL and persisted stat in sorted
//! path order, then the sessions, then the zxid the snapshot is exact at.
//!
//! The result has every index a tree built by applying txns has (children, ephemerals, containers, TTL
//! nodes, interned ACLs, digest, data size), so `restore(snapshot(tree))` has the same digest as `tree`.
//! Records come from disk: anything that does not describe a tree (an orphan, a duplicate or unsorted path, an
//! invalid path, children under an ephemeral, no root) is an error value, never a panic.

use std::sync::Arc;

use crate::proto::path;
use crate::proto::records::Acl;
use crate::{Data, Zxid};

use super::{DataTree, NodeKind, PersistedStat, ZNode};

/// Why snapshot records do not describe a tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    #[error("the first node must be the root \"/\", not {0:?}")]
    RootFirst(String),
    #[error("node {path:?} is not after {previous:?} in path order (duplicate or unsorted)")]
    OutOfOrder { path: String, previous: String },
    #[error("node {path:?} has an invalid path: {reason}")]
    BadPath { path: String, reason: String },
    #[error("node {0:?} has no parent node")]
    Orphan(String),
    #[error("node {0:?} is under an ephemeral node")]
    ChildOfEphemeral(String),
    #[error("session 0x{0:x} appears twice")]
    DuplicateSession(i64),
    #[error("no root node")]
    NoRoot,
    #[error("node {0:?} appears twice")]
    Duplicate(String),
}

/// Builds a tree from snapshot records: [`TreeBuilder::node`] for each node in sorted path order,
/// [`TreeBuilder::session`] for each session, then [`TreeBuilder::finish`].
#[derive(Debug)]
pub struct TreeBuilder {
    tree: DataTree,
    /// The last node added (records must come in strictly increasing path order).
    previous: Option<String>,
    /// Records come parent before child but otherwise in any order (ZooKeeper's snapshots).
    parents_first: bool,
    /// The ACL list of the last node, and how many nodes since its interning used it too: runs of nodes
    /// with one list (the usual case) cost a comparison each instead of a lookup in the ACL table.
    last_acl: Option<(Arc<[Acl]>, usize)>,
}

impl Default for TreeBuilder {
    fn default() -> Self {
        TreeBuilder::new()
    }
}

impl TreeBuilder {
    /// An empty builder (no nodes at all, not even the root).
    pub fn new() -> TreeBuilder {
        TreeBuilder {
            tree: DataTree {
                nodes: Default::default(),
                ephemerals: Default::default(),
                containers: Default::default(),
                ttls: Default::default(),
                quota_roots: Default::default(),
                sessions: Default::default(),
                last_zxid: 0,
                acls: Default::default(),
                digest: 0,
                data_size: 0,
            },
            previous: None,
            parents_first: false,
            last_acl: None,
        }
    }

    /// A builder for records in any order that puts every parent before its children, the root first:
    /// ZooKeeper's snapshots walk the tree in pre-order with siblings in hash order. Duplicates are found by
    /// lookup instead of by order.
    pub fn parents_first() -> TreeBuilder {
        TreeBuilder {
            parents_first: true,
            ..TreeBuilder::new()
        }
    }

    /// Adds a node. Its parent must already be there, which sorted order guarantees for a real tree (a
    /// parent's path is a prefix of its children's, so it sorts first).
    pub fn node(
        &mut self,
        node_path: &str,
        data: Data,
        acl: &[Acl],
        stat: PersistedStat,
    ) -> Result<(), RestoreError> {
        match &self.previous {
            None if node_path != "/" => return Err(RestoreError::RootFirst(node_path.to_owned())),
            Some(previous) if !self.parents_first && node_path <= previous.as_str() => {
                return Err(RestoreError::OutOfOrder {
                    path: node_path.to_owned(),
                    previous: previous.clone(),
                })
            }
            _ => {}
        }
        path::validate(node_path, false).map_err(|e| RestoreError::BadPath {
            path: node_path.to_owned(),
            reason: e.to_string(),
        })?;
        if node_path != "/" {
            let parent = self
                .tree
                .node_mut(path::parent(node_path))
                .ok_or_else(|| RestoreError::Orphan(node_path.to_owned()))?;
            if matches!(parent.kind(), NodeKind::Ephemeral(_)) {
                return Err(RestoreError::ChildOfEphemeral(node_path.to_owned()));
            }
            // The parent's hash does not cover its children, so adding one needs no rehash. In sorted order a
            // duplicate is out of order; in parents-first order it is a name the parent has already.
            if !parent.add_child(path::basename(node_path)) {
                return Err(RestoreError::Duplicate(node_path.to_owned()));
            }
        } else if self.previous.is_some() {
            return Err(RestoreError::Duplicate(node_path.to_owned()));
        }
        let acl = match &mut self.last_acl {
            Some((shared, uses)) if **shared == *acl => {
                *uses += 1;
                Arc::clone(shared)
            }
            _ => {
                self.flush_acl_uses();
                let shared = self.tree.acls.intern(acl);
                self.last_acl = Some((Arc::clone(&shared), 0));
                shared
            }
        };
        self.tree
            .insert_node(node_path, ZNode::new(data, acl, stat));
        if self.previous.is_none() || !self.parents_first {
            let previous = self.previous.get_or_insert_with(String::new);
            previous.clear();
            previous.push_str(node_path);
        }
        Ok(())
    }

    /// Counts the uses of the last ACL list not counted yet.
    fn flush_acl_uses(&mut self) {
        if let Some((shared, uses)) = self.last_acl.take() {
            self.tree.acls.add_uses(&shared, uses);
        }
    }

    /// Adds a live session with its timeout (ms).
    pub fn session(&mut self, session_id: i64, timeout: i32) -> Result<(), RestoreError> {
        if self.tree.sessions.contains_key(&session_id) {
            return Err(RestoreError::DuplicateSession(session_id));
        }
        self.tree.put_session(session_id, timeout);
        Ok(())
    }

    /// The tree, exact at `last_zxid`.
    pub fn finish(mut self, last_zxid: Zxid) -> Result<DataTree, RestoreError> {
        if !self.tree.nodes.contains_key("/") {
            return Err(RestoreError::NoRoot);
        }
        self.flush_acl_uses();
        self.tree.last_zxid = last_zxid;
        self.tree.index_quotas();
        Ok(self.tree)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::records::Id;
    use crate::tree::{CONTAINER_OWNER, ZOOKEEPER_PATH};
    use crate::txn::{Txn, TxnHeader};

    const SESSION: i64 = 0x0100_0000_0000_0001;

    fn acl(perms: i32, id: &str) -> Vec<Acl> {
        vec![Acl {
            perms,
            id: Id {
                scheme: "world".into(),
                id: id.into(),
            },
        }]
    }

    fn create(path: &str, owner: i64, perms: i32) -> Txn {
        Txn::Create {
            path: path.into(),
            data: Data::from(format!("data of {path}")),
            acl: acl(perms, "anyone"),
            ephemeral_owner: owner,
            parent_cversion: -1,
        }
    }

    /// A tree with every kind of node and index in use, built by applying txns.
    fn applied_tree() -> DataTree {
        let mut tree = DataTree::new();
        let txns = vec![
            Txn::CreateSession { timeout: 30_000 },
            create("/a", 0, 31),
            create("/a/b", 0, 1),
            create("/a/b/c", SESSION, 31),
            create("/a-b", CONTAINER_OWNER, 31),
            create("/a-b/x", 0, 31),
            create("/ttl", NodeKind::Ttl(5000).to_owner(), 31),
            create("/gone", 0, 31),
            Txn::Delete {
                path: "/gone".into(),
            },
            Txn::SetData {
                path: "/a".into(),
                data: Data::from_static(b"new"),
                version: 1,
            },
            Txn::SetAcl {
                path: "/a/b".into(),
                acl: acl(3, "anyone"),
                version: 1,
            },
            create("/\u{e9}t\u{e9}", 0, 31),
        ];
        for (i, txn) in txns.iter().enumerate() {
            let header = TxnHeader {
                session_id: SESSION,
                cxid: i as i32,
                zxid: i as i64 + 1,
                time: 1000 + i as i64,
            };
            let outcome = tree.apply(&header, txn);
            assert_eq!(outcome.err, None, "{txn:?}");
        }
        tree
    }

    fn restore(tree: &DataTree) -> Result<DataTree, RestoreError> {
        let mut b = TreeBuilder::new();
        for (p, n) in tree.nodes() {
            b.node(p, n.data().clone(), n.acl(), *n.persisted_stat())?;
        }
        for (&s, &t) in tree.sessions() {
            b.session(s, t)?;
        }
        b.finish(tree.last_zxid())
    }

    #[test]
    fn restoring_a_snapshot_rebuilds_every_index() {
        let tree = applied_tree();
        let restored = restore(&tree).unwrap();
        restored.check_invariants().unwrap();
        assert_eq!(restored.digest(), tree.digest());
        assert_eq!(
            restored.approximate_data_size(),
            tree.approximate_data_size()
        );
        assert_eq!(restored.last_zxid(), tree.last_zxid());
        assert_eq!(restored.sessions(), tree.sessions());
        let ephemerals = |t: &DataTree| -> Vec<(i64, Vec<String>)> {
            t.all_ephemerals()
                .map(|(s, paths)| (s, paths.map(str::to_owned).collect()))
                .collect()
        };
        assert_eq!(ephemerals(&restored), ephemerals(&tree));
        assert!(restored.containers().eq(tree.containers()));
        assert!(restored.ttls().eq(tree.ttls()));
        for (p, n) in tree.nodes() {
            assert_eq!(restored.stat(p), Some(n.stat()), "{p}");
            assert_eq!(restored.children(p), tree.children(p), "{p}");
        }
    }

    #[test]
    fn a_restored_tree_applies_later_txns_like_the_original() {
        let mut tree = applied_tree();
        let mut restored = restore(&tree).unwrap();
        let header = TxnHeader {
            session_id: SESSION,
            cxid: 0,
            zxid: tree.last_zxid() + 1,
            time: 5000,
        };
        // Closing the session must find its ephemerals through the rebuilt index.
        assert_eq!(
            tree.apply(&header, &Txn::CloseSession),
            restored.apply(&header, &Txn::CloseSession)
        );
        assert_eq!(restored.get("/a/b/c").map(|_| ()), None);
        assert_eq!(restored.digest(), tree.digest());
        restored.check_invariants().unwrap();
    }

    #[test]
    fn a_fresh_tree_round_trips() {
        let tree = DataTree::new();
        let restored = restore(&tree).unwrap();
        assert_eq!(restored.digest(), tree.digest());
        restored.check_invariants().unwrap();
    }

    fn stat() -> PersistedStat {
        PersistedStat::default()
    }

    fn build(paths: &[&str]) -> Result<DataTree, RestoreError> {
        let mut b = TreeBuilder::new();
        for p in paths {
            b.node(p, Data::default(), &acl(31, "anyone"), stat())?;
        }
        b.finish(7)
    }

    #[test]
    fn invalid_records_are_errors() {
        assert_eq!(
            build(&["/a"]).unwrap_err(),
            RestoreError::RootFirst("/a".into())
        );
        assert_eq!(build(&[]).unwrap_err(), RestoreError::NoRoot);
        assert_eq!(
            build(&["/", "/a/b"]).unwrap_err(),
            RestoreError::Orphan("/a/b".into())
        );
        assert!(matches!(
            build(&["/", "/a", "/a"]).unwrap_err(),
            RestoreError::OutOfOrder { .. }
        ));
        assert!(matches!(
            build(&["/", "/b", "/a"]).unwrap_err(),
            RestoreError::OutOfOrder { .. }
        ));
        assert!(matches!(
            build(&["/", "/a/"]).unwrap_err(),
            RestoreError::BadPath { .. }
        ));
        assert!(matches!(
            build(&["/", "//"]).unwrap_err(),
            RestoreError::BadPath { .. }
        ));
        let mut b = TreeBuilder::new();
        b.node("/", Data::default(), &[], stat()).unwrap();
        let eph = PersistedStat {
            ephemeral_owner: SESSION,
            ..stat()
        };
        b.node("/e", Data::default(), &[], eph).unwrap();
        assert_eq!(
            b.node("/e/x", Data::default(), &[], stat()).unwrap_err(),
            RestoreError::ChildOfEphemeral("/e/x".into())
        );
        b.session(1, 10).unwrap();
        assert_eq!(
            b.session(1, 20).unwrap_err(),
            RestoreError::DuplicateSession(1)
        );
    }

    #[test]
    fn restored_nodes_keep_their_data_and_acl() {
        let mut b = TreeBuilder::new();
        b.node("/", Data::default(), &acl(31, "anyone"), stat())
            .unwrap();
        b.node(
            ZOOKEEPER_PATH,
            Data::from_static(b"z"),
            &acl(1, "x"),
            stat(),
        )
        .unwrap();
        let tree = b.finish(3).unwrap();
        tree.check_invariants().unwrap();
        let z = tree.get(ZOOKEEPER_PATH).unwrap();
        assert_eq!(&z.data()[..], b"z");
        assert_eq!(z.acl(), &acl(1, "x")[..]);
        assert_eq!(tree.children("/").unwrap(), vec!["zookeeper".to_string()]);
    }
}
