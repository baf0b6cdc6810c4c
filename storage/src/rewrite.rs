//! The two ways an ensemble rewrites a server's history (Zab synchronization), carried out on the files:
//!
//! - [`truncate_log`] (TRUNC): every logged txn after `zxid` goes. The log file holding `zxid` is cut at
//!   the record boundary right after it (ftruncate + fsync), later log files are deleted, and so are
//!   snapshots above `zxid` (they would resurrect the removed txns at the next startup).
//! - [`install_snapshot`] (SNAP): the tree becomes the whole state. Done in three durable steps, so a crash
//!   between any two leaves a state recovery reads correctly: (1) truncate the log to `zxid` (nothing above
//!   the new base can be replayed on top of it), (2) write `snapshot.<zxid>` (temp, fsync, rename, dir
//!   fsync), (3) delete every log file. A crash after (1) restarts from a prefix of the old history (txns
//!   above the leader's last zxid were never committed); after (2) from exactly the new tree (log txns at or
//!   below its zxid are skipped by recovery).
//!
//! Both run with the log writer and snapshot threads paused (see `crate::log_writer`): nothing else touches
//! the directories meanwhile, and the writer starts a new log file for the next append.

use std::io;
use std::path::Path;

use rzk_core::tree::DataTree;
use rzk_core::Zxid;
use tracing::info;

use super::dir::{Dir, FsDir};
use super::snapshot::{parse_snapshot_name, write_snapshot_file};
use super::txn_log::{parse_log_name, scan_log};

/// What a rewrite changed, for the log line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewriteReport {
    /// (file, new length) of a log file cut short.
    pub cut: Option<(String, u64)>,
    /// Files deleted.
    pub removed: Vec<String>,
}

fn sorted(dir: &dyn Dir, parse: fn(&str) -> Option<Zxid>) -> io::Result<Vec<(Zxid, String)>> {
    let mut files: Vec<(Zxid, String)> = dir
        .list()?
        .into_iter()
        .filter_map(|n| parse(&n).map(|z| (z, n)))
        .collect();
    files.sort();
    Ok(files)
}

fn invalid(file: String, reason: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("cannot truncate {file}: {reason}"),
    )
}

/// Removes every logged txn with a zxid above `zxid`, durably, and every snapshot above it.
pub fn truncate_log(
    snap_dir: &dyn Dir,
    log_dir: &dyn Dir,
    zxid: Zxid,
) -> io::Result<RewriteReport> {
    let mut report = RewriteReport::default();
    let logs = sorted(log_dir, parse_log_name)?;
    // Files are named by their first zxid: only the newest one starting at or below `zxid` can hold both
    // kept and removed txns; later ones hold only removed ones.
    let holder = logs.iter().rposition(|(first, _)| *first <= zxid);
    for (i, (_, name)) in logs.iter().enumerate().rev() {
        if holder.is_some_and(|h| i <= h) {
            break;
        }
        log_dir.remove(name)?;
        report.removed.push(log_dir.display(name));
    }
    if let Some((_, name)) = holder.map(|h| &logs[h]) {
        let bytes = log_dir.read(name)?;
        let scan = scan_log(&bytes).map_err(|c| invalid(log_dir.display(name), c))?;
        // Cut at the first record above `zxid`, or at the end of the good records: the file stops being the
        // last one once the writer starts the next, so it must not end in a torn tail.
        let end = scan
            .txns
            .iter()
            .zip(&scan.offsets)
            .find(|(t, _)| t.header.zxid > zxid)
            .map_or(scan.good_end, |(_, &offset)| offset);
        if end < bytes.len() {
            log_dir.truncate(name, end as u64)?;
            report.cut = Some((log_dir.display(name), end as u64));
        }
    }
    for (snap_zxid, name) in sorted(snap_dir, parse_snapshot_name)? {
        if snap_zxid > zxid {
            snap_dir.remove(&name)?;
            report.removed.push(snap_dir.display(&name));
        }
    }
    info!(
        zxid = format_args!("0x{zxid:x}"),
        ?report,
        "txn log truncated"
    );
    Ok(report)
}

/// Makes `tree` (exact at `zxid`) the whole persisted state: see the module docs for the crash-safe order.
pub fn install_snapshot(
    snap_dir: &Path,
    log_dir: &Path,
    zxid: Zxid,
    tree: &DataTree,
) -> io::Result<RewriteReport> {
    let (snaps, logs) = (FsDir::new(snap_dir), FsDir::new(log_dir));
    install_snapshot_with(&snaps, &logs, zxid, tree, || {
        write_snapshot_file(snap_dir, zxid, tree)
            .map(|_| ())
            .map_err(snapshot_io)
    })
}

/// [`install_snapshot`] on any [`Dir`], the snapshot written by `write` (the production driver streams it to
/// a file with paced writeback; the simulator writes the encoded bytes through its `Dir`).
pub fn install_snapshot_with(
    snaps: &dyn Dir,
    logs: &dyn Dir,
    zxid: Zxid,
    tree: &DataTree,
    write: impl FnOnce() -> io::Result<()>,
) -> io::Result<RewriteReport> {
    let mut report = truncate_log(snaps, logs, zxid)?;
    write()?;
    for (_, name) in sorted(logs, parse_log_name)? {
        logs.remove(&name)?;
        report.removed.push(logs.display(&name));
    }
    info!(
        zxid = format_args!("0x{zxid:x}"),
        nodes = tree.nodes().count(),
        "snapshot installed; the txn log starts over"
    );
    Ok(report)
}

fn snapshot_io(e: super::snapshot::SnapshotError) -> io::Error {
    match e {
        super::snapshot::SnapshotError::Io(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dir::MemDir;
    use crate::recovery::recover;
    use crate::snapshot::{encode_snapshot, snapshot_name, tests::tree_after};
    use crate::txn_log::{encode_log_file, log_name};

    /// Logs holding txns 1..=n of [`tree_after`], split into files starting at `starts`, with zeros after the
    /// records of the last one (preallocation), and snapshots at `snaps`.
    fn dir_with(n: Zxid, snaps: &[Zxid], starts: &[Zxid]) -> MemDir {
        let dir = MemDir::new();
        let (_, log) = tree_after(n);
        for (i, &start) in starts.iter().enumerate() {
            let end = starts.get(i + 1).copied().unwrap_or(n + 1);
            let mut bytes =
                encode_log_file(&log[(start - 1) as usize..(end - 1) as usize]).unwrap();
            if i + 1 == starts.len() {
                bytes.resize(bytes.len() + 512, 0);
            }
            dir.put(&log_name(start), bytes);
        }
        for &s in snaps {
            dir.put(
                &snapshot_name(s),
                encode_snapshot(s, &tree_after(s).0).unwrap(),
            );
        }
        dir
    }

    /// The tree of [`tree_after`]`(n)`'s txns renumbered to zxids `base + 1..=base + n` (another history).
    fn tree_at(n: Zxid, base: Zxid) -> DataTree {
        let mut tree = DataTree::new();
        for mut t in tree_after(n).1 {
            t.header.zxid += base;
            tree.apply(&t.header, &t.txn);
        }
        tree
    }

    fn recovered_digest_and_last(dir: &MemDir) -> (u64, Zxid) {
        let r = recover(dir, dir).unwrap();
        let mut tree = r.recovered.tree.clone().unwrap_or_default();
        for t in &r.recovered.txns {
            tree.apply(&t.header, &t.txn);
        }
        (tree.digest(), r.report.last_zxid)
    }

    #[test]
    fn truncating_at_every_record_boundary_recovers_exactly_the_txns_up_to_it() {
        for zxid in 0..=30 {
            let dir = dir_with(30, &[], &[1, 11, 21]);
            truncate_log(&dir, &dir, zxid).unwrap();
            let (digest, last) = recovered_digest_and_last(&dir);
            assert_eq!(last, zxid, "truncated at {zxid}");
            assert_eq!(digest, tree_after(zxid).0.digest(), "truncated at {zxid}");
            // The next txn goes to a new file after the cut, and recovery reads straight through.
            let (_, log) = tree_after(zxid + 5);
            let next = &log[zxid as usize..];
            dir.put(&log_name(zxid + 1), encode_log_file(next).unwrap());
            let (digest, last) = recovered_digest_and_last(&dir);
            assert_eq!((digest, last), (tree_after(zxid + 5).0.digest(), zxid + 5));
        }
    }

    #[test]
    fn truncating_removes_later_files_and_snapshots_above_the_cut() {
        let dir = dir_with(30, &[10, 25], &[1, 11, 21]);
        let report = truncate_log(&dir, &dir, 15).unwrap();
        assert_eq!(report.removed, ["log.15", "snapshot.19"]);
        assert!(dir.get("log.15").is_none() && dir.get("snapshot.19").is_none());
        assert!(dir.get("snapshot.a").is_some());
        assert_eq!(recovered_digest_and_last(&dir).1, 15);
        // Nothing to cut: a clean no-op.
        let again = truncate_log(&dir, &dir, 15).unwrap();
        assert_eq!(again, RewriteReport::default());
    }

    #[test]
    fn truncating_a_corrupt_file_is_an_error() {
        let dir = dir_with(10, &[], &[1]);
        let mut bytes = dir.get("log.1").unwrap();
        let scan = scan_log(&bytes).unwrap();
        bytes[scan.offsets[2] + 9] ^= 1;
        dir.put("log.1", bytes);
        assert!(truncate_log(&dir, &dir, 5).is_err());
    }

    #[test]
    fn an_installed_snapshot_is_exactly_what_recovery_returns() {
        let tmp = tempfile::tempdir().unwrap();
        let (snap, logs) = (tmp.path().join("snap"), tmp.path().join("log"));
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::create_dir_all(&logs).unwrap();
        // Old history: txns 1..=30 and a snapshot at 20.
        let (_, old) = tree_after(30);
        std::fs::write(logs.join("log.1"), encode_log_file(&old[..20]).unwrap()).unwrap();
        std::fs::write(logs.join("log.15"), encode_log_file(&old[20..]).unwrap()).unwrap();
        std::fs::write(
            snap.join("snapshot.14"),
            encode_snapshot(20, &tree_after(20).0).unwrap(),
        )
        .unwrap();
        // The leader's state: another history, at a higher epoch.
        let zxid = (2i64 << 32) | 7;
        let theirs = tree_at(7, 2 << 32);
        assert_eq!(theirs.last_zxid(), zxid);
        install_snapshot(&snap, &logs, zxid, &theirs).unwrap();
        assert_eq!(std::fs::read_dir(&logs).unwrap().count(), 0);
        let r = recover(&FsDir::new(&snap), &FsDir::new(&logs)).unwrap();
        assert_eq!(r.report.snapshot.map(|s| s.1), Some(zxid));
        assert!(r.recovered.txns.is_empty());
        assert_eq!(r.recovered.tree.unwrap().digest(), theirs.digest());
    }

    #[test]
    fn a_crash_after_the_snapshot_and_before_the_logs_go_still_recovers_the_snapshot() {
        // Step (2) done, step (3) not: the old log's txns at or below the snapshot are skipped.
        let dir = dir_with(12, &[], &[1]);
        truncate_log(&dir, &dir, 9).unwrap();
        let theirs = tree_at(4, 5);
        assert_eq!(theirs.last_zxid(), 9);
        dir.put(&snapshot_name(9), encode_snapshot(9, &theirs).unwrap());
        let r = recover(&dir, &dir).unwrap();
        assert!(r.recovered.txns.is_empty());
        assert_eq!(r.recovered.tree.unwrap().digest(), theirs.digest());
    }
}
