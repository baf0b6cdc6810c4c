//! The epoch files: `acceptedEpoch` and `currentEpoch` in the snapshot directory (`dataDir/version-2`), as
//! ZooKeeper keeps them. Each holds one decimal number as text (ZooKeeper writes a newline-free number; a
//! trailing newline is accepted when reading).
//!
//! - acceptedEpoch: the newest epoch this server promised to a prospective leader (Zab discovery).
//! - currentEpoch: the epoch of the leader this server last synced with (set on NEWLEADER).
//!
//! Writes are atomic and durable: temp file, fsync, rename, directory fsync. acceptedEpoch is written before
//! currentEpoch, so a crash between the two never leaves current > accepted (ZOOKEEPER-1653 is the crash
//! between them). A missing file is what a server that never joined an ensemble has: currentEpoch then
//! defaults to the epoch of the last zxid and acceptedEpoch to currentEpoch, as in ZooKeeper. A file that is
//! not a number is a startup error, never a silent zero.

use std::io;

use rzk_core::Zxid;

use super::dir::{replace_atomically, Dir};

/// ZooKeeper's file names.
pub const ACCEPTED_EPOCH_FILE: &str = "acceptedEpoch";
pub const CURRENT_EPOCH_FILE: &str = "currentEpoch";

/// An epoch file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EpochError {
    #[error("cannot read {file}: {source}")]
    Io {
        file: String,
        #[source]
        source: io::Error,
    },
    #[error("{file} does not hold an epoch number (found {found:?})")]
    Garbage { file: String, found: String },
}

/// The two epochs, as recovered or saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Epochs {
    pub accepted: u32,
    pub current: u32,
}

/// Reads the epoch files from the snapshot directory; `last_zxid` (the recovered tree's) stands in for a
/// missing currentEpoch, and currentEpoch for a missing acceptedEpoch.
pub fn read_epochs(dir: &dyn Dir, last_zxid: Zxid) -> Result<Epochs, EpochError> {
    let current = read_one(dir, CURRENT_EPOCH_FILE)?.unwrap_or(rzk_core::zxid::epoch(last_zxid));
    let accepted = read_one(dir, ACCEPTED_EPOCH_FILE)?.unwrap_or(current);
    Ok(Epochs { accepted, current })
}

fn read_one(dir: &dyn Dir, name: &str) -> Result<Option<u32>, EpochError> {
    let bytes = match dir.read(name) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(EpochError::Io {
                file: dir.display(name),
                source,
            })
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let number = text.strip_suffix('\n').unwrap_or(&text);
    // ZooKeeper writes a long; epochs are 32 bits (the high half of a zxid).
    match number.parse::<u32>() {
        Ok(epoch) if !number.starts_with('+') => Ok(Some(epoch)),
        _ => Err(EpochError::Garbage {
            file: dir.display(name),
            found: text.chars().take(40).collect(),
        }),
    }
}

/// Writes both epoch files durably (accepted first), skipping a file whose value `previous` says is already
/// on disk.
pub fn save_epochs(dir: &dyn Dir, epochs: Epochs, previous: Option<Epochs>) -> io::Result<()> {
    if previous.map(|p| p.accepted) != Some(epochs.accepted) {
        write_epoch_file(dir, ACCEPTED_EPOCH_FILE, epochs.accepted)?;
    }
    if previous.map(|p| p.current) != Some(epochs.current) {
        write_epoch_file(dir, CURRENT_EPOCH_FILE, epochs.current)?;
    }
    Ok(())
}

/// Replaces `dir/name` with `value` atomically and durably.
pub fn write_epoch_file(dir: &dyn Dir, name: &str, value: u32) -> io::Result<()> {
    replace_atomically(dir, name, value.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FsDir, MemDir};
    use std::fs;

    #[test]
    fn epochs_round_trip_through_the_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = FsDir::new(tmp.path());
        let epochs = Epochs {
            accepted: 7,
            current: 5,
        };
        save_epochs(&dir, epochs, None).unwrap();
        assert_eq!(read_epochs(&dir, 0).unwrap(), epochs);
        assert_eq!(
            fs::read_to_string(tmp.path().join(ACCEPTED_EPOCH_FILE)).unwrap(),
            "7"
        );
        let next = Epochs {
            accepted: 8,
            current: 8,
        };
        save_epochs(&dir, next, Some(epochs)).unwrap();
        assert_eq!(read_epochs(&dir, 0).unwrap(), next);
        assert!(!tmp.path().join("currentEpoch.tmp").exists());
    }

    #[test]
    fn an_unchanged_epoch_is_not_rewritten() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = FsDir::new(tmp.path());
        let e = Epochs {
            accepted: 3,
            current: 2,
        };
        save_epochs(&dir, e, None).unwrap();
        fs::remove_file(tmp.path().join(CURRENT_EPOCH_FILE)).unwrap();
        save_epochs(&dir, Epochs { accepted: 4, ..e }, Some(e)).unwrap();
        assert!(!tmp.path().join(CURRENT_EPOCH_FILE).exists());
        assert_eq!(
            fs::read_to_string(tmp.path().join(ACCEPTED_EPOCH_FILE)).unwrap(),
            "4"
        );
    }

    #[test]
    fn missing_files_default_to_the_epoch_of_the_last_zxid() {
        let dir = MemDir::new();
        assert_eq!(read_epochs(&dir, 0).unwrap(), Epochs::default());
        let last = (3i64 << 32) | 17;
        assert_eq!(
            read_epochs(&dir, last).unwrap(),
            Epochs {
                accepted: 3,
                current: 3
            }
        );
        dir.put(CURRENT_EPOCH_FILE, b"4\n".to_vec());
        assert_eq!(
            read_epochs(&dir, last).unwrap(),
            Epochs {
                accepted: 4,
                current: 4
            }
        );
        dir.put(ACCEPTED_EPOCH_FILE, b"5".to_vec());
        assert_eq!(
            read_epochs(&dir, last).unwrap(),
            Epochs {
                accepted: 5,
                current: 4
            }
        );
    }

    #[test]
    fn garbage_is_an_error_naming_the_file() {
        for bad in [
            &b""[..],
            b"x",
            b"-1",
            b"+3",
            b"1 2",
            b"99999999999",
            b"\xff\xfe",
        ] {
            let dir = MemDir::new();
            dir.put(ACCEPTED_EPOCH_FILE, bad.to_vec());
            let err = read_epochs(&dir, 0).unwrap_err();
            assert!(err.to_string().contains(ACCEPTED_EPOCH_FILE), "{err}");
        }
    }
}
