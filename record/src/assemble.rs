//! Turns the recorder's items into segment bytes: a checkpoint's head, its tree in pieces and the gap
//! before it, then the steps. Shared by the writer thread (files) and [`MemorySink`] (the simulator, tests).

use std::io::Write;

use crate::checkpoint::{self, CheckpointError, TREE_PIECE};
use crate::entry::{self, CheckpointHead, Gap};
use crate::recorder::{Begin, Item, Sink};
use crate::segment::{EntryKind, SegmentError, SegmentWriter};
use rzk_core::tree::DataTree;

/// Buffered entries are written as a block once they pass this size.
pub const BLOCK_TARGET: usize = 256 << 10;

#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    #[error(transparent)]
    Segment(#[from] SegmentError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Entry(#[from] entry::EntryError),
}

/// Writes the entries a segment starts with. Returns the bytes of the encoded checkpoint.
pub fn write_start<W: Write>(
    w: &mut SegmentWriter<W>,
    head: &CheckpointHead,
    tree: &DataTree,
    gap: Option<&Gap>,
) -> Result<usize, AssembleError> {
    let head = entry::encode(head)?;
    w.push(EntryKind::Checkpoint, &head)?;
    let redact = w.header().flags & crate::segment::FLAG_REDACTED != 0;
    let tree = checkpoint::encode_tree(tree, redact)?;
    for piece in tree.chunks(TREE_PIECE) {
        w.push(EntryKind::Tree, piece)?;
        w.flush_block()?;
    }
    if let Some(gap) = gap {
        w.push(EntryKind::Gap, &entry::encode(gap)?)?;
    }
    Ok(head.len() + tree.len())
}

/// Writes a batch of encoded steps, and the block they fill once it is big enough.
pub fn write_steps<W: Write>(
    w: &mut SegmentWriter<W>,
    entries: &[u8],
    count: u64,
) -> Result<(), AssembleError> {
    w.push_raw(entries, count);
    if w.pending_len() >= BLOCK_TARGET {
        w.flush_block()?;
    }
    Ok(())
}

/// Segments in memory, a new one every `inputs_per_segment` inputs: the simulator records each node this
/// way, and tests use it to make recordings.
pub struct MemorySink {
    inputs_per_segment: u64,
    in_segment: u64,
    current: Option<SegmentWriter<Vec<u8>>>,
    sealed: Vec<Vec<u8>>,
    /// Refuse the next item sent, and stay unready for this many more inputs (tests of gaps).
    pub refuse: u64,
}

impl MemorySink {
    pub fn new(inputs_per_segment: u64) -> MemorySink {
        MemorySink {
            inputs_per_segment: inputs_per_segment.max(1),
            in_segment: 0,
            current: None,
            sealed: Vec::new(),
            refuse: 0,
        }
    }

    /// Every segment, the last one sealed too.
    pub fn finish(mut self) -> Vec<Vec<u8>> {
        self.seal_current();
        self.sealed
    }

    fn seal_current(&mut self) {
        if let Some(w) = self.current.take() {
            // Writing to memory cannot fail; a segment that did not seal is simply left out.
            if let Ok(bytes) = w.seal() {
                self.sealed.push(bytes);
            }
        }
    }

    fn take(&mut self, item: Item) -> Result<(), AssembleError> {
        match item {
            Item::Begin(begin) => {
                let Begin {
                    header,
                    head,
                    tree,
                    gap,
                } = *begin;
                self.seal_current();
                let mut w = SegmentWriter::new(Vec::new(), &header)?;
                write_start(&mut w, &head, &tree, gap.as_ref())?;
                self.current = Some(w);
                self.in_segment = 0;
            }
            Item::Steps { entries, count, .. } => {
                if let Some(w) = self.current.as_mut() {
                    write_steps(w, &entries, count)?;
                    self.in_segment += count;
                }
            }
        }
        Ok(())
    }
}

impl Sink for MemorySink {
    fn send(&mut self, item: Item) -> bool {
        if self.refuse > 0 {
            // As the writer does: the segment ends where the refused item would have gone.
            self.seal_current();
            return false;
        }
        self.take(item).is_ok()
    }

    fn want_segment(&mut self) -> bool {
        self.in_segment >= self.inputs_per_segment
    }

    fn ready(&mut self) -> bool {
        self.refuse = self.refuse.saturating_sub(1);
        self.refuse == 0
    }
}
