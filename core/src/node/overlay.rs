//! Changes proposed but not yet applied (ZooKeeper's outstandingChanges). Writes are validated against the
//! tree as it will be once every earlier txn applies, so pipelined writes see each other.

use std::collections::{BTreeMap, VecDeque};

use crate::proto::records::Acl;
use crate::tree::DataTree;
use crate::Zxid;

/// What prep needs to know about a node.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    pub version: i32,
    /// The stored cversion (see [`crate::tree::PersistedStat`]).
    pub cversion: i32,
    pub aversion: i32,
    /// Raw ephemeralOwner (see [`crate::tree::NodeKind`]).
    pub owner: i64,
    pub num_children: i32,
    pub acl: Vec<Acl>,
    /// The data's length (null counts 0), for quota checks.
    pub data_len: usize,
}

/// Pending changes by path: `None` means the node is being deleted.
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub struct Overlay {
    records: BTreeMap<String, (Zxid, Option<NodeView>)>,
    by_zxid: VecDeque<(Zxid, Vec<String>)>,
}

impl Overlay {
    /// Records the changes of the txn `zxid`.
    pub fn record(&mut self, zxid: Zxid, changes: BTreeMap<String, Option<NodeView>>) {
        if changes.is_empty() {
            return;
        }
        let paths: Vec<String> = changes.keys().cloned().collect();
        for (path, view) in changes {
            self.records.insert(path, (zxid, view));
        }
        self.by_zxid.push_back((zxid, paths));
    }

    /// Forgets changes made by txns up to `zxid`: the tree now shows them.
    pub fn applied(&mut self, zxid: Zxid) {
        while let Some((z, _)) = self.by_zxid.front() {
            if *z > zxid {
                break;
            }
            let Some((z, paths)) = self.by_zxid.pop_front() else {
                break;
            };
            for p in paths {
                if self.records.get(&p).is_some_and(|(rz, _)| *rz == z) {
                    self.records.remove(&p);
                }
            }
        }
    }
}

/// The tree as prep sees it: the applied tree, under pending changes, under this request's own changes.
pub struct View<'a> {
    tree: &'a DataTree,
    overlay: &'a Overlay,
    pub changes: BTreeMap<String, Option<NodeView>>,
}

impl<'a> View<'a> {
    /// The applied tree, without pending changes (what ZooKeeper's quota check reads).
    pub fn tree(&self) -> &'a DataTree {
        self.tree
    }

    pub fn new(tree: &'a DataTree, overlay: &'a Overlay) -> View<'a> {
        View {
            tree,
            overlay,
            changes: BTreeMap::new(),
        }
    }

    pub fn get(&self, path: &str) -> Option<NodeView> {
        if let Some(v) = self.changes.get(path) {
            return v.clone();
        }
        if let Some((_, v)) = self.overlay.records.get(path) {
            return v.clone();
        }
        let node = self.tree.get(path)?;
        // The stored cversion, not the client Stat's (ZooKeeper derives the latter from it).
        let stat = node.persisted_stat();
        Some(NodeView {
            version: stat.version,
            cversion: stat.cversion,
            aversion: stat.aversion,
            owner: stat.ephemeral_owner,
            num_children: node.num_children() as i32,
            acl: node.acl().to_vec(),
            data_len: node.data().len(),
        })
    }

    pub fn set(&mut self, path: &str, view: Option<NodeView>) {
        self.changes.insert(path.to_owned(), view);
    }
}
