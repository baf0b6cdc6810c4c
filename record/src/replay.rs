//! Replaying a segment: the node rebuilt from its checkpoint, fed the recorded inputs in order at their
//! recorded times; each step's outputs are checked against the recorded digest, so a divergence is found at
//! the first step that differs.

use rzk_core::node::Output;
use rzk_core::Node;
use thiserror::Error;

use crate::checkpoint::{self, CheckpointError};
use crate::digest::{digest, digest_shape};
use crate::entry::{self, CheckpointHead, EntryError, Gap, Step};
use crate::recorder::{UNCHECKED, UNCHECKED_STEP};
use crate::segment::{EntryKind, ReadEnd, Segment, SegmentHeader, FLAG_REDACTED};

#[derive(Debug, Error)]
pub enum ReplayError {
    #[error("the segment does not start with a checkpoint")]
    NoCheckpoint,
    #[error("unexpected {0:?} entry after the inputs began")]
    Misplaced(EntryKind),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Entry(#[from] EntryError),
    #[error("input {found} follows input {after}: inputs are missing")]
    Missing { after: u64, found: u64 },
    #[error("{0}")]
    Diverged(Box<Divergence>),
}

/// The first step whose outputs differ from the recorded ones.
#[derive(Debug)]
pub struct Divergence {
    pub n: u64,
    pub recorded_outputs: u32,
    pub recorded_digest: u64,
    /// The replayed outputs' digest (by shape in a redacted recording).
    pub replayed_digest: u64,
    /// What the replay produced at that step.
    pub outputs: Vec<Output>,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "replay diverged at input {}: recorded {} outputs (digest {:016x}), replayed {} (digest {:016x})",
            self.n,
            self.recorded_outputs,
            self.recorded_digest,
            self.outputs.len(),
            self.replayed_digest
        )
    }
}

/// A segment opened for replay.
pub struct Replay {
    pub header: SegmentHeader,
    pub head: CheckpointHead,
    /// The node, as of the last step fed.
    pub node: Node,
    /// The inputs left out before this segment, if the recorder dropped some.
    pub gap: Option<Gap>,
    pub end: ReadEnd,
    steps: Vec<Step>,
    next: usize,
    /// A redacted recording: steps are checked by their shape digest.
    redacted: bool,
    /// The input (of a redacted recording) whose credential was zeroed: from it on nothing is checked.
    unchecked_from: Option<u64>,
}

impl Replay {
    /// Rebuilds the node from `segment`'s checkpoint and decodes its inputs. `any_version`: accept a
    /// checkpoint written by another build.
    pub fn open(segment: &Segment, any_version: bool) -> Result<Replay, ReplayError> {
        let mut entries = segment.entries.iter();
        let first = entries.next().ok_or(ReplayError::NoCheckpoint)?;
        if first.kind != EntryKind::Checkpoint {
            return Err(ReplayError::NoCheckpoint);
        }
        let head: CheckpointHead = entry::decode("the checkpoint", &first.body)?;
        let mut tree = Vec::new();
        let mut gap = None;
        let mut steps: Vec<Step> = Vec::new();
        for e in entries {
            match e.kind {
                EntryKind::Tree if steps.is_empty() && gap.is_none() => {
                    tree.extend_from_slice(&e.body)
                }
                EntryKind::Gap if steps.is_empty() && gap.is_none() => {
                    gap = Some(entry::decode("a gap", &e.body)?)
                }
                EntryKind::Input => {
                    let step: Step = entry::decode("an input", &e.body)?;
                    let expected = match steps.last() {
                        Some(s) => s.n.checked_add(1),
                        None => Some(segment.header.first_input),
                    };
                    if Some(step.n) != expected {
                        return Err(ReplayError::Missing {
                            after: expected.map_or(u64::MAX, |e| e.wrapping_sub(1)),
                            found: step.n,
                        });
                    }
                    steps.push(step);
                }
                kind => return Err(ReplayError::Misplaced(kind)),
            }
        }
        let node = checkpoint::restore(&head, &tree, any_version)?;
        Ok(Replay {
            header: segment.header,
            head,
            node,
            gap,
            end: segment.end,
            steps,
            next: 0,
            redacted: segment.header.flags & FLAG_REDACTED != 0,
            unchecked_from: None,
        })
    }

    /// Where checking stopped in a redacted recording (a step whose credential was zeroed), if it did: the
    /// replay goes on, but what the node answered to the credential is unknown from there on.
    pub fn unchecked_from(&self) -> Option<u64> {
        self.unchecked_from
    }

    /// Whether the segment was recorded redacted.
    pub fn redacted(&self) -> bool {
        self.redacted
    }

    /// The recorded steps.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The next step to feed, if any.
    pub fn peek(&self) -> Option<&Step> {
        self.steps.get(self.next)
    }

    /// Feeds the next step; `out` gets its outputs (cleared first). None at the end.
    pub fn advance(&mut self, out: &mut Vec<Output>) -> Result<Option<&Step>, ReplayError> {
        let Some(step) = self.steps.get(self.next) else {
            return Ok(None);
        };
        out.clear();
        self.node.step(step.now, step.input.clone(), out);
        if self.redacted && step.outputs == UNCHECKED && self.unchecked_from.is_none() {
            self.unchecked_from = Some(step.n);
        }
        let digest = if self.redacted { digest_shape } else { digest };
        let skip = self.redacted && step.outputs == UNCHECKED_STEP;
        if self.unchecked_from.is_none()
            && !skip
            && (out.len() as u32 != step.outputs || digest(out) != step.digest)
        {
            return Err(ReplayError::Diverged(Box::new(Divergence {
                n: step.n,
                recorded_outputs: step.outputs,
                recorded_digest: step.digest,
                replayed_digest: digest(out),
                outputs: std::mem::take(out),
            })));
        }
        self.next += 1;
        Ok(Some(step))
    }

    /// Feeds every remaining step; returns how many.
    pub fn run_to_end(&mut self) -> Result<u64, ReplayError> {
        let mut out = Vec::new();
        let mut fed = 0;
        while self.advance(&mut out)?.is_some() {
            fed += 1;
        }
        Ok(fed)
    }
}
