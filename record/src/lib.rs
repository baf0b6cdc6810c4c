//! rzk-record: the flight recorder (issue 18). A recording is a directory of segments; each segment is a
//! header and a sequence of checksummed, snappy-compressed blocks of entries: a checkpoint of the node's
//! state (its serde part, then its tree in snapshot format), then every input fed to the node with its
//! times and the digest of the outputs it produced, gaps where the recorder could not keep up, and a seal.
//!
//! [`recorder`] is the event loop's side (never waits), [`assemble`] turns its items into segments,
//! [`replay`] rebuilds a node from a segment and checks every step's outputs against the recording.

pub mod assemble;
pub mod block;
pub mod checkpoint;
pub mod describe;
pub mod digest;
pub mod dir;
pub mod ensemble;
pub mod entry;
pub mod recorder;
pub mod redact;
pub mod replay;
pub mod segment;
pub mod server_history;
pub mod verify;
pub mod writer;

pub use assemble::MemorySink;
pub use block::{BlockError, MAX_BLOCK_LEN};
pub use recorder::{Item, Recorder, Sink};
pub use replay::{Divergence, Replay, ReplayError};
pub use segment::{Entry, EntryKind, ReadEnd, Segment, SegmentError, SegmentHeader, SegmentWriter};
pub use writer::{FileSink, WriterOptions};
