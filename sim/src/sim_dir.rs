//! A simulated directory that keeps exactly what the calls made durable: a file's bytes up to its last sync,
//! and the directory entries as of the last directory sync. A crash keeps that, plus a random prefix of each
//! file's unsynced bytes, sometimes torn into garbage; unsynced creates, renames and removes are lost (where
//! the real code forgot a directory fsync, the simulator finds out).
//!
//! It implements `rzk_storage::Dir`, so the real recovery, truncation, snapshot install and epoch writes run
//! on it unchanged.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;

use rzk_storage::Dir;

use crate::rng::SimRng;

/// One file: its bytes, and how many of them are durable (files are appended to; every other change syncs).
#[derive(Debug, Clone, Default)]
struct SimFile {
    data: Vec<u8>,
    durable_len: usize,
}

#[derive(Debug, Default)]
struct State {
    files: BTreeMap<u64, SimFile>,
    /// Directory entries now, and as of the last directory sync.
    names: BTreeMap<String, u64>,
    durable_names: BTreeMap<String, u64>,
    next_id: u64,
    /// When set, the number of mutating calls left before every call fails (a crash in the middle of an
    /// operation: the caller sees an error and the simulator crashes the server).
    fuse: Option<u32>,
    /// The fuse blew: the failures since are the simulated crash, not a fault in the caller.
    blown: bool,
}

/// The simulated `version-2` directory of one server (snapshots and logs share it).
#[derive(Debug, Default)]
pub struct SimDir {
    state: RefCell<State>,
}

fn not_found(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, name.to_owned())
}

impl SimDir {
    /// Fails every mutating call after `calls` more (a crash mid-operation), until [`SimDir::crash`].
    pub fn arm_fuse(&self, calls: u32) {
        self.state.borrow_mut().fuse = Some(calls);
    }

    fn burn(&self) -> io::Result<()> {
        let mut s = self.state.borrow_mut();
        match s.fuse {
            Some(0) => {
                s.blown = true;
                Err(io::Error::other("simulated crash in the middle of a write"))
            }
            Some(n) => {
                s.fuse = Some(n - 1);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Whether an armed fuse blew (so an error seen is the simulated crash).
    pub fn fuse_blown(&self) -> bool {
        self.state.borrow().blown
    }

    /// Appends to a file (not durable until [`SimDir::sync`]).
    pub fn append(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.burn()?;
        let mut s = self.state.borrow_mut();
        let id = *s.names.get(name).ok_or_else(|| not_found(name))?;
        if let Some(f) = s.files.get_mut(&id) {
            f.data.extend_from_slice(bytes);
        }
        Ok(())
    }

    /// fdatasync: every byte of the file written so far is durable.
    pub fn sync(&self, name: &str) -> io::Result<()> {
        self.burn()?;
        let mut s = self.state.borrow_mut();
        let id = *s.names.get(name).ok_or_else(|| not_found(name))?;
        if let Some(f) = s.files.get_mut(&id) {
            f.durable_len = f.data.len();
        }
        Ok(())
    }

    /// Bytes written but not yet durable, over all files.
    pub fn unsynced_bytes(&self) -> usize {
        let s = self.state.borrow();
        s.files.values().map(|f| f.data.len() - f.durable_len).sum()
    }

    /// Power loss: each durable file keeps its durable bytes plus a random prefix of the rest (sometimes
    /// followed by a few garbage bytes: a torn sector); unsynced directory changes are lost.
    pub fn crash(&self, rng: &mut SimRng) {
        let mut s = self.state.borrow_mut();
        s.fuse = None;
        s.blown = false;
        s.names = s.durable_names.clone();
        let live: std::collections::BTreeSet<u64> = s.names.values().copied().collect();
        s.files.retain(|id, _| live.contains(id));
        for f in s.files.values_mut() {
            let unsynced = f.data.len() - f.durable_len;
            if unsynced == 0 {
                continue;
            }
            let keep = rng.range(0, unsynced as u64) as usize;
            f.data.truncate(f.durable_len + keep);
            if keep < unsynced && rng.chance(0.3) {
                let garbage = rng.range(1, 16) as usize;
                for _ in 0..garbage {
                    f.data.push(rng.range(0, 255) as u8);
                }
            }
            f.durable_len = f.data.len();
        }
    }

    /// Total bytes held (for tests and reports).
    pub fn total_bytes(&self) -> usize {
        self.state
            .borrow()
            .files
            .values()
            .map(|f| f.data.len())
            .sum()
    }
}

impl Dir for SimDir {
    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.state.borrow().names.keys().cloned().collect())
    }

    fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        let s = self.state.borrow();
        let id = s.names.get(name).ok_or_else(|| not_found(name))?;
        Ok(s.files.get(id).map(|f| f.data.clone()).unwrap_or_default())
    }

    fn truncate(&self, name: &str, len: u64) -> io::Result<()> {
        self.burn()?;
        let mut s = self.state.borrow_mut();
        let id = *s.names.get(name).ok_or_else(|| not_found(name))?;
        if let Some(f) = s.files.get_mut(&id) {
            f.data.resize(len as usize, 0);
            f.durable_len = f.data.len();
        }
        Ok(())
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        self.burn()?;
        let mut s = self.state.borrow_mut();
        s.names.remove(name).ok_or_else(|| not_found(name))?;
        // The real remove syncs the directory.
        s.durable_names = s.names.clone();
        Ok(())
    }

    fn display(&self, name: &str) -> String {
        name.to_owned()
    }

    fn write_synced(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.burn()?;
        let mut s = self.state.borrow_mut();
        let id = s.next_id;
        s.next_id += 1;
        s.files.insert(
            id,
            SimFile {
                data: bytes.to_vec(),
                durable_len: bytes.len(),
            },
        );
        s.names.insert(name.to_owned(), id);
        Ok(())
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.burn()?;
        let mut s = self.state.borrow_mut();
        let id = s.names.remove(from).ok_or_else(|| not_found(from))?;
        s.names.insert(to.to_owned(), id);
        Ok(())
    }

    fn sync_dir(&self) -> io::Result<()> {
        self.burn()?;
        let mut s = self.state.borrow_mut();
        s.durable_names = s.names.clone();
        // Files no entry (durable or not) points at any more are gone for good.
        let live: std::collections::BTreeSet<u64> = s
            .names
            .values()
            .chain(s.durable_names.values())
            .copied()
            .collect();
        s.files.retain(|id, _| live.contains(id));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_was_synced_survives_a_crash() {
        let d = SimDir::default();
        d.write_synced("a", b"hello").unwrap();
        d.sync_dir().unwrap();
        d.append("a", b" world").unwrap();
        d.write_synced("b", b"new").unwrap(); // entry never synced
        let mut rng = SimRng::new(1);
        d.crash(&mut rng);
        assert_eq!(d.list().unwrap(), vec!["a".to_string()]);
        let a = d.read("a").unwrap();
        assert!(a.starts_with(b"hello"), "durable bytes stay");
        assert!(a.len() <= b"hello world".len() + 16);
    }

    #[test]
    fn a_fuse_fails_calls_after_the_budget() {
        let d = SimDir::default();
        d.arm_fuse(1);
        d.write_synced("a", b"x").unwrap();
        assert!(d.sync_dir().is_err());
        d.crash(&mut SimRng::new(2));
        assert!(d.list().unwrap().is_empty(), "the entry was never synced");
    }
}
