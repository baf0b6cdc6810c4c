//! rzk-storage: the on-disk formats, recovery, verification, purging and the rewrites an ensemble makes
//! (truncate, install a snapshot), with no event loop and no threads, so that the production driver
//! (`rzk-io-mio`, which adds the log writer and snapshot threads) and the simulator (`rzk-sim`, whose disk
//! stores these very bytes and recovers with this very code) share them.
//!
//! Layout: `dataLogDir/rzk/log.<zxid hex>` and `dataDir/rzk/snapshot.<zxid hex>` (ZooKeeper's names, in a
//! directory of rzk's own: `version-2/` is ZooKeeper's, which rzk only reads, to start on a ZooKeeper data
//! directory; see [`layout`] and [`zookeeper_recovery`]). The byte formats and the persistence contract (what the simulator's disk models) are in
//! docs/file-formats.md.
//!
//! Everything that reads goes through [`Dir`], so it runs the same on a real directory and on bytes in
//! memory; the encoders ([`encode_log_file`], [`encode_snapshot`]) produce the exact bytes the threads write.

mod crc_shift;
mod dir;
mod epochs;
mod format;
mod format_v1;
pub mod layout;
mod paced_file;
mod prefetch;
mod purge;
mod recovery;
mod rewrite;
mod snapshot;
mod txn_log;
pub mod zookeeper_digest;
pub mod zookeeper_export;
pub mod zookeeper_log;
pub mod zookeeper_recovery;
pub mod zookeeper_snapshot;
pub mod zookeeper_txn;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use dir::{replace_atomically, Dir, FsDir, MemDir};
pub use epochs::{
    read_epochs, save_epochs, write_epoch_file, EpochError, Epochs, ACCEPTED_EPOCH_FILE,
    CURRENT_EPOCH_FILE,
};
pub use format::{
    encode_file_header, FormatError, FORMAT_VERSION, LOG_MAGIC, MAX_RECORD_LEN, SNAPSHOT_MAGIC,
};
pub use purge::{plan_purge, purge, PurgePlan, MIN_SNAP_RETAIN_COUNT};
pub use recovery::{
    recover, recover_over, verify_dir, FileCheck, FileProblem, Recovery, RecoveryError,
    RecoveryReport,
};
pub use rewrite::{install_snapshot, install_snapshot_with, truncate_log, RewriteReport};
pub use snapshot::{
    encode_snapshot, parse_snapshot_name, read_snapshot, snapshot_name, write_snapshot_file,
    write_snapshot_in, SnapshotError,
};
pub use txn_log::{
    encode_log_file, encode_txns, log_name, parse_log_name, scan_log, Corruption, LogFile, LogScan,
    Tail,
};

pub use layout::{RZK_DIR, ZOOKEEPER_DIR};

/// Where and how the server keeps its data.
#[derive(Debug, Clone)]
pub struct StorageOptions {
    /// dataDir: snapshots go into its `rzk` directory.
    pub data_dir: PathBuf,
    /// dataLogDir: txn logs go into its `rzk` directory (dataDir when not set in zoo.cfg).
    pub data_log_dir: PathBuf,
    /// zookeeper.extendedTypesEnabled: whether TTL nodes in imported ZooKeeper data are TTL nodes (otherwise
    /// ZooKeeper, and so the import, deletes them as ephemerals of a dead session).
    pub extended_types: bool,
    /// preAllocSize in KB: log files grow in steps of this.
    pub pre_alloc_size_kb: u64,
    /// autopurge.snapRetainCount (at least [`MIN_SNAP_RETAIN_COUNT`]).
    pub snap_retain_count: u32,
    /// autopurge.purgeInterval in hours; 0 = no purging.
    pub purge_interval_hours: u32,
    /// Counters the threads update, readable from anywhere (for mntr, and the shutdown log line).
    pub counters: Arc<StorageCounters>,
}

impl StorageOptions {
    /// ZooKeeper's defaults for the given directories.
    pub fn new(data_dir: impl Into<PathBuf>, data_log_dir: impl Into<PathBuf>) -> StorageOptions {
        StorageOptions {
            data_dir: data_dir.into(),
            data_log_dir: data_log_dir.into(),
            extended_types: false,
            pre_alloc_size_kb: 65536,
            snap_retain_count: 3,
            purge_interval_hours: 0,
            counters: Arc::default(),
        }
    }

    /// `dataDir/rzk`: rzk's snapshots and epoch files.
    pub fn snap_dir(&self) -> PathBuf {
        self.data_dir.join(RZK_DIR)
    }

    /// `dataLogDir/rzk`: rzk's txn logs.
    pub fn log_dir(&self) -> PathBuf {
        self.data_log_dir.join(RZK_DIR)
    }

    /// `dataDir/version-2`: ZooKeeper's snapshots and epoch files (and rzk's of the old layout).
    pub fn zookeeper_snap_dir(&self) -> PathBuf {
        self.data_dir.join(ZOOKEEPER_DIR)
    }

    /// `dataLogDir/version-2`: ZooKeeper's txn logs (and rzk's of the old layout).
    pub fn zookeeper_log_dir(&self) -> PathBuf {
        self.data_log_dir.join(ZOOKEEPER_DIR)
    }

    /// Creates both `rzk` directories if missing.
    pub fn create_dirs(&self) -> std::io::Result<()> {
        for dir in [self.snap_dir(), self.log_dir()] {
            std::fs::create_dir_all(&dir)?;
            if let Some(parent) = dir.parent() {
                dir::sync_dir(parent)?;
            }
        }
        Ok(())
    }

    /// Recovers the startup state (see [`recover`]), after moving rzk's files of the old layout into rzk's
    /// directories, and, when those hold no snapshot or log yet but `version-2` holds ZooKeeper's files,
    /// importing ZooKeeper's state, written here as rzk's first snapshot (and epoch files). The directories
    /// must exist ([`StorageOptions::create_dirs`]).
    pub fn recover(&self) -> Result<Recovery, RecoveryError> {
        let mut recovery = self.recover_deferring_import()?;
        if let Some(unwritten) = recovery.unwritten.take() {
            unwritten
                .write(&self.snap_dir())
                .map_err(|source| RecoveryError::Io {
                    file: self.snap_dir().display().to_string(),
                    source,
                })?;
        }
        Ok(recovery)
    }

    /// [`StorageOptions::recover`], except that imported ZooKeeper state is returned in
    /// [`Recovery::unwritten`] for the snapshot thread to write, off the startup path.
    ///
    /// Until that snapshot is on disk, the state before rzk's first snapshot is still ZooKeeper's unchanged
    /// files: when `rzk/` holds no valid snapshot and `version-2/` holds ZooKeeper's, recovery imports them
    /// as the base rzk's logs continue from. So rzk may log txns after the imported zxid before the
    /// snapshot is written, and a crash at any point recovers the same state.
    pub fn recover_deferring_import(&self) -> Result<Recovery, RecoveryError> {
        let (snap_dir, log_dir) = (self.snap_dir(), self.log_dir());
        layout::adopt_old_layout(
            &self.zookeeper_snap_dir(),
            &self.zookeeper_log_dir(),
            &snap_dir,
            &log_dir,
        )
        .map_err(|source| RecoveryError::Io {
            file: self.zookeeper_snap_dir().display().to_string(),
            source,
        })?;
        let (snaps, logs) = (FsDir::new(&snap_dir), FsDir::new(&log_dir));
        let mut imported = None;
        let mut recovery = recover_over(&snaps, &logs, &mut || {
            let zk = zookeeper_recovery::import_zookeeper(
                &FsDir::new(self.zookeeper_snap_dir()),
                &FsDir::new(self.zookeeper_log_dir()),
                self.extended_types,
            )?;
            Ok(zk.map(|zk| {
                let tree = zk.tree.clone();
                imported = Some(zk);
                tree
            }))
        })?;
        if let Some(zk) = imported {
            self.adopt_epochs(zk.epochs)?;
            // Read before the import's epochs were written: read them again.
            let epochs = read_epochs(&snaps, recovery.report.last_zxid)?;
            recovery.recovered.accepted_epoch = epochs.accepted;
            recovery.recovered.current_epoch = epochs.current;
            recovery.report.zookeeper_import = Some(zk.report);
            recovery.unwritten = Some(UnwrittenSnapshot {
                zxid: zk.tree.last_zxid(),
                tree: zk.tree,
            });
        }
        Ok(recovery)
    }

    /// Writes ZooKeeper's epochs as rzk's, unless rzk's directory has epoch files already (from a start
    /// that imported before: those may have moved on since, and an epoch never goes back).
    fn adopt_epochs(&self, epochs: Option<Epochs>) -> Result<(), RecoveryError> {
        let snaps = FsDir::new(self.snap_dir());
        let io = |source| RecoveryError::Io {
            file: self.snap_dir().display().to_string(),
            source,
        };
        let has_epochs = snaps
            .list()
            .map_err(io)?
            .iter()
            .any(|n| n == ACCEPTED_EPOCH_FILE || n == CURRENT_EPOCH_FILE);
        if let (Some(epochs), false) = (epochs, has_epochs) {
            save_epochs(&snaps, epochs, None).map_err(io)?;
        }
        Ok(())
    }

    /// Purges now if autopurge is on.
    pub fn purge_if_enabled(&self) -> Option<PurgePlan> {
        (self.purge_interval_hours > 0).then(|| {
            purge(
                &FsDir::new(self.snap_dir()),
                &FsDir::new(self.log_dir()),
                self.snap_retain_count,
            )
        })
    }
}

/// ZooKeeper's state imported at this start and not yet on disk as rzk's first snapshot. The snapshot thread
/// writes it; until then recovery imports ZooKeeper's unchanged files again as the base of rzk's logs
/// ([`StorageOptions::recover_deferring_import`]).
#[derive(Debug, Clone)]
pub struct UnwrittenSnapshot {
    pub zxid: rzk_core::Zxid,
    pub tree: rzk_core::tree::DataTree,
}

impl UnwrittenSnapshot {
    /// Writes it (temp file, fsync, rename, directory fsync) into `snap_dir`.
    pub fn write(&self, snap_dir: &std::path::Path) -> std::io::Result<PathBuf> {
        let started = std::time::Instant::now();
        let written = write_snapshot_file(snap_dir, self.zxid, &self.tree)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        tracing::info!(
            snapshot = %written.display(),
            ms = started.elapsed().as_millis() as u64,
            "wrote ZooKeeper's state as rzk's first snapshot: from now on rzk runs on its own files, and \
             leaves ZooKeeper's untouched"
        );
        Ok(written)
    }
}

/// Running totals of the durability work.
#[derive(Debug, Default)]
pub struct StorageCounters {
    /// Txns written to the log and synced.
    pub txns: AtomicU64,
    /// fdatasync calls on the log (one per group commit).
    pub fsyncs: AtomicU64,
    /// Log files created.
    pub log_files: AtomicU64,
    /// Snapshots written, and failed.
    pub snapshots: AtomicU64,
    pub snapshot_failures: AtomicU64,
    /// Snapshots not taken because the previous one was still being written.
    pub snapshots_skipped: AtomicU64,
}

impl StorageCounters {
    pub fn txns(&self) -> u64 {
        self.txns.load(Ordering::Relaxed)
    }
    pub fn fsyncs(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }
    pub fn snapshots(&self) -> u64 {
        self.snapshots.load(Ordering::Relaxed)
    }
    pub fn snapshots_skipped(&self) -> u64 {
        self.snapshots_skipped.load(Ordering::Relaxed)
    }
}

pub fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}
