//! Zab, ZooKeeper's atomic broadcast: discovery (a new epoch), synchronization (DIFF, TRUNC or SNAP) and
//! broadcast (PROPOSAL, ACK, COMMIT), between a leader and its learners (followers and observers).

mod ack_tracker;
mod committed_log;
mod message;
mod snapshot;
mod sync_plan;

pub use ack_tracker::AckTracker;
pub use committed_log::CommittedLog;
pub use message::{Forwarded, ZabMsg};
pub use snapshot::{SnapshotData, SnapshotError};
pub use sync_plan::{plan as plan_sync, SyncPlan};
