//! The recorder's writer: a thread of its own that turns the loop's items into segment files, so the event
//! loop never waits on the disk. [`FileSink`] is the loop's end: it refuses items (never blocks) once too
//! many bytes wait for the thread or the thread could not write, which the [`crate::Recorder`] turns into a
//! gap; after a write error it offers to start again every [`RETRY_AFTER`].
//!
//! Segments are written as `<name>.open` and renamed when sealed (or when a write fails: an unsealed
//! segment still replays up to its last whole block). Blocks go out by size or every `flush_interval`, so a
//! crash loses at most that much of the tail; nothing is fsynced (a recording is a diagnostic, not data).
//! After each segment the directory is trimmed to its byte and age budget, oldest sealed segments first.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::assemble::{write_start, write_steps};
use crate::dir::{self, OPEN_SUFFIX};
use crate::recorder::{Begin, Item, Sink};
use crate::segment::{SegmentHeader, SegmentWriter};

/// How often the writer takes what the loop queued.
pub const POLL: Duration = Duration::from_millis(5);

/// After the writer fails, how long before the loop offers a new segment.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Where and how much to record.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    pub dir: PathBuf,
    /// The directory's budget: sealed segments beyond it go, oldest first.
    pub max_bytes: u64,
    /// Sealed segments older than this go (0: no limit).
    pub max_age_secs: u64,
    /// A segment is complete past this many bytes (at least four checkpoints' worth, so a large tree does
    /// not make every segment mostly checkpoint) or this age.
    pub segment_bytes: u64,
    pub segment_secs: u64,
    /// Bytes handed over and not yet written beyond which the loop's items are refused.
    pub queue_bytes: usize,
    /// The longest a written block waits in memory.
    pub flush_interval: Duration,
}

/// What the writer has done, for logs and tests.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub segments: AtomicU64,
    pub bytes: AtomicU64,
    /// Items the loop's end refused (each starts a gap).
    pub refusals: AtomicU64,
    pub write_errors: AtomicU64,
    pub deleted: AtomicU64,
}

struct Shared {
    queued: AtomicUsize,
    want_segment: AtomicBool,
    failed: AtomicBool,
    /// The first input the writer took and could not write (u64::MAX: none since the loop last asked).
    lost_from: AtomicU64,
    stats: WriterStats,
}

/// The loop's end of the writer.
pub struct FileSink {
    tx: Option<mpsc::Sender<(Item, usize)>>,
    /// Written batches' buffers, emptied, for the loop to fill again.
    spares: mpsc::Receiver<Vec<u8>>,
    shared: Arc<Shared>,
    queue_bytes: usize,
    /// When the loop may offer a new segment after a failure.
    retry_at: Option<Instant>,
    thread: Option<JoinHandle<()>>,
}

impl FileSink {
    /// Creates the directory (owner-only) and starts the writer thread.
    pub fn start(options: WriterOptions) -> io::Result<FileSink> {
        dir::create_private_dir(&options.dir)?;
        let shared = Arc::new(Shared {
            queued: AtomicUsize::new(0),
            want_segment: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            lost_from: AtomicU64::new(u64::MAX),
            stats: WriterStats::default(),
        });
        close_stale(&options.dir);
        let (tx, rx) = mpsc::channel();
        let (spare_tx, spares) = mpsc::sync_channel(SPARES);
        let queue_bytes = options.queue_bytes;
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("rzk-recorder".into())
                .spawn(move || Writer::new(options, shared, spare_tx).run(rx))?
        };
        Ok(FileSink {
            tx: Some(tx),
            spares,
            shared,
            queue_bytes,
            retry_at: None,
            thread: Some(thread),
        })
    }

    pub fn stats(&self) -> &WriterStats {
        &self.shared.stats
    }

    fn refuse(&mut self) -> bool {
        self.shared.stats.refusals.fetch_add(1, Ordering::Relaxed);
        false
    }
}

/// The bytes an item holds against the queue budget: a batch of steps its encoded size. A checkpoint counts
/// nothing: its tree is a shared copy-on-write clone (what it pins is the tree as it was, whatever it
/// weighs), and if it counted, a tree larger than the budget would refuse every step queued behind it.
fn weight(item: &Item) -> usize {
    match item {
        Item::Begin(_) => 0,
        Item::Steps { entries, .. } => entries.len(),
    }
}

impl Sink for FileSink {
    fn send(&mut self, item: Item) -> bool {
        if self.shared.failed.load(Ordering::Acquire) {
            if self.retry_at.is_none() {
                self.retry_at = Some(Instant::now() + RETRY_AFTER);
            }
            return self.refuse();
        }
        let w = weight(&item);
        let queued = self.shared.queued.load(Ordering::Acquire);
        if w > 0 && queued + w > self.queue_bytes {
            return self.refuse();
        }
        let Some(tx) = &self.tx else {
            return self.refuse();
        };
        self.shared.queued.fetch_add(w, Ordering::AcqRel);
        if tx.send((item, w)).is_err() {
            return self.refuse();
        }
        true
    }

    fn want_segment(&mut self) -> bool {
        // A plain load on every input; the swap only when the writer asked.
        self.shared.want_segment.load(Ordering::Relaxed)
            && self.shared.want_segment.swap(false, Ordering::AcqRel)
    }

    fn spare(&mut self) -> Option<Vec<u8>> {
        self.spares.try_recv().ok()
    }

    fn ready(&mut self) -> bool {
        if self.shared.failed.load(Ordering::Acquire) {
            match self.retry_at {
                None => {
                    self.retry_at = Some(Instant::now() + RETRY_AFTER);
                    return false;
                }
                Some(at) if Instant::now() < at => return false,
                Some(_) => {
                    // Offer a new segment; a writer that fails again sets the flag again.
                    self.retry_at = None;
                    self.shared.failed.store(false, Ordering::Release);
                }
            }
        }
        self.shared.queued.load(Ordering::Acquire) <= self.queue_bytes / 2
    }

    fn lost_from(&mut self) -> Option<u64> {
        let lost = self.shared.lost_from.swap(u64::MAX, Ordering::AcqRel);
        (lost != u64::MAX).then_some(lost)
    }
}

impl Drop for FileSink {
    /// Seals the current segment and waits for the writer to finish.
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A file that counts what is written to it.
struct Counted {
    file: File,
    written: u64,
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

struct Current {
    w: SegmentWriter<Counted>,
    path: PathBuf,
    started: Instant,
    last_flush: Instant,
    /// Bytes at which this segment is complete.
    target: u64,
    /// The first input in the block being filled (lost with it if writing it fails).
    pending_first: Option<u64>,
}

struct Writer {
    options: WriterOptions,
    shared: Arc<Shared>,
    current: Option<Current>,
    spares: mpsc::SyncSender<Vec<u8>>,
}

/// Emptied buffers kept for the loop.
const SPARES: usize = 8;

impl Writer {
    fn new(
        options: WriterOptions,
        shared: Arc<Shared>,
        spares: mpsc::SyncSender<Vec<u8>>,
    ) -> Writer {
        Writer {
            options,
            shared,
            current: None,
            spares,
        }
    }

    /// Wakes every [`POLL`] and takes what the loop queued: the loop's hand-over never wakes this thread
    /// (a wake-up per event-loop turn would cost the loop a system call and the other core a context
    /// switch per request at low concurrency).
    fn run(mut self, rx: mpsc::Receiver<(Item, usize)>) {
        lower_priority();
        let mut idle = set_idle(true).is_ok();
        let mut can_catch_up = true;
        loop {
            // Behind (the loop queued more than a few hundred ms of steps): compete for the CPU, at nice
            // 10, until the queue is drained, rather than drop segments.
            if idle
                && can_catch_up
                && self.shared.queued.load(Ordering::Acquire)
                    > self.options.queue_bytes / CATCH_UP_AT
            {
                match set_idle(false) {
                    Ok(()) => idle = false,
                    Err(e) => {
                        can_catch_up = false;
                        tracing::warn!(
                            error = %e,
                            "recorder: the writer is behind and cannot leave the idle scheduling class \
                             (it needs CAP_SYS_NICE or RLIMIT_NICE of at least 10, e.g. systemd's \
                             LimitNICE=+10); on a saturated machine the recording may have gaps"
                        );
                    }
                }
            }
            let mut open = true;
            loop {
                match rx.try_recv() {
                    Ok((item, w)) => {
                        self.take(item);
                        self.shared.queued.fetch_sub(w, Ordering::AcqRel);
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => {
                        open = false;
                        break;
                    }
                }
            }
            self.maybe_flush();
            if !open {
                break;
            }
            if !idle && self.shared.queued.load(Ordering::Acquire) == 0 {
                idle = set_idle(true).is_ok();
            }
            std::thread::sleep(POLL);
        }
        self.seal();
    }

    fn take(&mut self, item: Item) {
        match item {
            Item::Begin(begin) => {
                let Begin {
                    header,
                    head,
                    tree,
                    gap,
                } = *begin;
                self.seal();
                if let Err(e) = self.begin(&header, |w| write_start(w, &head, &tree, gap.as_ref()))
                {
                    self.fail(&e);
                } else {
                    self.shared.failed.store(false, Ordering::Release);
                }
            }
            Item::Steps {
                mut entries,
                count,
                first,
            } => {
                let Some(c) = self.current.as_mut() else {
                    // No segment to write to (a write failed): these inputs are lost, and the next gap says so.
                    self.lost(first);
                    return;
                };
                if c.w.pending_len() == 0 {
                    c.pending_first = Some(first);
                }
                let written = write_steps(&mut c.w, &entries, count);
                if c.w.pending_len() == 0 {
                    c.pending_first = None;
                }
                entries.clear();
                // Full: the loop has enough; this one is freed.
                let _ = self.spares.try_send(entries);
                if let Err(e) = written {
                    self.fail(&e);
                    return;
                }
                let full = c.w.pending_len() as u64 + c.w_written() >= c.target
                    || c.started.elapsed().as_secs() >= self.options.segment_secs;
                if full {
                    self.shared.want_segment.store(true, Ordering::Release);
                }
            }
        }
    }

    fn begin(
        &mut self,
        header: &SegmentHeader,
        start: impl FnOnce(&mut SegmentWriter<Counted>) -> Result<usize, crate::assemble::AssembleError>,
    ) -> Result<(), String> {
        let name = dir::segment_name(header.run_id, header.seq);
        let path = self.options.dir.join(format!("{name}{OPEN_SUFFIX}"));
        let file =
            dir::create_private_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let counted = Counted { file, written: 0 };
        let mut w = SegmentWriter::new(counted, header).map_err(|e| e.to_string())?;
        let checkpoint = match start(&mut w) {
            Ok(n) => n as u64,
            Err(e) => {
                // Without its whole checkpoint a segment is useless.
                let _ = std::fs::remove_file(&path);
                return Err(e.to_string());
            }
        };
        let now = Instant::now();
        self.current = Some(Current {
            w,
            path,
            started: now,
            last_flush: now,
            target: self.options.segment_bytes.max(4 * checkpoint),
            pending_first: None,
        });
        // A segment was asked for and this is it (a Begin for a gap also answers a pending request).
        self.shared.want_segment.store(false, Ordering::Release);
        Ok(())
    }

    fn maybe_flush(&mut self) {
        let interval = self.options.flush_interval;
        let Some(c) = self.current.as_mut() else {
            return;
        };
        if c.last_flush.elapsed() < interval {
            return;
        }
        c.last_flush = Instant::now();
        match c.w.flush_block() {
            Ok(()) => c.pending_first = None,
            Err(e) => self.fail(&e),
        }
    }

    /// Ends the current segment with its seal and trims the directory.
    fn seal(&mut self) {
        let Some(c) = self.current.take() else {
            return;
        };
        match c.w.seal() {
            Ok(counted) => {
                self.shared
                    .stats
                    .bytes
                    .fetch_add(counted.written, Ordering::Relaxed);
                self.shared.stats.segments.fetch_add(1, Ordering::Relaxed);
                close(&c.path);
            }
            Err(e) => {
                tracing::warn!("recorder: cannot seal {}: {e}", c.path.display());
                self.shared
                    .stats
                    .write_errors
                    .fetch_add(1, Ordering::Relaxed);
                close(&c.path);
            }
        }
        self.trim();
    }

    /// A write failed: the segment ends where it is (its whole blocks still replay), and the loop is told to
    /// stop sending until it offers a new segment.
    fn fail(&mut self, e: &dyn std::fmt::Display) {
        tracing::warn!(
            "recorder: cannot write the recording, dropping inputs until a new segment: {e}"
        );
        self.shared
            .stats
            .write_errors
            .fetch_add(1, Ordering::Relaxed);
        self.shared.failed.store(true, Ordering::Release);
        if let Some(c) = self.current.take() {
            if let Some(first) = c.pending_first {
                self.lost(first);
            }
            close(&c.path);
        }
        self.trim();
    }

    /// Inputs from `first` on were taken and not written.
    fn lost(&self, first: u64) {
        self.shared.lost_from.fetch_min(first, Ordering::AcqRel);
    }

    fn trim(&mut self) {
        let Ok(files) = dir::list(&self.options.dir) else {
            return;
        };
        for name in dir::plan_retention(&files, self.options.max_bytes, self.options.max_age_secs) {
            if std::fs::remove_file(self.options.dir.join(&name)).is_ok() {
                self.shared.stats.deleted.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl Current {
    fn w_written(&self) -> u64 {
        self.w.get_ref().written
    }
}

/// The writer's nice value while it catches up ([`set_idle`]): like the snapshot thread's, lower than the
/// event loop's, so on a saturated machine the loop and its clients come first (about 10% of a contended
/// core is still the writer's, more than it needs at peak load: measured ~6% of a core under `rzk bench
/// get`); if it falls behind anyway, inputs are dropped as a marked gap, never waited for.
const WRITER_NICENESS: i32 = 10;

/// The writer leaves the idle class once the queue holds more than this fraction of its limit.
const CATCH_UP_AT: usize = 8;

/// Puts the calling thread in Linux's idle scheduling class (`SCHED_IDLE`: it runs only on a CPU nothing
/// else wants) or back in the normal one at its nice value. Idle while it keeps up: at nice 10 the writer
/// still woke onto the event loop's core every few ms for a burst of compression, and the loop's requests
/// waited behind it (measured on `rzk bench get` and `children` at saturation, 8 runs each: p99 1.27x of
/// recording off on average at nice 10, 0.99x idle; throughput 0.94x and 0.96x). Leaving the idle class needs
/// CAP_SYS_NICE or RLIMIT_NICE >= 10 (the kernel treats it as lowering the nice value).
#[cfg(target_os = "linux")]
fn set_idle(idle: bool) -> io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    let policy = if idle {
        libc::SCHED_IDLE
    } else {
        libc::SCHED_OTHER
    };
    // SAFETY: the calling thread (pid 0), and a pointer to a live sched_param for the duration of the call.
    if unsafe { libc::sched_setscheduler(0, policy, &param) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn set_idle(_idle: bool) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Lowers the calling thread's scheduling priority (Linux: nice applies per thread). Best effort.
fn lower_priority() {
    // SAFETY: plain syscalls on the calling thread, no pointers involved.
    let result = unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, WRITER_NICENESS)
    };
    if result != 0 {
        tracing::warn!(
            error = %io::Error::last_os_error(),
            "recorder: cannot lower the writer thread's priority"
        );
    }
}

/// Segments a dead run left being written get their final names: they still replay up to their last whole
/// block, and the budget can then drop them.
fn close_stale(dir: &Path) {
    let Ok(files) = dir::list(dir) else {
        return;
    };
    for f in files {
        if f.name.ends_with(OPEN_SUFFIX) {
            close(&dir.join(&f.name));
        }
    }
}

/// Renames a segment from its `.open` name to its final one.
fn close(open: &Path) {
    if let Some(name) = open.to_str().and_then(|p| p.strip_suffix(OPEN_SUFFIX)) {
        let _ = std::fs::rename(open, name);
    }
}
