//! A node's disk, as the core's persistence contract sees it: ops are written in the order the node numbered
//! them and become durable only when a sync covering them completes (every op takes disk time: appends,
//! epoch writes, truncations, installed snapshots). A crash keeps what was durable plus an arbitrary prefix
//! of the ops written since (the rest lost; a partially written append keeps a prefix of its txns), and the
//! newest completed snapshot.

use std::collections::VecDeque;

use rzk_core::node::{PersistId, PersistOp};
use rzk_core::tree::DataTree;
use rzk_core::txn::LoggedTxn;
use rzk_core::Zxid;

#[derive(Default)]
pub struct SimDisk {
    /// Durable txns after the snapshot.
    pub durable: Vec<LoggedTxn>,
    pub snapshot: Option<DataTree>,
    /// The epoch files.
    pub accepted_epoch: u32,
    pub current_epoch: u32,
    /// Written, not yet durable, in order.
    pub written: VecDeque<(PersistId, PersistOp)>,
    /// A sync in flight covers up to this op.
    pub syncing: Option<PersistId>,
    pub syncs: u64,
}

impl SimDisk {
    pub fn write(&mut self, id: PersistId, op: PersistOp) {
        self.written.push_back((id, op));
    }

    /// Starts a sync of everything written so far, if none is running. Returns the op it will cover.
    pub fn start_sync(&mut self) -> Option<PersistId> {
        if self.syncing.is_some() {
            return None;
        }
        let last = self.written.back()?.0;
        self.syncing = Some(last);
        Some(last)
    }

    /// The sync covering `id` completed: those ops are durable. Returns the txns newly made durable by
    /// appends (which a standalone server has committed).
    pub fn finish_sync(&mut self, id: PersistId) -> Vec<LoggedTxn> {
        self.syncing = None;
        self.syncs += 1;
        let mut appended = Vec::new();
        while self.written.front().is_some_and(|(op, _)| *op <= id) {
            if let Some((_, op)) = self.written.pop_front() {
                self.apply(op, &mut appended);
            }
        }
        appended
    }

    /// Makes one op durable.
    fn apply(&mut self, op: PersistOp, appended: &mut Vec<LoggedTxn>) {
        match op {
            PersistOp::Append(txns) => {
                self.durable.extend(txns.iter().cloned());
                appended.extend(txns);
            }
            PersistOp::SaveEpochs { accepted, current } => {
                self.accepted_epoch = accepted;
                self.current_epoch = current;
            }
            PersistOp::Truncate { zxid } => {
                self.durable.retain(|t| t.header.zxid <= zxid);
                appended.retain(|t| t.header.zxid <= zxid);
            }
            PersistOp::Install { tree, .. } => {
                self.durable.clear();
                appended.clear();
                self.snapshot = Some(*tree);
            }
        }
    }

    /// Whether the history up to `zxid` is durable here: inside the snapshot, or a durable logged txn.
    pub fn holds_durably(&self, zxid: Zxid) -> bool {
        zxid <= 0
            || self
                .snapshot
                .as_ref()
                .is_some_and(|s| s.last_zxid() >= zxid)
            || self
                .durable
                .binary_search_by_key(&zxid, |t| t.header.zxid)
                .is_ok()
    }

    /// Whether this exact txn is durable here (in the log, or covered by the snapshot).
    pub fn holds_txn_durably(&self, txn: &LoggedTxn) -> bool {
        let zxid = txn.header.zxid;
        self.snapshot
            .as_ref()
            .is_some_and(|s| s.last_zxid() >= zxid)
            || self
                .durable
                .binary_search_by_key(&zxid, |t| t.header.zxid)
                .is_ok_and(|i| self.durable[i] == *txn)
    }

    /// Every txn logged after `zxid`, durable or only written.
    pub fn logged_after(&self, zxid: Zxid) -> impl Iterator<Item = &LoggedTxn> {
        let written = self.written.iter().flat_map(|(_, op)| match op {
            PersistOp::Append(txns) => txns.as_slice(),
            _ => &[],
        });
        self.durable
            .iter()
            .chain(written)
            .filter(move |t| t.header.zxid > zxid)
    }

    /// A snapshot completed: older txns are no longer needed (purged, as autopurge would). A snapshot
    /// older than the one the disk holds (an install overtook it) is dropped, as recovery would ignore it.
    pub fn store_snapshot(&mut self, tree: DataTree) {
        let z = tree.last_zxid();
        if self.snapshot.as_ref().is_some_and(|s| s.last_zxid() > z) {
            return;
        }
        self.durable.retain(|t| t.header.zxid > z);
        self.snapshot = Some(tree);
    }

    /// How many units a crash can keep of what is written but not durable: each txn of an append, each
    /// epoch file, and each other op, counts one.
    pub fn unsynced_units(&self) -> usize {
        self.written
            .iter()
            .map(|(_, op)| match op {
                PersistOp::Append(txns) => txns.len(),
                // Two files, written one after the other (acceptedEpoch, then currentEpoch).
                PersistOp::SaveEpochs { .. } => 2,
                _ => 1,
            })
            .sum()
    }

    /// Power loss: the first `keep` units of what was written survive (writes reach the platter in order),
    /// the rest is lost. Returns the txns that survive, which are durable from now on.
    pub fn crash(&mut self, keep: usize) -> Vec<LoggedTxn> {
        self.syncing = None;
        let mut left = keep;
        let mut survivors = Vec::new();
        for (_, op) in std::mem::take(&mut self.written) {
            if left == 0 {
                break;
            }
            match op {
                PersistOp::Append(mut txns) => {
                    let whole = txns.len() <= left;
                    txns.truncate(left);
                    left -= txns.len();
                    self.apply(PersistOp::Append(txns), &mut survivors);
                    if !whole {
                        break;
                    }
                }
                PersistOp::SaveEpochs { accepted, .. } if left == 1 => {
                    // A crash between the two epoch files: acceptedEpoch is new, currentEpoch is not.
                    self.accepted_epoch = accepted;
                    break;
                }
                op @ PersistOp::SaveEpochs { .. } => {
                    left -= 2;
                    self.apply(op, &mut survivors);
                }
                op => {
                    left -= 1;
                    self.apply(op, &mut survivors);
                }
            }
        }
        survivors
    }
}
