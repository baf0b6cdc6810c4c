//! The DataTree: znodes, their Stat, ACLs, ephemeral owners, containers and TTL nodes.
//!
//! Reads take `&self`; the only mutation is [`DataTree::apply`], which applies one committed txn in zxid order.
//! That is the single place where replicated state changes.
//!
//! Every container in the tree is a persistent (copy-on-write) B-tree from `imbl`, so `clone()` is O(1): a
//! snapshot is a clone taken on the event loop and written out by another thread while the live tree goes on
//! changing. The clone shares all of its structure with the live tree; a later write copies only the few
//! B-tree nodes on its path (at most 16 entries each) that the snapshot still holds, and once the snapshot is
//! dropped the live tree is again the only owner and changes in place. Iteration is in key order, as with
//! `BTreeMap`.

mod acl_intern;
mod apply;
mod digest;
mod node_kind;
mod quota;
mod restore;
pub mod stats_track;
mod znode;
mod zookeeper_replay;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use apply::{ApplyOutcome, WatchTrigger};
pub use node_kind::{NodeKind, CONTAINER_OWNER, MAX_EXTENDED_SERVER_ID, MAX_TTL};
pub use quota::{QuotaExcess, LIMITS_NODE, STATS_NODE};
pub use restore::{RestoreError, TreeBuilder};
pub use stats_track::StatsTrack;
pub use znode::{PersistedStat, ZNode};

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use imbl::{OrdMap, OrdSet};

use crate::proto::path;
use crate::proto::records::{Acl, Id, Stat};
use crate::{Data, Zxid};

use acl_intern::AclIntern;

/// Sessions with their timeouts, kept beside the tree because they are replicated state too
/// (ZooKeeper's ZKDatabase.sessionsWithTimeouts). Sorted by session id; cloned in O(1) with the tree.
pub type SessionTimeouts = OrdMap<i64, i32>;

/// A full path, stored once and shared by the node map, the indexes and every snapshot of them.
type PathKey = Arc<str>;

/// The path of ZooKeeper's own subtree.
pub const ZOOKEEPER_PATH: &str = "/zookeeper";
/// Where quotas live.
pub const QUOTA_PATH: &str = "/zookeeper/quota";
/// The dynamic configuration node (ZooDefs.CONFIG_NODE).
pub const CONFIG_PATH: &str = "/zookeeper/config";

/// The replicated znode tree.
#[derive(Debug, Clone)]
pub struct DataTree {
    /// Full path -> node. Sorted, so iteration (snapshots, digests, dumps) is deterministic and a subtree is a
    /// contiguous range. Each znode sits behind its own `Arc` so that B-tree leaves stay small (lookups touch
    /// fewer cache lines; copying a leaf a snapshot shares copies 16 pointers, not 16 znodes) and a write after
    /// a snapshot copies only the one znode it changes.
    nodes: OrdMap<PathKey, Arc<ZNode>>,
    /// session id -> paths of its ephemeral nodes (no empty sets).
    ephemerals: OrdMap<i64, OrdSet<PathKey>>,
    containers: OrdSet<PathKey>,
    ttls: OrdSet<PathKey>,
    /// Paths that have a quota (a `zookeeper_limits` node under /zookeeper/quota): see `quota.rs`.
    quota_roots: OrdSet<PathKey>,
    sessions: SessionTimeouts,
    last_zxid: Zxid,
    acls: AclIntern,
    /// Sum of the per-node and per-session hashes (see `digest.rs`), kept up to date on every change.
    digest: u64,
    /// Sum of path lengths (in UTF-16 units, as Java's String.length) and data lengths.
    data_size: u64,
}

/// ZooDefs.Ids.OPEN_ACL_UNSAFE: everything for world:anyone.
fn open_acl() -> Vec<Acl> {
    world_acl(31)
}

fn world_acl(perms: i32) -> Vec<Acl> {
    vec![Acl {
        perms,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

/// The length ZooKeeper counts for a path: Java's String.length, in UTF-16 code units.
fn java_len(path: &str) -> u64 {
    if path.is_ascii() {
        path.len() as u64
    } else {
        path.encode_utf16().count() as u64
    }
}

impl DataTree {
    /// A fresh tree holding "/", "/zookeeper", "/zookeeper/quota" and "/zookeeper/config", with the Stats
    /// ZooKeeper 3.8 gives them: all zero (czxid 0, ctime 0, ...), ACL world:anyone with all permissions,
    /// except "/zookeeper/config" whose ACL is world:anyone READ only (ZOOKEEPER-2014) and whose aversion is
    /// -1 (ZooKeeper sets that ACL with version -1). The config node's data is empty; in ensemble mode
    /// ZooKeeper fills it with the dynamic config when the database loads.
    pub fn new() -> DataTree {
        let mut tree = DataTree {
            nodes: OrdMap::new(),
            ephemerals: OrdMap::new(),
            containers: OrdSet::new(),
            ttls: OrdSet::new(),
            quota_roots: OrdSet::new(),
            sessions: SessionTimeouts::new(),
            last_zxid: 0,
            acls: AclIntern::default(),
            digest: 0,
            data_size: 0,
        };
        let open = open_acl();
        for p in ["/", ZOOKEEPER_PATH, QUOTA_PATH] {
            let acl = tree.acls.intern(&open);
            tree.insert_node(
                p,
                ZNode::new(Data::default(), acl, PersistedStat::default()),
            );
        }
        let read_only = tree.acls.intern(&world_acl(1));
        let config_stat = PersistedStat {
            aversion: -1,
            ..PersistedStat::default()
        };
        tree.insert_node(
            CONFIG_PATH,
            ZNode::new(Data::default(), read_only, config_stat),
        );
        for p in [ZOOKEEPER_PATH, QUOTA_PATH, CONFIG_PATH] {
            if let Some(parent) = tree.node_mut(path::parent(p)) {
                parent.add_child(path::basename(p));
            }
        }
        tree
    }

    /// The node at `path`, if any.
    pub fn get(&self, path: &str) -> Option<&ZNode> {
        self.nodes.get(path).map(|n| &**n)
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

    /// Every node with its path, in sorted path order (for snapshots and dumps).
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &ZNode)> {
        self.nodes.iter().map(|(p, n)| (&**p, &**n))
    }

    /// Number of all descendants of `path` (getAllChildrenNumber), not counting `path` itself. For "/" that is
    /// every other node, the /zookeeper subtree included, as in ZooKeeper.
    pub fn count_descendants(&self, path: &str) -> Option<i32> {
        self.nodes.get(path)?;
        if path == "/" {
            return Some((self.nodes.len() - 1) as i32);
        }
        let prefix = format!("{path}/");
        let below = self
            .nodes
            .range::<_, str>((Bound::Included(prefix.as_str()), Bound::Unbounded))
            .take_while(|(p, _)| p.starts_with(&prefix))
            .count();
        Some(below as i32)
    }

    /// Paths of the ephemeral nodes owned by `session_id`, sorted.
    pub fn ephemerals_of(&self, session_id: i64) -> impl Iterator<Item = &str> {
        self.ephemerals
            .get(&session_id)
            .into_iter()
            .flatten()
            .map(|p| &**p)
    }

    /// Every session that owns ephemerals (in id order), with its paths (sorted).
    pub fn all_ephemerals(&self) -> impl Iterator<Item = (i64, impl Iterator<Item = &str>)> {
        self.ephemerals
            .iter()
            .map(|(&s, paths)| (s, paths.iter().map(|p| &**p)))
    }

    /// Number of ephemeral nodes (mntr's zk_ephemerals_count).
    pub fn ephemerals_count(&self) -> usize {
        self.ephemerals.values().map(OrdSet::len).sum()
    }

    /// Paths of container nodes (candidates for removal when empty), sorted.
    pub fn containers(&self) -> impl Iterator<Item = &str> {
        self.containers.iter().map(|p| &**p)
    }

    /// Paths of TTL nodes, sorted.
    pub fn ttls(&self) -> impl Iterator<Item = &str> {
        self.ttls.iter().map(|p| &**p)
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
    ///
    /// ZooKeeper's node map holds the root twice (under "/" and under the alias ""), and mntr reports that map's
    /// size, so a fresh ZooKeeper reports 5 for 4 nodes. We report the same.
    pub fn node_count(&self) -> usize {
        self.nodes.len() + 1
    }

    /// Sum of path lengths and data lengths (mntr's zk_approximate_data_size, which is ZooKeeper's
    /// cachedApproximateDataSize): path lengths in UTF-16 code units as Java counts them, data in bytes.
    pub fn approximate_data_size(&self) -> u64 {
        self.data_size
    }

    /// A digest of the whole tree's content and Stats; equal trees at equal zxids have equal digests.
    ///
    /// Covers every node's path, data, ACL and persisted stat, and every session with its timeout; it does not
    /// depend on the order the nodes were created in. O(1): maintained on every change.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// Checks the tree's internal consistency, in O(nodes): parent/child links, the indexes, the cached
    /// digest and data size. For tests and the simulator's checkers; returns what is wrong.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut digest = 0u64;
        let mut data_size = 0u64;
        let mut child_links = 0usize;
        let mut ephemerals: OrdMap<i64, OrdSet<PathKey>> = OrdMap::new();
        let mut containers = OrdSet::new();
        let mut ttls = OrdSet::new();
        for (p, node) in &self.nodes {
            let hash = digest::node_hash(p, node);
            if hash != node.hash {
                return Err(format!(
                    "{p}: cached digest term differs from its content's hash"
                ));
            }
            digest = digest.wrapping_add(hash);
            data_size += java_len(p) + node.data().len() as u64;
            child_links += node.num_children();
            if node.stat().num_children as usize != node.children().count() {
                return Err(format!("{p}: numChildren differs from its children"));
            }
            for c in node.children() {
                let child = if &**p == "/" {
                    format!("/{c}")
                } else {
                    format!("{p}/{c}")
                };
                if !self.nodes.contains_key(child.as_str()) {
                    return Err(format!("{p}: child {c} does not exist"));
                }
            }
            if &**p != "/" {
                match self.nodes.get(path::parent(p)) {
                    Some(parent) if parent.has_child(path::basename(p)) => {}
                    Some(_) => return Err(format!("{p}: not among its parent's children")),
                    None => return Err(format!("{p}: parent does not exist")),
                }
            }
            match node.kind() {
                NodeKind::Persistent => {}
                NodeKind::Ephemeral(s) => {
                    if node.num_children() > 0 {
                        return Err(format!("{p}: ephemeral with children"));
                    }
                    ephemerals.entry(s).or_default().insert(p.clone());
                }
                NodeKind::Container => {
                    containers.insert(p.clone());
                }
                NodeKind::Ttl(_) => {
                    ttls.insert(p.clone());
                }
            }
        }
        for (&s, &t) in &self.sessions {
            digest = digest.wrapping_add(digest::session_hash(s, t));
        }
        if child_links + 1 != self.nodes.len() {
            return Err(format!(
                "{} child links for {} nodes",
                child_links,
                self.nodes.len()
            ));
        }
        if !self.nodes.contains_key("/") {
            return Err("no root".into());
        }
        if ephemerals != self.ephemerals {
            return Err("ephemerals index differs from the nodes' owners".into());
        }
        if containers != self.containers {
            return Err("containers index differs from the nodes".into());
        }
        if ttls != self.ttls {
            return Err("ttls index differs from the nodes".into());
        }
        let mut reindexed = self.clone();
        reindexed.index_quotas();
        if reindexed.quota_roots != self.quota_roots {
            return Err("quota index differs from the limits nodes".into());
        }
        if digest != self.digest {
            return Err("cached digest differs from a full recomputation".into());
        }
        if data_size != self.data_size {
            return Err("cached data size differs from a full recomputation".into());
        }
        let mut acl_uses: BTreeMap<&[Acl], usize> = BTreeMap::new();
        for node in self.nodes.values() {
            *acl_uses.entry(node.acl()).or_default() += 1;
        }
        if !acl_uses.iter().map(|(a, n)| (*a, *n)).eq(self.acls.uses()) {
            return Err(format!(
                "interned ACL lists and their use counts ({} lists) differ from the nodes' ({} lists)",
                self.acls.len(),
                acl_uses.len()
            ));
        }
        Ok(())
    }

    // ---- the primitive changes; each keeps the digest, data size and indexes in step ----

    /// Adds a node (its parent's children are the caller's business).
    fn insert_node(&mut self, path: &str, mut node: ZNode) {
        node.hash = digest::node_hash(path, &node);
        self.digest = self.digest.wrapping_add(node.hash);
        self.data_size += java_len(path) + node.data().len() as u64;
        let key: PathKey = Arc::from(path);
        match node.kind() {
            NodeKind::Persistent => {}
            NodeKind::Ephemeral(s) => {
                self.ephemerals.entry(s).or_default().insert(key.clone());
            }
            NodeKind::Container => {
                self.containers.insert(key.clone());
            }
            NodeKind::Ttl(_) => {
                self.ttls.insert(key.clone());
            }
        }
        self.nodes.insert(key, Arc::new(node));
    }

    /// Removes a node (its parent's children are the caller's business).
    fn remove_node(&mut self, path: &str) -> Option<Arc<ZNode>> {
        let node = self.nodes.remove(path)?;
        self.digest = self.digest.wrapping_sub(node.hash);
        self.data_size -= java_len(path) + node.data().len() as u64;
        match node.kind() {
            NodeKind::Persistent => {}
            NodeKind::Ephemeral(s) => {
                if let Some(paths) = self.ephemerals.get_mut(&s) {
                    paths.remove(path);
                    if paths.is_empty() {
                        self.ephemerals.remove(&s);
                    }
                }
            }
            NodeKind::Container => {
                self.containers.remove(path);
            }
            NodeKind::Ttl(_) => {
                self.ttls.remove(path);
            }
        }
        Some(node)
    }

    /// Changes a node in place (not its kind), rehashing it. `None` if there is no such node.
    fn modify_node<R>(&mut self, path: &str, change: impl FnOnce(&mut ZNode) -> R) -> Option<R> {
        let node = self.node_mut(path)?;
        let old_hash = node.hash;
        let old_len = node.data().len() as u64;
        let r = change(node);
        let new_hash = digest::node_hash(path, node);
        node.hash = new_hash;
        let new_len = node.data().len() as u64;
        self.digest = self.digest.wrapping_sub(old_hash).wrapping_add(new_hash);
        self.data_size = self.data_size - old_len + new_len;
        Some(r)
    }

    /// The node at `path`, to change: copied first if a snapshot shares it.
    fn node_mut(&mut self, path: &str) -> Option<&mut ZNode> {
        self.nodes.get_mut(path).map(Arc::make_mut)
    }

    fn put_session(&mut self, session_id: i64, timeout: i32) {
        if let Some(old) = self.sessions.insert(session_id, timeout) {
            self.digest = self
                .digest
                .wrapping_sub(digest::session_hash(session_id, old));
        }
        self.digest = self
            .digest
            .wrapping_add(digest::session_hash(session_id, timeout));
    }

    fn drop_session(&mut self, session_id: i64) {
        if let Some(old) = self.sessions.remove(&session_id) {
            self.digest = self
                .digest
                .wrapping_sub(digest::session_hash(session_id, old));
        }
    }
}

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new()
    }
}
