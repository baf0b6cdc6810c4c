//! Records of format version 1 (rzk before null data): the same shapes as today's, except that znode data
//! was a plain byte string, so null data did not exist. Files of version 1 are read, never written: the log
//! writer always starts a new file, snapshots are always new files, and a truncation only cuts bytes off.
//! Each record is converted to today's type as it is read (its data is never null).
//!
//! The variant order of every enum here is the order of version 1 and must not change: bincode encodes a
//! variant by its index.

use bytes::Bytes;
use rzk_core::proto::records::Acl;
use rzk_core::proto::ErrorCode;
use rzk_core::tree::PersistedStat;
use rzk_core::txn::{LoggedTxn, Txn, TxnHeader};
use rzk_core::{Data, Zxid};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct LoggedTxnV1 {
    header: TxnHeader,
    txn: TxnV1,
}

#[derive(Deserialize)]
enum TxnV1 {
    CreateSession {
        timeout: i32,
    },
    CloseSession,
    Create {
        path: String,
        data: Bytes,
        acl: Vec<Acl>,
        ephemeral_owner: i64,
        parent_cversion: i32,
    },
    Delete {
        path: String,
    },
    SetData {
        path: String,
        data: Bytes,
        version: i32,
    },
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        version: i32,
    },
    Check {
        path: String,
    },
    Multi(Vec<TxnV1>),
    Error {
        err: ErrorCode,
    },
}

impl From<TxnV1> for Txn {
    fn from(t: TxnV1) -> Txn {
        match t {
            TxnV1::CreateSession { timeout } => Txn::CreateSession { timeout },
            TxnV1::CloseSession => Txn::CloseSession,
            TxnV1::Create {
                path,
                data,
                acl,
                ephemeral_owner,
                parent_cversion,
            } => Txn::Create {
                path,
                data: Data::from(data),
                acl,
                ephemeral_owner,
                parent_cversion,
            },
            TxnV1::Delete { path } => Txn::Delete { path },
            TxnV1::SetData {
                path,
                data,
                version,
            } => Txn::SetData {
                path,
                data: Data::from(data),
                version,
            },
            TxnV1::SetAcl { path, acl, version } => Txn::SetAcl { path, acl, version },
            TxnV1::Check { path } => Txn::Check { path },
            TxnV1::Multi(txns) => Txn::Multi(txns.into_iter().map(Txn::from).collect()),
            TxnV1::Error { err } => Txn::Error { err },
        }
    }
}

impl From<LoggedTxnV1> for LoggedTxn {
    fn from(t: LoggedTxnV1) -> LoggedTxn {
        LoggedTxn {
            header: t.header,
            txn: t.txn.into(),
        }
    }
}

#[derive(Deserialize)]
pub enum SnapshotRecordV1 {
    Node {
        path: String,
        data: Bytes,
        acl: Vec<Acl>,
        stat: PersistedStat,
    },
    Session {
        id: i64,
        timeout: i32,
    },
    End {
        zxid: Zxid,
        nodes: u64,
        sessions: u64,
        digest: u64,
    },
}

impl From<SnapshotRecordV1> for super::snapshot::SnapshotRecord {
    fn from(r: SnapshotRecordV1) -> Self {
        use super::snapshot::SnapshotRecord as R;
        match r {
            SnapshotRecordV1::Node {
                path,
                data,
                acl,
                stat,
            } => R::Node {
                path,
                data: Data::from(data),
                acl,
                stat,
            },
            SnapshotRecordV1::Session { id, timeout } => R::Session { id, timeout },
            SnapshotRecordV1::End {
                zxid,
                nodes,
                sessions,
                digest,
            } => R::End {
                zxid,
                nodes,
                sessions,
                digest,
            },
        }
    }
}
