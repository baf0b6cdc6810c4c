//! The event loop's side of the recorder: numbers the inputs, starts a segment with a checkpoint when one is
//! due, and hands each step to a [`Sink`] (the writer thread in production, memory in the simulator). It
//! never waits: when the sink refuses an item, the segment ends there, and the next segment starts, once the
//! sink takes items again, with a fresh checkpoint and a [`Gap`] naming the inputs left out.

use rzk_core::node::{Input, Output};
use rzk_core::tree::DataTree;
use rzk_core::Node;

use crate::checkpoint;
use crate::digest::{digest, digest_shape};
use crate::entry::{self, CheckpointHead, Gap, StepHead, StepTail};
use crate::redact::Redactor;
use crate::segment::{close_entry, open_entry, EntryKind, SegmentHeader, FLAG_REDACTED};

/// In a redacted recording, a step's output count when a credential in its input was zeroed: the node's
/// answer cannot be replayed, so the replay checks no step from there to the end of the segment.
pub const UNCHECKED: u32 = u32::MAX;
/// In a redacted recording, a step's output count when its outputs show the tree's digest (`hash`), which
/// covers the data: the replay does not check that step.
pub const UNCHECKED_STEP: u32 = u32::MAX - 1;

/// How a redacted step is checked on replay.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    Shape,
    ThisStepNot,
    NotFromHere,
}

/// What the loop hands to the writer.
pub enum Item {
    /// Seal the current segment (if any) and start this one: its header, the checkpoint it starts from
    /// (the tree still to be encoded), and the inputs left out just before it.
    Begin(Box<Begin>),
    /// [`Step`]s, `count` of them from input number `first` on, each encoded as an entry
    /// ([`crate::segment::open_entry`]).
    Steps {
        entries: Vec<u8>,
        count: u64,
        first: u64,
    },
}

/// The start of a segment.
pub struct Begin {
    pub header: SegmentHeader,
    pub head: CheckpointHead,
    pub tree: DataTree,
    pub gap: Option<Gap>,
}

/// Where the recorder's items go.
pub trait Sink {
    /// Hands an item over; false if it was refused (the writer is behind or cannot write): the current
    /// segment then ends before it.
    fn send(&mut self, item: Item) -> bool;
    /// Whether the current segment is complete (by size or age) and the next input should start a new one.
    fn want_segment(&mut self) -> bool;
    /// Whether the sink takes items again after a refusal.
    fn ready(&mut self) -> bool;
    /// The first input the sink accepted but could not write (a write error), taken: the next gap starts
    /// there at the latest.
    fn lost_from(&mut self) -> Option<u64> {
        None
    }
    /// An empty buffer to encode the next batch into (the writer hands back the ones it has written, so the
    /// loop does not allocate and grow a new one each turn).
    fn spare(&mut self) -> Option<Vec<u8>> {
        None
    }
}

enum State {
    /// No segment yet: the next input starts one.
    Idle,
    Recording,
    /// Refused at input `from`; `why` goes into the gap.
    Dropping {
        from: u64,
        why: &'static str,
    },
}

pub struct Recorder<S: Sink> {
    sink: S,
    server_id: u64,
    run_id: u64,
    seed: u64,
    flags: u16,
    /// The next segment's place in the run.
    seq: u64,
    /// The number of the last input seen.
    n: u64,
    state: State,
    /// Steps encoded since the last hand-over, and the number of the first: handed to the sink in one item
    /// per event-loop turn ([`Recorder::flush`]) or once this large, not one by one.
    batch: Vec<u8>,
    batch_count: u64,
    batch_first: u64,
    /// Redacting (`rzk.recordRedact`): every connection's stream, for where its data and credentials are.
    redactor: Option<Redactor>,
    /// The segment's checkpoint zeroed an unread credential: its first step is marked [`UNCHECKED`].
    unchecked_next: bool,
}

/// A batch is handed over once it holds this many bytes, even within a turn.
const BATCH_BYTES: usize = 256 << 10;

/// A step whose input is encoded (into the batch, at this offset) and whose outputs are to come; how a
/// redacted one is checked.
pub struct Pending(usize, Check);

impl<S: Sink> Recorder<S> {
    /// `run_id` names this process run's segments; `seed` is the node's (for people reading a recording).
    pub fn new(sink: S, server_id: u64, run_id: u64, seed: u64) -> Recorder<S> {
        Recorder {
            sink,
            server_id,
            run_id,
            seed,
            flags: 0,
            seq: 0,
            n: 0,
            state: State::Idle,
            batch: Vec::new(),
            batch_count: 0,
            batch_first: 0,
            redactor: None,
            unchecked_next: false,
        }
    }

    /// Records redacted (`rzk.recordRedact`): znode data and credentials zeroed in inputs and checkpoints,
    /// steps digested by shape ([`digest_shape`]); segments carry [`FLAG_REDACTED`].
    pub fn redacting(mut self) -> Recorder<S> {
        self.redactor = Some(Redactor::default());
        self.flags |= FLAG_REDACTED;
        self
    }

    pub fn sink(&mut self) -> &mut S {
        &mut self.sink
    }

    pub fn into_sink(self) -> S {
        self.sink
    }

    /// Inputs seen so far (recorded or not).
    pub fn inputs(&self) -> u64 {
        self.n
    }

    /// Called before `input` is fed to `node` at `now` (the node's clock; `wall_us` the host's): starts a
    /// segment first if one is due, and encodes the input; pass what it returns to [`Recorder::after`]
    /// (nothing while dropping).
    pub fn before(
        &mut self,
        node: &Node,
        now: u64,
        wall_us: u64,
        input: &Input,
    ) -> Option<Pending> {
        self.n += 1;
        // The redactor follows every connection's stream, recorded or not.
        let (redacted, check) = match &mut self.redactor {
            Some(r) => {
                let (input, found) = r.input(input);
                let check = if found.credential {
                    Check::NotFromHere
                } else if found.shows_digest {
                    Check::ThisStepNot
                } else {
                    Check::Shape
                };
                (input, check)
            }
            None => (None, Check::Shape),
        };
        let input = redacted.as_ref().unwrap_or(input);
        let gap = match self.state {
            State::Idle => Some(None),
            State::Recording => self.sink.want_segment().then_some(None),
            State::Dropping { from, why } => {
                if !self.sink.ready() {
                    return None;
                }
                let from = self.sink.lost_from().map_or(from, |lost| lost.min(from));
                Some(Some(Gap {
                    from,
                    to: self.n - 1,
                    why: why.to_string(),
                }))
            }
        };
        if let Some(gap) = gap {
            self.begin(node, gap);
            if !matches!(self.state, State::Recording) {
                return None;
            }
        }
        if self.batch_count == 0 {
            self.batch_first = self.n;
        }
        let start = open_entry(&mut self.batch, EntryKind::Input);
        let head = StepHead {
            n: self.n,
            now,
            wall_us,
            input,
        };
        if entry::encode_into(&head, &mut self.batch).is_err() {
            self.batch.truncate(start);
            self.drop_batch("an input could not be encoded");
            return None;
        }
        let check = if std::mem::take(&mut self.unchecked_next) {
            Check::NotFromHere
        } else {
            check
        };
        Some(Pending(start, check))
    }

    /// Gives up the batch (the sink never sees it): the next segment starts after a gap from its first input.
    fn drop_batch(&mut self, why: &'static str) {
        let from = if self.batch_count == 0 {
            self.n
        } else {
            self.batch_first
        };
        self.batch.clear();
        self.batch_count = 0;
        self.state = State::Dropping { from, why };
    }

    /// Called after the step with what it produced.
    pub fn after(&mut self, pending: Option<Pending>, outputs: &[Output]) {
        if let Some(r) = &mut self.redactor {
            for o in outputs {
                if let Output::CloseClient { conn } = o {
                    r.closed(*conn);
                }
            }
        }
        let Some(Pending(start, check)) = pending else {
            return;
        };
        let tail = match (&self.redactor, check) {
            (None, _) => StepTail {
                outputs: outputs.len() as u32,
                digest: digest(outputs),
            },
            (Some(_), Check::NotFromHere) => StepTail {
                outputs: UNCHECKED,
                digest: 0,
            },
            (Some(_), Check::ThisStepNot) => StepTail {
                outputs: UNCHECKED_STEP,
                digest: 0,
            },
            (Some(_), Check::Shape) => StepTail {
                outputs: outputs.len() as u32,
                digest: digest_shape(outputs),
            },
        };
        if start + 5 > self.batch.len() || entry::encode_into(&tail, &mut self.batch).is_err() {
            self.drop_batch("an input could not be encoded");
            return;
        }
        close_entry(&mut self.batch, start);
        self.batch_count += 1;
        if self.batch.len() >= BATCH_BYTES {
            self.flush();
        }
    }

    /// Hands the steps encoded so far to the sink: the driver calls it once per event-loop turn.
    pub fn flush(&mut self) {
        if self.batch_count == 0 {
            return;
        }
        let spare = self.sink.spare().unwrap_or_default();
        let entries = std::mem::replace(&mut self.batch, spare);
        let count = std::mem::take(&mut self.batch_count);
        let first = self.batch_first;
        if !self.sink.send(Item::Steps {
            entries,
            count,
            first,
        }) {
            self.state = State::Dropping {
                from: self.batch_first,
                why: "the writer fell behind or could not write",
            };
        }
    }

    /// A checkpoint of `node` as it is now (before input `n`), starting a new segment.
    fn begin(&mut self, node: &Node, mut gap: Option<Gap>) {
        // The steps batched so far end the previous segment; if the sink refuses them, this segment starts
        // after a gap after all.
        self.flush();
        if let (None, State::Dropping { from, why }) = (&gap, &self.state) {
            gap = Some(Gap {
                from: *from,
                to: self.n - 1,
                why: why.to_string(),
            });
        }
        let from = gap.as_ref().map_or(self.n, |g| g.from);
        let checkpoint::Taken {
            head,
            tree,
            credential,
        } = match checkpoint::take(node, self.seed, self.redactor.is_some()) {
            Ok(c) => c,
            Err(_) => {
                self.state = State::Dropping {
                    from,
                    why: "the node's state could not be encoded",
                };
                return;
            }
        };
        let header = SegmentHeader {
            flags: self.flags,
            server_id: self.server_id,
            run_id: self.run_id,
            seq: self.seq,
            first_input: self.n,
        };
        if self.sink.send(Item::Begin(Box::new(Begin {
            header,
            head,
            tree,
            gap,
        }))) {
            self.seq += 1;
            self.state = State::Recording;
            self.unchecked_next = credential;
        } else {
            self.state = State::Dropping {
                from,
                why: "the writer fell behind or could not write",
            };
        }
    }
}
