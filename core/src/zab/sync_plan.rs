//! How a leader brings a learner up to date (ZooKeeper's LearnerHandler.syncFollower): DIFF when the learner's
//! last zxid is a point of the leader's recent history, TRUNC (then DIFF) when the learner holds txns the
//! leader never committed, SNAP otherwise.
//!
//! Zab's prefix property makes this decidable from the learner's last zxid alone: zxids are unique per
//! epoch, and a server that holds (e, c) holds every txn of epoch e before it, so two histories that share a
//! zxid agree up to it. A learner zxid the leader does not have is from an epoch that never committed it;
//! the learner can keep only what shares its epoch with a point the leader has.

use super::CommittedLog;
use crate::txn::LoggedTxn;
use crate::zxid;
use crate::Zxid;

/// What the leader sends a learner before NEWLEADER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncPlan {
    /// The learner's history is a prefix of ours: send what follows.
    Diff(Vec<LoggedTxn>),
    /// The learner holds txns after `to` that we never committed: it drops them, then gets what follows.
    TruncThenDiff { to: Zxid, txns: Vec<LoggedTxn> },
    /// Too far behind, or histories we cannot line up: send the whole tree.
    Snap,
}

/// Plans the sync of a learner whose last logged zxid is `peer_last` against the leader's history `log` and
/// its outstanding proposals `proposals` (in zxid order, all after the history).
pub fn plan(log: &CommittedLog, proposals: &[LoggedTxn], peer_last: Zxid) -> SyncPlan {
    if let Some(txns) = log.after(peer_last) {
        return SyncPlan::Diff(txns);
    }
    // The learner holds our whole history and some of our outstanding proposals (it left and came back while
    // we were proposing): nothing to drop; the proposals it lacks are sent with the others. Truncating them
    // instead would remove from its log a proposal that may commit meanwhile.
    if peer_last > log.last()
        && proposals
            .binary_search_by_key(&peer_last, |t| t.header.zxid)
            .is_ok()
    {
        return SyncPlan::Diff(Vec::new());
    }
    // The learner has a zxid we do not. Keep its txns up to our newest point in the same epoch (those are
    // the same txns, proposed by the same leader); drop the rest.
    if let Some(point) = log.point_below(peer_last) {
        if point != 0 && zxid::epoch(point) == zxid::epoch(peer_last) {
            if let Some(txns) = log.after(point) {
                return SyncPlan::TruncThenDiff { to: point, txns };
            }
        }
        if point == log.base() && log.base() == 0 {
            // Everything the learner has is beyond our (empty) start: drop it all.
            return SyncPlan::TruncThenDiff {
                to: 0,
                txns: log.after(0).unwrap_or_default(),
            };
        }
    }
    SyncPlan::Snap
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::{Txn, TxnHeader};

    fn txn(epoch: u32, counter: u32) -> LoggedTxn {
        let header = TxnHeader {
            session_id: 1,
            cxid: 1,
            zxid: zxid::make(epoch, counter),
            time: 0,
        };
        LoggedTxn {
            header,
            txn: Txn::Check { path: "/".into() },
        }
    }

    fn log(base: Zxid, txns: &[(u32, u32)]) -> CommittedLog {
        let mut l = CommittedLog::new(base, 1000);
        for &(e, c) in txns {
            l.push(txn(e, c));
        }
        l
    }

    #[test]
    fn a_learner_that_is_caught_up_gets_an_empty_diff() {
        let l = log(0, &[(1, 1), (1, 2)]);
        assert_eq!(plan(&l, &[], zxid::make(1, 2)), SyncPlan::Diff(vec![]));
    }

    #[test]
    fn a_learner_behind_within_the_log_gets_a_diff() {
        let l = log(0, &[(1, 1), (1, 2), (2, 1)]);
        assert_eq!(
            plan(&l, &[], zxid::make(1, 1)),
            SyncPlan::Diff(vec![txn(1, 2), txn(2, 1)])
        );
        assert_eq!(
            plan(&l, &[], 0),
            SyncPlan::Diff(vec![txn(1, 1), txn(1, 2), txn(2, 1)])
        );
    }

    #[test]
    fn a_learner_ahead_in_the_same_epoch_is_truncated() {
        let l = log(0, &[(1, 1), (1, 2)]);
        assert_eq!(
            plan(&l, &[], zxid::make(1, 5)),
            SyncPlan::TruncThenDiff {
                to: zxid::make(1, 2),
                txns: vec![]
            }
        );
    }

    #[test]
    fn an_old_epoch_txn_the_leader_never_had_is_truncated_and_the_rest_diffed() {
        // The learner logged (1,3) from the old leader, which never committed; the new leader has (2,1).
        let l = log(0, &[(1, 1), (1, 2), (2, 1)]);
        assert_eq!(
            plan(&l, &[], zxid::make(1, 3)),
            SyncPlan::TruncThenDiff {
                to: zxid::make(1, 2),
                txns: vec![txn(2, 1)]
            }
        );
    }

    #[test]
    fn a_learner_too_far_behind_gets_a_snapshot() {
        let l = log(zxid::make(1, 10), &[(1, 11), (1, 12)]);
        assert_eq!(plan(&l, &[], zxid::make(1, 3)), SyncPlan::Snap);
        assert_eq!(plan(&l, &[], 0), SyncPlan::Snap);
    }

    #[test]
    fn a_learner_with_an_unknown_epoch_beyond_our_history_gets_a_snapshot() {
        // The learner has epoch 3 txns; our newest point below it is from epoch 2: cannot line up.
        let l = log(zxid::make(1, 10), &[(2, 1)]);
        assert_eq!(plan(&l, &[], zxid::make(3, 4)), SyncPlan::Snap);
    }

    #[test]
    fn a_fresh_leader_drops_everything_a_learner_holds_beyond_it() {
        let l = log(0, &[]);
        assert_eq!(
            plan(&l, &[], zxid::make(1, 2)),
            SyncPlan::TruncThenDiff {
                to: 0,
                txns: vec![]
            }
        );
    }

    #[test]
    fn the_committed_log_slides() {
        let mut l = CommittedLog::new(0, 2);
        for c in 1..=4 {
            l.push(txn(1, c));
        }
        assert_eq!(
            (l.base(), l.last(), l.len()),
            (zxid::make(1, 2), zxid::make(1, 4), 2)
        );
        assert!(l.contains(zxid::make(1, 2)) && !l.contains(zxid::make(1, 1)));
        assert_eq!(plan(&l, &[], zxid::make(1, 1)), SyncPlan::Snap);
    }
}
