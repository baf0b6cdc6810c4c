//! Applying one committed txn: the single place where the tree changes.

use crate::proto::records::Stat;
use crate::proto::ErrorCode;
use crate::txn::{Txn, TxnHeader};

use super::DataTree;

/// A watch event the applied txn raises, for the watch manager (ZooKeeper's DataTree triggers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchTrigger {
    /// Data/exist watches on the path: NodeCreated.
    Created(String),
    /// Data and child watches on the path: NodeDeleted.
    Deleted(String),
    /// Data watches on the path: NodeDataChanged.
    DataChanged(String),
    /// Child watches on the path: NodeChildrenChanged.
    ChildrenChanged(String),
}

/// What applying a txn did, for the reply and the watch manager.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplyOutcome {
    /// `Ok` unless the txn was an error txn (or, defensively, could not apply).
    pub err: Option<ErrorCode>,
    /// The created path (create), for the reply.
    pub path: Option<String>,
    /// The node's Stat after the change (create, setData, setACL).
    pub stat: Option<Stat>,
    /// One outcome per sub-txn of a multi.
    pub multi: Vec<ApplyOutcome>,
    /// Watch events raised, in the order ZooKeeper raises them.
    pub triggers: Vec<WatchTrigger>,
}

impl DataTree {
    /// Applies one committed txn. Txns must arrive in strictly increasing zxid order. A txn that no longer
    /// fits the tree (which the preprocessor rules out) is reported in `err` and changes nothing.
    pub fn apply(&mut self, header: &TxnHeader, txn: &Txn) -> ApplyOutcome {
        let _ = (header, txn);
        todo!()
    }
}
