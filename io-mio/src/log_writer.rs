//! Carries out [`rzk_core::Output::Persist`] (in the order of its ids) and [`rzk_core::Output::Snapshot`], and
//! says how far the ops are durable ([`LogWriter::take_persisted`], fed back as
//! [`rzk_core::Input::Persisted`]).
//!
//! On disk (production): a dedicated writer thread does group commit. It takes everything queued (up to
//! [`MAX_BATCH_TXNS`]), writes it to the current `log.<zxid>` file, calls fdatasync once, and reports the
//! highest synced zxid back through a channel, waking the event loop with its `mio::Waker`; the loop maps it to
//! the append ops it covers and feeds [`rzk_core::Input::Persisted`]. A snapshot rolls the log (the next txn starts a new file) and is
//! written by the snapshot thread. A write or sync error is final: the thread reports it and stops, so no
//! later zxid is ever reported synced, and the event loop returns the error.
//!
//! A lone write skips the thread: handing a txn to another thread and being woken by it costs two
//! scheduler wake-ups, each as long as a fast disk's fdatasync on a virtual machine. While the writer
//! thread is idle, appends are held back (up to [`INLINE_MAX_TXNS`]) and [`LogWriter::commit_pending`]
//! writes and syncs them on the loop thread, which calls it once everything else of its turn (replies,
//! peer messages) is sent, if the turn had a single request. Under load the thread is busy or the turn
//! read many requests; the appends go to the thread, and group commit overlaps the loop's work with the
//! disk as before. Both write the same file under one lock, in order:
//! the loop only writes when nothing sent to the thread is unfinished.
//!
//! In memory (driver tests with fake machines, no dataDir): every append "completes" at once.
//!
//! The loop's side is the same either way: [`LogWriter::append`] never blocks, and
//! [`LogWriter::take_synced`] is polled after every batch of events (including a wake-up), reporting each
//! synced zxid once.
//!
//! The other ops ([`LogWriter::truncate`], [`LogWriter::install_snapshot`], [`LogWriter::save_epochs`]) are
//! rare (elections, syncs) and run on the loop thread, in order: they first pause both threads (the writer
//! writes and syncs everything queued before, closes its file and answers; the snapshot thread finishes
//! queued snapshots and then idles), so every op before them is durable when they are; then the loop thread
//! rewrites the files alone, and the op is durable when the call returns. The next append starts a new log
//! file. The core never counts truncated txns durable, whatever the order of reports (see
//! `rzk_core::node::persist`), so nothing here needs to reconcile a sync with a truncate.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use mio::Waker;
use rzk_core::node::{PersistId, PersistOp};
use rzk_core::tree::DataTree;
use rzk_core::txn::LoggedTxn;
use rzk_core::Zxid;
use tracing::error;

use crate::snapshot_thread::SnapshotThread;
use crate::storage::{
    bump, encode_txns, install_snapshot, save_epochs, truncate_log, Epochs, FsDir, LogFile,
    StorageCounters, StorageOptions, UnwrittenSnapshot,
};

/// Txns written per group commit at most (the rest waits for the next one), bounding reply latency.
const MAX_BATCH_TXNS: usize = 4096;

/// Txns held back for a commit on the loop thread at most; more go to the writer thread at once, where
/// syncing overlaps with the loop's work.
const INLINE_MAX_TXNS: usize = 32;

/// Accepts appends and reports how far the log is durable.
pub(crate) struct LogWriter {
    inner: Inner,
}

enum Inner {
    Memory {
        /// The newest op carried out so far, and the newest already reported.
        done: Option<PersistId>,
        reported: Option<PersistId>,
    },
    Disk(Box<DiskLog>),
}

/// What the event loop sends the writer thread, in the core's output order.
enum Command {
    Append(Vec<LoggedTxn>),
    /// Close the current file after what came before; the next txn starts a new one.
    Roll,
    /// Like `Roll`, and answer once everything before is durable and reported.
    Barrier(mpsc::Sender<()>),
}

struct DiskLog {
    commands: Option<mpsc::Sender<Command>>,
    synced: mpsc::Receiver<Result<Zxid, String>>,
    thread: Option<JoinHandle<()>>,
    /// The log file and its encoder, used by the writer thread and by inline commits.
    writer: Arc<Mutex<Writer>>,
    /// Commands sent to the writer thread that it has not finished (written, synced and reported).
    unfinished: Arc<AtomicUsize>,
    /// Appends held back for [`LogWriter::commit_pending`]; only while the writer thread is idle.
    pending: Vec<LoggedTxn>,
    /// Why an inline commit failed, until take_synced reports it.
    inline_failure: Option<String>,
    snapshots: SnapshotThread,
    failed: bool,
    options: StorageOptions,
    /// The highest zxid synced but not yet reported: taken from the channel while pausing, or synced by an
    /// inline commit.
    carried: Option<Zxid>,
    /// Append ops not yet known durable, with the last zxid of each (increasing: between two other ops the
    /// core only appends higher zxids).
    appends: std::collections::VecDeque<(PersistId, Zxid)>,
    /// The newest op known durable, and the newest reported to the loop.
    done: Option<PersistId>,
    reported: Option<PersistId>,
    /// The epochs last written (their files are not rewritten while unchanged).
    epochs: Option<Epochs>,
}

impl LogWriter {
    /// A log that keeps nothing: appends are "durable" at once.
    pub(crate) fn in_memory() -> LogWriter {
        LogWriter {
            inner: Inner::Memory {
                done: None,
                reported: None,
            },
        }
    }

    /// Starts the writer and snapshot threads on the directories of `options` (which must exist). The
    /// snapshot thread starts with `unwritten` (imported ZooKeeper state), rzk's first snapshot.
    pub(crate) fn on_disk(
        options: StorageOptions,
        waker: Arc<Waker>,
        unwritten: Option<UnwrittenSnapshot>,
    ) -> io::Result<LogWriter> {
        let (commands, rx) = mpsc::channel();
        let (synced_tx, synced) = mpsc::channel();
        let writer = Arc::new(Mutex::new(Writer {
            dir: options.log_dir(),
            prealloc: options.pre_alloc_size_kb.saturating_mul(1024),
            counters: Arc::clone(&options.counters),
            file: None,
            buf: Vec::new(),
        }));
        let unfinished = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (writer, unfinished) = (Arc::clone(&writer), Arc::clone(&unfinished));
            std::thread::Builder::new()
                .name("log-writer".into())
                .spawn(move || run_writer(&writer, &unfinished, rx, synced_tx, waker))?
        };
        let snapshots = SnapshotThread::start(options.clone())?;
        if let Some(u) = unwritten {
            snapshots.take(u.zxid, Box::new(u.tree));
        }
        Ok(LogWriter {
            inner: Inner::Disk(Box::new(DiskLog {
                commands: Some(commands),
                synced,
                thread: Some(thread),
                writer,
                unfinished,
                pending: Vec::new(),
                inline_failure: None,
                snapshots,
                failed: false,
                options,
                carried: None,
                appends: Default::default(),
                done: None,
                reported: None,
                epochs: None,
            })),
        })
    }

    /// Carries out one persistence op, in id order. Appends are queued (never block); the other ops block
    /// until durable. An error is final: nothing more is reported durable.
    pub(crate) fn persist(&mut self, id: PersistId, op: PersistOp) -> io::Result<()> {
        match op {
            PersistOp::Append(txns) => {
                self.append(id, txns);
                Ok(())
            }
            PersistOp::SaveEpochs { accepted, current } => {
                self.save_epochs(id, Epochs { accepted, current })
            }
            PersistOp::Truncate { zxid } => self.truncate(id, zxid),
            PersistOp::Install { zxid, tree } => self.install_snapshot(id, zxid, &tree),
        }
    }

    /// Queues txns after all earlier ones. Never blocks.
    fn append(&mut self, id: PersistId, txns: Vec<LoggedTxn>) {
        match &mut self.inner {
            Inner::Memory { done, .. } => *done = Some(id),
            Inner::Disk(disk) => {
                if let Some(last) = txns.last() {
                    disk.appends.push_back((id, last.header.zxid));
                }
                disk.append(txns);
            }
        }
    }

    /// A blocking op completed: it, and everything before it, is durable.
    fn completed(&mut self, id: PersistId) {
        match &mut self.inner {
            Inner::Memory { done, .. } => *done = Some(id),
            Inner::Disk(disk) => {
                disk.appends.clear();
                disk.carried = None;
                disk.done = Some(id);
            }
        }
    }

    /// Writes and syncs the appends held back for the loop thread, if any and if `inline`; blocks until
    /// they are durable (or failed: then take_synced reports the error). Without `inline` they go to the
    /// writer thread. Returns whether it synced anything. Call it when the turn's other work is done, so
    /// that nothing waits on the disk that need not, and with `inline` only when the loop has nothing
    /// else to do (a busy loop would stall its other clients for the length of an fdatasync).
    pub(crate) fn commit_pending(&mut self, inline: bool) -> bool {
        match &mut self.inner {
            Inner::Memory { .. } => false,
            Inner::Disk(disk) if inline => disk.commit_pending(),
            Inner::Disk(disk) => {
                disk.send_pending();
                false
            }
        }
    }

    /// Writes a snapshot of `tree` (exact at `zxid`) in the background and rolls the log.
    pub(crate) fn snapshot(&mut self, zxid: Zxid, tree: Box<DataTree>) {
        if let Inner::Disk(disk) = &mut self.inner {
            disk.send(Command::Roll);
            disk.snapshots.take(zxid, tree);
        }
    }

    /// Removes every logged txn after `zxid`; durable (with every op before it) when this returns.
    fn truncate(&mut self, id: PersistId, zxid: Zxid) -> io::Result<()> {
        if let Inner::Disk(disk) = &mut self.inner {
            let _paused = disk.pause()?;
            let dirs = (
                FsDir::new(disk.options.snap_dir()),
                FsDir::new(disk.options.log_dir()),
            );
            truncate_log(&dirs.0, &dirs.1, zxid)?;
        }
        self.completed(id);
        Ok(())
    }

    /// Makes `tree` (exact at `zxid`) the whole persisted state, discarding every log file; durable (with
    /// every op before it) when this returns.
    fn install_snapshot(&mut self, id: PersistId, zxid: Zxid, tree: &DataTree) -> io::Result<()> {
        if let Inner::Disk(disk) = &mut self.inner {
            let _paused = disk.pause()?;
            install_snapshot(
                &disk.options.snap_dir(),
                &disk.options.log_dir(),
                zxid,
                tree,
            )?;
            bump(&disk.options.counters.snapshots, 1);
        }
        self.completed(id);
        Ok(())
    }

    /// Writes the epoch files; durable (with every op before it) when this returns. Nothing to write without
    /// a data dir.
    fn save_epochs(&mut self, id: PersistId, epochs: Epochs) -> io::Result<()> {
        if let Inner::Disk(disk) = &mut self.inner {
            if disk.failed {
                return Err(io::Error::other("the txn log failed earlier"));
            }
            // The epochs vouch for the log before them (a learner's synced history): that comes first.
            let _paused = disk.pause()?;
            save_epochs(&FsDir::new(disk.options.snap_dir()), epochs, disk.epochs)?;
            disk.epochs = Some(epochs);
        }
        self.completed(id);
        Ok(())
    }

    /// The newest op durable with every op before it, if that moved since the last call; an error once the
    /// log has failed (then nothing more is ever reported).
    pub(crate) fn take_persisted(&mut self) -> io::Result<Option<PersistId>> {
        match &mut self.inner {
            Inner::Memory { done, reported } => {
                if *done > *reported {
                    *reported = *done;
                    Ok(*done)
                } else {
                    Ok(None)
                }
            }
            Inner::Disk(disk) => {
                if let Some(zxid) = disk.take_synced()? {
                    while let Some(&(id, last)) = disk.appends.front() {
                        if last > zxid {
                            break;
                        }
                        disk.appends.pop_front();
                        disk.done = disk.done.max(Some(id));
                    }
                }
                if disk.done > disk.reported {
                    disk.reported = disk.done;
                    Ok(disk.done)
                } else {
                    Ok(None)
                }
            }
        }
    }
}

impl DiskLog {
    fn append(&mut self, txns: Vec<LoggedTxn>) {
        if txns.is_empty() {
            return;
        }
        if self.pending.is_empty() && self.unfinished.load(Ordering::Acquire) > 0 {
            self.send(Command::Append(txns));
            return;
        }
        self.pending.extend(txns);
        if self.pending.len() > INLINE_MAX_TXNS {
            self.send_pending();
        }
    }

    fn commit_pending(&mut self) -> bool {
        if self.pending.is_empty() || self.failed || self.inline_failure.is_some() {
            return false;
        }
        // Pending appends only exist while the thread has nothing unfinished (everything else is sent
        // after them), so the lock is free and the file ends where these txns begin.
        let txns = std::mem::take(&mut self.pending);
        let mut writer = lock(&self.writer);
        match writer.commit(vec![Command::Append(txns)]) {
            Ok(Some(zxid)) => self.carried = self.carried.max(Some(zxid)),
            Ok(None) => {}
            Err(e) => self.inline_failure = Some(writer.failure(&e)),
        }
        true
    }

    /// Sends what is held back to the writer thread, keeping the order of appends.
    fn send_pending(&mut self) {
        if !self.pending.is_empty() {
            let txns = std::mem::take(&mut self.pending);
            self.send_now(Command::Append(txns));
        }
    }

    fn send(&mut self, command: Command) {
        self.send_pending();
        self.send_now(command);
    }

    fn send_now(&mut self, command: Command) {
        if let Some(commands) = &self.commands {
            self.unfinished.fetch_add(1, Ordering::AcqRel);
            // A closed channel means the writer stopped on an error, which take_synced reports.
            let _ = commands.send(command);
        }
    }

    /// Waits until the writer has written, synced and reported everything queued (taking the report into
    /// `carried`) and closed its file, and pauses the snapshot thread while the guard lives.
    fn pause(&mut self) -> io::Result<crate::snapshot_thread::Paused> {
        let (done, answer) = mpsc::channel();
        self.send(Command::Barrier(done));
        let answered = answer.recv().is_ok();
        // Reports made before the answer are in the channel now (or the failure that stopped the writer).
        let synced = self.take_synced()?;
        if !answered {
            return Err(io::Error::other("the txn log writer thread is gone"));
        }
        self.carried = synced;
        self.snapshots.pause()
    }

    fn take_synced(&mut self) -> io::Result<Option<Zxid>> {
        if self.failed {
            return Err(io::Error::other("the txn log failed earlier"));
        }
        if let Some(message) = self.inline_failure.take() {
            self.failed = true;
            return Err(io::Error::other(message));
        }
        // An inline commit may have synced past reports of the thread still in the channel.
        let mut highest = self.carried.take();
        loop {
            match self.synced.try_recv() {
                Ok(Ok(zxid)) => highest = highest.max(Some(zxid)),
                Ok(Err(message)) => {
                    self.failed = true;
                    return Err(io::Error::other(message));
                }
                Err(mpsc::TryRecvError::Empty) => return Ok(highest),
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.failed = true;
                    return Err(io::Error::other("the txn log writer thread is gone"));
                }
            }
        }
    }
}

impl Drop for DiskLog {
    /// Lets the writer finish what is queued (held-back appends too), then waits for both threads.
    fn drop(&mut self) {
        self.send_pending();
        self.commands.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The writer thread's state.
struct Writer {
    dir: PathBuf,
    prealloc: u64,
    counters: Arc<StorageCounters>,
    file: Option<LogFile>,
    /// Records encoded and not yet written to `file`.
    buf: Vec<u8>,
}

/// The writer thread: group commits what the loop sends until the loop hangs up or a write fails.
fn run_writer(
    writer: &Mutex<Writer>,
    unfinished: &AtomicUsize,
    commands: mpsc::Receiver<Command>,
    synced: mpsc::Sender<Result<Zxid, String>>,
    waker: Arc<Waker>,
) {
    while let Ok(first) = commands.recv() {
        let mut batch = vec![first];
        let mut txns = batch_txns(&batch);
        // A barrier ends the batch: it is answered right after this batch's report.
        while txns < MAX_BATCH_TXNS && !matches!(batch.last(), Some(Command::Barrier(_))) {
            match commands.try_recv() {
                Ok(c) => {
                    txns += batch_txns(std::slice::from_ref(&c));
                    batch.push(c);
                }
                Err(_) => break,
            }
        }
        let commands_taken = batch.len();
        let barrier = match batch.last() {
            Some(Command::Barrier(_)) => match batch.pop() {
                Some(Command::Barrier(done)) => Some(done),
                _ => None,
            },
            _ => None,
        };
        let report = {
            let mut w = lock(writer);
            let result = w.commit(batch);
            if barrier.is_some() {
                w.file = None;
            }
            result.map_err(|e| w.failure(&e))
        };
        let stop = report.is_err();
        let report = match report {
            Ok(None) => None,
            Ok(Some(zxid)) => Some(Ok(zxid)),
            Err(message) => Some(Err(message)),
        };
        if let Some(report) = report {
            // The loop may already be gone (shutting down); nothing to report to then.
            let _ = synced.send(report);
            let _ = waker.wake();
        }
        if stop {
            // A barrier dropped unanswered tells the loop the writer stopped; `unfinished` stays above
            // zero, so the loop never writes inline after a failure either.
            return;
        }
        // Finished only once reported: the loop then sees every earlier report before writing inline.
        unfinished.fetch_sub(commands_taken, Ordering::AcqRel);
        if let Some(done) = barrier {
            let _ = done.send(());
        }
    }
}

fn lock(writer: &Mutex<Writer>) -> MutexGuard<'_, Writer> {
    // A panic while holding the lock cannot leave a half-written batch reported as synced: its report is
    // never sent. Carry on with the state as it is.
    writer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Writer {
    /// Logs a write or sync error and says it in the report's words.
    fn failure(&self, e: &io::Error) -> String {
        error!(dir = %self.dir.display(), error = %e, "cannot write the txn log: no more writes will be acknowledged");
        format!("txn log in {}: {e}", self.dir.display())
    }

    /// Writes a batch and makes it durable; returns the highest zxid it synced.
    fn commit(&mut self, batch: Vec<Command>) -> io::Result<Option<Zxid>> {
        let mut highest = None;
        let mut count = 0u64;
        for command in batch {
            match command {
                Command::Append(txns) => {
                    for t in &txns {
                        if self.file.is_none() {
                            self.file =
                                Some(LogFile::create(&self.dir, t.header.zxid, self.prealloc)?);
                            bump(&self.counters.log_files, 1);
                        }
                        encode_txns(std::slice::from_ref(t), &mut self.buf)
                            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                        highest = Some(t.header.zxid);
                        count += 1;
                    }
                }
                Command::Roll => {
                    self.flush()?;
                    self.file = None;
                }
                // Split off by `run` before committing.
                Command::Barrier(_) => {}
            }
        }
        self.flush()?;
        bump(&self.counters.txns, count);
        Ok(highest)
    }

    /// Writes the buffered records to the current file and fdatasyncs it.
    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let Some(file) = self.file.as_mut() else {
            return Err(io::Error::other("records buffered without a log file"));
        };
        file.append(&self.buf)?;
        crate::test_faults::delay_fsync();
        file.sync()?;
        bump(&self.counters.fsyncs, 1);
        self.buf.clear();
        Ok(())
    }
}

fn batch_txns(batch: &[Command]) -> usize {
    batch
        .iter()
        .map(|c| match c {
            Command::Append(t) => t.len(),
            Command::Roll | Command::Barrier(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{recover, scan_log, FsDir};
    use rzk_core::txn::{Txn, TxnHeader};
    use std::time::{Duration, Instant};

    /// Numbers ops as the core would, per log.
    fn op(n: u64) -> PersistId {
        PersistId(n)
    }

    fn txn(zxid: Zxid) -> LoggedTxn {
        LoggedTxn {
            header: TxnHeader {
                session_id: 1,
                cxid: 1,
                zxid,
                time: 0,
            },
            txn: Txn::Delete { path: "/a".into() },
        }
    }

    #[test]
    fn in_memory_reports_the_newest_op_once() {
        let mut log = LogWriter::in_memory();
        assert_eq!(log.take_persisted().unwrap(), None);
        log.append(op(1), vec![txn(3), txn(4)]);
        log.append(op(2), vec![txn(5)]);
        assert_eq!(log.take_persisted().unwrap(), Some(op(2)));
        assert_eq!(log.take_persisted().unwrap(), None);
        log.append(op(3), vec![txn(6)]);
        assert_eq!(log.take_persisted().unwrap(), Some(op(3)));
    }

    fn disk_log(dir: &std::path::Path) -> (LogWriter, StorageOptions, mio::Poll) {
        let poll = mio::Poll::new().unwrap();
        let waker = Arc::new(Waker::new(poll.registry(), mio::Token(0)).unwrap());
        let mut options = StorageOptions::new(dir, dir);
        options.pre_alloc_size_kb = 4;
        options.create_dirs().unwrap();
        (
            LogWriter::on_disk(options.clone(), waker, None).unwrap(),
            options,
            poll,
        )
    }

    fn wait_persisted(log: &mut LogWriter, id: PersistId) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = None;
        while seen < Some(id) {
            assert!(Instant::now() < deadline, "never persisted {id:?}");
            log.commit_pending(true);
            if let Some(z) = log.take_persisted().unwrap() {
                assert!(z <= id);
                seen = Some(z);
            } else {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    #[test]
    fn on_disk_group_commits_rolls_at_snapshots_and_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, options, _poll) = disk_log(dir.path());
        for z in 1..=100 {
            log.append(op(z as u64), vec![txn(z)]);
        }
        wait_persisted(&mut log, op(100));
        let mut tree = DataTree::new();
        for z in 1..=100 {
            tree.apply(&txn(z).header, &txn(z).txn);
        }
        log.snapshot(100, Box::new(tree));
        log.append(op(101), (101..=150).map(txn).collect());
        wait_persisted(&mut log, op(101));
        let counters = Arc::clone(&options.counters);
        drop(log);
        assert_eq!(counters.txns(), 150);
        assert!(counters.fsyncs() >= 2 && counters.fsyncs() <= 150);
        assert_eq!(counters.snapshots(), 1);
        let v2 = dir.path().join("rzk");
        assert!(v2.join("log.1").exists() && v2.join("log.65").exists());
        assert!(v2.join("snapshot.64").exists());
        let r = recover(&FsDir::new(&v2), &FsDir::new(&v2)).unwrap();
        assert_eq!(r.report.snapshot.map(|s| s.1), Some(100));
        assert_eq!(r.recovered.txns.len(), 50);
        let on_disk = std::fs::read(v2.join("log.65")).unwrap();
        assert_eq!(scan_log(&on_disk).unwrap().txns.len(), 50);
    }

    #[test]
    fn a_lone_append_is_synced_on_the_calling_thread_and_follows_the_threads_batches_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, options, _poll) = disk_log(dir.path());
        // More than an inline commit takes: straight to the writer thread.
        log.append(op(1), (1..=40).map(txn).collect());
        assert!(!log.commit_pending(true));
        wait_persisted(&mut log, op(1));
        let fsyncs = options.counters.fsyncs();
        // The thread is idle now: one txn is held back, then written and synced by commit_pending.
        log.append(op(2), vec![txn(41)]);
        assert!(log.commit_pending(true));
        assert_eq!(log.take_persisted().unwrap(), Some(op(2)));
        assert_eq!(options.counters.fsyncs(), fsyncs + 1);
        assert!(!log.commit_pending(true), "nothing left to commit");
        // A busy turn hands its txns to the thread instead.
        log.append(op(3), vec![txn(42)]);
        assert!(!log.commit_pending(false));
        wait_persisted(&mut log, op(3));
        drop(log);
        let v2 = options.log_dir();
        let r = recover(&FsDir::new(&v2), &FsDir::new(&v2)).unwrap();
        let zxids: Vec<_> = r.recovered.txns.iter().map(|t| t.header.zxid).collect();
        assert_eq!(zxids, (1..=42).collect::<Vec<_>>());
        assert_eq!(options.counters.txns(), 42);
    }

    #[test]
    fn an_inline_write_error_is_reported_and_nothing_after_it_is_synced() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, options, _poll) = disk_log(dir.path());
        std::fs::create_dir(options.log_dir().join("log.1")).unwrap();
        log.append(op(1), vec![txn(1)]);
        assert!(log.commit_pending(true));
        let err = log.take_persisted().unwrap_err();
        assert!(err.to_string().contains("txn log"), "{err}");
        log.append(op(2), vec![txn(2)]);
        assert!(!log.commit_pending(true));
        assert!(log.take_persisted().is_err());
    }

    #[test]
    fn truncate_writes_what_was_queued_then_cuts_and_the_next_append_starts_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, options, _poll) = disk_log(dir.path());
        log.append(op(1), (1..=20).map(txn).collect());
        // The truncate waits for the append before it: both are durable when it returns.
        log.truncate(op(2), 12).unwrap();
        assert_eq!(log.take_persisted().unwrap(), Some(op(2)));
        log.append(op(3), (13..=15).map(txn).collect());
        wait_persisted(&mut log, op(3));
        drop(log);
        let v2 = options.log_dir();
        assert!(v2.join("log.1").exists() && v2.join("log.d").exists());
        let r = recover(&FsDir::new(&v2), &FsDir::new(&v2)).unwrap();
        let zxids: Vec<_> = r.recovered.txns.iter().map(|t| t.header.zxid).collect();
        assert_eq!(zxids, (1..=15).collect::<Vec<_>>());
    }

    #[test]
    fn install_snapshot_discards_the_log_and_later_appends_follow_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, options, _poll) = disk_log(dir.path());
        log.append(op(1), (1..=30).map(txn).collect());
        let mut tree = DataTree::new();
        for z in 1..=40 {
            tree.apply(&txn(z).header, &txn(z).txn);
        }
        log.install_snapshot(op(2), 40, &tree).unwrap();
        assert_eq!(log.take_persisted().unwrap(), Some(op(2)));
        log.append(op(3), (41..=42).map(txn).collect());
        wait_persisted(&mut log, op(3));
        drop(log);
        let v2 = options.log_dir();
        assert!(!v2.join("log.1").exists() && v2.join("log.29").exists());
        let r = recover(&FsDir::new(&v2), &FsDir::new(&v2)).unwrap();
        assert_eq!(r.report.snapshot.map(|s| s.1), Some(40));
        assert_eq!(r.recovered.txns.len(), 2);
    }

    #[test]
    fn epochs_are_on_disk_when_save_returns() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, options, _poll) = disk_log(dir.path());
        log.append(op(1), (1..=5).map(txn).collect());
        log.save_epochs(
            op(2),
            Epochs {
                accepted: 4,
                current: 3,
            },
        )
        .unwrap();
        // The epochs vouch for what came before them: that is durable too.
        assert_eq!(log.take_persisted().unwrap(), Some(op(2)));
        let r = options.recover().unwrap();
        assert_eq!(
            (r.recovered.accepted_epoch, r.recovered.current_epoch),
            (4, 3)
        );
        assert_eq!(r.recovered.txns.len(), 5);
    }

    #[test]
    fn in_memory_every_op_is_durable_at_once() {
        let mut log = LogWriter::in_memory();
        log.append(op(1), (1..=10).map(txn).collect());
        log.truncate(op(2), 6).unwrap();
        assert_eq!(log.take_persisted().unwrap(), Some(op(2)));
        log.append(op(3), vec![txn(7)]);
        log.install_snapshot(op(4), 9, &DataTree::new()).unwrap();
        assert_eq!(log.take_persisted().unwrap(), Some(op(4)));
    }

    #[test]
    fn a_write_error_is_reported_and_nothing_after_it_is_synced() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, options, _poll) = disk_log(dir.path());
        // The next file cannot be created: its name is taken by a directory.
        std::fs::create_dir(options.log_dir().join("log.1")).unwrap();
        log.append(op(1), vec![txn(1)]);
        let deadline = Instant::now() + Duration::from_secs(10);
        let err = loop {
            log.commit_pending(true);
            match log.take_persisted() {
                Err(e) => break e,
                Ok(None) => std::thread::sleep(Duration::from_millis(1)),
                Ok(Some(z)) => panic!("reported {z:?} durable"),
            }
            assert!(Instant::now() < deadline);
        };
        assert!(err.to_string().contains("txn log"), "{err}");
        log.append(op(2), vec![txn(2)]);
        assert!(log.take_persisted().is_err());
    }
}
