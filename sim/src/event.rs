//! What can happen at a simulated instant: the world's event queue holds these.

use bytes::Bytes;
use rzk_core::node::PersistId;
use rzk_core::tree::DataTree;

/// Something that happens at a simulated instant.
pub enum Event {
    Tick {
        node: usize,
        incarnation: u64,
    },
    Opened {
        conn: u64,
    },
    ToServer {
        conn: u64,
        bytes: Bytes,
    },
    ToClient {
        conn: u64,
        bytes: Bytes,
    },
    ServerSeesClose {
        conn: u64,
    },
    ClientSeesClose {
        conn: u64,
    },
    /// A sync of everything written up to op `id` completed.
    SyncDone {
        node: usize,
        incarnation: u64,
        id: PersistId,
    },
    SnapshotDone {
        node: usize,
        incarnation: u64,
        tree: Box<DataTree>,
    },
    ClientWake {
        client: usize,
    },
    Crash,
    /// A crash point fired: node `node` dies if it still runs `incarnation`.
    CrashPoint {
        node: usize,
        incarnation: u64,
        moments: Vec<crate::crash_points::Moment>,
    },
    Restart {
        node: usize,
    },
    Pause,
    ClockJump,
    Reset,
    /// A link between two servers resets; it comes back with `PeerRelink`.
    PeerReset,
    PeerRelink {
        a: usize,
        b: usize,
    },
    Heal,
    StopClients,
    /// A paused node resumes: its deferred events are handled in order.
    Resume {
        node: usize,
    },
    /// A peer message arrives, if the link it was sent on (generation `gen`) is still up.
    PeerDeliver {
        from: usize,
        to: usize,
        gen: u64,
        /// Boxed: events move through the queue's heap, and messages (DIFFs, snapshots) can be large.
        msg: Box<rzk_core::peer::PeerMsg>,
    },
    Partition,
    Unpartition,
    /// Toggles the link a-b, again and again until `until`.
    Flap {
        a: usize,
        b: usize,
        until: u64,
    },
}
