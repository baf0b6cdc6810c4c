//! Replicated transactions: what the leader (or a standalone server) decides, what goes into the log, and
//! what every replica applies to its [`crate::tree::DataTree`] in zxid order.
//!
//! A txn is fully determined: sequential names, versions, parent cversions and ephemeral owners are all
//! computed before logging, so applying it is deterministic on every replica.

use crate::Data;
use serde::{Deserialize, Serialize};

use crate::proto::records::Acl;
use crate::proto::ErrorCode;
use crate::Zxid;

/// The header of every logged txn (ZooKeeper's TxnHeader, less the type, which the [`Txn`] variant carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnHeader {
    /// The session that issued the request (0 for server-internal txns).
    pub session_id: i64,
    /// The client's xid for the request.
    pub cxid: i32,
    pub zxid: Zxid,
    /// Milliseconds since the epoch on the proposing server; becomes ctime/mtime.
    pub time: i64,
}

/// One replicated state change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Txn {
    /// A new session with its negotiated timeout (ms).
    CreateSession {
        timeout: i32,
    },
    /// The session closed or expired: its ephemerals are deleted when this is applied.
    CloseSession,
    /// A node created; `path` is final (sequential suffix already appended).
    Create {
        #[serde(serialize_with = "crate::redact::path")]
        path: String,
        data: Data,
        acl: Vec<Acl>,
        /// The raw owner: a session id for ephemerals, 0 for persistent nodes, or the container/TTL markers
        /// of [`crate::tree::NodeKind`].
        ephemeral_owner: i64,
        /// The parent's cversion after this create.
        parent_cversion: i32,
    },
    Delete {
        path: String,
    },
    SetData {
        #[serde(serialize_with = "crate::redact::path")]
        path: String,
        data: Data,
        version: i32,
    },
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        version: i32,
    },
    /// A version check inside a multi; changes nothing.
    Check {
        path: String,
    },
    /// All-or-nothing: either every txn applies, or the multi is logged with `Error` entries and nothing changes.
    Multi(Vec<Txn>),
    /// A failed op (inside a failed multi, or a standalone failed write that still consumed a zxid).
    Error {
        err: ErrorCode,
    },
}

impl Txn {
    /// The opcode ZooKeeper logs for this txn type (for log dumps and 4lw output).
    pub fn type_name(&self) -> &'static str {
        match self {
            Txn::CreateSession { .. } => "createSession",
            Txn::CloseSession => "closeSession",
            Txn::Create { .. } => "create",
            Txn::Delete { .. } => "delete",
            Txn::SetData { .. } => "setData",
            Txn::SetAcl { .. } => "setACL",
            Txn::Check { .. } => "check",
            Txn::Multi(_) => "multi",
            Txn::Error { .. } => "error",
        }
    }
}

/// A txn with its header: the unit that is logged, replicated and applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedTxn {
    pub header: TxnHeader,
    pub txn: Txn,
}

impl LoggedTxn {
    /// The size of this txn in ZooKeeper's jute encoding (TxnHeader plus the txn record), which is what
    /// `mntr`'s proposal-size figures measure.
    pub fn jute_size(&self) -> usize {
        // TxnHeader: clientId, cxid, zxid, time, type.
        8 + 4 + 8 + 8 + 4 + body_size(&self.txn)
    }
}

fn acl_size(acl: &[crate::proto::records::Acl]) -> usize {
    4 + acl
        .iter()
        .map(|a| 4 + 4 + a.id.scheme.len() + 4 + a.id.id.len())
        .sum::<usize>()
}

/// Jute size of one txn record (strings and buffers carry a 4-byte length).
fn body_size(txn: &Txn) -> usize {
    match txn {
        Txn::CreateSession { .. } => 4,
        Txn::CloseSession => 0,
        Txn::Create {
            path, data, acl, ..
        } => 4 + path.len() + 4 + data.len() + acl_size(acl) + 1 + 4,
        Txn::Delete { path } | Txn::Check { path } => 4 + path.len() + 4,
        Txn::SetData { path, data, .. } => 4 + path.len() + 4 + data.len() + 4,
        Txn::SetAcl { path, acl, .. } => 4 + path.len() + acl_size(acl) + 4,
        Txn::Error { .. } => 4,
        // MultiTxn: a vector of (type, buffer holding the record).
        Txn::Multi(txns) => 4 + txns.iter().map(|t| 4 + 4 + body_size(t)).sum::<usize>(),
    }
}
