//! The leader's view of one learner, as ZooKeeper's `LearnerHandler`: the learner's term session, when it
//! was last heard from, what its FOLLOWERINFO said, and how far it has come through the leader's phases.

use crate::Zxid;

/// What a learner said about itself in FOLLOWERINFO.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct LearnerInfo {
    /// The newest epoch it accepted.
    pub accepted_epoch: u32,
    /// Where its log ends.
    pub last_zxid: Zxid,
    pub observer: bool,
}

/// How far a learner has come with this leader, in order.
#[derive(
    serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord,
)]
pub enum LearnerPhase {
    /// FOLLOWERINFO received; LEADERINFO sent once the epoch is chosen.
    InfoReceived,
    /// ACKEPOCH received, with where its history ends; waiting for a quorum to acknowledge the epoch before
    /// it is synced (Zab's discovery).
    EpochAcked { last_zxid: Zxid },
    /// Its sync (DIFF / TRUNC / SNAP, the in-flight proposals, NEWLEADER) is sent: it gets every proposal and
    /// commit from now on.
    Synced,
    /// It acknowledged NEWLEADER (took our epoch as its current one): its ACKs count toward commits.
    NewLeaderAcked,
    /// UPTODATE sent: it serves clients.
    UpToDate,
}

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct LearnerHandler {
    /// The learner's session for this term (from its FOLLOWERINFO); messages of other sessions are dropped.
    pub session: u64,
    pub last_heard: u64,
    pub info: LearnerInfo,
    pub phase: LearnerPhase,
    /// The newest ping round it answered (syncs wait for a quorum to answer a round).
    pub answered_round: u64,
}

impl LearnerHandler {
    pub fn new(session: u64, now: u64, info: LearnerInfo) -> LearnerHandler {
        LearnerHandler {
            session,
            last_heard: now,
            info,
            phase: LearnerPhase::InfoReceived,
            answered_round: 0,
        }
    }

    /// Gets proposals and commits.
    pub fn is_synced(&self) -> bool {
        self.phase >= LearnerPhase::Synced
    }

    /// Took our epoch: its acknowledgements count.
    pub fn acked_new_leader(&self) -> bool {
        self.phase >= LearnerPhase::NewLeaderAcked
    }

    pub fn is_up_to_date(&self) -> bool {
        self.phase == LearnerPhase::UpToDate
    }
}
