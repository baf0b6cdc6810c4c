//! A server's disk, as the core's persistence contract sees it, holding the real bytes.
//!
//! Ops are carried out in the node's order, like the production driver does: an append's records (encoded by
//! `rzk-storage`, the production encoder) are written to the current log file at once but are durable only
//! when a sync covering them completes; an epoch write, a truncation or a snapshot install waits for the
//! appends before it and runs, with the production code from `rzk-storage`, when its sync completes. Every
//! op takes disk time, so a crash can fall between an op and its completion. The files live in a
//! [`SimDir`], which keeps exactly what was made durable: a crash tears unsynced bytes and loses unsynced
//! directory entries, and the restarted server recovers with the production recovery code.
//!
//! Beside the bytes the disk keeps a logical view of what is durable (txns after the snapshot, the
//! snapshot, the epochs), which the invariants query at every step; after a crash it is rebuilt from what
//! recovery found, and recovery must find at least what that view held.

use std::collections::VecDeque;

use rzk_core::node::{PersistId, PersistOp, Recovered};
use rzk_core::tree::DataTree;
use rzk_core::txn::LoggedTxn;
use rzk_core::Zxid;
use rzk_storage::{
    encode_file_header, encode_txns, install_snapshot_with, log_name, purge, recover, save_epochs,
    truncate_log, write_snapshot_in, Dir, Epochs, LOG_MAGIC,
};

use crate::rng::SimRng;
use crate::sim_dir::SimDir;

#[derive(Default)]
pub struct SimDisk {
    pub dir: SimDir,
    /// Durable txns after the snapshot (logical view).
    pub durable: Vec<LoggedTxn>,
    pub snapshot: Option<DataTree>,
    /// The epoch files (logical view).
    pub accepted_epoch: u32,
    pub current_epoch: u32,
    /// Ops written but not durable, in order; an append's flag says its records are in the file already.
    pub written: VecDeque<(PersistId, PersistOp, bool)>,
    /// A sync in flight covers up to this op.
    pub syncing: Option<PersistId>,
    pub syncs: u64,
    /// The log file appends go to; a new one starts after a snapshot or a rewrite.
    log: Option<String>,
    /// What the epoch files hold (to skip rewriting an unchanged one, as the driver does).
    epochs_on_disk: Option<Epochs>,
    /// The truncation point of a truncate or install being carried out: a crash in the middle may leave the
    /// log cut there (legitimately: those txns are being dropped).
    rewriting: Option<Zxid>,
}

impl SimDisk {
    pub fn write(&mut self, id: PersistId, op: PersistOp) -> std::io::Result<()> {
        self.written.push_back((id, op, false));
        self.pump()
    }

    /// Writes the records of every append not held behind an epoch write, truncate or install.
    fn pump(&mut self) -> std::io::Result<()> {
        for i in 0..self.written.len() {
            if self.written[i].2 {
                continue;
            }
            let PersistOp::Append(txns) = &self.written[i].1 else {
                return Ok(());
            };
            let Some(first) = txns.first() else {
                self.written[i].2 = true;
                continue;
            };
            let name = match &self.log {
                Some(name) => name.clone(),
                None => {
                    // As LogFile::create: the header is synced, and so is the directory entry, before any
                    // record is written.
                    let name = log_name(first.header.zxid);
                    self.dir
                        .write_synced(&name, &encode_file_header(LOG_MAGIC, first.header.zxid))?;
                    self.dir.sync_dir()?;
                    self.log = Some(name.clone());
                    name
                }
            };
            let mut bytes = Vec::new();
            encode_txns(txns, &mut bytes).map_err(std::io::Error::other)?;
            self.dir.append(&name, &bytes)?;
            self.written[i].2 = true;
        }
        Ok(())
    }

    /// Starts a sync of what is written, if none is running: it covers the appends written so far and the
    /// first epoch write, truncate or install waiting. Returns the op it will cover.
    pub fn start_sync(&mut self) -> Option<PersistId> {
        if self.syncing.is_some() {
            return None;
        }
        let cover = self
            .written
            .iter()
            .take_while(|(_, op, applied)| *applied || !matches!(op, PersistOp::Append(_)))
            .scan(false, |blocked, (id, op, _)| {
                // Stop after the first op that is not an append: it runs when this sync completes.
                if *blocked {
                    return None;
                }
                *blocked = !matches!(op, PersistOp::Append(_));
                Some(*id)
            })
            .last()?;
        self.syncing = Some(cover);
        Some(cover)
    }

    /// The sync covering `id` completed: the appends are durable, and the op at `id` (if it is not an append)
    /// runs now. Returns the txns that became durable. An error is a crash in the middle (see
    /// `SimDir::arm_fuse`): the caller crashes the server.
    pub fn finish_sync(&mut self, id: PersistId) -> std::io::Result<Vec<LoggedTxn>> {
        self.syncing = None;
        self.syncs += 1;
        if let Some(log) = self.log.clone() {
            self.dir.sync(&log)?;
        }
        let mut appended = Vec::new();
        while self.written.front().is_some_and(|(op, _, _)| *op <= id) {
            let Some((_, op, _)) = self.written.pop_front() else {
                break;
            };
            match op {
                PersistOp::Append(txns) => {
                    self.durable.extend(txns.iter().cloned());
                    appended.extend(txns);
                }
                PersistOp::SaveEpochs { accepted, current } => {
                    let epochs = Epochs { accepted, current };
                    save_epochs(&self.dir, epochs, self.epochs_on_disk)?;
                    self.epochs_on_disk = Some(epochs);
                    self.accepted_epoch = accepted;
                    self.current_epoch = current;
                }
                PersistOp::Truncate { zxid } => {
                    self.rewriting = Some(zxid);
                    truncate_log(&self.dir, &self.dir, zxid)?;
                    self.rewriting = None;
                    self.log = None;
                    self.durable.retain(|t| t.header.zxid <= zxid);
                    appended.retain(|t| t.header.zxid <= zxid);
                }
                PersistOp::Install { zxid, tree } => {
                    self.rewriting = Some(zxid);
                    install_snapshot_with(&self.dir, &self.dir, zxid, &tree, || {
                        write_snapshot_in(&self.dir, zxid, &tree).map_err(std::io::Error::other)
                    })?;
                    self.rewriting = None;
                    self.log = None;
                    self.durable.clear();
                    appended.clear();
                    self.snapshot = Some(*tree);
                }
            }
        }
        self.pump()?;
        Ok(appended)
    }

    /// A background snapshot completed: written as the driver writes it, then old files purged (autopurge,
    /// keeping three snapshots). A snapshot older than the one the disk holds (an install overtook it) is
    /// dropped. The log rolls, unless a rewrite that rolls it anyway is still waiting.
    pub fn store_snapshot(&mut self, tree: DataTree) -> std::io::Result<()> {
        let z = tree.last_zxid();
        if self.snapshot.as_ref().is_some_and(|s| s.last_zxid() >= z) {
            return Ok(());
        }
        write_snapshot_in(&self.dir, z, &tree).map_err(std::io::Error::other)?;
        purge(&self.dir, &self.dir, 3);
        self.durable.retain(|t| t.header.zxid > z);
        self.snapshot = Some(tree);
        Ok(())
    }

    /// The next append starts a new log file (after a snapshot, as the driver rolls it). Like the driver's
    /// writer, the old file is synced before it is closed, so only the last log file can end torn.
    pub fn roll(&mut self) -> std::io::Result<()> {
        let waiting = !self
            .written
            .iter()
            .all(|(_, op, applied)| *applied || matches!(op, PersistOp::Append(_)));
        if !waiting {
            if let Some(log) = self.log.take() {
                self.dir.sync(&log)?;
            }
        }
        Ok(())
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
        let written = self.written.iter().flat_map(|(_, op, _)| match op {
            PersistOp::Append(txns) => txns.as_slice(),
            _ => &[],
        });
        self.durable
            .iter()
            .chain(written)
            .filter(move |t| t.header.zxid > zxid)
    }

    /// Whether anything written is not durable yet.
    pub fn has_unsynced(&self) -> bool {
        !self.written.is_empty()
    }

    /// Power loss: what was not made durable is torn or lost (see [`SimDir::crash`]); ops not yet carried out
    /// are lost.
    pub fn crash(&mut self, rng: &mut SimRng) {
        if let Some(zxid) = self.rewriting.take() {
            self.durable.retain(|t| t.header.zxid <= zxid);
            if self.snapshot.as_ref().is_some_and(|s| s.last_zxid() > zxid) {
                // Removed by the truncation; an older snapshot is the base now.
                self.snapshot = None;
            }
        }
        self.syncing = None;
        self.written.clear();
        self.log = None;
        self.epochs_on_disk = None;
        self.dir.crash(rng);
    }

    /// Recovers with the production recovery code. The logical view is replaced by what recovery found,
    /// which must hold every txn the view had as durable; a shortfall is returned as an error.
    pub fn recover(&mut self) -> Result<Recovered, String> {
        let recovery =
            recover(&self.dir, &self.dir).map_err(|e| format!("recovery failed: {e}"))?;
        let r = recovery.recovered;
        let last = |tree: &Option<DataTree>, txns: &[LoggedTxn]| {
            txns.last()
                .map(|t| t.header.zxid)
                .max(tree.as_ref().map(DataTree::last_zxid))
                .unwrap_or(0)
        };
        let before = last(&self.snapshot, &self.durable);
        let after = last(&r.tree, &r.txns);
        let base = r.tree.as_ref().map_or(0, DataTree::last_zxid);
        let lost = after < before
            || self.durable.iter().any(|t| {
                t.header.zxid > base
                    && r.txns
                        .binary_search_by_key(&t.header.zxid, |u| u.header.zxid)
                        .map_or(true, |i| r.txns[i] != *t)
            });
        if lost {
            return Err(format!(
                "recovery lost durable data: the disk held up to 0x{before:x} durably, recovery found 0x{after:x}"
            ));
        }
        self.snapshot = r.tree.clone();
        self.durable = r.txns.clone();
        self.accepted_epoch = r.accepted_epoch;
        self.current_epoch = r.current_epoch;
        Ok(r)
    }
}
