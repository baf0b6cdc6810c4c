//! Faults a test harness injects into one server process (issue 16's `rzk chaos`), switched on only when the
//! server starts with `RZK_TEST_FAULTS=FILE`: a thread re-reads FILE every [`POLL`] and publishes its values,
//! which the node's clock and the log writer consult. Unset (production), nothing is started and each
//! consultation is one relaxed atomic load of zero.
//!
//! FILE holds `key=value` lines; a missing file or key means 0:
//! - `clock_offset_ms=N` (signed): added to the node's clock, so a harness can jump it either way or move it
//!   a little at a time (skew). The core takes time as an input and tolerates jumps (the simulator jumps node
//!   clocks both ways); this makes the real process see them.
//! - `fsync_delay_ms=N`: a sleep before every txn-log fdatasync on the writer thread (a slow or stalled disk;
//!   on the tmpfs a chaos run uses, fsync itself costs nothing).

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use tracing::warn;

/// The environment variable naming the fault file.
pub const FAULTS_ENV: &str = "RZK_TEST_FAULTS";

const POLL: Duration = Duration::from_millis(50);

static CLOCK_OFFSET_MS: AtomicI64 = AtomicI64::new(0);
static FSYNC_DELAY_MS: AtomicU64 = AtomicU64::new(0);

/// Starts the poller if `RZK_TEST_FAULTS` is set (once per process; later calls do nothing).
pub fn start_from_env() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    let Some(path) = std::env::var_os(FAULTS_ENV).map(PathBuf::from) else {
        return;
    };
    STARTED.call_once(|| {
        warn!(file = %path.display(), "test faults: this server obeys a fault file (RZK_TEST_FAULTS)");
        read(&path);
        let spawned = std::thread::Builder::new()
            .name("rzk-test-faults".into())
            .spawn(move || loop {
                std::thread::sleep(POLL);
                read(&path);
            });
        if let Err(e) = spawned {
            warn!(error = %e, "test faults: cannot start the poller");
        }
    });
}

fn read(path: &std::path::Path) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let (mut offset, mut delay) = (0i64, 0u64);
    for line in text.lines() {
        match line.split_once('=') {
            Some(("clock_offset_ms", v)) => offset = v.trim().parse().unwrap_or(0),
            Some(("fsync_delay_ms", v)) => delay = v.trim().parse().unwrap_or(0),
            _ => {}
        }
    }
    CLOCK_OFFSET_MS.store(offset, Ordering::Relaxed);
    FSYNC_DELAY_MS.store(delay, Ordering::Relaxed);
}

/// The clock offset to add, in ms (0 unless a test set one).
pub(crate) fn clock_offset_ms() -> i64 {
    CLOCK_OFFSET_MS.load(Ordering::Relaxed)
}

/// Sleeps for the injected fsync delay, if any.
pub(crate) fn delay_fsync() {
    let ms = FSYNC_DELAY_MS.load(Ordering::Relaxed);
    if ms > 0 {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_values_and_treats_missing_ones_as_zero() {
        let dir = std::env::temp_dir().join(format!("rzk-test-faults-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("faults");
        std::fs::write(&file, "clock_offset_ms=-1500\nfsync_delay_ms=7\nnoise\n").unwrap();
        read(&file);
        assert_eq!(clock_offset_ms(), -1500);
        assert_eq!(FSYNC_DELAY_MS.load(Ordering::Relaxed), 7);
        std::fs::write(&file, "fsync_delay_ms=x\n").unwrap();
        read(&file);
        assert_eq!(clock_offset_ms(), 0);
        assert_eq!(FSYNC_DELAY_MS.load(Ordering::Relaxed), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
