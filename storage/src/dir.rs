//! [`Dir`]: the directory operations recovery, verification, purging and the rewrites need, so they run
//! against a real directory ([`FsDir`]), bytes in memory ([`MemDir`]: tests, fuzzing), or the simulator's
//! disk, which keeps exactly what these calls make durable and loses the rest in a crash.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A flat directory of named files.
pub trait Dir {
    /// File names (not paths), in any order. A missing directory lists as empty.
    fn list(&self) -> io::Result<Vec<String>>;
    /// A whole file.
    fn read(&self, name: &str) -> io::Result<Vec<u8>>;
    /// The first `len` bytes of a file (fewer if it is shorter): enough to tell whose it is.
    fn read_prefix(&self, name: &str, len: usize) -> io::Result<Vec<u8>> {
        let mut bytes = self.read(name)?;
        bytes.truncate(len);
        Ok(bytes)
    }
    /// Cuts a file to `len` bytes, durably.
    fn truncate(&self, name: &str, len: u64) -> io::Result<()>;
    /// Deletes a file, durably.
    fn remove(&self, name: &str) -> io::Result<()>;
    /// How to name a file in messages.
    fn display(&self, name: &str) -> String;
    /// Writes `bytes` as file `name` (replacing it), and syncs the file. Its directory entry is durable only
    /// after [`Dir::sync_dir`].
    fn write_synced(&self, name: &str, bytes: &[u8]) -> io::Result<()>;
    /// Renames a file, replacing `to`; durable only after [`Dir::sync_dir`].
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    /// Makes the creates, renames and removes made in this directory so far durable.
    fn sync_dir(&self) -> io::Result<()>;
}

/// Replaces file `name` with `bytes` atomically and durably: a temp file, synced, renamed over it, and the
/// directory synced (a crash leaves the old file or the new one, never a mix).
pub fn replace_atomically(dir: &dyn Dir, name: &str, bytes: &[u8]) -> io::Result<()> {
    let temp = format!("{name}.tmp");
    dir.write_synced(&temp, bytes)?;
    dir.rename(&temp, name)?;
    dir.sync_dir()
}

/// A directory on disk.
#[derive(Debug, Clone)]
pub struct FsDir {
    path: PathBuf,
}

impl FsDir {
    pub fn new(path: impl Into<PathBuf>) -> FsDir {
        FsDir { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// fsync of a directory: makes creates, renames and deletes in it durable.
pub fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

impl Dir for FsDir {
    fn list(&self) -> io::Result<Vec<String>> {
        let entries = match fs::read_dir(&self.path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                if let Some(name) = entry.file_name().to_str() {
                    names.push(name.to_owned());
                }
            }
        }
        Ok(names)
    }

    fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        fs::read(self.path.join(name))
    }

    fn read_prefix(&self, name: &str, len: usize) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let mut bytes = Vec::with_capacity(len);
        File::open(self.path.join(name))?
            .take(len as u64)
            .read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    fn truncate(&self, name: &str, len: u64) -> io::Result<()> {
        let f = OpenOptions::new().write(true).open(self.path.join(name))?;
        f.set_len(len)?;
        f.sync_all()
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        fs::remove_file(self.path.join(name))?;
        sync_dir(&self.path)
    }

    fn display(&self, name: &str) -> String {
        self.path.join(name).display().to_string()
    }

    fn write_synced(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write;
        let mut file = File::create(self.path.join(name))?;
        file.write_all(bytes)?;
        file.sync_all()
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        fs::rename(self.path.join(from), self.path.join(to))
    }

    fn sync_dir(&self) -> io::Result<()> {
        sync_dir(&self.path)
    }
}

/// A directory held in memory.
#[derive(Debug, Default)]
pub struct MemDir {
    files: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemDir {
    pub fn new() -> MemDir {
        MemDir::default()
    }

    /// Creates or replaces a file.
    pub fn put(&self, name: &str, bytes: Vec<u8>) {
        self.lock().insert(name.to_owned(), bytes);
    }

    /// A file's bytes, if it exists.
    pub fn get(&self, name: &str) -> Option<Vec<u8>> {
        self.lock().get(name).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        // A panic while holding the lock cannot leave the map half-changed: every change is one call.
        self.files.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Dir for MemDir {
    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.lock().keys().cloned().collect())
    }

    fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        self.get(name)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, name.to_owned()))
    }

    fn truncate(&self, name: &str, len: u64) -> io::Result<()> {
        let mut files = self.lock();
        let f = files
            .get_mut(name)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, name.to_owned()))?;
        f.resize(len as usize, 0);
        Ok(())
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        self.lock().remove(name);
        Ok(())
    }

    fn display(&self, name: &str) -> String {
        name.to_owned()
    }

    fn write_synced(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.put(name, bytes.to_vec());
        Ok(())
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let mut files = self.lock();
        let f = files
            .remove(from)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, from.to_owned()))?;
        files.insert(to.to_owned(), f);
        Ok(())
    }

    fn sync_dir(&self) -> io::Result<()> {
        Ok(())
    }
}
