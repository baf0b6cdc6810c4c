//! Messages between the servers of an ensemble: fast leader election notifications (election port) and Zab
//! (quorum port). Our own framing and encoding (serde + bincode inside length + CRC frames, in the driver);
//! mixing with Java servers is not a goal.

use serde::{Deserialize, Serialize};

use crate::election::Notification;
use crate::zab::ZabMsg;

pub use crate::ids::ServerId;

/// One message from one server to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PeerMsg {
    Election(Notification),
    /// A Zab message within one leader-learner session: the number the learner drew when it started
    /// following. Either side drops messages of any other session (what closing the learner's TCP connection
    /// does in ZooKeeper), so a learner of a leader's earlier term cannot act in its later one.
    Zab {
        session: u64,
        msg: ZabMsg,
    },
}

impl PeerMsg {
    /// Election traffic travels on the election port, the rest on the quorum port.
    pub fn is_election(&self) -> bool {
        matches!(self, PeerMsg::Election(_))
    }
}
