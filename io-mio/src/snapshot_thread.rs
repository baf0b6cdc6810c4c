//! The snapshot thread: writes snapshots off the event loop and runs autopurge (at start and every
//! purgeInterval hours, as ZooKeeper's DatadirCleanupManager).
//!
//! A failed snapshot is logged and counted, never fatal: every txn since the previous snapshot is still in
//! the log, and purging never deletes what the retained snapshots need.
//!
//! Snapshots are background work. The thread runs at a lower scheduling priority, so that on a busy
//! machine it takes what the request path leaves; and a snapshot asked for while the previous one is
//! still being written is skipped, as ZooKeeper's SyncRequestProcessor does ("Too busy to snap"): queuing
//! it would only hold another copy of the tree in memory and fall further behind, while the log already
//! holds every txn a skipped snapshot would have covered.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rzk_core::tree::DataTree;
use rzk_core::Zxid;
use tracing::{error, info, warn};

use crate::storage::{bump, write_snapshot_file, StorageOptions};

/// What the thread is asked to do, in order.
enum Job {
    Snapshot(Zxid, Box<DataTree>),
    /// Finish what came before, say so on `paused`, then do nothing (no purge either) until `resume` is
    /// dropped.
    Pause {
        paused: mpsc::Sender<()>,
        resume: mpsc::Receiver<()>,
    },
}

/// Handle to the snapshot thread; dropping it lets the thread finish the snapshot at hand and stop.
pub(crate) struct SnapshotThread {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// A snapshot is queued or being written.
    busy: Arc<AtomicBool>,
    options: StorageOptions,
}

/// How much lower than the event loop the snapshot thread runs (a nice value: each step is ~1.25x less
/// CPU when cores are contended; 10 leaves it about a tenth of a busy loop's share).
const SNAPSHOT_NICENESS: libc::c_int = 10;

/// The snapshot thread is idle until this is dropped.
pub(crate) struct Paused {
    _resume: mpsc::Sender<()>,
}

impl SnapshotThread {
    pub(crate) fn start(options: StorageOptions) -> std::io::Result<SnapshotThread> {
        let (jobs, rx) = mpsc::channel();
        let busy = Arc::new(AtomicBool::new(false));
        let thread = {
            let (options, busy) = (options.clone(), Arc::clone(&busy));
            std::thread::Builder::new()
                .name("snapshot".into())
                .spawn(move || run(options, &busy, rx))?
        };
        Ok(SnapshotThread {
            jobs: Some(jobs),
            thread: Some(thread),
            busy,
            options,
        })
    }

    /// Queues a snapshot of `tree`, exact at `zxid`, unless the previous one is not written yet.
    pub(crate) fn take(&self, zxid: Zxid, tree: Box<DataTree>) {
        if self.busy.swap(true, Ordering::AcqRel) {
            bump(&self.options.counters.snapshots_skipped, 1);
            warn!(
                zxid = format_args!("0x{zxid:x}"),
                "too busy to snapshot: the previous snapshot is still being written; skipping this one"
            );
            return;
        }
        if let Some(jobs) = &self.jobs {
            // The thread only stops when this handle drops, so sending cannot fail while it is alive.
            let _ = jobs.send(Job::Snapshot(zxid, tree));
        }
    }

    /// Waits until every snapshot queued before is written, and keeps the thread idle (no snapshot, no
    /// purge) while the returned guard lives: the caller may then rewrite the directories alone.
    pub(crate) fn pause(&self) -> std::io::Result<Paused> {
        let (paused_tx, paused) = mpsc::channel();
        let (resume, resume_rx) = mpsc::channel();
        let sent = self.jobs.as_ref().is_some_and(|jobs| {
            jobs.send(Job::Pause {
                paused: paused_tx,
                resume: resume_rx,
            })
            .is_ok()
        });
        if !sent || paused.recv().is_err() {
            return Err(std::io::Error::other("the snapshot thread is gone"));
        }
        Ok(Paused { _resume: resume })
    }
}

impl Drop for SnapshotThread {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Lowers the calling thread's scheduling priority (Linux: nice applies per thread). Best effort: a
/// failure only means snapshots compete with requests as equals.
fn lower_priority() {
    // SAFETY: plain syscalls on the calling thread, no pointers involved.
    let result = unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, SNAPSHOT_NICENESS)
    };
    if result != 0 {
        warn!(error = %std::io::Error::last_os_error(), "cannot lower the snapshot thread's priority");
    }
}

fn run(options: StorageOptions, busy: &AtomicBool, jobs: mpsc::Receiver<Job>) {
    lower_priority();
    let interval = (options.purge_interval_hours > 0)
        .then(|| Duration::from_secs(u64::from(options.purge_interval_hours) * 3600));
    options.purge_if_enabled();
    let mut next_purge = interval.map(|i| Instant::now() + i);
    loop {
        let job = match next_purge {
            Some(at) => jobs.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => jobs.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match job {
            Ok(Job::Pause { paused, resume }) => {
                let _ = paused.send(());
                // Returns once the guard is dropped.
                let _ = resume.recv();
            }
            Ok(Job::Snapshot(zxid, tree)) => {
                let started = Instant::now();
                let written = write_snapshot_file(&options.snap_dir(), zxid, &tree);
                let nodes = tree.node_count();
                // The tree goes first: the next snapshot's copy should not overlap this one's. Not busy
                // before the counters move, so whoever sees them move may take the next one.
                drop(tree);
                busy.store(false, Ordering::Release);
                match written {
                    Ok(path) => {
                        bump(&options.counters.snapshots, 1);
                        info!(file = %path.display(), nodes, ms = started.elapsed().as_millis() as u64, "snapshot written");
                    }
                    Err(e) => {
                        bump(&options.counters.snapshot_failures, 1);
                        error!(zxid = format_args!("0x{zxid:x}"), error = %e, "cannot write a snapshot; the txn log still holds everything since the previous one");
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                options.purge_if_enabled();
                next_purge = interval.map(|i| Instant::now() + i);
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "never: {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_snapshot_asked_for_while_one_is_pending_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let options = StorageOptions::new(dir.path(), dir.path());
        options.create_dirs().unwrap();
        let counters = Arc::clone(&options.counters);
        let thread = SnapshotThread::start(options.clone()).unwrap();
        // Paused, the thread cannot finish the first snapshot before the second is asked for.
        let paused = thread.pause().unwrap();
        thread.take(5, Box::new(DataTree::new()));
        thread.take(6, Box::new(DataTree::new()));
        assert_eq!(counters.snapshots_skipped(), 1);
        drop(paused);
        wait_for("the first snapshot", || counters.snapshots() == 1);
        // Once it is written, the next one is taken again.
        thread.take(7, Box::new(DataTree::new()));
        wait_for("the third snapshot", || counters.snapshots() == 2);
        drop(thread);
        let snap_dir = options.snap_dir();
        assert!(snap_dir.join("snapshot.5").exists());
        assert!(!snap_dir.join("snapshot.6").exists());
        assert!(snap_dir.join("snapshot.7").exists());
        assert_eq!(counters.snapshots_skipped(), 1);
    }
}
