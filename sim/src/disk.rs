//! A node's disk, as the core's persistence contract sees it: appended txns become durable only when a sync
//! covering them completes. A crash keeps the durable txns and an arbitrary prefix of the unsynced ones (the
//! rest lost, a partially written record dropped by recovery), and the newest completed snapshot.

use rzk_core::tree::DataTree;
use rzk_core::txn::LoggedTxn;
use rzk_core::Zxid;

#[derive(Default)]
pub struct SimDisk {
    /// Durable txns after the snapshot.
    pub durable: Vec<LoggedTxn>,
    /// Written but not yet synced.
    pub unsynced: Vec<LoggedTxn>,
    pub snapshot: Option<DataTree>,
    /// A sync in flight covers up to this zxid.
    pub syncing: Option<Zxid>,
    pub syncs: u64,
    /// Bumped when the log is rewritten (truncate, install): a sync started before covers nothing now.
    pub generation: u64,
    /// The epoch files (durable as soon as written).
    pub accepted_epoch: u32,
    pub current_epoch: u32,
}

impl SimDisk {
    pub fn append(&mut self, txns: Vec<LoggedTxn>) {
        self.unsynced.extend(txns);
    }

    /// Starts a sync of everything written so far, if none is running. Returns the zxid it will cover.
    pub fn start_sync(&mut self) -> Option<Zxid> {
        if self.syncing.is_some() {
            return None;
        }
        let last = self.unsynced.last()?.header.zxid;
        self.syncing = Some(last);
        Some(last)
    }

    /// The sync covering `zxid` completed: those txns are durable. Returns newly durable txns.
    pub fn finish_sync(&mut self, zxid: Zxid) -> Vec<LoggedTxn> {
        self.syncing = None;
        self.syncs += 1;
        let n = self
            .unsynced
            .iter()
            .take_while(|t| t.header.zxid <= zxid)
            .count();
        let done: Vec<LoggedTxn> = self.unsynced.drain(..n).collect();
        self.durable.extend(done.iter().cloned());
        done
    }

    /// A snapshot completed: older txns are no longer needed (purged, as autopurge would).
    pub fn store_snapshot(&mut self, tree: DataTree) {
        let z = tree.last_zxid();
        self.durable.retain(|t| t.header.zxid > z);
        self.snapshot = Some(tree);
    }

    /// Drops every txn after `zxid`, synced or not.
    pub fn truncate_after(&mut self, zxid: Zxid) {
        self.durable.retain(|t| t.header.zxid <= zxid);
        self.unsynced.retain(|t| t.header.zxid <= zxid);
        self.syncing = None;
        self.generation += 1;
    }

    /// Replaces the whole state with a snapshot (a SNAP sync).
    pub fn install(&mut self, tree: DataTree) {
        self.durable.clear();
        self.unsynced.clear();
        self.syncing = None;
        self.generation += 1;
        self.snapshot = Some(tree);
    }

    /// Power loss: `keep` of the unsynced txns survive (a prefix: writes reach the platter in order).
    /// Returns the survivors, which are durable from now on.
    pub fn crash(&mut self, keep: usize) -> Vec<LoggedTxn> {
        self.syncing = None;
        let keep = keep.min(self.unsynced.len());
        let survivors: Vec<LoggedTxn> = self.unsynced.drain(..keep).collect();
        self.unsynced.clear();
        self.durable.extend(survivors.iter().cloned());
        survivors
    }
}
