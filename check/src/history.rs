//! What clients saw: every operation with its invocation and completion times (global simulated ms), its
//! outcome and the zxid of its reply; and, per connection, the order in which replies and notifications
//! arrived. Checkers read only this and the durable txn record.

use rzk_core::proto::ErrorCode;
use rzk_core::Data;
use serde::{Deserialize, Serialize};

/// The create modes beyond the ephemeral and sequential flags (ZooKeeper's CreateMode CONTAINER and
/// PERSISTENT[_SEQUENTIAL]_WITH_TTL).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Extended {
    #[default]
    None,
    Container,
    /// A TTL node, with its TTL in ms.
    Ttl(i64),
}

/// One client operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpKind {
    Create {
        path: String,
        value: Data,
        ephemeral: bool,
        sequential: bool,
        /// Absent in older history files: a plain create.
        #[serde(default)]
        extended: Extended,
    },
    Set {
        path: String,
        value: Data,
        version: i32,
    },
    Delete {
        path: String,
        version: i32,
    },
    Get {
        path: String,
        watch: bool,
    },
    Exists {
        path: String,
        watch: bool,
    },
    Children {
        path: String,
        watch: bool,
    },
    /// sync followed by getData on the same connection: a read that must be linearizable.
    SyncGet {
        path: String,
    },
    /// setData of several paths in one multi.
    MultiSet {
        paths: Vec<String>,
        value: Data,
    },
    Ping,
    /// A DIGEST-MD5 exchange (two SASL packets), with the right password or not.
    Sasl {
        good_password: bool,
    },
}

impl OpKind {
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            OpKind::Create { .. }
                | OpKind::Set { .. }
                | OpKind::Delete { .. }
                | OpKind::MultiSet { .. }
        )
    }

    pub fn path(&self) -> Option<&str> {
        match self {
            OpKind::Create { path, .. }
            | OpKind::Set { path, .. }
            | OpKind::Delete { path, .. }
            | OpKind::Get { path, .. }
            | OpKind::Exists { path, .. }
            | OpKind::Children { path, .. }
            | OpKind::SyncGet { path } => Some(path),
            OpKind::MultiSet { .. } | OpKind::Ping | OpKind::Sasl { .. } => None,
        }
    }
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Ok(OkValue),
    Err(ErrorCode),
    /// The connection dropped before the reply: it may or may not have taken effect.
    Lost,
}

/// What a successful reply carried.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OkValue {
    /// `None`: the reply carries no data; `Some(null data)`: it carries null. Absent from the history file
    /// when `None`, so that null data (written as null) stays apart from no data.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub data: Option<Data>,
    pub version: Option<i32>,
    pub path: Option<String>,
    pub children: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpRecord {
    pub client: usize,
    pub session: i64,
    /// The connection (global number) the op was sent on.
    pub conn: u64,
    pub xid: i32,
    pub op: OpKind,
    pub invoke: u64,
    pub complete: u64,
    pub outcome: Outcome,
    /// The reply header's zxid (None when lost).
    pub zxid: Option<i64>,
}

/// Something a connection received, in arrival order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Received {
    /// The reply to op number `op` (index into `History::ops`).
    Reply { op: usize, zxid: i64 },
    /// A watch notification.
    Event { event_type: i32, path: String },
}

/// A watch a read registered: it must fire once for the first change after `zxid`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WatchRecord {
    /// The op (index into `History::ops`) whose reply set the watch.
    pub op: usize,
    pub conn: u64,
    pub path: String,
    /// Data watch (getData/exists) or child watch (getChildren).
    pub child: bool,
    /// The zxid of the reply of the read that set it.
    pub zxid: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct History {
    pub ops: Vec<OpRecord>,
    pub received: std::collections::BTreeMap<u64, Vec<Received>>,
    pub watches: Vec<WatchRecord>,
    /// Sessions whose expiry a client was told of.
    pub expired_sessions: Vec<i64>,
    /// Protocol violations a client saw on the wire (a reply out of request order...), as they happened.
    pub protocol: Vec<String>,
    /// Every session a client held: (client, session id, negotiated timeout ms, when it was established).
    pub sessions: Vec<(usize, i64, i32, u64)>,
    /// Every connection on which a client held a session, from its handshake to its end.
    pub connected: Vec<ConnSpan>,
}

/// A connection with an established session, as its client saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnSpan {
    pub client: usize,
    pub conn: u64,
    pub session: i64,
    /// When the handshake completed, and when the client saw the connection end (None: still up).
    pub from: u64,
    pub to: Option<u64>,
}

impl OkValue {
    /// What a successful reply carried, as the checkers compare it (the simulator's clients and the replay
    /// of servers' recordings read replies into it alike).
    pub fn of(body: rzk_core::proto::response::ResponseBody) -> OkValue {
        use rzk_core::proto::response::{MultiResult, ResponseBody};
        use rzk_core::proto::ErrorCode;
        match body {
            ResponseBody::GetData(r) => OkValue {
                data: Some(r.data),
                version: Some(r.stat.version),
                ..OkValue::default()
            },
            ResponseBody::Exists(r) => OkValue {
                version: Some(r.stat.version),
                ..OkValue::default()
            },
            ResponseBody::SetData(r) => OkValue {
                version: Some(r.stat.version),
                ..OkValue::default()
            },
            ResponseBody::Create(r) => OkValue {
                path: Some(r.path),
                ..OkValue::default()
            },
            ResponseBody::Create2(r) => OkValue {
                path: Some(r.path),
                ..OkValue::default()
            },
            ResponseBody::GetChildren(r) => OkValue {
                children: Some(r.children),
                ..OkValue::default()
            },
            ResponseBody::GetChildren2(r) => OkValue {
                children: Some(r.children),
                ..OkValue::default()
            },
            ResponseBody::Multi(results) => {
                let failed = results
                    .iter()
                    .any(|r| matches!(r, MultiResult::Error(e) if *e != ErrorCode::Ok));
                OkValue {
                    version: Some(if failed { -1 } else { 0 }),
                    ..OkValue::default()
                }
            }
            _ => OkValue::default(),
        }
    }
}

/// A field that is there, even as null, is `Some` (see [`OkValue::data`]).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Data>, D::Error> {
    Data::deserialize(d).map(Some)
}
