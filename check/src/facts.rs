//! What the checkers read: the clients' history, the committed history with the time each txn was first
//! seen committed, the faults and leader changes, and a summary of each server's tree at the end. The
//! simulator gathers these from its world; a run of real processes gathers them from outside.

use std::collections::{BTreeMap, BTreeSet};

use rzk_core::tree::DataTree;
use rzk_core::txn::LoggedTxn;
use rzk_core::Zxid;
use serde::{Deserialize, Serialize};

use crate::history::History;

/// What a fault touched, for telling quiet stretches apart (see the expiry checker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Touched {
    /// A server: crashed, paused, or its clock jumped.
    Node(usize),
    /// The link between two servers: cut, lossy one way, flapping.
    Link(usize, usize),
    /// One client connection: reset.
    Conn(u64),
    /// Every link: slow packets are on.
    Network,
}

/// A fault's span in global time (`from == to` for an instant).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct FaultSpan {
    pub from: u64,
    pub to: u64,
    pub touched: Touched,
}

/// One server's tree at the end of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerEnd {
    pub last_zxid: Zxid,
    pub digest: u64,
    /// Live sessions.
    pub sessions: BTreeSet<i64>,
    /// Ephemeral paths by owning session, in session order (a list, not a map: JSON map keys are strings).
    pub ephemerals: Vec<(i64, Vec<String>)>,
    /// The tree's own consistency check.
    pub invariants: Result<(), String>,
}

impl ServerEnd {
    pub fn of(tree: &DataTree) -> ServerEnd {
        ServerEnd {
            last_zxid: tree.last_zxid(),
            digest: tree.digest(),
            sessions: tree.sessions().keys().copied().collect(),
            ephemerals: tree
                .all_ephemerals()
                .map(|(s, paths)| (s, paths.map(str::to_owned).collect()))
                .collect(),
            invariants: tree.check_invariants(),
        }
    }
}

/// Everything the checkers read about a finished run. Times are in the run's milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Facts {
    pub history: History,
    /// Every committed txn, by zxid.
    pub committed: BTreeMap<Zxid, LoggedTxn>,
    /// When each txn was first seen committed.
    pub committed_at: BTreeMap<Zxid, u64>,
    /// When the faults stopped (0: the run never healed).
    pub healed_at: u64,
    /// How long the run went on after the heal.
    pub heal_ms: u64,
    /// The end of the run.
    pub end: u64,
    /// No fault at all was planned.
    pub calm: bool,
    /// The number of clients (numbered from 0).
    pub clients: usize,
    pub faults: Vec<FaultSpan>,
    /// Established-leader changes: (time, the leader's index, or none).
    pub leaders: Vec<(u64, Option<usize>)>,
    /// The server each client connection went to.
    pub conn_nodes: BTreeMap<u64, usize>,
    /// Which servers are observers (they do not count towards a quorum).
    pub observers: Vec<usize>,
    /// Each server's tree at the end; `None` for a server not running then.
    pub servers: Vec<Option<ServerEnd>>,
    /// Violations found while the run went on (the simulator's step invariants, replica disagreement).
    pub violations: Vec<String>,
}
