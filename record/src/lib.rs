//! rzk-record: the files of the flight recorder (issue 18). A recording is a directory of segments; each
//! segment is a header and a sequence of checksummed, snappy-compressed blocks of entries (a checkpoint of
//! the node's state, then the inputs fed to it, gaps where the recorder could not keep up, and a seal).
//!
//! This crate knows the container, not the node: entry bodies are bytes that the recorder and `rzk replay`
//! encode and decode. No threads, no clocks: [`segment`] writes to any `Write` and reads from a byte slice,
//! [`dir`] names files and plans the retention of a directory.

pub mod block;
pub mod dir;
pub mod segment;

pub use block::{BlockError, MAX_BLOCK_LEN};
pub use segment::{Entry, EntryKind, ReadEnd, Segment, SegmentError, SegmentHeader, SegmentWriter};
