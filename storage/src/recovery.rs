//! Startup recovery: the newest valid snapshot, then the durable txns after it from the log files.
//!
//! - Snapshots are tried newest first; an invalid one is skipped with a warning (an older one, or the empty
//!   tree, is then the base, and the log must reach back to it).
//! - Log files are read in zxid order from the newest one that starts at or before the base's zxid. Every txn
//!   above the base must follow the previous one (see [`follows`]): a gap or regression is an error.
//! - A torn tail of the LAST log file (a bad record with nothing valid after it) is what a crash mid-write
//!   leaves: the file is truncated after its last good record, with a warning. A last file left without any
//!   txn is removed, so the writer can create a file of that name again.
//! - Anything else (a bad record followed by valid ones, a bad record in an earlier file, a record whose
//!   checksum is good but whose content is wrong) is an error naming the file and offset: never skipped.

use std::io;

use rzk_core::tree::DataTree;
use rzk_core::txn::LoggedTxn;
use rzk_core::{Recovered, Zxid};
use tracing::{info, warn};

use super::dir::Dir;
use super::epochs::{read_epochs, EpochError};
use super::format::is_zookeeper_file;
use super::snapshot::{parse_snapshot_name, read_snapshot, TEMP_SUFFIX};
use super::txn_log::{follows, parse_log_name, scan_log, Tail};

/// Why the server must not start from these directories.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("cannot read or repair {file}: {source}")]
    Io {
        file: String,
        #[source]
        source: io::Error,
    },
    #[error("{file} is corrupt at offset {offset}: {reason}")]
    Corrupt {
        file: String,
        offset: usize,
        reason: String,
    },
    #[error(
        "{file} is an Apache ZooKeeper data file in rzk's own directory: rzk reads ZooKeeper's files only \
         from version-2/ (see docs/operations.md, \"Migrating from ZooKeeper\"), and leaves this one untouched"
    )]
    ZooKeeperFile { file: String },
    #[error("cannot start from Apache ZooKeeper's data: {file}: {reason}")]
    ZooKeeperData { file: String, reason: String },
    #[error(transparent)]
    Epoch(#[from] EpochError),
}

/// Refuses a ZooKeeper file before anything could repair (truncate, remove) it as if it were rzk's.
fn refuse_zookeeper_file(dir: &dyn Dir, name: &str, bytes: &[u8]) -> Result<(), RecoveryError> {
    if is_zookeeper_file(bytes) {
        return Err(RecoveryError::ZooKeeperFile {
            file: dir.display(name),
        });
    }
    Ok(())
}

/// What recovery found and did, for the startup log.
#[derive(Debug, Clone, Default)]
pub struct RecoveryReport {
    /// The snapshot used (file, zxid), if any.
    pub snapshot: Option<(String, Zxid)>,
    /// Snapshots skipped as invalid, with why.
    pub invalid_snapshots: Vec<(String, String)>,
    /// Log files read.
    pub log_files: Vec<String>,
    /// Txns above the snapshot handed to the node.
    pub txns: usize,
    /// A torn tail cut off: file, offset, why.
    pub truncated: Option<(String, usize, String)>,
    /// Files removed (an empty torn last log, leftover temporary snapshots).
    pub removed: Vec<String>,
    /// The zxid the node starts at.
    pub last_zxid: Zxid,
    /// What importing a ZooKeeper data directory did, when this start imported one.
    pub zookeeper_import: Option<crate::zookeeper_recovery::ZkImportReport>,
}

/// The startup state for `Node::new` and what recovery did.
#[derive(Debug)]
pub struct Recovery {
    pub recovered: Recovered,
    pub report: RecoveryReport,
    /// Imported ZooKeeper state that must be written as rzk's first snapshot before any append
    /// ([`crate::StorageOptions::recover_deferring_import`]); `None` otherwise.
    pub unwritten: Option<crate::UnwrittenSnapshot>,
}

fn io_err(dir: &dyn Dir, name: &str) -> impl FnOnce(io::Error) -> RecoveryError {
    let file = dir.display(name);
    move |source| RecoveryError::Io { file, source }
}

/// `(zxid, name)` of the files `parse` recognises, sorted by zxid.
fn named_files(
    dir: &dyn Dir,
    parse: fn(&str) -> Option<Zxid>,
) -> Result<Vec<(Zxid, String)>, RecoveryError> {
    let names = dir.list().map_err(io_err(dir, "."))?;
    let mut files: Vec<(Zxid, String)> = names
        .into_iter()
        .filter_map(|n| parse(&n).map(|z| (z, n)))
        .collect();
    files.sort();
    Ok(files)
}

/// Recovers from the snapshot directory and the log directory (each a `version-2` directory; they may be the
/// same), with the epoch files from the snapshot directory. Repairs a torn log tail in place.
pub fn recover(snap_dir: &dyn Dir, log_dir: &dyn Dir) -> Result<Recovery, RecoveryError> {
    recover_over(snap_dir, log_dir, &mut || Ok(None))
}

/// [`recover`], with `before_any_snapshot` giving the state the logs start from when no snapshot is valid
/// (`None`: the empty tree): for a directory migrated from ZooKeeper, ZooKeeper's state.
pub fn recover_over(
    snap_dir: &dyn Dir,
    log_dir: &dyn Dir,
    before_any_snapshot: &mut dyn FnMut() -> Result<Option<DataTree>, RecoveryError>,
) -> Result<Recovery, RecoveryError> {
    let mut report = RecoveryReport::default();
    remove_temp_snapshots(snap_dir, &mut report)?;
    let mut base = None;
    for (zxid, name) in named_files(snap_dir, parse_snapshot_name)?
        .into_iter()
        .rev()
    {
        let bytes = snap_dir.read(&name).map_err(io_err(snap_dir, &name))?;
        refuse_zookeeper_file(snap_dir, &name, &bytes)?;
        let problem = match read_snapshot(&bytes) {
            Ok((z, tree)) if z == zxid => {
                base = Some((name, zxid, tree));
                break;
            }
            Ok((z, _)) => format!("holds zxid 0x{z:x}, not the 0x{zxid:x} of its name"),
            Err(e) => e.to_string(),
        };
        let file = snap_dir.display(&name);
        warn!(%file, problem, "snapshot is invalid: falling back to an older one");
        report.invalid_snapshots.push((file, problem));
    }
    let tree = match base {
        Some((name, zxid, tree)) => {
            report.snapshot = Some((snap_dir.display(&name), zxid));
            Some(tree)
        }
        None => {
            let tree = before_any_snapshot()?;
            if !report.invalid_snapshots.is_empty() {
                warn!(
                    from = tree
                        .as_ref()
                        .map_or("the beginning", |_| "ZooKeeper's state"),
                    "no valid snapshot: replaying the txn log"
                );
            }
            tree
        }
    };
    let base_zxid = tree.as_ref().map_or(0, DataTree::last_zxid);
    let txns = read_logs(log_dir, base_zxid, &mut report)?;
    report.txns = txns.len();
    report.last_zxid = txns.last().map_or(base_zxid, |t| t.header.zxid);
    // The epoch files live next to the snapshots (ZooKeeper's snapDir); a standalone server has none.
    let epochs = read_epochs(snap_dir, report.last_zxid)?;
    Ok(Recovery {
        recovered: Recovered {
            tree,
            txns,
            accepted_epoch: epochs.accepted,
            current_epoch: epochs.current,
        },
        report,
        unwritten: None,
    })
}

fn remove_temp_snapshots(dir: &dyn Dir, report: &mut RecoveryReport) -> Result<(), RecoveryError> {
    for name in dir.list().map_err(io_err(dir, "."))? {
        if name.starts_with("snapshot.") && name.ends_with(TEMP_SUFFIX) {
            dir.remove(&name).map_err(io_err(dir, &name))?;
            info!(file = %dir.display(&name), "removed an unfinished snapshot");
            report.removed.push(dir.display(&name));
        }
    }
    Ok(())
}

/// The txns above `base` from the log files, repairing a torn tail of the last file.
fn read_logs(
    dir: &dyn Dir,
    base: Zxid,
    report: &mut RecoveryReport,
) -> Result<Vec<LoggedTxn>, RecoveryError> {
    let files = named_files(dir, parse_log_name)?;
    // The newest file starting at or before the base's successor holds the txns right after it; older ones
    // hold nothing above the base.
    let start = files
        .iter()
        .rposition(|(z, _)| *z <= base.saturating_add(1))
        .unwrap_or(0);
    let mut txns: Vec<LoggedTxn> = Vec::new();
    let mut prev = base;
    for (i, (name_zxid, name)) in files.iter().enumerate().skip(start) {
        let is_last = i + 1 == files.len();
        let file = dir.display(name);
        let corrupt = |offset: usize, reason: String| RecoveryError::Corrupt {
            file: file.clone(),
            offset,
            reason,
        };
        let bytes = dir.read(name).map_err(io_err(dir, name))?;
        refuse_zookeeper_file(dir, name, &bytes)?;
        let scan = scan_log(&bytes).map_err(|c| corrupt(c.offset, c.reason))?;
        report.log_files.push(file.clone());
        // Without records the header may be torn; with them, scan_log tied it to the first record.
        if let Some(h) = scan
            .header_zxid
            .filter(|h| h != name_zxid && !scan.txns.is_empty())
        {
            return Err(corrupt(0, format!("header says zxid 0x{h:x}")));
        }
        for (t, &offset) in scan.txns.iter().zip(&scan.offsets) {
            let zxid = t.header.zxid;
            if zxid <= base {
                continue;
            }
            if !follows(prev, zxid) {
                return Err(corrupt(
                    offset,
                    format!(
                        "zxid 0x{zxid:x} does not follow 0x{prev:x} (a gap: txns are missing{})",
                        if prev == base && base != 0 {
                            " after the snapshot"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            prev = zxid;
            txns.push(t.clone());
        }
        if let Tail::Torn { offset, reason } = &scan.tail {
            if !is_last {
                return Err(corrupt(
                    *offset,
                    format!("{reason}, in a log file that is not the last one"),
                ));
            }
            warn!(%file, offset, reason, "torn record at the end of the txn log: truncating after the last good record");
            report.truncated = Some((file.clone(), *offset, reason.clone()));
        }
        if is_last && scan.txns.is_empty() {
            // Created for a txn that never became durable: remove it so its name can be used again.
            dir.remove(name).map_err(io_err(dir, name))?;
            report.removed.push(file);
        } else if is_last && scan.tail != Tail::Clean {
            dir.truncate(name, scan.good_end as u64)
                .map_err(io_err(dir, name))?;
        }
    }
    Ok(txns)
}

/// One file's state as `rzk log verify` reports it.
#[derive(Debug, Clone)]
pub struct FileCheck {
    pub file: String,
    /// Records (txns, or nodes + sessions for a snapshot).
    pub records: usize,
    /// First and last zxid found.
    pub zxids: Option<(Zxid, Zxid)>,
    /// `None` when the file is fine.
    pub problem: Option<FileProblem>,
}

/// What is wrong with a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    /// A torn tail (recovery would truncate it if this is the last log file).
    TornTail { offset: usize, reason: String },
    /// Corruption: recovery would refuse to start (or skip the snapshot).
    Corrupt { offset: usize, reason: String },
}

/// Checks every log and snapshot file in `dir` without changing anything. Reports a torn tail in any log
/// file but the last one, and any gap between files, as corruption.
pub fn verify_dir(dir: &dyn Dir) -> Result<Vec<FileCheck>, RecoveryError> {
    let mut checks = Vec::new();
    let logs = named_files(dir, parse_log_name)?;
    let mut prev: Option<Zxid> = None;
    for (i, (name_zxid, name)) in logs.iter().enumerate() {
        let bytes = dir.read(name).map_err(io_err(dir, name))?;
        let mut check = FileCheck {
            file: dir.display(name),
            records: 0,
            zxids: None,
            problem: None,
        };
        match scan_log(&bytes) {
            Err(c) => {
                check.problem = Some(FileProblem::Corrupt {
                    offset: c.offset,
                    reason: c.reason,
                })
            }
            Ok(scan) => {
                check.records = scan.txns.len();
                check.zxids = scan
                    .txns
                    .first()
                    .zip(scan.txns.last())
                    .map(|(a, b)| (a.header.zxid, b.header.zxid));
                if let Some(h) = scan
                    .header_zxid
                    .filter(|h| h != name_zxid && !scan.txns.is_empty())
                {
                    check.problem = Some(FileProblem::Corrupt {
                        offset: 0,
                        reason: format!("header says zxid 0x{h:x}"),
                    });
                } else if let (Some(p), Some(first)) = (prev, scan.txns.first()) {
                    if !follows(p, first.header.zxid) {
                        check.problem = Some(FileProblem::Corrupt {
                            offset: scan.offsets[0],
                            reason: format!(
                                "zxid 0x{:x} does not follow the previous file's last 0x{p:x}",
                                first.header.zxid
                            ),
                        });
                    }
                }
                if check.problem.is_none() {
                    if let Tail::Torn { offset, reason } = scan.tail {
                        check.problem = Some(if i + 1 == logs.len() {
                            FileProblem::TornTail { offset, reason }
                        } else {
                            FileProblem::Corrupt {
                                offset,
                                reason: format!("{reason}, in a log file that is not the last one"),
                            }
                        });
                    }
                }
                if let Some(last) = scan.txns.last() {
                    prev = Some(last.header.zxid);
                }
            }
        }
        checks.push(check);
    }
    for (zxid, name) in named_files(dir, parse_snapshot_name)? {
        let bytes = dir.read(&name).map_err(io_err(dir, &name))?;
        let mut check = FileCheck {
            file: dir.display(&name),
            records: 0,
            zxids: Some((zxid, zxid)),
            problem: None,
        };
        match read_snapshot(&bytes) {
            Ok((z, tree)) if z == zxid => {
                check.records = tree.nodes().count() + tree.sessions().len();
            }
            Ok((z, _)) => {
                check.problem = Some(FileProblem::Corrupt {
                    offset: 0,
                    reason: format!("holds zxid 0x{z:x}, not the 0x{zxid:x} of its name"),
                })
            }
            Err(e) => {
                let offset = match &e {
                    super::snapshot::SnapshotError::Record { offset, .. } => *offset,
                    _ => 0,
                };
                check.problem = Some(FileProblem::Corrupt {
                    offset,
                    reason: e.to_string(),
                })
            }
        }
        checks.push(check);
    }
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dir::MemDir;
    use crate::snapshot::{encode_snapshot, snapshot_name, tests::tree_after};
    use crate::txn_log::{encode_log_file, log_name, scan_log};
    use proptest::prelude::*;

    /// A directory with snapshots at `snaps` and log files starting at `log_starts`, holding the txns
    /// 1..=n of [`tree_after`].
    fn dir_with(n: Zxid, snaps: &[Zxid], log_starts: &[Zxid]) -> MemDir {
        let dir = MemDir::new();
        let (_, log) = tree_after(n);
        for &s in snaps {
            let (tree, _) = tree_after(s);
            dir.put(&snapshot_name(s), encode_snapshot(s, &tree).unwrap());
        }
        for (i, &start) in log_starts.iter().enumerate() {
            let end = log_starts.get(i + 1).copied().unwrap_or(n + 1);
            let part = &log[(start - 1) as usize..(end - 1) as usize];
            let mut bytes = encode_log_file(part).unwrap();
            bytes.resize(bytes.len() + 100, 0);
            dir.put(&log_name(start), bytes);
        }
        dir
    }

    fn recovered_digest(r: &Recovery) -> u64 {
        let mut tree = r.recovered.tree.clone().unwrap_or_default();
        for t in &r.recovered.txns {
            tree.apply(&t.header, &t.txn);
        }
        tree.check_invariants().unwrap();
        tree.digest()
    }

    #[test]
    fn recovers_the_newest_snapshot_and_the_txns_after_it() {
        let dir = dir_with(30, &[10, 20], &[1, 11, 21]);
        let r = recover(&dir, &dir).unwrap();
        assert_eq!(r.report.snapshot, Some(("snapshot.14".into(), 20)));
        assert_eq!(r.report.log_files, ["log.15"], "log.b ends at the snapshot");
        let zxids: Vec<_> = r.recovered.txns.iter().map(|t| t.header.zxid).collect();
        assert_eq!(zxids, (21..=30).collect::<Vec<_>>());
        assert_eq!(r.report.last_zxid, 30);
        assert_eq!(recovered_digest(&r), tree_after(30).0.digest());
    }

    #[test]
    fn a_snapshot_in_the_middle_of_a_log_file_replays_from_inside_it() {
        let dir = dir_with(30, &[15], &[1, 11, 21]);
        let r = recover(&dir, &dir).unwrap();
        assert_eq!(r.recovered.txns.first().unwrap().header.zxid, 16);
        assert_eq!(recovered_digest(&r), tree_after(30).0.digest());
    }

    #[test]
    fn zookeeper_files_are_refused_and_left_untouched() {
        let mut zk_log = b"ZKLG\0\0\0\x02\0\0\0\0\0\0\0\0".to_vec();
        zk_log.resize(64 << 10, 0);
        let zk_snap = b"ZKSN\0\0\0\x02".to_vec();
        for files in [
            vec![("log.1", zk_log.clone())],
            vec![("snapshot.0", zk_snap.clone()), ("log.1", zk_log.clone())],
        ] {
            let dir = MemDir::new();
            for (name, bytes) in &files {
                dir.put(name, bytes.clone());
            }
            let err = recover(&dir, &dir).unwrap_err();
            assert!(matches!(err, RecoveryError::ZooKeeperFile { .. }), "{err}");
            assert!(err.to_string().contains("Apache ZooKeeper"), "{err}");
            for (name, bytes) in &files {
                assert_eq!(dir.get(name).as_ref(), Some(bytes), "{name} changed");
            }
        }
    }

    #[test]
    fn an_invalid_newest_snapshot_falls_back_to_an_older_one() {
        let dir = dir_with(30, &[10, 20], &[1, 11, 21]);
        let mut bad = dir.get("snapshot.14").unwrap();
        let mid = bad.len() / 2;
        bad[mid] ^= 1;
        dir.put("snapshot.14", bad);
        let r = recover(&dir, &dir).unwrap();
        assert_eq!(r.report.snapshot, Some(("snapshot.a".into(), 10)));
        assert_eq!(r.report.invalid_snapshots.len(), 1);
        assert_eq!(recovered_digest(&r), tree_after(30).0.digest());
    }

    #[test]
    fn falling_back_past_purged_logs_is_an_error_not_a_silent_gap() {
        let dir = dir_with(30, &[10, 20], &[11, 21]);
        dir.put("snapshot.14", b"garbage".to_vec());
        dir.put("snapshot.a", b"garbage".to_vec());
        let err = recover(&dir, &dir).unwrap_err();
        assert!(err.to_string().contains("log.b"), "{err}");
        assert!(err.to_string().contains("gap"), "{err}");
    }

    #[test]
    fn a_torn_tail_is_truncated_and_recovery_is_then_clean() {
        let dir = dir_with(30, &[], &[1, 21]);
        let mut last = dir.get("log.15").unwrap();
        let scan = scan_log(&last).unwrap();
        let cut = scan.offsets[5] + 3;
        last.truncate(cut);
        last.extend([0x5a; 7]);
        dir.put("log.15", last);
        let r = recover(&dir, &dir).unwrap();
        assert_eq!(r.report.last_zxid, 25);
        let (file, offset, _) = r.report.truncated.clone().unwrap();
        assert_eq!((file.as_str(), offset), ("log.15", scan.offsets[5]));
        assert_eq!(dir.get("log.15").unwrap().len(), scan.offsets[5]);
        let again = recover(&dir, &dir).unwrap();
        assert_eq!(again.report.truncated, None);
        assert_eq!(again.report.last_zxid, 25);
    }

    #[test]
    fn a_last_log_without_any_durable_txn_is_removed() {
        let dir = dir_with(20, &[], &[1]);
        dir.put("log.15", vec![0; 4096]);
        let r = recover(&dir, &dir).unwrap();
        assert_eq!(r.report.last_zxid, 20);
        assert_eq!(r.report.removed, ["log.15"]);
        assert!(dir.get("log.15").is_none());
    }

    #[test]
    fn corruption_in_the_middle_is_an_error_naming_file_and_offset() {
        let dir = dir_with(30, &[], &[1, 21]);
        let mut last = dir.get("log.15").unwrap();
        let scan = scan_log(&last).unwrap();
        last[scan.offsets[3] + 10] ^= 0xff;
        dir.put("log.15", last);
        let err = recover(&dir, &dir).unwrap_err();
        match err {
            RecoveryError::Corrupt { file, offset, .. } => {
                assert_eq!((file.as_str(), offset), ("log.15", scan.offsets[3]));
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_torn_tail_in_an_earlier_file_is_an_error() {
        let dir = dir_with(30, &[], &[1, 21]);
        let mut first = dir.get("log.1").unwrap();
        let scan = scan_log(&first).unwrap();
        first.truncate(scan.offsets[19] + 5);
        dir.put("log.1", first);
        let err = recover(&dir, &dir).unwrap_err();
        assert!(err.to_string().contains("log.1 "), "{err}");
        assert!(err.to_string().contains("not the last"), "{err}");
    }

    #[test]
    fn epochs_come_from_the_files_or_the_last_zxid() {
        let dir = dir_with(5, &[], &[1]);
        let r = recover(&dir, &dir).unwrap();
        assert_eq!(
            (r.recovered.accepted_epoch, r.recovered.current_epoch),
            (0, 0)
        );
        dir.put("acceptedEpoch", b"9".to_vec());
        dir.put("currentEpoch", b"8".to_vec());
        let r = recover(&dir, &dir).unwrap();
        assert_eq!(
            (r.recovered.accepted_epoch, r.recovered.current_epoch),
            (9, 8)
        );
        dir.put("currentEpoch", b"eight".to_vec());
        let err = recover(&dir, &dir).unwrap_err();
        assert!(err.to_string().contains("currentEpoch"), "{err}");
    }

    #[test]
    fn temp_snapshots_are_removed_and_never_read() {
        let dir = dir_with(5, &[], &[1]);
        dir.put("snapshot.5.tmp", b"half".to_vec());
        let r = recover(&dir, &dir).unwrap();
        assert_eq!(r.report.removed, ["snapshot.5.tmp"]);
        assert_eq!(r.report.last_zxid, 5);
    }

    #[test]
    fn verify_reports_torn_tails_and_corruption() {
        let dir = dir_with(30, &[10], &[1, 21]);
        let checks = verify_dir(&dir).unwrap();
        assert!(checks.iter().all(|c| c.problem.is_none()), "{checks:?}");
        assert_eq!(checks[0].records, 20);
        let mut last = dir.get("log.15").unwrap();
        let end = scan_log(&last).unwrap().good_end;
        last[end] = 7;
        dir.put("log.15", last);
        let checks = verify_dir(&dir).unwrap();
        assert!(matches!(
            checks[1].problem,
            Some(FileProblem::TornTail { .. })
        ));
        dir.put("snapshot.a", b"RZKS".to_vec());
        let checks = verify_dir(&dir).unwrap();
        assert!(matches!(
            checks[2].problem,
            Some(FileProblem::Corrupt { .. })
        ));
    }

    proptest! {
        /// The fuzz target's property on stable: arbitrary bytes as files never panic, and what recovery
        /// accepts replays into a consistent tree.
        #[test]
        fn arbitrary_files_never_panic(
            snap in proptest::collection::vec(any::<u8>(), 0..64),
            log in proptest::collection::vec(any::<u8>(), 0..96),
            valid_prefix in 0usize..3,
        ) {
            let dir = MemDir::new();
            let mut bytes = if valid_prefix > 0 { encode_log_file(&tree_after(3).1).unwrap() } else { Vec::new() };
            bytes.extend(&log);
            dir.put("snapshot.2", snap);
            dir.put("log.1", bytes);
            let _ = verify_dir(&dir);
            if let Ok(r) = recover(&dir, &dir) {
                recovered_digest(&r);
            }
        }

        /// Recovery after a crash that cut the last log file anywhere (and left zeros or garbage after the
        /// cut) returns exactly the whole txns before the cut.
        #[test]
        fn any_truncation_of_the_last_log_recovers_the_whole_records_before_it(
            cut_frac in 0.0f64..=1.0, garbage in proptest::collection::vec(any::<u8>(), 0..24),
        ) {
            let dir = dir_with(40, &[10], &[1, 21]);
            let full = dir.get("log.15").unwrap();
            let scan = scan_log(&full).unwrap();
            let cut = (scan.good_end as f64 * cut_frac) as usize;
            let mut torn = full[..cut].to_vec();
            if cut >= crate::format::FILE_HEADER_LEN {
                torn.extend(&garbage);
            } else {
                // The header is synced before any record is written: a crash can only tear it into zeros
                // (preallocated space), never leave other bytes after it.
                torn.resize(cut + garbage.len(), 0);
            }
            // The records intact are those before the first byte that differs from the original: usually
            // the cut, but garbage can happen to repeat the bytes that were cut (a record one byte short
            // followed by that very byte is whole again).
            let intact = torn.iter().zip(&full).take_while(|(a, b)| a == b).count();
            dir.put("log.15", torn);
            let whole = scan.offsets.iter().skip(1).chain([&scan.good_end])
                .filter(|&&end| end <= intact).count() as Zxid;
            match recover(&dir, &dir) {
                Ok(r) => {
                    prop_assert_eq!(r.report.last_zxid, 20 + whole);
                    prop_assert_eq!(recovered_digest(&r), tree_after(20 + whole).0.digest());
                }
                // Garbage that happens to hold a whole valid record would be corruption; random bytes
                // of this length never do.
                Err(e) => prop_assert!(false, "{}", e),
            }
        }
    }

    proptest! {
        // Each case is megabytes: a few cases show the pass is linear without slowing the suite.
        #![proptest_config(ProptestConfig::with_cases(6))]

        /// Large damaged logs get a verdict in one pass over their bytes: pieces of real records, random
        /// bytes and zeros repeated to megabytes (the fuzz target's small inputs never reach such sizes).
        #[test]
        fn large_damaged_logs_get_a_verdict(
            pieces in proptest::collection::vec(
                prop_oneof![
                    proptest::collection::vec(any::<u8>(), 1..64),
                    Just(vec![0u8; 4096]),
                    (0usize..40).prop_map(|i| {
                        let full = dir_with(40, &[], &[1]).get("log.1").unwrap();
                        let scan = scan_log(&full).unwrap();
                        full[scan.offsets[i]..].to_vec()
                    }),
                ],
                1..6,
            ),
            megabytes in 1usize..24,
        ) {
            let dir = dir_with(40, &[10], &[1, 21]);
            let mut log = dir.get("log.15").unwrap();
            let unit = pieces.concat();
            while log.len() < megabytes << 20 {
                log.extend_from_slice(&unit);
            }
            dir.put("log.15", log);
            // A verdict either way: the valid prefix (with the damage cut off as a torn tail), or
            // corruption if a valid record lies past the damage.
            match recover(&dir, &dir) {
                Ok(r) => prop_assert!(r.report.last_zxid >= 20),
                Err(e) => prop_assert!(matches!(e, RecoveryError::Corrupt { .. }), "{}", e),
            }
        }
    }
}

/// Not a check: writes a data dir for measuring recovery time. `RZK_GEN_DIR=/tmp/d RZK_GEN_TXNS=1000000
/// cargo test --release -p rzk-io-mio -- --ignored --nocapture generate_data_dir` creates half the txns as
/// creates in a snapshot and the other half as setData in the log after it, then times recovery.
#[cfg(test)]
mod generate {
    use super::*;
    use crate::{write_snapshot_file, FsDir, LogFile, StorageOptions};
    use rzk_core::proto::records::{Acl, Id};
    use rzk_core::tree::DataTree;
    use rzk_core::txn::{Txn, TxnHeader};
    use rzk_core::Data;

    fn txn(zxid: Zxid, half: Zxid) -> LoggedTxn {
        let n = (zxid - 1) % half;
        let path = format!("/d{}/n{n}", n % 100);
        let txn = if zxid <= 100 {
            Txn::Create {
                path: format!("/d{}", zxid - 1),
                data: Data::default(),
                acl: vec![Acl {
                    perms: 31,
                    id: Id {
                        scheme: "world".into(),
                        id: "anyone".into(),
                    },
                }],
                ephemeral_owner: 0,
                parent_cversion: -1,
            }
        } else if zxid <= half {
            Txn::Create {
                path,
                data: Data::from(vec![b'x'; 64]),
                acl: vec![Acl {
                    perms: 31,
                    id: Id {
                        scheme: "world".into(),
                        id: "anyone".into(),
                    },
                }],
                ephemeral_owner: 0,
                parent_cversion: -1,
            }
        } else {
            Txn::SetData {
                path,
                data: Data::from(vec![b'y'; 64]),
                version: 1,
            }
        };
        LoggedTxn {
            header: TxnHeader {
                session_id: 0,
                cxid: 0,
                zxid,
                time: zxid,
            },
            txn,
        }
    }

    #[test]
    #[ignore]
    fn generate_data_dir() {
        let Ok(dir) = std::env::var("RZK_GEN_DIR") else {
            return;
        };
        let total: Zxid = std::env::var("RZK_GEN_TXNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let half = total / 2;
        let options = StorageOptions::new(&dir, &dir);
        options.create_dirs().unwrap();
        let mut tree = DataTree::new();
        let mut log = LogFile::create(&options.log_dir(), 1, 64 << 20).unwrap();
        let mut buf = Vec::new();
        for zxid in 1..=total {
            let t = txn(zxid, half);
            if zxid <= half {
                assert_eq!(tree.apply(&t.header, &t.txn).err, None);
            }
            if zxid == half + 1 {
                log.append(&buf).unwrap();
                buf.clear();
                log.sync().unwrap();
                write_snapshot_file(&options.snap_dir(), half, &tree).unwrap();
                log = LogFile::create(&options.log_dir(), zxid, 64 << 20).unwrap();
            }
            crate::encode_txns(std::slice::from_ref(&t), &mut buf).unwrap();
        }
        log.append(&buf).unwrap();
        log.sync().unwrap();
        let started = std::time::Instant::now();
        let r = recover(
            &FsDir::new(options.snap_dir()),
            &FsDir::new(options.log_dir()),
        )
        .unwrap();
        let read_ms = started.elapsed().as_millis();
        let mut tree = r.recovered.tree.unwrap();
        for t in &r.recovered.txns {
            tree.apply(&t.header, &t.txn);
        }
        println!(
            "{total} txns ({} nodes in snapshot.{half:x}, {} txns replayed): read+check {read_ms} ms, total with replay {} ms",
            tree.nodes().count(),
            r.report.txns,
            started.elapsed().as_millis()
        );
        assert_eq!(tree.last_zxid(), total);
    }
}
