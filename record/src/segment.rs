//! A segment: a header, then blocks of entries; first a checkpoint of the node (its state, then its tree in
//! pieces), then the inputs
//! from there, and, once the segment is complete, a seal. A reader stops at a torn tail (a write that did
//! not finish: the entries before it are good) and refuses a damaged block with its offset, so a replay
//! never runs on altered inputs.
//!
//! ```text
//! header (44 bytes): "RZKR" | version u16 | flags u16 | server id u64 | run id u64 | seq u64 |
//!                    first input number u64 | crc32c of the 40 bytes before it u32   (all little-endian)
//! block*:            see block.rs; decompressed, a run of entries: kind u8 | len u32 | body
//! ```

use std::io::Write;

use thiserror::Error;

use crate::block::{encode_block, read_frame, BlockError, Frame};

pub const MAGIC: [u8; 4] = *b"RZKR";
/// The format this build writes and reads (2: the output digest takes byte strings longer than 16 bytes as
/// their rapidhash, and bincode values whole or in 1024-byte chunks; a version 1 recording would diverge at
/// its first long reply). Checkpoints are bound to the rzk version that wrote them besides.
pub const VERSION: u16 = 2;
pub const HEADER_LEN: usize = 44;
/// Header flag: znode data and credentials were left out of the recording.
pub const FLAG_REDACTED: u16 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    pub flags: u16,
    pub server_id: u64,
    /// One run of the server process; segments of a run share it.
    pub run_id: u64,
    /// The segment's place in its run.
    pub seq: u64,
    /// The number of the first input after the checkpoint.
    pub first_input: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    /// The node's state the inputs start from.
    Checkpoint = 1,
    /// One input fed to the node (with its time and the digest of what it produced).
    Input = 2,
    /// Inputs the recorder dropped because it could not keep up.
    Gap = 3,
    /// The end of a complete segment: its body is the number of entries before it.
    Seal = 4,
    /// A piece of the checkpoint's tree, in snapshot format (the pieces, in order, make one snapshot; a
    /// large tree does not fit one block).
    Tree = 5,
}

impl EntryKind {
    fn from_u8(b: u8) -> Option<EntryKind> {
        Some(match b {
            1 => EntryKind::Checkpoint,
            2 => EntryKind::Input,
            3 => EntryKind::Gap,
            4 => EntryKind::Seal,
            5 => EntryKind::Tree,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: EntryKind,
    pub body: Vec<u8>,
}

/// How a segment's bytes ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadEnd {
    /// With its seal: complete.
    Sealed,
    /// After a whole block, without a seal (the recorder stopped, or is still writing it).
    Open,
    /// Inside a block (a write that did not finish): the entries before it are good.
    Torn { at: usize },
}

#[derive(Debug, Error)]
pub enum SegmentError {
    #[error("cannot write the segment: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a recording segment (no RZKR header)")]
    BadMagic,
    #[error("segment format version {0}; this build reads version {VERSION}")]
    Version(u16),
    #[error("the segment header is damaged (checksum mismatch)")]
    HeaderChecksum,
    #[error("the segment is damaged at byte {at}: {why}")]
    Corrupt { at: usize, why: String },
    #[error("entry body of {0} bytes is over the block limit")]
    EntryTooLong(usize),
    #[error("a seal is written by SegmentWriter::seal, not pushed")]
    SealPushed,
    #[error(transparent)]
    Block(#[from] BlockError),
}

impl SegmentHeader {
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..4].copy_from_slice(&MAGIC);
        h[4..6].copy_from_slice(&VERSION.to_le_bytes());
        h[6..8].copy_from_slice(&self.flags.to_le_bytes());
        h[8..16].copy_from_slice(&self.server_id.to_le_bytes());
        h[16..24].copy_from_slice(&self.run_id.to_le_bytes());
        h[24..32].copy_from_slice(&self.seq.to_le_bytes());
        h[32..40].copy_from_slice(&self.first_input.to_le_bytes());
        let crc = crc32c::crc32c(&h[..40]);
        h[40..44].copy_from_slice(&crc.to_le_bytes());
        h
    }

    pub fn decode(bytes: &[u8]) -> Result<SegmentHeader, SegmentError> {
        let h = bytes.get(..HEADER_LEN).ok_or(SegmentError::BadMagic)?;
        if h[0..4] != MAGIC {
            return Err(SegmentError::BadMagic);
        }
        let u16_at = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&h[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let version = u16_at(4);
        if version != VERSION {
            return Err(SegmentError::Version(version));
        }
        let crc = u32::from_le_bytes([h[40], h[41], h[42], h[43]]);
        if crc32c::crc32c(&h[..40]) != crc {
            return Err(SegmentError::HeaderChecksum);
        }
        Ok(SegmentHeader {
            flags: u16_at(6),
            server_id: u64_at(8),
            run_id: u64_at(16),
            seq: u64_at(24),
            first_input: u64_at(32),
        })
    }
}

/// Starts an entry of `kind` at the end of `out` (its length to be filled in by [`close_entry`]); returns
/// where it starts. The body is appended to `out` in between.
pub fn open_entry(out: &mut Vec<u8>, kind: EntryKind) -> usize {
    let start = out.len();
    out.push(kind as u8);
    out.extend_from_slice(&[0; 4]);
    start
}

/// Fills in the length of the entry [`open_entry`] started at `start`, whose body now ends `out`.
pub fn close_entry(out: &mut [u8], start: usize) {
    let len = (out.len() - start - 5) as u32;
    out[start + 1..start + 5].copy_from_slice(&len.to_le_bytes());
}

/// Writes one segment: the header at once, entries buffered into the block being filled, which goes out
/// when the caller flushes it (the recorder flushes by size and time) and at the seal.
pub struct SegmentWriter<W: Write> {
    out: W,
    header: SegmentHeader,
    pending: Vec<u8>,
    entries: u64,
    block: Vec<u8>,
}

impl<W: Write> SegmentWriter<W> {
    pub fn new(mut out: W, header: &SegmentHeader) -> Result<SegmentWriter<W>, SegmentError> {
        out.write_all(&header.encode())?;
        Ok(SegmentWriter {
            out,
            header: *header,
            pending: Vec::new(),
            entries: 0,
            block: Vec::new(),
        })
    }

    /// The header it was started with.
    pub fn header(&self) -> &SegmentHeader {
        &self.header
    }

    /// Buffers one entry (a seal is written by [`SegmentWriter::seal`]).
    pub fn push(&mut self, kind: EntryKind, body: &[u8]) -> Result<(), SegmentError> {
        if body.len() > crate::block::MAX_BLOCK_LEN / 2 {
            return Err(SegmentError::EntryTooLong(body.len()));
        }
        if kind == EntryKind::Seal {
            return Err(SegmentError::SealPushed);
        }
        self.pending.push(kind as u8);
        self.pending
            .extend_from_slice(&(body.len() as u32).to_le_bytes());
        self.pending.extend_from_slice(body);
        self.entries += 1;
        Ok(())
    }

    /// Buffers entries already in the block's entry format (`kind u8 | len u32 LE | body`, see
    /// [`open_entry`]), `count` of them.
    pub fn push_raw(&mut self, entries: &[u8], count: u64) {
        self.pending.extend_from_slice(entries);
        self.entries += count;
    }

    /// The output written to so far.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The bytes buffered for the next block.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Compresses and writes the buffered entries as one block (nothing if none are buffered).
    pub fn flush_block(&mut self) -> Result<(), SegmentError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.block.clear();
        encode_block(&self.pending, &mut self.block)?;
        self.out.write_all(&self.block)?;
        self.out.flush()?;
        self.pending.clear();
        Ok(())
    }

    /// Writes the seal (after whatever is buffered) and returns the output.
    pub fn seal(mut self) -> Result<W, SegmentError> {
        let count = self.entries.to_le_bytes();
        self.pending.push(EntryKind::Seal as u8);
        self.pending.extend_from_slice(&8u32.to_le_bytes());
        self.pending.extend_from_slice(&count);
        self.flush_block()?;
        Ok(self.out)
    }
}

/// A segment as read: its header, its entries (the seal left out), and how it ended.
#[derive(Debug)]
pub struct Segment {
    pub header: SegmentHeader,
    pub entries: Vec<Entry>,
    pub end: ReadEnd,
}

impl Segment {
    /// Reads a whole segment file's bytes.
    pub fn read(buf: &[u8]) -> Result<Segment, SegmentError> {
        let header = SegmentHeader::decode(buf)?;
        let mut entries = Vec::new();
        let mut at = HEADER_LEN;
        loop {
            let frame_at = at;
            let raw = match read_frame(buf, at) {
                Frame::End => {
                    return Ok(Segment {
                        header,
                        entries,
                        end: ReadEnd::Open,
                    })
                }
                Frame::Torn => {
                    return Ok(Segment {
                        header,
                        entries,
                        end: ReadEnd::Torn { at },
                    })
                }
                Frame::Bad(e) => {
                    return Err(SegmentError::Corrupt {
                        at,
                        why: format!("block: {e}"),
                    })
                }
                Frame::Block { raw, next } => {
                    at = next;
                    raw
                }
            };
            let corrupt = |why: &str| SegmentError::Corrupt {
                at: frame_at,
                why: why.to_string(),
            };
            let mut i = 0;
            while i < raw.len() {
                let head = raw
                    .get(i..i + 5)
                    .ok_or_else(|| corrupt("entry header cut"))?;
                let kind =
                    EntryKind::from_u8(head[0]).ok_or_else(|| corrupt("unknown entry kind"))?;
                let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
                let body = raw
                    .get(i + 5..i + 5 + len)
                    .ok_or_else(|| corrupt("entry body cut"))?;
                i += 5 + len;
                if kind == EntryKind::Seal {
                    let count = <[u8; 8]>::try_from(body)
                        .map(u64::from_le_bytes)
                        .map_err(|_| corrupt("bad seal"))?;
                    if count != entries.len() as u64 {
                        return Err(corrupt(&format!(
                            "the seal counts {count} entries, the segment holds {}",
                            entries.len()
                        )));
                    }
                    if i != raw.len() || at != buf.len() {
                        return Err(corrupt("data after the seal"));
                    }
                    return Ok(Segment {
                        header,
                        entries,
                        end: ReadEnd::Sealed,
                    });
                }
                entries.push(Entry {
                    kind,
                    body: body.to_vec(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header() -> SegmentHeader {
        SegmentHeader {
            flags: FLAG_REDACTED,
            server_id: 3,
            run_id: 0x1234_5678_9abc,
            seq: 7,
            first_input: 1_000,
        }
    }

    fn write(entries: &[(EntryKind, Vec<u8>)], every: usize, seal: bool) -> Vec<u8> {
        let mut w = SegmentWriter::new(Vec::new(), &header()).unwrap();
        for (i, (k, b)) in entries.iter().enumerate() {
            w.push(*k, b).unwrap();
            if (i + 1) % every.max(1) == 0 {
                w.flush_block().unwrap();
            }
        }
        if seal {
            w.seal().unwrap()
        } else {
            w.flush_block().unwrap();
            w.out
        }
    }

    #[test]
    fn a_sealed_segment_reads_back_whole() {
        let entries = vec![
            (EntryKind::Checkpoint, vec![9; 5000]),
            (EntryKind::Input, b"one".to_vec()),
            (EntryKind::Gap, vec![]),
            (EntryKind::Input, b"two".to_vec()),
        ];
        let bytes = write(&entries, 2, true);
        let s = Segment::read(&bytes).unwrap();
        assert_eq!(s.header, header());
        assert_eq!(s.end, ReadEnd::Sealed);
        let got: Vec<_> = s.entries.into_iter().map(|e| (e.kind, e.body)).collect();
        assert_eq!(got, entries);
        // Unsealed: the same entries, open.
        let open = Segment::read(&write(&entries, 3, false)).unwrap();
        assert_eq!((open.entries.len(), open.end), (4, ReadEnd::Open));
    }

    #[test]
    fn damage_is_refused_where_it_is_and_a_torn_tail_is_not_an_error() {
        let entries: Vec<_> = (0..10u8)
            .map(|i| (EntryKind::Input, vec![i; 100]))
            .collect();
        let bytes = write(&entries, 3, true);
        // A byte flipped in the second block: refused there, with its offset.
        let first_block_end = match read_frame(&bytes, HEADER_LEN) {
            Frame::Block { next, .. } => next,
            other => panic!("{other:?}"),
        };
        let mut bad = bytes.clone();
        bad[first_block_end + 12] ^= 1;
        match Segment::read(&bad) {
            Err(SegmentError::Corrupt { at, .. }) => assert_eq!(at, first_block_end),
            other => panic!("{other:?}"),
        }
        // Cut inside the second block: the first block's entries, torn.
        let torn = Segment::read(&bytes[..first_block_end + 10]).unwrap();
        assert_eq!(torn.entries.len(), 3);
        assert_eq!(
            torn.end,
            ReadEnd::Torn {
                at: first_block_end
            }
        );
        // Headers: wrong magic, another version, a damaged header.
        assert!(matches!(
            Segment::read(b"RZKL...."),
            Err(SegmentError::BadMagic)
        ));
        let mut other = bytes.clone();
        other[4] = 1;
        assert!(matches!(
            Segment::read(&other),
            Err(SegmentError::Version(1))
        ));
        let mut h = bytes.clone();
        h[10] ^= 1;
        assert!(matches!(
            Segment::read(&h),
            Err(SegmentError::HeaderChecksum)
        ));
        let mut w = SegmentWriter::new(Vec::new(), &header()).unwrap();
        assert!(matches!(
            w.push(EntryKind::Seal, &[]),
            Err(SegmentError::SealPushed)
        ));
        // Anything after the seal.
        let mut after = bytes.clone();
        encode_block(&[2, 0, 0, 0, 0], &mut after).unwrap();
        assert!(matches!(
            Segment::read(&after),
            Err(SegmentError::Corrupt { .. })
        ));
    }

    proptest! {
        #[test]
        fn entries_round_trip_and_any_prefix_reads_as_a_prefix(
            bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..40),
            every in 1usize..8,
            cut in any::<prop::sample::Index>(),
        ) {
            let entries: Vec<_> = bodies.into_iter().map(|b| (EntryKind::Input, b)).collect();
            let bytes = write(&entries, every, true);
            let s = Segment::read(&bytes).unwrap();
            prop_assert_eq!(s.end, ReadEnd::Sealed);
            prop_assert_eq!(s.entries.len(), entries.len());
            // A file cut anywhere after its header never fails and gives a prefix of the entries.
            let at = HEADER_LEN + cut.index(bytes.len() - HEADER_LEN + 1);
            let part = Segment::read(&bytes[..at]).unwrap();
            prop_assert!(part.entries.len() <= entries.len());
            for (e, (k, b)) in part.entries.iter().zip(&entries) {
                prop_assert_eq!((&e.kind, &e.body), (k, b));
            }
        }
    }
}
