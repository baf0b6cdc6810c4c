//! rzk-storage: the on-disk formats, recovery, verification, purging and the rewrites an ensemble makes
//! (truncate, install a snapshot), with no event loop and no threads, so that the production driver
//! (`rzk-io-mio`, which adds the log writer and snapshot threads) and the simulator (`rzk-sim`, whose disk
//! stores these very bytes and recovers with this very code) share them.
//!
//! Layout, as ZooKeeper's: `dataLogDir/version-2/log.<zxid hex>` and `dataDir/version-2/snapshot.<zxid hex>`.
//! The byte formats and the persistence contract (what the simulator's disk models) are in
//! docs/file-formats.md.
//!
//! Everything that reads goes through [`Dir`], so it runs the same on a real directory and on bytes in
//! memory; the encoders ([`encode_log_file`], [`encode_snapshot`]) produce the exact bytes the threads write.

mod crc_shift;
mod dir;
mod epochs;
mod format;
mod format_v1;
mod paced_file;
mod prefetch;
mod purge;
mod recovery;
mod rewrite;
mod snapshot;
mod txn_log;
pub mod zookeeper_log;
pub mod zookeeper_snapshot;

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
    recover, verify_dir, FileCheck, FileProblem, Recovery, RecoveryError, RecoveryReport,
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

/// The subdirectory of dataDir and dataLogDir that holds the files (ZooKeeper's "version-2").
pub const VERSION_DIR: &str = "version-2";

/// Where and how the server keeps its data.
#[derive(Debug, Clone)]
pub struct StorageOptions {
    /// dataDir: snapshots go into its `version-2`.
    pub data_dir: PathBuf,
    /// dataLogDir: txn logs go into its `version-2` (dataDir when not set in zoo.cfg).
    pub data_log_dir: PathBuf,
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
            pre_alloc_size_kb: 65536,
            snap_retain_count: 3,
            purge_interval_hours: 0,
            counters: Arc::default(),
        }
    }

    /// `dataDir/version-2`.
    pub fn snap_dir(&self) -> PathBuf {
        self.data_dir.join(VERSION_DIR)
    }

    /// `dataLogDir/version-2`.
    pub fn log_dir(&self) -> PathBuf {
        self.data_log_dir.join(VERSION_DIR)
    }

    /// Creates both `version-2` directories if missing.
    pub fn create_dirs(&self) -> std::io::Result<()> {
        for dir in [self.snap_dir(), self.log_dir()] {
            std::fs::create_dir_all(&dir)?;
            if let Some(parent) = dir.parent() {
                dir::sync_dir(parent)?;
            }
        }
        Ok(())
    }

    /// Recovers the startup state from these directories (see [`recover`]).
    pub fn recover(&self) -> Result<Recovery, RecoveryError> {
        recover(&FsDir::new(self.snap_dir()), &FsDir::new(self.log_dir()))
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
