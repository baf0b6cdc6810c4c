//! Votes and the notifications that carry them.

use serde::{Deserialize, Serialize};

use crate::ids::ServerId;
use crate::Zxid;

/// A server's proposal for leader. Votes are compared by (peer epoch, zxid, leader id): the server with the
/// newest epoch, then the most txns, then the highest id wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    pub leader: ServerId,
    pub zxid: Zxid,
    pub peer_epoch: u32,
}

impl Vote {
    /// Whether `self` beats `other` (FastLeaderElection.totalOrderPredicate).
    pub fn beats(&self, other: &Vote) -> bool {
        (self.peer_epoch, self.zxid, self.leader) > (other.peer_epoch, other.zxid, other.leader)
    }
}

/// What a server is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerState {
    Looking,
    Following,
    Leading,
    Observing,
}

/// An election message: the sender's current vote, its election round and its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub vote: Vote,
    /// The sender's logical clock (election round).
    pub election_epoch: u64,
    pub state: PeerState,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn votes_order_by_epoch_then_zxid_then_id() {
        let v = |leader, zxid, peer_epoch| Vote {
            leader,
            zxid,
            peer_epoch,
        };
        assert!(v(1, 5, 2).beats(&v(3, 9, 1)));
        assert!(v(1, 9, 1).beats(&v(3, 5, 1)));
        assert!(v(3, 5, 1).beats(&v(1, 5, 1)));
        assert!(!v(1, 5, 1).beats(&v(1, 5, 1)));
    }
}
