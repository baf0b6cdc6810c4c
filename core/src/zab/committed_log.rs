//! The leader's recent committed txns in memory (ZooKeeper's committedLog), from which learners that are
//! only a little behind are synced with a DIFF instead of a full snapshot.

use std::collections::VecDeque;

use crate::txn::LoggedTxn;
use crate::Zxid;

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct CommittedLog {
    txns: VecDeque<LoggedTxn>,
    capacity: usize,
    /// The zxid just before the first txn kept (what a learner must hold for a DIFF from the start).
    base: Zxid,
}

impl CommittedLog {
    /// An empty log whose history starts after `base` (the zxid of the tree it was built on).
    pub fn new(base: Zxid, capacity: usize) -> CommittedLog {
        CommittedLog {
            txns: VecDeque::new(),
            capacity: capacity.max(1),
            base,
        }
    }

    /// Appends a committed txn (zxids strictly increasing); the oldest falls off beyond capacity.
    pub fn push(&mut self, txn: LoggedTxn) {
        if self.txns.len() == self.capacity {
            if let Some(old) = self.txns.pop_front() {
                self.base = old.header.zxid;
            }
        }
        self.txns.push_back(txn);
    }

    /// The zxid before the oldest kept txn.
    pub fn base(&self) -> Zxid {
        self.base
    }

    /// The newest zxid (the base if empty).
    pub fn last(&self) -> Zxid {
        self.txns.back().map_or(self.base, |t| t.header.zxid)
    }

    /// Whether `zxid` is a point in this history: the base or a kept txn.
    pub fn contains(&self, zxid: Zxid) -> bool {
        zxid == self.base || self.index_of(zxid).is_some()
    }

    fn index_of(&self, zxid: Zxid) -> Option<usize> {
        self.txns
            .binary_search_by_key(&zxid, |t| t.header.zxid)
            .ok()
    }

    /// The txns after `zxid`, if `zxid` is a point of this history.
    pub fn after(&self, zxid: Zxid) -> Option<Vec<LoggedTxn>> {
        if zxid == self.base {
            return Some(self.txns.iter().cloned().collect());
        }
        let i = self.index_of(zxid)?;
        Some(self.txns.iter().skip(i + 1).cloned().collect())
    }

    /// The newest point of this history below `zxid` (a kept txn or the base), if `zxid` is above the base.
    pub fn point_below(&self, zxid: Zxid) -> Option<Zxid> {
        if zxid <= self.base {
            return None;
        }
        let i = self.txns.partition_point(|t| t.header.zxid < zxid);
        Some(if i == 0 {
            self.base
        } else {
            self.txns[i - 1].header.zxid
        })
    }

    /// The kept txns with zxids above `zxid`, oldest first (whatever `zxid` is).
    pub fn iter_after(&self, zxid: Zxid) -> impl Iterator<Item = &LoggedTxn> {
        // Callers mostly ask for the few newest txns: look from the end first.
        let n = self.txns.len();
        let near = self
            .txns
            .iter()
            .rev()
            .take(32)
            .take_while(|t| t.header.zxid > zxid)
            .count();
        let i = if near < 32 || near == n {
            n - near
        } else {
            self.txns.partition_point(|t| t.header.zxid <= zxid)
        };
        self.txns.range(i..)
    }

    pub fn len(&self) -> usize {
        self.txns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.txns.is_empty()
    }
}
