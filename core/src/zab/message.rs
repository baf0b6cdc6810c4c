//! The quorum-port messages.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::SnapshotData;
use crate::proto::records::Id;
use crate::txn::LoggedTxn;
use crate::Zxid;

/// A client request a learner hands to the leader: the leader prepares it as if its own client sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forwarded {
    pub session_id: i64,
    /// The request frame (header and body) as the client sent it.
    #[serde(serialize_with = "crate::redact::request_frame")]
    pub frame: Bytes,
    /// The identities the client authenticated with on the learner.
    pub auth: Vec<Id>,
}

/// A Zab message between a leader and a learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ZabMsg {
    // Discovery.
    /// Learner -> leader: who I am and the newest epoch I accepted.
    FollowerInfo {
        accepted_epoch: u32,
        last_zxid: Zxid,
        observer: bool,
    },
    /// Leader -> learner: the epoch this leader will use.
    LeaderInfo {
        epoch: u32,
    },
    /// Learner -> leader: I accepted the new epoch; here is where my history ends.
    AckEpoch {
        current_epoch: u32,
        last_zxid: Zxid,
    },
    // Synchronization.
    /// Leader -> learner: txns you lack, in order (may be empty).
    Diff {
        txns: Vec<LoggedTxn>,
    },
    /// Leader -> learner: drop your txns after `zxid` (they were never committed), then continue.
    Trunc {
        zxid: Zxid,
    },
    /// Leader -> learner: replace your state with this snapshot.
    Snap {
        snapshot: Box<SnapshotData>,
    },
    /// Leader -> learner: the synced history is complete; the new epoch starts at `zxid`. What the learner
    /// logged up to `committed` is the leader's history (applied at UPTODATE); what it logged after that is
    /// outstanding proposals of this leader, which wait for their COMMIT.
    NewLeader {
        epoch: u32,
        zxid: Zxid,
        committed: Zxid,
    },
    /// Learner -> leader: I persisted the synced history (through `zxid`) and the new epoch.
    AckNewLeader {
        zxid: Zxid,
    },
    /// Leader -> learner: a quorum is synced; start serving.
    UpToDate {
        zxid: Zxid,
    },
    // Broadcast.
    Proposal {
        txn: LoggedTxn,
    },
    Ack {
        zxid: Zxid,
    },
    Commit {
        zxid: Zxid,
    },
    // Learner requests.
    Request(Forwarded),
    /// Learner -> leader: a client opened a new session here (the learner chose its id).
    NewSession {
        session_id: i64,
        timeout: i32,
    },
    /// Learner -> leader: a client reconnected here with this session; is it still alive?
    Revalidate {
        session_id: i64,
        timeout: i32,
    },
    Revalidated {
        session_id: i64,
        valid: bool,
    },
    /// Learner -> leader: a client asked for sync; answer once what was proposed before is committed and
    /// the leader has proven it still leads.
    Sync {
        id: u64,
    },
    SyncDone {
        id: u64,
        zxid: Zxid,
    },
    /// Liveness both ways; a learner's ping answers the leader's, echoing its round, and carries the sessions
    /// its clients kept alive.
    Ping {
        round: u64,
        sessions: Vec<(i64, i32)>,
    },
}
