//! Quotas, kept as ZooKeeper 3.8's DataTree keeps them.
//!
//! A quota on `/p` is a pair of znodes a client writes (zkCli's `setquota`): `/zookeeper/quota/p/
//! zookeeper_limits` (the soft and hard limits) and `/zookeeper/quota/p/zookeeper_stats` (the usage). The tree
//! indexes every path that has a limits node (ZooKeeper's PathTrie) and, as part of applying each txn, keeps
//! the stats node of the deepest quota over a changed node up to date: `count` is the number of nodes in the
//! subtree (the quota'd node included), `bytes` the sum of their data lengths. Creating the stats node sets it
//! from the subtree as it is then. The stats node's data changes in place: no version, mzxid or watch event,
//! as in ZooKeeper. Being part of applying txns, the usage is the same on every server of an ensemble, in
//! snapshots and after a restart.
//!
//! Enforcement happens before a txn exists ([`DataTree::quota_check`], used by prep): it reads the limits
//! and the usage of the applied tree, as ZooKeeper's `checkQuota` does.

use std::sync::Arc;

use crate::proto::path;
use crate::Data;

use super::stats_track::{StatsTrack, BYTES, BYTE_HARD_LIMIT, COUNT, COUNT_HARD_LIMIT};
use super::{DataTree, QUOTA_PATH};

/// The node holding a quota's limits.
pub const LIMITS_NODE: &str = "zookeeper_limits";
/// The node holding a quota's usage.
pub const STATS_NODE: &str = "zookeeper_stats";

/// The quota'd path a `/zookeeper/quota/<p>/<leaf>` node stands for, if `path` is such a node.
fn quota_of<'a>(path: &'a str, leaf: &str) -> Option<&'a str> {
    if path::basename(path) != leaf {
        return None;
    }
    let quota_dir = path::parent(path);
    let quota_path = quota_dir.strip_prefix(QUOTA_PATH)?;
    quota_path.starts_with('/').then_some(quota_path)
}

fn stats_path(quota_path: &str) -> String {
    format!("{QUOTA_PATH}{quota_path}/{STATS_NODE}")
}

fn limits_path(quota_path: &str) -> String {
    format!("{QUOTA_PATH}{quota_path}/{LIMITS_NODE}")
}

/// A limit a write would pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaExcess {
    /// The quota'd path.
    pub quota_path: String,
    /// `count` or `bytes`.
    pub what: &'static str,
    /// The usage after the write.
    pub usage: i64,
    pub limit: i64,
    /// A hard limit (refused when quotas are enforced) or a soft one (a warning).
    pub hard: bool,
}

impl std::fmt::Display for QuotaExcess {
    /// ZooKeeper's message: `Quota exceeded: /p [current count=5, softCountLimit=4]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.hard { "hard" } else { "soft" };
        let limit = if self.what == COUNT {
            "CountLimit"
        } else {
            "ByteLimit"
        };
        write!(
            f,
            "Quota exceeded: {} [current {}={}, {kind}{limit}={}]",
            self.quota_path, self.what, self.usage, self.limit
        )
    }
}

impl DataTree {
    /// The deepest quota'd path that is `path` or an ancestor of it (never "/", which ZooKeeper does not
    /// track).
    pub fn quota_root_of(&self, path: &str) -> Option<&str> {
        if self.quota_roots.is_empty() {
            return None;
        }
        let mut p = path;
        while !p.is_empty() && p != "/" {
            if let Some(root) = self.quota_roots.get(p) {
                return Some(root);
            }
            p = path::parent(p);
        }
        None
    }

    /// The limits a write adding `count_diff` nodes and `bytes_diff` bytes under `path` would pass (ZooKeeper's
    /// checkQuota): a hard limit where one is set, else the soft one; a limit of -1 is none.
    pub fn quota_check(&self, path: &str, bytes_diff: i64, count_diff: i64) -> Vec<QuotaExcess> {
        let Some(root) = self.quota_root_of(path) else {
            return Vec::new();
        };
        let Some(limits) = self.get(&limits_path(root)) else {
            return Vec::new();
        };
        let limits = StatsTrack::parse(limits.data());
        let usage = match self.get(&stats_path(root)) {
            Some(stats) => StatsTrack::parse(stats.data()),
            None => return Vec::new(),
        };
        let mut excess = Vec::new();
        for (what, hard_key, diff) in [
            (COUNT, COUNT_HARD_LIMIT, count_diff),
            (BYTES, BYTE_HARD_LIMIT, bytes_diff),
        ] {
            let (soft, hard) = (limits.get(what), limits.get(hard_key));
            if diff == 0 || (soft < 0 && hard < 0) {
                continue;
            }
            let is_hard = hard > -1;
            let limit = if is_hard { hard } else { soft };
            let after = usage.get(what).saturating_add(diff);
            if after > limit {
                excess.push(QuotaExcess {
                    quota_path: root.to_owned(),
                    what,
                    usage: after,
                    limit,
                    hard: is_hard,
                });
            }
        }
        excess
    }

    /// After `path` was created with `data_len` bytes: index a new limits node, fill a new stats node, and
    /// count the node in its quota.
    pub(super) fn quota_created(&mut self, path: &str, data_len: usize) {
        if let Some(quota_path) = quota_of(path, LIMITS_NODE) {
            self.quota_roots.insert(Arc::from(quota_path));
        }
        if let Some(quota_path) = quota_of(path, STATS_NODE) {
            let quota_path = quota_path.to_owned();
            self.recount_quota(&quota_path);
        }
        self.charge_quota(path, data_len as i64, 1);
    }

    /// After `path` (holding `data_len` bytes) was deleted.
    pub(super) fn quota_deleted(&mut self, path: &str, data_len: usize) {
        if let Some(quota_path) = quota_of(path, LIMITS_NODE) {
            self.quota_roots.remove(quota_path);
        }
        self.charge_quota(path, -(data_len as i64), -1);
    }

    /// After `path`'s data changed from `old_len` to `new_len` bytes.
    pub(super) fn quota_data_changed(&mut self, path: &str, old_len: usize, new_len: usize) {
        self.charge_quota(path, new_len as i64 - old_len as i64, 0);
    }

    /// Adds to the usage of the quota over `path`, if any (ZooKeeper's updateQuotaStat).
    fn charge_quota(&mut self, path: &str, bytes_diff: i64, count_diff: i64) {
        let Some(root) = self.quota_root_of(path) else {
            return;
        };
        let stats = stats_path(root);
        let Some(node) = self.get(&stats) else {
            // A limits node without its stats node: ZooKeeper logs "Missing node for stat" and goes on.
            return;
        };
        let mut usage = StatsTrack::parse(node.data());
        usage.set(COUNT, usage.get(COUNT).saturating_add(count_diff));
        usage.set(BYTES, usage.get(BYTES).saturating_add(bytes_diff));
        self.modify_node(&stats, |n| n.set_data(Data::from(usage.to_string())));
    }

    /// Sets the stats node of `quota_path` from the subtree as it is (ZooKeeper's updateQuotaForPath).
    fn recount_quota(&mut self, quota_path: &str) {
        let (mut count, mut bytes) = (0i64, 0i64);
        for (_, node) in self.subtree(quota_path) {
            count += 1;
            bytes += node.data().len() as i64;
        }
        let mut usage = StatsTrack::default();
        usage.set(COUNT, count);
        usage.set(BYTES, bytes);
        self.modify_node(&stats_path(quota_path), |n| {
            n.set_data(Data::from(usage.to_string()))
        });
    }

    /// `root` (if it exists) and every node below it, in path order.
    fn subtree<'a>(&'a self, root: &str) -> impl Iterator<Item = (&'a str, &'a super::ZNode)> {
        let below = format!("{root}/");
        let start: Arc<str> = Arc::from(below.as_str());
        let top = self.nodes.get_key_value(root);
        top.into_iter()
            .chain(
                self.nodes
                    .range((std::ops::Bound::Included(start), std::ops::Bound::Unbounded))
                    .take_while(move |(p, _)| p.starts_with(&below)),
            )
            .map(|(p, n)| (&**p, &**n))
    }

    /// Rebuilds the index of quota'd paths from the limits nodes (after a restore).
    /// Sets every quota's stats node from its subtree as it is, as ZooKeeper does once it has loaded its
    /// data (DataTree.setupQuota): its snapshots hold stats as they were while the snapshot was written.
    pub fn recount_quotas(&mut self) {
        let roots: Vec<Arc<str>> = self.quota_roots.iter().cloned().collect();
        for root in roots {
            if self.nodes.contains_key(&*stats_path(&root)) {
                self.recount_quota(&root);
            }
        }
    }

    pub(super) fn index_quotas(&mut self) {
        let roots: Vec<Arc<str>> = self
            .subtree(QUOTA_PATH)
            .filter_map(|(p, _)| quota_of(p, LIMITS_NODE))
            .map(Arc::from)
            .collect();
        self.quota_roots = roots.into_iter().collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::{Txn, TxnHeader};

    struct Tree {
        tree: DataTree,
        zxid: i64,
    }

    impl Tree {
        fn new() -> Tree {
            Tree {
                tree: DataTree::new(),
                zxid: 0,
            }
        }

        fn apply(&mut self, txn: Txn) {
            self.zxid += 1;
            let header = TxnHeader {
                session_id: 7,
                cxid: 0,
                zxid: self.zxid,
                time: 0,
            };
            assert_eq!(self.tree.apply(&header, &txn).err, None, "{txn:?}");
            self.tree.check_invariants().unwrap();
        }

        fn create(&mut self, path: &str, data: &[u8]) {
            self.apply(Txn::Create {
                path: path.into(),
                data: Data::copy_from_slice(data),
                acl: crate::acl::open_acl_unsafe(),
                ephemeral_owner: 0,
                parent_cversion: -1,
            });
        }

        fn set(&mut self, path: &str, data: Data) {
            self.apply(Txn::SetData {
                path: path.into(),
                data,
                version: -1,
            });
        }

        fn delete(&mut self, path: &str) {
            self.apply(Txn::Delete { path: path.into() });
        }

        /// zkCli's setquota: the quota tree, the limits, then the stats node.
        fn set_quota(&mut self, path: &str, limits: &str) {
            let mut node = QUOTA_PATH.to_owned();
            for part in path.split('/').filter(|p| !p.is_empty()) {
                node = format!("{node}/{part}");
                if self.tree.get(&node).is_none() {
                    self.create(&node, b"");
                }
            }
            self.create(&format!("{node}/{LIMITS_NODE}"), limits.as_bytes());
            self.create(&format!("{node}/{STATS_NODE}"), b"count=0,bytes=0");
        }

        fn usage(&self, path: &str) -> String {
            let stats = self.tree.get(&stats_path(path)).unwrap();
            assert_eq!(stats.stat().version, 0, "usage changes in place");
            String::from_utf8_lossy(stats.data()).into_owned()
        }
    }

    #[test]
    fn usage_follows_creates_deletes_and_data_changes_below_the_quota() {
        let mut t = Tree::new();
        t.create("/t", b"ab");
        t.create("/t/a", b"cde");
        t.create("/tx", b"not under /t");
        t.set_quota("/t", "count=10,bytes=-1");
        assert_eq!(
            t.usage("/t"),
            "count=2,bytes=5",
            "set from the subtree as it was"
        );
        t.create("/t/a/b", b"1234");
        assert_eq!(t.usage("/t"), "count=3,bytes=9");
        t.set("/t/a", Data::null());
        assert_eq!(t.usage("/t"), "count=3,bytes=6");
        t.delete("/t/a/b");
        t.create("/tx/y", b"zzz");
        assert_eq!(t.usage("/t"), "count=2,bytes=2");
        // The quota'd node itself counts, down to its deletion.
        t.delete("/t/a");
        t.delete("/t");
        assert_eq!(t.usage("/t"), "count=0,bytes=0");
    }

    #[test]
    fn only_the_deepest_quota_is_charged_and_a_removed_quota_is_not() {
        let mut t = Tree::new();
        t.create("/a", b"");
        t.create("/a/b", b"");
        t.set_quota("/a", "count=-1,bytes=100");
        t.set_quota("/a/b", "count=-1,bytes=100");
        t.create("/a/b/c", b"xyz");
        t.create("/a/d", b"q");
        assert_eq!(t.usage("/a/b"), "count=2,bytes=3");
        assert_eq!(t.usage("/a"), "count=3,bytes=1");
        t.delete(&format!("{QUOTA_PATH}/a/b/{LIMITS_NODE}"));
        t.create("/a/b/e", b"1");
        assert_eq!(
            t.usage("/a"),
            "count=4,bytes=2",
            "charged to /a once /a/b has no limits"
        );
        assert_eq!(t.tree.quota_root_of("/a/b/e"), Some("/a"));
    }

    #[test]
    fn a_restored_tree_keeps_charging_its_quotas() {
        let mut t = Tree::new();
        t.create("/t", b"");
        t.set_quota("/t", "count=5,bytes=-1");
        let mut b = crate::tree::TreeBuilder::new();
        for (p, n) in t.tree.nodes() {
            b.node(p, n.data().clone(), n.acl(), *n.persisted_stat())
                .unwrap();
        }
        t.tree = b.finish(t.zxid).unwrap();
        t.create("/t/new", b"12");
        assert_eq!(t.usage("/t"), "count=2,bytes=2");
    }

    #[test]
    fn a_write_past_a_limit_is_reported_hard_or_soft() {
        let mut t = Tree::new();
        t.create("/t", b"");
        t.set_quota("/t", "count=2,bytes=-1=;byteHardLimit=4;countHardLimit=-1");
        assert_eq!(t.tree.quota_check("/t/a", 1, 1), Vec::new());
        t.create("/t/a", b"1");
        let excess = t.tree.quota_check("/t/b", 4, 1);
        assert_eq!(excess.len(), 2);
        assert_eq!(
            excess[0].to_string(),
            "Quota exceeded: /t [current count=3, softCountLimit=2]"
        );
        assert!(!excess[0].hard);
        assert_eq!(
            excess[1].to_string(),
            "Quota exceeded: /t [current bytes=5, hardByteLimit=4]"
        );
        assert!(excess[1].hard);
        assert_eq!(t.tree.quota_check("/other", 100, 1), Vec::new());
    }

    #[test]
    fn quota_nodes_name_their_path() {
        assert_eq!(
            quota_of("/zookeeper/quota/a/b/zookeeper_limits", LIMITS_NODE),
            Some("/a/b")
        );
        assert_eq!(
            quota_of("/zookeeper/quota/a/zookeeper_stats", STATS_NODE),
            Some("/a")
        );
        assert_eq!(
            quota_of("/zookeeper/quota/zookeeper_limits", LIMITS_NODE),
            None
        );
        assert_eq!(
            quota_of("/zookeeper/quotax/a/zookeeper_limits", LIMITS_NODE),
            None
        );
        assert_eq!(quota_of("/a/zookeeper_limits", LIMITS_NODE), None);
    }
}
