//! The committed history replayed into a tree: each path's states over zxids, for checking what clients read.

use std::collections::BTreeMap;

use rzk_core::tree::{DataTree, WatchTrigger};
use rzk_core::txn::LoggedTxn;
use rzk_core::Data;
use rzk_core::Zxid;

/// A node's state after some txn: absent, or its data and version.
pub type NodeState = Option<(Data, i32)>;

pub struct Replay {
    /// path -> (zxid, state after that zxid), in zxid order, starting with the initial state at zxid 0.
    pub states: BTreeMap<String, Vec<(Zxid, NodeState)>>,
    /// path -> zxids of changes that fire data watches (created, deleted, data changed).
    pub data_changes: BTreeMap<String, Vec<Zxid>>,
    /// path -> zxids of changes that fire child watches (children changed, deleted).
    pub child_changes: BTreeMap<String, Vec<Zxid>>,
    pub tree: DataTree,
    /// Committed txns that did not apply cleanly (they were prepared against a different state).
    pub errors: Vec<String>,
}

impl Replay {
    /// Replays the durable txns, which must run 1, 2, 3... without gaps.
    pub fn build(durable: &BTreeMap<Zxid, LoggedTxn>) -> Result<Replay, String> {
        let mut r = Replay {
            states: BTreeMap::new(),
            data_changes: BTreeMap::new(),
            child_changes: BTreeMap::new(),
            tree: DataTree::new(),
            errors: Vec::new(),
        };
        let mut prev: Zxid = 0;
        for (z, t) in durable {
            // Within an epoch zxids run 1, 2, 3...; a new epoch starts again at 1.
            let next_in_epoch = *z == prev + 1;
            let new_epoch = rzk_core::zxid::epoch(*z) > rzk_core::zxid::epoch(prev)
                && rzk_core::zxid::counter(*z) == 1;
            if !next_in_epoch && !new_epoch {
                return Err(format!(
                    "committed history has a gap: 0x{z:x} follows 0x{prev:x}"
                ));
            }
            prev = *z;
            let outcome = r.tree.apply(&t.header, &t.txn);
            let meant_to_fail = match &t.txn {
                rzk_core::txn::Txn::Error { .. } => true,
                rzk_core::txn::Txn::Multi(subs) => subs
                    .iter()
                    .any(|s| matches!(s, rzk_core::txn::Txn::Error { .. })),
                _ => false,
            };
            if let Some(e) = outcome
                .err
                .filter(|e| *e != rzk_core::proto::ErrorCode::Ok && !meant_to_fail)
            {
                let what: String = format!("{:?}", t.txn).chars().take(60).collect();
                r.errors.push(format!(
                    "committed txn 0x{z:x} ({}) does not apply: {e}: {what}",
                    t.txn.type_name()
                ));
            }
            for trig in &outcome.triggers {
                let (path, data, child) = match trig {
                    WatchTrigger::Created(p) | WatchTrigger::DataChanged(p) => (p, true, false),
                    WatchTrigger::Deleted(p) => (p, true, true),
                    WatchTrigger::ChildrenChanged(p) => (p, false, true),
                };
                if data {
                    r.data_changes.entry(path.clone()).or_default().push(*z);
                    let state = r
                        .tree
                        .get(path)
                        .map(|n| (n.data().clone(), n.stat().version));
                    r.states
                        .entry(path.clone())
                        .or_insert_with(|| vec![(0, None)])
                        .push((*z, state));
                }
                if child {
                    r.child_changes.entry(path.clone()).or_default().push(*z);
                }
            }
        }
        Ok(r)
    }

    /// The state of `path` right after txn `zxid` applied.
    pub fn state_at(&self, path: &str, zxid: Zxid) -> NodeState {
        let hist = self.states.get(path)?;
        let i = hist.partition_point(|(z, _)| *z <= zxid);
        if i == 0 {
            None
        } else {
            hist[i - 1].1.clone()
        }
    }

    /// The first change after `zxid` that fires a data (or child) watch on `path`.
    pub fn next_change(&self, path: &str, zxid: Zxid, child: bool) -> Option<Zxid> {
        let changes = if child {
            &self.child_changes
        } else {
            &self.data_changes
        };
        let list = changes.get(path)?;
        let i = list.partition_point(|z| *z <= zxid);
        list.get(i).copied()
    }
}
