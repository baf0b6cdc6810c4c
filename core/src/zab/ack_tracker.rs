//! Counting acknowledgements: a proposal commits once a quorum of voters has it durable, and proposals commit
//! in zxid order (a later one never before an earlier one, even if its quorum formed first).

use std::collections::{BTreeMap, BTreeSet};

use crate::election::Quorum;
use crate::ids::ServerId;
use crate::Zxid;

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct AckTracker {
    quorum: Quorum,
    /// Outstanding proposals and who has acknowledged each.
    pending: BTreeMap<Zxid, BTreeSet<ServerId>>,
    committed: Zxid,
}

impl AckTracker {
    pub fn new(quorum: Quorum, committed: Zxid) -> AckTracker {
        AckTracker {
            quorum,
            pending: BTreeMap::new(),
            committed,
        }
    }

    /// A new proposal (zxids strictly increasing).
    pub fn propose(&mut self, zxid: Zxid) {
        self.pending.insert(zxid, BTreeSet::new());
    }

    /// `from` has every proposal up to `zxid` durable (acks are cumulative: logs are written in order).
    /// Returns the zxids that commit now, in order.
    pub fn ack(&mut self, from: ServerId, zxid: Zxid) -> Vec<Zxid> {
        for (_, acks) in self.pending.range_mut(..=zxid) {
            acks.insert(from);
        }
        let mut out = Vec::new();
        while let Some((&z, acks)) = self.pending.first_key_value() {
            if !self.quorum.is_quorum(acks.iter().copied()) {
                break;
            }
            self.pending.remove(&z);
            self.committed = z;
            out.push(z);
        }
        out
    }

    /// Forgets `from`'s acknowledgements of outstanding proposals: it starts a new session and will be synced
    /// again, which may truncate them from its log, so they must not help a proposal commit any more.
    pub fn withdraw(&mut self, from: ServerId) {
        for acks in self.pending.values_mut() {
            acks.remove(&from);
        }
    }

    /// Commits every proposal up to `zxid` whatever its acks (only for the planted commit-before-quorum bug).
    pub fn force_commit(&mut self, zxid: Zxid) -> Vec<Zxid> {
        let rest = self.pending.split_off(&(zxid + 1));
        let done: Vec<Zxid> = std::mem::replace(&mut self.pending, rest)
            .into_keys()
            .collect();
        if let Some(last) = done.last() {
            self.committed = *last;
        }
        done
    }

    /// The newest committed zxid.
    pub fn committed(&self) -> Zxid {
        self.committed
    }

    /// Proposals still waiting for a quorum.
    pub fn outstanding(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_at_a_quorum_in_zxid_order() {
        let mut t = AckTracker::new(Quorum::new([1, 2, 3]), 0);
        t.propose(1);
        t.propose(2);
        assert_eq!(t.ack(1, 1), Vec::<Zxid>::new());
        // Server 3 acks up to 2 before anyone else acked 1 fully: 1 then 2 commit together, in order.
        assert_eq!(t.ack(3, 2), vec![1]);
        assert_eq!(t.ack(1, 2), vec![2]);
        assert_eq!(t.committed(), 2);
        assert_eq!(t.outstanding(), 0);
    }

    #[test]
    fn acks_from_non_voters_do_not_count() {
        let mut t = AckTracker::new(Quorum::new([1, 2, 3]), 0);
        t.propose(1);
        assert!(t.ack(1, 1).is_empty());
        assert!(t.ack(9, 1).is_empty(), "an observer's ack is not a vote");
        assert_eq!(t.ack(2, 1), vec![1]);
    }

    #[test]
    fn a_single_voter_commits_alone() {
        let mut t = AckTracker::new(Quorum::new([7]), 0);
        t.propose(5);
        assert_eq!(t.ack(7, 5), vec![5]);
    }

    #[test]
    fn withdrawn_acks_no_longer_count() {
        let mut t = AckTracker::new(Quorum::new([1, 2, 3]), 0);
        t.propose(1);
        assert!(t.ack(1, 1).is_empty());
        t.withdraw(1);
        assert!(t.ack(2, 1).is_empty(), "one ack of three is no quorum");
        assert_eq!(t.ack(3, 1), vec![1]);
    }
}
