//! Protocol invariants, checked at the moment they could break (every node step), not inferred from the
//! clients' history at the end. The simulator sees every output and every disk, so it can hold each server
//! to what it promises:
//!
//! - an ACK, ACKNEWLEADER or ACKEPOCH leaves only for what the sender's disk already holds durably (the
//!   txns it acknowledges; the accepted or current epoch it vouches for), and a NEWLEADER only once the
//!   leader's own currentEpoch is durable (it counts itself toward that quorum);
//! - no server applies a txn before a majority of the voting members hold it durably;
//! - no two established leaders share an epoch;
//! - a committed txn is never truncated from any server's log.
//!
//! Reply order per connection is checked by the clients (a reply must answer the oldest pending request).

use std::collections::BTreeMap;

use rzk_core::node::{Output, PersistOp};
use rzk_core::peer::PeerMsg;
use rzk_core::txn::LoggedTxn;
use rzk_core::zab::ZabMsg;

use crate::world::World;

/// What the invariants remember across steps.
#[derive(Default)]
pub struct Invariants {
    /// The established leader of each epoch: (node, incarnation).
    leaders: BTreeMap<u32, (usize, u64)>,
}

impl World {
    /// Checks node `n`'s outputs of one step against its disk, before they are carried out.
    pub(crate) fn check_outputs(&mut self, n: usize, out: &[Output]) {
        let mut found = Vec::new();
        let host = &self.hosts[n];
        let Some(node) = host.node.as_ref() else {
            return;
        };
        let disk = &host.disk;
        for o in out {
            match o {
                Output::ToPeer {
                    to,
                    msg: PeerMsg::Zab { msg, .. },
                } => match msg {
                    ZabMsg::Ack { zxid } if !disk.holds_durably(*zxid) => found.push(format!(
                        "invariant: node {n} sent ACK 0x{zxid:x} to {to} before its disk held it durably"
                    )),
                    ZabMsg::AckNewLeader { zxid } => {
                        if !disk.holds_durably(*zxid) {
                            found.push(format!(
                                "invariant: node {n} acknowledged NEWLEADER with its synced history up to \
                                 0x{zxid:x} not durable"
                            ));
                        }
                        if disk.current_epoch < node.current_epoch() {
                            found.push(format!(
                                "invariant: node {n} acknowledged NEWLEADER of epoch {} with currentEpoch {} \
                                 on disk",
                                node.current_epoch(),
                                disk.current_epoch
                            ));
                        }
                    }
                    ZabMsg::NewLeader { epoch, .. } if disk.current_epoch < *epoch => {
                        // The leader counts itself toward the NEWLEADER quorum: it vouches for the epoch too.
                        found.push(format!(
                            "invariant: node {n} sent NEWLEADER of epoch {epoch} with currentEpoch {} on disk",
                            disk.current_epoch
                        ))
                    }
                    ZabMsg::AckEpoch { .. } if disk.accepted_epoch < node.accepted_epoch() => {
                        found.push(format!(
                            "invariant: node {n} acknowledged epoch {} with acceptedEpoch {} on disk",
                            node.accepted_epoch(),
                            disk.accepted_epoch
                        ))
                    }
                    _ => {}
                },
                Output::Persist {
                    op: PersistOp::Truncate { zxid },
                    ..
                } => {
                    if let Some(t) = disk
                        .logged_after(*zxid)
                        .find(|t| self.durable.get(&t.header.zxid) == Some(*t))
                    {
                        found.push(format!(
                            "invariant: node {n} truncates its log to 0x{zxid:x}, removing committed txn 0x{:x}",
                            t.header.zxid
                        ));
                    }
                }
                _ => {}
            }
        }
        self.violations.extend(found);
    }

    /// Node `n` applied these txns: a majority of the voters must hold each durably.
    pub(crate) fn check_applied(&mut self, n: usize, txns: &[LoggedTxn]) {
        let voters = std::mem::take(&mut self.voters);
        let majority = voters.len() / 2 + 1;
        for t in txns {
            let holders = voters
                .iter()
                .filter(|&&v| self.hosts[v].disk.holds_txn_durably(t))
                .count();
            if holders < majority {
                self.violations.push(format!(
                    "invariant: node {n} applied 0x{:x} held durably by {holders} of {} voters",
                    t.header.zxid,
                    voters.len()
                ));
            }
        }
        self.voters = voters;
    }

    /// After a step of node `n`: no two established leaders of one epoch.
    pub(crate) fn check_leader(&mut self, n: usize) {
        let host = &self.hosts[n];
        let Some(epoch) = host.node.as_ref().and_then(|node| node.established_epoch()) else {
            return;
        };
        let me = (n, host.incarnation);
        match self.invariants.leaders.get(&epoch) {
            Some(&other) if other != me => self.violations.push(format!(
                "invariant: two leaders of epoch {epoch}: node {} (incarnation {}) and node {n} (incarnation {})",
                other.0, other.1, me.1
            )),
            Some(_) => {}
            None => {
                self.invariants.leaders.insert(epoch, me);
            }
        }
    }

    /// The voting members' indexes.
    pub(crate) fn voter_indexes(&self) -> Vec<usize> {
        let servers = &self.params.config.servers;
        if servers.is_empty() {
            return (0..self.hosts.len()).collect();
        }
        servers
            .iter()
            .filter(|s| s.peer_type == rzk_core::config::PeerType::Participant)
            .map(|s| s.id as usize - 1)
            .collect()
    }
}
