//! A file written in bulk in the background (a snapshot) without stalling the txn log's syncs.
//!
//! Left alone, the kernel keeps a snapshot's 100+ MB dirty in the page cache and writes it out in one
//! burst at the final fsync (or whenever writeback kicks in); every fdatasync of the txn log issued
//! meanwhile waits behind that burst, and client writes stall for tens of milliseconds. Writing it back in
//! steps as it is produced, waiting for each step before dirtying much more, keeps what the disk has queued
//! from the snapshot small, so the log's syncs interleave with it.

use std::fs::File;
use std::io::{self, Write};

/// Bytes written between writeback steps; at most about twice this is dirty at any time.
const STEP: u64 = 8 << 20;

/// Wraps a file being written sequentially from offset 0.
pub(crate) struct PacedFile {
    file: File,
    /// Bytes written so far, and the offset up to which writeback has been started.
    written: u64,
    started: u64,
}

impl PacedFile {
    pub(crate) fn new(file: File) -> PacedFile {
        PacedFile {
            file,
            written: 0,
            started: 0,
        }
    }

    /// Fsyncs everything written (data and metadata).
    pub(crate) fn sync_all(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    /// Waits for the writeback of the previous step and starts the writeback of the bytes since.
    fn step(&mut self) -> io::Result<()> {
        let (from, to) = (self.started, self.written);
        writeback(&self.file, from.saturating_sub(STEP), from, true)?;
        writeback(&self.file, from, to, false)?;
        self.started = to;
        Ok(())
    }
}

impl Write for PacedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.started >= STEP {
            self.step()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Starts writeback of `[from, to)`; with `wait`, first waits for any writeback already under way there and
/// then for this one. Not a durability point (metadata and the disk cache are left to the final fsync).
#[cfg(target_os = "linux")]
fn writeback(file: &File, from: u64, to: u64, wait: bool) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    if to <= from {
        return Ok(());
    }
    let flags = if wait {
        libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | libc::SYNC_FILE_RANGE_WRITE
            | libc::SYNC_FILE_RANGE_WAIT_AFTER
    } else {
        libc::SYNC_FILE_RANGE_WRITE
    };
    let (offset, len) = (from as libc::off64_t, (to - from) as libc::off64_t);
    // SAFETY: a syscall on a descriptor we own; no memory is passed.
    if unsafe { libc::sync_file_range(file.as_raw_fd(), offset, len, flags) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn writeback(_file: &File, _from: u64, _to: u64, _wait: bool) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn writes_what_it_is_given_across_several_steps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut paced = PacedFile::new(File::create(&path).unwrap());
        let chunk: Vec<u8> = (0..=255u8).cycle().take(3 << 20).collect();
        for _ in 0..7 {
            paced.write_all(&chunk).unwrap();
        }
        assert!(paced.started >= 2 * STEP, "writeback stepped along");
        paced.sync_all().unwrap();
        let mut back = Vec::new();
        File::open(&path).unwrap().read_to_end(&mut back).unwrap();
        assert_eq!(back.len(), 7 * chunk.len());
        assert!(back.chunks(chunk.len()).all(|c| c == chunk.as_slice()));
    }
}
