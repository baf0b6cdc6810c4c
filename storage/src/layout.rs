//! Where rzk keeps its files: `dataDir/rzk/` (snapshots, epoch files) and `dataLogDir/rzk/` (txn logs), never
//! ZooKeeper's `version-2/`.
//!
//! rzk used to keep them in `version-2/` under ZooKeeper's names (`log.<zxid>`, `snapshot.<zxid>`,
//! `acceptedEpoch`, `currentEpoch`), where purging, TRUNC and SNAP delete by name: on a directory ZooKeeper
//! wrote, they could have deleted ZooKeeper's files. In a directory of its own, nothing rzk does touches
//! `version-2/`, which stays ZooKeeper's, read only to import it (see [`crate::zookeeper_recovery`]).
//!
//! Directories of the old layout keep working: at startup [`adopt_old_layout`] moves rzk's files (told from
//! ZooKeeper's by their magic) out of `version-2/` into `rzk/`. The epoch files move first, so a crash
//! part-way leaves rzk's log and snapshot files still in `version-2/` to be moved by the next start, and never
//! an `rzk/` with logs but without the epochs that go with them.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;

use tracing::info;

use crate::dir::sync_dir;
use crate::epochs::{ACCEPTED_EPOCH_FILE, CURRENT_EPOCH_FILE};
use crate::format::{is_zookeeper_file, LOG_MAGIC, SNAPSHOT_MAGIC};
use crate::snapshot::parse_snapshot_name;
use crate::txn_log::parse_log_name;

/// The subdirectory of dataDir and dataLogDir that holds rzk's own files.
pub const RZK_DIR: &str = "rzk";
/// ZooKeeper's subdirectory of dataDir and dataLogDir.
pub const ZOOKEEPER_DIR: &str = "version-2";

/// Whose a data file is, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Rzk,
    ZooKeeper,
    /// Too short, or neither magic (a torn or foreign file): left where it is.
    Unknown,
}

fn owner_of(path: &Path) -> io::Result<Owner> {
    let mut magic = Vec::with_capacity(4);
    File::open(path)?.take(4).read_to_end(&mut magic)?;
    Ok(if magic == LOG_MAGIC || magic == SNAPSHOT_MAGIC {
        Owner::Rzk
    } else if is_zookeeper_file(&magic) {
        Owner::ZooKeeper
    } else {
        Owner::Unknown
    })
}

/// Moves rzk's files of the old layout from `old_snap`/`old_log` (the `version-2` directories) into
/// `new_snap`/`new_log`, which must exist. Returns the names moved. ZooKeeper's files, and files that are
/// neither's, stay.
pub fn adopt_old_layout(
    old_snap: &Path,
    old_log: &Path,
    new_snap: &Path,
    new_log: &Path,
) -> io::Result<Vec<String>> {
    let mut ours = Vec::new();
    let mut zookeepers = false;
    let mut dirs = vec![old_snap];
    if old_log != old_snap {
        dirs.push(old_log);
    }
    for dir in dirs {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            if !entry.file_type()?.is_file() {
                continue;
            }
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let target = if parse_snapshot_name(&name).is_some() {
                new_snap
            } else if parse_log_name(&name).is_some() {
                new_log
            } else {
                continue;
            };
            match owner_of(&entry.path())? {
                Owner::Rzk => ours.push((entry.path(), target.join(&name), name)),
                Owner::ZooKeeper => zookeepers = true,
                Owner::Unknown => {}
            }
        }
    }
    // Epoch files are text in both formats: they are rzk's if rzk's files are beside them, or if there is no
    // ZooKeeper file at all (an rzk ensemble member that never logged a txn; ZooKeeper always has a snapshot
    // next to its epoch files).
    let epochs_are_ours = !ours.is_empty() || !zookeepers;
    let mut moved = Vec::new();
    if epochs_are_ours {
        for name in [ACCEPTED_EPOCH_FILE, CURRENT_EPOCH_FILE] {
            let (from, to) = (old_snap.join(name), new_snap.join(name));
            if from.is_file() && !to.exists() {
                fs::rename(&from, &to)?;
                moved.push(name.to_owned());
            }
        }
        if !moved.is_empty() {
            sync_dir(new_snap)?;
            sync_dir(old_snap)?;
        }
    }
    for (from, to, name) in ours {
        fs::rename(&from, &to)?;
        moved.push(name);
    }
    if !moved.is_empty() {
        for dir in [new_snap, new_log, old_snap, old_log] {
            if dir.is_dir() {
                sync_dir(dir)?;
            }
        }
        info!(
            files = moved.len(),
            from = %old_snap.display(),
            to = %new_snap.display(),
            "moved rzk's files out of ZooKeeper's version-2 directory into rzk's own"
        );
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::encode_file_header;

    fn put(dir: &Path, name: &str, bytes: &[u8]) {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join(name), bytes).unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().into_string().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn rzk_files_move_and_zookeepers_stay() {
        let tmp = tempfile::tempdir().unwrap();
        let (old, new) = (tmp.path().join(ZOOKEEPER_DIR), tmp.path().join(RZK_DIR));
        fs::create_dir_all(&new).unwrap();
        put(&old, "log.1", &encode_file_header(LOG_MAGIC, 1));
        put(&old, "snapshot.5", &encode_file_header(SNAPSHOT_MAGIC, 5));
        put(&old, "acceptedEpoch", b"3");
        put(&old, "currentEpoch", b"3");
        put(&old, "log.100", b"ZKLG\0\0\0\x02");
        put(&old, "log.200", b"");
        put(&old, "notes.txt", b"RZKL");
        let moved = adopt_old_layout(&old, &old, &new, &new).unwrap();
        assert_eq!(moved.len(), 4, "{moved:?}");
        assert_eq!(
            names(&new),
            ["acceptedEpoch", "currentEpoch", "log.1", "snapshot.5"]
        );
        assert_eq!(names(&old), ["log.100", "log.200", "notes.txt"]);
        // Nothing left to move: a second start changes nothing.
        assert!(adopt_old_layout(&old, &old, &new, &new).unwrap().is_empty());
    }

    #[test]
    fn epoch_files_beside_zookeeper_files_are_zookeepers() {
        let tmp = tempfile::tempdir().unwrap();
        let (old, new) = (tmp.path().join(ZOOKEEPER_DIR), tmp.path().join(RZK_DIR));
        fs::create_dir_all(&new).unwrap();
        put(&old, "snapshot.0", b"ZKSN\0\0\0\x02");
        put(&old, "acceptedEpoch", b"1");
        put(&old, "currentEpoch", b"1");
        assert!(adopt_old_layout(&old, &old, &new, &new).unwrap().is_empty());
        assert!(names(&new).is_empty());
    }

    #[test]
    fn an_ensemble_member_without_txns_keeps_its_epochs_and_logs_go_to_the_log_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let (old_snap, old_log) = (
            tmp.path().join("d/version-2"),
            tmp.path().join("l/version-2"),
        );
        let (new_snap, new_log) = (tmp.path().join("d/rzk"), tmp.path().join("l/rzk"));
        fs::create_dir_all(&new_snap).unwrap();
        fs::create_dir_all(&new_log).unwrap();
        put(&old_snap, "acceptedEpoch", b"7");
        put(&old_log, "log.1", &encode_file_header(LOG_MAGIC, 1));
        adopt_old_layout(&old_snap, &old_log, &new_snap, &new_log).unwrap();
        assert_eq!(names(&new_snap), ["acceptedEpoch"]);
        assert_eq!(names(&new_log), ["log.1"]);
    }
}
