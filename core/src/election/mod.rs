//! Fast leader election (ZooKeeper's FastLeaderElection): servers exchange votes ordered by
//! (epoch, last zxid, server id) until a quorum agrees on one leader.

mod vote;

pub use vote::{Notification, PeerState, Vote};
