//! The snapshot thread: writes snapshots off the event loop and runs autopurge (at start and every
//! purgeInterval hours, as ZooKeeper's DatadirCleanupManager).
//!
//! A failed snapshot is logged and counted, never fatal: every txn since the previous snapshot is still in
//! the log, and purging never deletes what the retained snapshots need.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rzk_core::tree::DataTree;
use rzk_core::Zxid;
use tracing::{error, info};

use super::{bump, write_snapshot_file, StorageOptions};

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
}

/// The snapshot thread is idle until this is dropped.
pub(crate) struct Paused {
    _resume: mpsc::Sender<()>,
}

impl SnapshotThread {
    pub(crate) fn start(options: StorageOptions) -> std::io::Result<SnapshotThread> {
        let (jobs, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("snapshot".into())
            .spawn(move || run(options, rx))?;
        Ok(SnapshotThread {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Queues a snapshot of `tree`, exact at `zxid`.
    pub(crate) fn take(&self, zxid: Zxid, tree: Box<DataTree>) {
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

fn run(options: StorageOptions, jobs: mpsc::Receiver<Job>) {
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
                match write_snapshot_file(&options.snap_dir(), zxid, &tree) {
                    Ok(path) => {
                        bump(&options.counters.snapshots, 1);
                        info!(file = %path.display(), nodes = tree.nodes().count(), ms = started.elapsed().as_millis() as u64, "snapshot written");
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
