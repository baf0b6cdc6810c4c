//! Zab, ZooKeeper's atomic broadcast: discovery (a new epoch), synchronization (DIFF, TRUNC or SNAP) and
//! broadcast (PROPOSAL, ACK, COMMIT), between a leader and its learners (followers and observers).

mod message;
mod snapshot;

pub use message::{Forwarded, ZabMsg};
pub use snapshot::{SnapshotData, SnapshotError};
