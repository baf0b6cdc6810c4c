//! The persistence contract, in types.
//!
//! Everything the node needs on disk leaves as an [`Output::Persist`](super::Output::Persist) carrying a
//! [`PersistId`], numbered in the order the node asks: appended txns, the epoch files, a truncation of the
//! log, a snapshot installed over everything. The driver carries them out in that order (a truncate or an
//! install after the appends before it, never overtaking them) and reports
//! [`Input::Persisted`](super::Input::Persisted) with an id once every op up to it is durable (one report may
//! cover many; group commit is the driver's business).
//!
//! What depends on durability waits for that report, here in the core, not on how the driver drains its
//! outputs:
//! - a txn is applied, acknowledged (ACK) or counted toward the leader's own quorum only once the append
//!   holding it is durable (and not truncated since: see [`Persistence::durable_log_end`]);
//! - a message that vouches for the epoch files (ACKEPOCH, ACKNEWLEADER, a leader's LEADERINFO and UPTODATE)
//!   is held until every epoch write emitted before it is durable, and so is every later message to the same
//!   server (a link is FIFO: nothing may overtake a held message).
//!
//! One rule settles a truncate or an install racing a sync: ops are durable in order, and the node never
//! counts as durable any txn above a truncation point (or below an install) that it has emitted but that is
//! not yet reported done. A report for appends made before a truncate therefore cannot resurrect txns the
//! truncate removed, whichever finishes first on the disk.

use std::collections::{BTreeMap, VecDeque};

use crate::ids::{ServerId, Zxid};
use crate::peer::PeerMsg;
use crate::tree::DataTree;
use crate::txn::LoggedTxn;

/// A persistence op's place in the order the node emitted them.
#[derive(
    serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
pub struct PersistId(pub u64);

/// Something the node needs on disk.
#[derive(Debug, Clone)]
pub enum PersistOp {
    /// Append these txns after every earlier one.
    Append(Vec<LoggedTxn>),
    /// Write the epoch files (ZooKeeper's acceptedEpoch and currentEpoch).
    SaveEpochs { accepted: u32, current: u32 },
    /// Remove every logged txn after `zxid` (a learner's history beyond what the leader committed).
    Truncate { zxid: Zxid },
    /// Replace the whole persisted state with this tree, exact at `zxid` (a SNAP sync): write it as a
    /// snapshot and discard every logged txn.
    Install { zxid: Zxid, tree: Box<DataTree> },
}

/// What the node remembers of an op it emitted, until it is reported durable.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy)]
enum Emitted {
    Append { last: Zxid },
    Epochs,
    Truncate { zxid: Zxid },
    Install { zxid: Zxid },
}

/// A message waiting for an op to be durable (or behind one that waits).
#[derive(serde::Serialize, serde::Deserialize, Debug)]
struct Held {
    after: Option<PersistId>,
    msg: PeerMsg,
}

/// The node's side of the contract: ids, what is not yet durable, and the messages that wait for it.
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub(super) struct Persistence {
    next: u64,
    /// Emitted and not yet reported durable, in order.
    pending: VecDeque<(PersistId, Emitted)>,
    /// The highest id reported durable.
    durable: Option<PersistId>,
    /// Where the log on disk ends, counting only ops reported durable.
    log_end: Zxid,
    /// The newest epoch write not yet durable.
    epochs_pending: Option<PersistId>,
    /// Messages held per destination, in send order.
    held: BTreeMap<ServerId, VecDeque<Held>>,
}

impl Persistence {
    /// `log_end`: the last zxid of what was recovered from disk (durable by definition).
    pub fn new(log_end: Zxid) -> Persistence {
        Persistence {
            next: 1,
            pending: VecDeque::new(),
            durable: None,
            log_end,
            epochs_pending: None,
            held: BTreeMap::new(),
        }
    }

    /// Numbers an op the node is about to emit.
    pub fn emit(&mut self, op: &PersistOp) -> PersistId {
        let id = PersistId(self.next);
        self.next += 1;
        let emitted = match op {
            PersistOp::Append(txns) => Emitted::Append {
                last: txns.last().map_or(Zxid::MIN, |t| t.header.zxid),
            },
            PersistOp::SaveEpochs { .. } => {
                self.epochs_pending = Some(id);
                Emitted::Epochs
            }
            PersistOp::Truncate { zxid } => Emitted::Truncate { zxid: *zxid },
            PersistOp::Install { zxid, .. } => Emitted::Install { zxid: *zxid },
        };
        self.pending.push_back((id, emitted));
        id
    }

    /// The driver reports every op up to `id` durable.
    pub fn completed(&mut self, id: PersistId) {
        if self.durable.is_some_and(|d| d >= id) {
            return;
        }
        self.durable = Some(id);
        while let Some(&(op_id, op)) = self.pending.front() {
            if op_id > id {
                break;
            }
            self.pending.pop_front();
            match op {
                Emitted::Append { last } => self.log_end = self.log_end.max(last),
                Emitted::Truncate { zxid } => self.log_end = self.log_end.min(zxid),
                Emitted::Install { zxid } => self.log_end = zxid,
                Emitted::Epochs => {}
            }
        }
        if self.epochs_pending.is_some_and(|e| e <= id) {
            self.epochs_pending = None;
        }
    }

    /// The end of the durable log as the node's current history sees it: what the durable ops wrote, cut at
    /// every truncation point still pending. Txns above it are not durable for the node, even if an earlier
    /// append holding them was reported: the truncate emitted since removes them. While an install is
    /// pending, nothing of the installed history is durable: the end stays below the snapshot's zxid.
    pub fn durable_log_end(&self) -> Zxid {
        self.pending
            .iter()
            .filter_map(|(_, op)| match op {
                Emitted::Truncate { zxid } => Some(*zxid),
                Emitted::Install { zxid } => Some(zxid.saturating_sub(1)),
                _ => None,
            })
            .fold(self.log_end, Zxid::min)
    }

    /// The newest epoch write not yet durable, if any: what an epoch acknowledgement must wait for.
    pub fn epochs_pending(&self) -> Option<PersistId> {
        self.epochs_pending
    }

    /// Queues `msg` for `to`: released at once (returned) unless it must wait for `after` or for an earlier
    /// held message to the same server.
    pub fn send(
        &mut self,
        to: ServerId,
        after: Option<PersistId>,
        msg: PeerMsg,
    ) -> Option<(ServerId, PeerMsg)> {
        let blocked = after.is_some_and(|a| self.durable.is_none_or(|d| d < a));
        let queued = self.held.get(&to).is_some_and(|q| !q.is_empty());
        if !blocked && !queued {
            return Some((to, msg));
        }
        self.held
            .entry(to)
            .or_default()
            .push_back(Held { after, msg });
        None
    }

    /// Messages whose wait is over, in send order per destination (destinations in id order).
    pub fn release(&mut self) -> Vec<(ServerId, PeerMsg)> {
        let durable = self.durable;
        let mut out = Vec::new();
        for (to, queue) in self.held.iter_mut() {
            while let Some(front) = queue.front() {
                let waiting = front.after.is_some_and(|a| durable.is_none_or(|d| d < a));
                if waiting {
                    break;
                }
                if let Some(h) = queue.pop_front() {
                    out.push((*to, h.msg));
                }
            }
        }
        self.held.retain(|_, q| !q.is_empty());
        out
    }

    /// Forgets every held message (the node left the role that sent them: they belong to ended sessions).
    pub fn drop_held(&mut self) {
        self.held.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::{Txn, TxnHeader};

    fn append(zxids: &[Zxid]) -> PersistOp {
        PersistOp::Append(
            zxids
                .iter()
                .map(|&zxid| LoggedTxn {
                    header: TxnHeader {
                        session_id: 1,
                        cxid: 0,
                        zxid,
                        time: 0,
                    },
                    txn: Txn::CloseSession,
                })
                .collect(),
        )
    }

    #[test]
    fn a_report_for_appends_before_a_truncate_does_not_resurrect_truncated_txns() {
        let mut p = Persistence::new(0);
        let a = p.emit(&append(&[1, 2, 3]));
        p.emit(&PersistOp::Truncate { zxid: 1 });
        // The sync of the first append finishes before the truncate does.
        p.completed(a);
        assert_eq!(p.durable_log_end(), 1);
        let b = p.emit(&append(&[0x1_0000_0001]));
        p.completed(b);
        assert_eq!(p.durable_log_end(), 0x1_0000_0001);
    }

    #[test]
    fn an_install_counts_only_once_durable() {
        let mut p = Persistence::new(5);
        let i = p.emit(&PersistOp::Install {
            zxid: 9,
            tree: Box::default(),
        });
        assert_eq!(p.durable_log_end(), 5);
        let mut ahead = Persistence::new(20);
        let j = ahead.emit(&PersistOp::Install {
            zxid: 9,
            tree: Box::default(),
        });
        assert!(
            ahead.durable_log_end() < 9,
            "the old log is not the new history"
        );
        ahead.completed(j);
        assert_eq!(ahead.durable_log_end(), 9);
        p.completed(i);
        assert_eq!(p.durable_log_end(), 9);
    }

    #[test]
    fn held_messages_wait_for_their_op_and_keep_link_order() {
        let mut p = Persistence::new(0);
        let ping = || PeerMsg::Zab {
            session: 1,
            msg: crate::zab::ZabMsg::Ping {
                round: 1,
                sessions: Vec::new(),
            },
        };
        let e = p.emit(&PersistOp::SaveEpochs {
            accepted: 1,
            current: 0,
        });
        assert_eq!(p.epochs_pending(), Some(e));
        assert!(p.send(2, Some(e), ping()).is_none(), "waits for the epochs");
        assert!(p.send(2, None, ping()).is_none(), "behind the held message");
        assert!(p.send(3, None, ping()).is_some(), "other links are free");
        assert!(p.release().is_empty());
        p.completed(e);
        assert_eq!(p.epochs_pending(), None);
        assert_eq!(p.release().len(), 2);
        assert!(p.send(2, None, ping()).is_some());
    }
}
