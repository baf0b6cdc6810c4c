//! One simulated server machine: the real core `Node` (absent while crashed), its disk, its clock, and its
//! pauses (a paused process handles nothing; what reaches it waits, in order).

use std::collections::VecDeque;

use rzk_core::node::{Input, NodeConfig, Output, Recovered};
use rzk_core::{Node, ServerMode};

use rzk_record::{checkpoint, MemorySink, Recorder, Sink};

use crate::clock::NodeClock;
use crate::disk::SimDisk;
use crate::event::Event;

pub struct Host {
    pub node: Option<Node>,
    pub disk: SimDisk,
    pub clock: NodeClock,
    /// Counts starts: events addressed to an earlier incarnation are stale.
    pub incarnation: u64,
    pub paused_until: u64,
    /// Events that reached the node while it was paused, in arrival order (delivered in that order when it
    /// resumes, before anything newer: TCP order must survive a pause).
    pub deferred: VecDeque<Event>,
    /// The global time of the scheduled tick, to ignore stale ones.
    pub tick_at: Option<u64>,
    /// With `--record`: a new segment (and a checkpoint round trip of the live node) every this many inputs.
    pub record_every: Option<u64>,
    /// With `--record-redacted`: the recorder redacts (the live node still round-trips unredacted).
    pub record_redacted: bool,
    recorder: Option<Recorder<MemorySink>>,
    /// The segments of earlier incarnations, and of this one once it ends.
    pub recordings: Vec<Vec<u8>>,
}

impl Host {
    pub fn new(clock: NodeClock) -> Host {
        Host {
            node: None,
            disk: SimDisk::default(),
            clock,
            incarnation: 0,
            paused_until: 0,
            deferred: VecDeque::new(),
            tick_at: None,
            record_every: None,
            record_redacted: false,
            recorder: None,
            recordings: Vec::new(),
        }
    }

    /// Starts a new incarnation from what the disk holds, read by the production recovery code. `seed` is
    /// mixed with the incarnation. Returns the recovered txns (which a standalone server commits), or why
    /// the server cannot start.
    pub fn start(
        &mut self,
        config: NodeConfig,
        now: u64,
        seed: u64,
        plant: &[rzk_core::planted::PlantedBug],
    ) -> Result<Vec<rzk_core::txn::LoggedTxn>, String> {
        self.incarnation += 1;
        let recovered: Recovered = self.disk.recover()?;
        let survivors = recovered.txns.clone();
        let local = self.clock.local(now);
        let server_id = config.server_id;
        let mut node = Node::new(config, recovered, local, seed ^ self.incarnation);
        let mut result = Ok(survivors);
        if !plant.is_empty() {
            match rzk_core::planted::Planted::new(plant) {
                Ok(p) => node.plant(p),
                Err(e) => result = Err(e.to_owned()),
            }
        }
        self.node = Some(node);
        self.tick_at = None;
        self.end_recording();
        if let Some(every) = self.record_every {
            let sink = MemorySink::new(every);
            let recorder =
                Recorder::new(sink, server_id, self.incarnation, seed ^ self.incarnation);
            self.recorder = Some(if self.record_redacted {
                recorder.redacting()
            } else {
                recorder
            });
        }
        result
    }

    /// Seals the current incarnation's recording into `recordings`.
    pub fn end_recording(&mut self) {
        if let Some(r) = self.recorder.take() {
            self.recordings.extend(r.into_sink().finish());
        }
    }

    /// Steps the node (if running) with one input at global time `now`, appending its outputs to `out`;
    /// false if it is not running.
    pub fn step(&mut self, n: usize, now: u64, input: Input, out: &mut Vec<Output>) -> bool {
        let Some(node) = self.node.as_mut() else {
            return false;
        };
        let local = self.clock.local(now);
        // The node's own log lines (shown with `--trace`) say which server wrote them.
        let span = tracing::info_span!("node", n);
        let _entered = span.enter();
        let Some(rec) = self.recorder.as_mut() else {
            node.step(local, input, out);
            return true;
        };
        // Every segment starts with a checkpoint; the live node continues from that checkpoint decoded,
        // so a field a checkpoint misses changes the run (its trace hash) and not only a replay.
        if rec.sink().want_segment() {
            match round_trip(node) {
                Ok(restored) => *node = restored,
                Err(e) => tracing::error!("checkpoint round trip failed: {e}"),
            }
        }
        let pending = rec.before(node, local, now * 1000, &input);
        let from = out.len();
        node.step(local, input, out);
        rec.after(pending, &out[from..]);
        rec.flush();
        true
    }

    /// The global time of the node's next deadline, if it is running and has one.
    pub fn next_deadline(&self, now: u64) -> Option<u64> {
        let deadline = self.node.as_ref()?.next_deadline()?;
        Some(self.clock.global(deadline, now).max(now))
    }

    pub fn mode(&self) -> Option<ServerMode> {
        self.node.as_ref().map(Node::server_mode)
    }

    /// Whether events for this host must wait (it is paused, or earlier events still wait).
    pub fn is_paused(&self, now: u64) -> bool {
        self.paused_until > now || !self.deferred.is_empty()
    }

    /// The process dies: the node and everything pending go; the disk keeps what it must (see
    /// [`SimDisk::crash`]).
    pub fn crash(&mut self) {
        self.end_recording();
        self.node = None;
        self.tick_at = None;
        self.paused_until = 0;
        self.deferred.clear();
    }
}

/// The node as a checkpoint of it restores.
fn round_trip(node: &Node) -> Result<Node, rzk_record::checkpoint::CheckpointError> {
    let taken = checkpoint::take(node, 0, false)?;
    let tree = checkpoint::encode_tree(&taken.tree, false)?;
    checkpoint::restore(&taken.head, &tree, false)
}
