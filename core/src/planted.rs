//! Planted bugs: known classic mistakes that can be switched on by name when the `planted-bugs` feature is
//! built, so that a test can prove the simulator catches each one within a fixed seed budget. Without the
//! feature no bug can be enabled and every check compiles to `false`.

use std::collections::BTreeSet;

/// A classic mistake.
#[derive(
    serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord,
)]
pub enum PlantedBug {
    /// Answer a write before the log reports it durable.
    AckBeforeFsync,
    /// Lose the parents' child-version counters on recovery, so sequential names repeat or collide.
    SeqCounterNotRestored,
    /// A leader commits a proposal as soon as it is durable on the leader, without a quorum of ACKs.
    CommitBeforeQuorum,
    /// A follower ignores TRUNC and keeps txns of an old epoch that were never committed.
    FollowerKeepsOldEpochTxn,
    /// Elect the server with the highest id, ignoring epochs and zxids.
    ElectionById,
    /// A leader serves (and applies its logged history) before a quorum acknowledged NEWLEADER.
    ServeBeforeNewLeaderQuorum,
    /// Followers expire sessions by their own clients' activity and ask the leader to close them.
    FollowerExpiresSessions,
    /// A learner acknowledges the leader's epoch before its acceptedEpoch file is durable.
    AckEpochBeforeDurable,
    /// A learner acknowledges NEWLEADER before its new currentEpoch is durable (ZOOKEEPER-1264's kind: a
    /// crash then leaves it with the synced history under the old epoch).
    NewLeaderAckBeforeDurable,
    /// The quorum is built from every server listed, observers included.
    QuorumCountsObservers,
    /// A sync tells a rejoining learner that the leader's outstanding proposals are committed history.
    SyncMarksProposalsCommitted,
    /// The leader ignores the session activity its learners report in their pings.
    LeaderIgnoresLearnerPings,
    /// A follower answers a read at once, ahead of the same connection's earlier writes.
    ReadBeforeEarlierWrite,
    /// A leader answers a sync once what preceded it is committed, without proving it still leads (a
    /// paused or cut-off leader serves stale sync+reads, as ZooKeeper's does).
    SyncWithoutLeadershipProof,
    /// A leader sends NEWLEADER (and so counts itself toward that quorum) before its new currentEpoch is
    /// durable: a crash then brings it back with its old epoch, to lose an election to a server that never
    /// saw the new epoch's commits (found by simulator seed 424242005503).
    NewLeaderBeforeEpochDurable,
}

impl PlantedBug {
    pub const ALL: [PlantedBug; 15] = [
        PlantedBug::AckBeforeFsync,
        PlantedBug::SeqCounterNotRestored,
        PlantedBug::CommitBeforeQuorum,
        PlantedBug::FollowerKeepsOldEpochTxn,
        PlantedBug::ElectionById,
        PlantedBug::ServeBeforeNewLeaderQuorum,
        PlantedBug::FollowerExpiresSessions,
        PlantedBug::AckEpochBeforeDurable,
        PlantedBug::NewLeaderAckBeforeDurable,
        PlantedBug::QuorumCountsObservers,
        PlantedBug::SyncMarksProposalsCommitted,
        PlantedBug::LeaderIgnoresLearnerPings,
        PlantedBug::ReadBeforeEarlierWrite,
        PlantedBug::SyncWithoutLeadershipProof,
        PlantedBug::NewLeaderBeforeEpochDurable,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PlantedBug::AckBeforeFsync => "ack-before-fsync",
            PlantedBug::SeqCounterNotRestored => "seq-counter-not-restored",
            PlantedBug::CommitBeforeQuorum => "commit-before-quorum",
            PlantedBug::FollowerKeepsOldEpochTxn => "follower-keeps-old-epoch-txn",
            PlantedBug::ElectionById => "election-by-id",
            PlantedBug::ServeBeforeNewLeaderQuorum => "serve-before-newleader-quorum",
            PlantedBug::FollowerExpiresSessions => "follower-expires-sessions",
            PlantedBug::AckEpochBeforeDurable => "ack-epoch-before-durable",
            PlantedBug::NewLeaderAckBeforeDurable => "newleader-ack-before-durable",
            PlantedBug::QuorumCountsObservers => "quorum-counts-observers",
            PlantedBug::SyncMarksProposalsCommitted => "sync-marks-proposals-committed",
            PlantedBug::LeaderIgnoresLearnerPings => "leader-ignores-learner-pings",
            PlantedBug::ReadBeforeEarlierWrite => "read-before-earlier-write",
            PlantedBug::SyncWithoutLeadershipProof => "sync-without-leadership-proof",
            PlantedBug::NewLeaderBeforeEpochDurable => "newleader-before-epoch-durable",
        }
    }

    /// Whether the bug lives in the ensemble protocol (a standalone server cannot show it).
    pub fn needs_ensemble(self) -> bool {
        !matches!(
            self,
            PlantedBug::AckBeforeFsync | PlantedBug::SeqCounterNotRestored
        )
    }

    /// Whether the simulator's random faults find the bug within its seed budget. A stale leader serving a
    /// sync needs a leader paused past syncLimit while a client's sync waits on it and a new leader commits:
    /// random faults line that up about once in a few thousand seeds (that is how it was found), so a core
    /// test (`ensemble_tests::a_stale_leader_does_not_answer_a_sync_with_old_state`) stages it instead.
    pub fn found_by_random_seeds(self) -> bool {
        !matches!(self, PlantedBug::SyncWithoutLeadershipProof)
    }

    pub fn from_name(name: &str) -> Option<PlantedBug> {
        PlantedBug::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// The bugs switched on in one node.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Default)]
pub struct Planted(BTreeSet<PlantedBug>);

impl Planted {
    /// Switches bugs on. Fails unless built with the `planted-bugs` feature.
    pub fn new(bugs: &[PlantedBug]) -> Result<Planted, &'static str> {
        if cfg!(feature = "planted-bugs") {
            Ok(Planted(bugs.iter().copied().collect()))
        } else {
            Err("planted bugs need the `planted-bugs` feature")
        }
    }

    /// Whether `bug` is on (always false without the feature).
    #[inline]
    pub fn has(&self, bug: PlantedBug) -> bool {
        cfg!(feature = "planted-bugs") && self.0.contains(&bug)
    }
}
