//! Starting rzk on an Apache ZooKeeper 3.8 data directory: the state ZooKeeper would recover from its
//! `version-2/` files (FileTxnSnapLog.restore), as an rzk tree. The caller writes it as rzk's first snapshot
//! in rzk's own directory, and from then on rzk runs on its own files; ZooKeeper's are only ever read.
//!
//! ZooKeeper's rules, followed here:
//! - snapshots are tried newest first (by the zxid in their name; `.gz` and `.snappy` by their suffix), at
//!   most 100; one that does not read (checksum, truncation, a node before its parent) is skipped with a
//!   warning. Snapshot files none of which reads, or logs without any snapshot, are an error (ZooKeeper
//!   refuses to start on them too);
//! - the log files read are the newest that starts at or before the snapshot's zxid + 1 and every later one;
//!   txns at or below the snapshot's zxid are skipped, the rest replayed with ZooKeeper's fuzzy-snapshot
//!   rules ([`DataTree::replay_zookeeper_txn`]). A torn record ends its file (ZooKeeper goes on with the next
//!   one); a checksum mismatch, an unreasonable length or an undecodable txn is an error naming the file;
//! - then, as ZooKeeper's loadData: ephemerals of sessions not in the session table are deleted, quota stats
//!   recounted; sessions keep their ids and timeouts, so clients that reconnect in time keep their
//!   ephemerals;
//! - the epoch files are ZooKeeper's `acceptedEpoch`/`currentEpoch` in the snapshot directory, if present.
//!
//! The tree digest ZooKeeper logs after each txn (or in the snapshot trailer) is compared with the digest of
//! the imported tree; as in ZooKeeper, a mismatch is a warning.

use rzk_core::tree::{DataTree, TreeBuilder};
use rzk_core::{Data, Zxid};
use tracing::{info, warn};

use crate::dir::Dir;
use crate::epochs::{read_epochs, Epochs, ACCEPTED_EPOCH_FILE, CURRENT_EPOCH_FILE};
use crate::recovery::RecoveryError;
use crate::{zookeeper_digest, zookeeper_log, zookeeper_snapshot, zookeeper_txn};

/// ZooKeeper tries at most this many snapshots (FileSnap.findNValidSnapshots(100)).
const MAX_SNAPSHOTS_TRIED: usize = 100;

/// What the import found and did, for the startup log.
#[derive(Debug, Clone, Default)]
pub struct ZkImportReport {
    /// The snapshot used and its zxid.
    pub snapshot: Option<(String, Zxid)>,
    /// Snapshots skipped, with why.
    pub invalid_snapshots: Vec<(String, String)>,
    pub log_files: Vec<String>,
    /// Log files whose last record was torn: file, byte offset.
    pub torn: Vec<(String, usize)>,
    /// Txns replayed above the snapshot.
    pub txns: usize,
    /// Of those, txns that did not fit the fuzzy snapshot (ZooKeeper ignores them too).
    pub not_fitting: usize,
    /// Ephemerals of sessions that had ended, deleted after loading.
    pub dead_ephemerals: usize,
    pub nodes: usize,
    pub sessions: usize,
    pub last_zxid: Zxid,
    /// Whether the digest ZooKeeper recorded for the last zxid matched the imported tree (`None`: nothing
    /// recorded to compare with).
    pub digest_matches: Option<bool>,
    /// Time spent reading the snapshot into a tree, and replaying the logs over it.
    pub snapshot_ms: u64,
    pub replay_ms: u64,
}

/// ZooKeeper's state, ready to become rzk's.
#[derive(Debug)]
pub struct ZkImport {
    pub tree: DataTree,
    /// ZooKeeper's epoch files, if it had them (a quorum member); `None` for a standalone server.
    pub epochs: Option<Epochs>,
    pub report: ZkImportReport,
}

/// The zxid of a ZooKeeper file name `<prefix>.<hex>[.<anything>]`, as ZooKeeper's Util.getZxidFromName
/// reads it.
fn zxid_of(name: &str, prefix: &str) -> Option<Zxid> {
    let mut parts = name.split('.');
    if parts.next() != Some(prefix) {
        return None;
    }
    let hex = parts.next()?;
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok().map(|z| z as Zxid)
}

fn io_err(dir: &dyn Dir, name: &str) -> impl FnOnce(std::io::Error) -> RecoveryError {
    let file = dir.display(name);
    move |source| RecoveryError::Io { file, source }
}

/// ZooKeeper's files of one kind in `dir`, by zxid: names that parse, holding ZooKeeper's bytes (rzk's files
/// of the old layout carry rzk's magic and are not ZooKeeper's).
fn files(dir: &dyn Dir, prefix: &str) -> Result<Vec<(Zxid, String)>, RecoveryError> {
    let mut files: Vec<(Zxid, String)> = dir
        .list()
        .map_err(io_err(dir, "."))?
        .into_iter()
        .filter_map(|n| zxid_of(&n, prefix).map(|z| (z, n)))
        .collect();
    files.sort();
    Ok(files)
}

/// Whether `bytes` could be a ZooKeeper file, i.e. is not one of rzk's (plain ZooKeeper files start with
/// their magic, compressed snapshots with gzip's or snappy-java's).
fn not_rzks(bytes: &[u8]) -> bool {
    !(bytes.starts_with(&crate::LOG_MAGIC) || bytes.starts_with(&crate::SNAPSHOT_MAGIC))
}

/// Whether the directories hold any ZooKeeper snapshot or log file.
pub fn has_zookeeper_files(snap_dir: &dyn Dir, log_dir: &dyn Dir) -> Result<bool, RecoveryError> {
    for (dir, prefix) in [(snap_dir, "snapshot"), (log_dir, "log")] {
        for (_, name) in files(dir, prefix)? {
            let bytes = dir.read_prefix(&name, 4).map_err(io_err(dir, &name))?;
            if bytes.len() >= 4 && not_rzks(&bytes) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// The state ZooKeeper would start from in these `version-2` directories (see the module docs), or `None`
/// if they hold no ZooKeeper file. `ttl_nodes`: zookeeper.extendedTypesEnabled, without which ZooKeeper
/// deletes TTL nodes as ephemerals of a dead session.
pub fn import_zookeeper(
    snap_dir: &dyn Dir,
    log_dir: &dyn Dir,
    ttl_nodes: bool,
) -> Result<Option<ZkImport>, RecoveryError> {
    if !has_zookeeper_files(snap_dir, log_dir)? {
        return Ok(None);
    }
    let mut report = ZkImportReport::default();
    let started = std::time::Instant::now();
    let snapshots = files(snap_dir, "snapshot")?;
    let mut base = None;
    for (zxid, name) in snapshots.iter().rev().take(MAX_SNAPSHOTS_TRIED) {
        let bytes = snap_dir.read(name).map_err(io_err(snap_dir, name))?;
        if !not_rzks(&bytes) {
            continue;
        }
        match load_snapshot(name, &bytes, *zxid) {
            Ok(loaded) => {
                base = Some(loaded);
                report.snapshot = Some((snap_dir.display(name), *zxid));
                break;
            }
            Err(problem) => {
                let file = snap_dir.display(name);
                warn!(%file, problem, "ZooKeeper snapshot is invalid: trying an older one");
                report.invalid_snapshots.push((file, problem));
            }
        }
    }
    let (mut tree, mut recorded_digest) = match base {
        Some(loaded) => loaded,
        None if !report.invalid_snapshots.is_empty() => {
            return Err(RecoveryError::ZooKeeperData {
                file: snap_dir.display("."),
                reason:
                    "none of its ZooKeeper snapshots can be read (ZooKeeper refuses to start too: \
                         \"Not able to find valid snapshots\")"
                        .into(),
            })
        }
        None => {
            return Err(RecoveryError::ZooKeeperData {
                file: snap_dir.display("."),
                reason:
                    "ZooKeeper txn logs without a snapshot (ZooKeeper refuses to start too: \"No \
                         snapshot found, but there are log entries\")"
                        .into(),
            })
        }
    };
    let base_zxid = tree.last_zxid();
    report.snapshot_ms = started.elapsed().as_millis() as u64;

    for log in read_logs(log_dir, base_zxid)? {
        report.log_files.push(log.file.clone());
        if let Some(at) = log.torn_at {
            warn!(file = %log.file, at, "ZooKeeper txn log ends in a partial record: read up to it, as ZooKeeper does");
            report.torn.push((log.file.clone(), at));
        }
        for decoded in &log.txns {
            let header = &decoded.txn.header;
            if header.zxid <= tree.last_zxid() {
                warn!(file = %log.file, zxid = format_args!("0x{:x}", header.zxid), "ZooKeeper txn log goes back in zxid");
            }
            if tree
                .replay_zookeeper_txn(header, &decoded.txn.txn, &decoded.close_paths)
                .is_some()
            {
                report.not_fitting += 1;
            }
            report.txns += 1;
            if let Some((_, digest)) = decoded.digest {
                recorded_digest = Some((header.zxid, digest));
            }
        }
    }

    report.last_zxid = tree.last_zxid();
    report.replay_ms = started.elapsed().as_millis() as u64 - report.snapshot_ms;
    report.digest_matches = recorded_digest
        .filter(|(zxid, _)| *zxid == report.last_zxid)
        .map(|(_, digest)| digest == zookeeper_digest::data_tree_digest(&tree));
    if report.digest_matches == Some(false) {
        warn!(
            zxid = format_args!("0x{:x}", report.last_zxid),
            "the imported tree's digest differs from the one ZooKeeper recorded (ZooKeeper only warns too)"
        );
    }
    report.dead_ephemerals = tree.drop_dead_ephemerals(ttl_nodes);
    tree.recount_quotas();
    report.nodes = tree.node_count();
    report.sessions = tree.sessions().len();

    let has_epochs = snap_dir
        .list()
        .map_err(io_err(snap_dir, "."))?
        .iter()
        .any(|n| n == ACCEPTED_EPOCH_FILE || n == CURRENT_EPOCH_FILE);
    let epochs = if has_epochs {
        let epochs = read_epochs(snap_dir, report.last_zxid)?;
        if epochs.current < rzk_core::zxid::epoch(report.last_zxid) {
            return Err(RecoveryError::ZooKeeperData {
                file: snap_dir.display(CURRENT_EPOCH_FILE),
                reason: format!(
                    "the current epoch {} is older than the last zxid 0x{:x} (ZooKeeper refuses to start too)",
                    epochs.current, report.last_zxid
                ),
            });
        }
        Some(epochs)
    } else {
        None
    };
    info!(
        snapshot = report.snapshot.as_ref().map_or("none", |(f, _)| f.as_str()),
        log_files = report.log_files.len(),
        txns = report.txns,
        nodes = report.nodes,
        sessions = report.sessions,
        last_zxid = format_args!("0x{:x}", report.last_zxid),
        snapshot_ms = report.snapshot_ms,
        replay_ms = report.replay_ms,
        total_ms = started.elapsed().as_millis() as u64,
        "read Apache ZooKeeper's data"
    );
    Ok(Some(ZkImport {
        tree,
        epochs,
        report,
    }))
}

/// One log file's txns above the base, decoded.
struct DecodedLog {
    file: String,
    torn_at: Option<usize>,
    txns: Vec<zookeeper_txn::ZkDecodedTxn>,
}

/// The txns above `base_zxid` from the log files that hold them: the newest file that starts at or before
/// `base_zxid + 1` and every later one.
fn read_logs(log_dir: &dyn Dir, base_zxid: Zxid) -> Result<Vec<DecodedLog>, RecoveryError> {
    let logs = files(log_dir, "log")?;
    let start = logs
        .iter()
        .rposition(|(z, _)| *z <= base_zxid.saturating_add(1))
        .unwrap_or(0);
    let mut decoded = Vec::new();
    for (_, name) in logs.iter().skip(start) {
        let file = log_dir.display(name);
        let bytes = log_dir.read(name).map_err(io_err(log_dir, name))?;
        if !not_rzks(&bytes) {
            continue;
        }
        let log = zookeeper_log::parse(&bytes).map_err(|e| RecoveryError::ZooKeeperData {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        let txns = log
            .txns
            .iter()
            .filter(|raw| raw.header.zxid > base_zxid)
            .map(|raw| {
                zookeeper_txn::decode(raw).map_err(|e| RecoveryError::ZooKeeperData {
                    file: file.clone(),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        decoded.push(DecodedLog {
            file,
            torn_at: log.torn_at,
            txns,
        });
    }
    Ok(decoded)
}

/// A ZooKeeper snapshot as a tree at `zxid`, with the digest its trailer recorded for that zxid.
#[allow(clippy::type_complexity)]
fn load_snapshot(
    name: &str,
    bytes: &[u8],
    zxid: Zxid,
) -> Result<(DataTree, Option<(Zxid, i64)>), String> {
    let plain = zookeeper_snapshot::decompress(name, bytes).map_err(|e| e.to_string())?;
    let open = zookeeper_snapshot::open_acl();
    let mut builder = TreeBuilder::parents_first();
    let parts = zookeeper_snapshot::parse_with(&plain, |parts, node, at| {
        let acl = match parts.acls.get(&node.acl_key) {
            Some(acl) => acl.as_slice(),
            None => open.as_slice(),
        };
        let data = match node.data {
            Some(bytes) => Data::copy_from_slice(bytes),
            None => Data::null(),
        };
        builder.node(node.path, data, acl, node.stat).map_err(|e| {
            zookeeper_snapshot::ZkSnapshotError::Rejected {
                at,
                reason: e.to_string(),
            }
        })
    })
    .map_err(|e| e.to_string())?;
    for &(session, timeout) in &parts.sessions {
        builder
            .session(session, timeout)
            .map_err(|e| e.to_string())?;
    }
    let tree = builder.finish(zxid).map_err(|e| e.to_string())?;
    // A trailer for a later zxid is compared when replay reaches it, as ZooKeeper does.
    let digest = parts
        .digest
        .filter(|d| d.zxid >= zxid && d.zxid != 0)
        .map(|d| (d.zxid, d.digest));
    Ok((tree, digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemDir;
    use std::path::Path;

    fn fixture(name: &str) -> Vec<u8> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zookeeper");
        std::fs::read(dir.join(name)).unwrap()
    }

    /// A version-2 directory holding the given fixture files, under the given names.
    fn dir(files: &[(&str, &str)]) -> MemDir {
        let dir = MemDir::default();
        for (name, fixture_name) in files {
            dir.put(name, fixture(fixture_name));
        }
        dir
    }

    fn import(dir: &MemDir) -> ZkImport {
        import_zookeeper(dir, dir, true).unwrap().unwrap()
    }

    /// Every node as (path, data, stat, ACL), for comparing trees.
    fn contents(tree: &DataTree) -> Vec<String> {
        tree.nodes()
            .map(|(p, n)| {
                format!(
                    "{p} {:?} {:?} {:?}",
                    n.data().as_option(),
                    n.persisted_stat(),
                    n.acl()
                )
            })
            .collect()
    }

    #[test]
    fn the_newest_snapshot_an_older_one_and_a_fuzzy_one_give_the_same_state() {
        let newest = import(&dir(&[
            ("snapshot.0", "snapshot.0"),
            ("snapshot.20", "snapshot.20"),
            ("log.1", "log.1"),
        ]));
        assert_eq!(newest.report.snapshot.as_ref().unwrap().1, 0x20);
        assert_eq!(newest.report.txns, 0);
        assert_eq!(newest.report.digest_matches, Some(true));

        let replayed = import(&dir(&[("snapshot.0", "snapshot.0"), ("log.1", "log.1")]));
        assert_eq!(replayed.report.txns, 32);
        assert_eq!(replayed.report.not_fitting, 0);
        assert_eq!(replayed.report.digest_matches, Some(true));

        // snapshot.20 under an older name is a fuzzy snapshot: it already holds txns 0x1d..0x20.
        let fuzzy = import(&dir(&[("snapshot.1c", "snapshot.20"), ("log.1", "log.1")]));
        assert_eq!(fuzzy.report.txns, 4);
        assert!(fuzzy.report.not_fitting > 0);
        assert_eq!(fuzzy.report.digest_matches, Some(true));

        for other in [&replayed, &fuzzy] {
            assert_eq!(contents(&other.tree), contents(&newest.tree));
            assert_eq!(other.tree.sessions(), newest.tree.sessions());
            assert_eq!(other.tree.digest(), newest.tree.digest());
            assert_eq!(other.tree.last_zxid(), 0x20);
            other.tree.check_invariants().unwrap();
        }
        assert!(
            newest.epochs.is_none(),
            "a standalone server has no epoch files"
        );
    }

    #[test]
    fn a_damaged_snapshot_falls_back_to_an_older_one() {
        let mut cut = fixture("snapshot.20");
        cut.truncate(cut.len() / 2);
        let d = dir(&[("snapshot.0", "snapshot.0"), ("log.1", "log.1")]);
        d.put("snapshot.20", cut);
        let imported = import(&d);
        assert_eq!(imported.report.snapshot.as_ref().unwrap().1, 0);
        assert_eq!(imported.report.invalid_snapshots.len(), 1);
        assert_eq!(imported.report.txns, 32);
    }

    #[test]
    fn compressed_snapshots_are_read() {
        for name in ["snapshot.23.gz", "snapshot.23.snappy"] {
            let imported = import(&dir(&[(name, name)]));
            assert_eq!(imported.tree.last_zxid(), 0x23, "{name}");
            assert_eq!(imported.report.digest_matches, Some(true), "{name}");
        }
    }

    #[test]
    fn damage_is_a_clear_error() {
        // A flipped byte inside the first record: ZooKeeper refuses the log too ("CRC check failed").
        let mut log = fixture("log.1");
        log[40] ^= 0x55;
        let d = dir(&[("snapshot.0", "snapshot.0")]);
        d.put("log.1", log);
        let err = import_zookeeper(&d, &d, true).unwrap_err().to_string();
        assert!(err.contains("log.1") && err.contains("checksum"), "{err}");

        let only_log = dir(&[("log.1", "log.1")]);
        let err = import_zookeeper(&only_log, &only_log, true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("without a snapshot"), "{err}");

        let d = MemDir::default();
        d.put("snapshot.5", b"ZKSN and then nothing useful".to_vec());
        let err = import_zookeeper(&d, &d, true).unwrap_err().to_string();
        assert!(err.contains("none of its ZooKeeper snapshots"), "{err}");
    }

    #[test]
    fn no_zookeeper_files_is_no_import() {
        let d = MemDir::default();
        assert!(import_zookeeper(&d, &d, true).unwrap().is_none());
        d.put(
            "log.1",
            crate::encode_file_header(crate::LOG_MAGIC, 1).to_vec(),
        );
        d.put("notes", b"ZKSN".to_vec());
        assert!(import_zookeeper(&d, &d, true).unwrap().is_none());
    }

    /// 64 MB of garbage under a log's name: a clear verdict in time linear in the bytes.
    #[test]
    fn a_large_garbage_log_is_refused_at_once() {
        let mut garbage = vec![0u8; 64 << 20];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for chunk in garbage.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
        garbage[..4].copy_from_slice(b"ZKLG");
        let d = dir(&[("snapshot.0", "snapshot.0")]);
        d.put("log.1", garbage);
        let err = import_zookeeper(&d, &d, true).unwrap_err().to_string();
        assert!(err.contains("log.1"), "{err}");
    }

    #[test]
    fn epoch_files_come_along_and_must_not_be_behind_the_data() {
        let d = dir(&[("snapshot.20", "snapshot.20")]);
        d.put(ACCEPTED_EPOCH_FILE, b"3".to_vec());
        d.put(CURRENT_EPOCH_FILE, b"2".to_vec());
        let imported = import(&d);
        assert_eq!(
            imported.epochs,
            Some(Epochs {
                accepted: 3,
                current: 2
            })
        );
        let d = MemDir::default();
        d.put("snapshot.300000001", fixture("snapshot.0"));
        d.put(CURRENT_EPOCH_FILE, b"2".to_vec());
        let err = import_zookeeper(&d, &d, true).unwrap_err().to_string();
        assert!(err.contains("older than the last zxid"), "{err}");
    }
}
