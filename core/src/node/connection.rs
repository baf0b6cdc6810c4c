//! One client connection: its framing, handshake state, identities, and the queue that keeps replies in
//! request order (ZooKeeper answers each connection FIFO).

use std::collections::VecDeque;

use bytes::Bytes;

use super::stats::ConnStats;
use super::ClientAddr;
use crate::proto::frame::FrameDecoder;
use crate::proto::records::Id;
use crate::proto::request::Request;
use crate::proto::{ErrorCode, OpCode};
use crate::Zxid;

/// Where the connection is in its life.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Nothing received yet: the first frame is a ConnectRequest (or the first 4 bytes a four-letter word).
    AwaitingConnect,
    /// A new session's createSession txn is on its way to the log; requests may already be pipelined.
    Creating {
        session_id: i64,
        timeout: i32,
    },
    Connected {
        session_id: i64,
        timeout: i32,
    },
    /// The handshake named an unknown or expired session; the refusal is queued, nothing else is read.
    Refused,
}

/// One request waiting for its turn to be answered.
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub struct Slot {
    pub xid: i32,
    pub op: OpCode,
    pub received_at: u64,
    pub state: SlotState,
}

#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub enum SlotState {
    /// A read (or ping, setWatches...) answered from the tree when it reaches the head of the queue.
    Deferred(Request),
    /// A write (or session change) a learner forwarded to the leader: answered when the committed txn with
    /// this session's `cxid` is applied here.
    Forwarded { cxid: i32, ops: Vec<OpCode> },
    /// A sync forwarded to the leader: becomes `Sync` once the leader answers.
    ForwardedSync { id: u64, path: String },
    /// A reconnect on a learner, waiting for the leader to say whether the session lives.
    Revalidating { session_id: i64, timeout: i32 },
    /// A reconnect to a session that is being closed: refused (expired) once its close txn is applied, so a
    /// client is never told of an expiry that a crash could still undo.
    Refuse { after: Zxid },
    /// sync: answered once everything proposed before it has been applied.
    Sync { path: String, after: Zxid },
    /// A write: answered when its txn is applied. `ops` are a multi's op codes, for its reply.
    Txn { zxid: Zxid, ops: Vec<OpCode> },
    /// A write's reply is ready; `close` closes the connection after sending it.
    Ready {
        bytes: Bytes,
        zxid: Zxid,
        close: bool,
    },
    /// An answer that needs no txn (an error, an auth reply): encoded when sent, with the zxid the node has
    /// applied by then unless `zxid` fixes it, so a session never sees zxids go back.
    Answer {
        err: ErrorCode,
        zxid: Option<Zxid>,
        close: bool,
    },
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Connection {
    pub addr: ClientAddr,
    /// Before `frames`: a redacting serialization learns from it where the unread input starts.
    #[serde(serialize_with = "state_then_input")]
    pub state: ConnState,
    pub frames: FrameDecoder,
    pub queue: VecDeque<Slot>,
    /// Authenticated identities; every connection has its ip id.
    /// The connection's SASL exchange, once it started.
    pub sasl: Option<super::sasl::SaslState>,
    /// Unpredictable bytes the driver gave this connection (Input::ClientOpened): its SASL nonce.
    pub secret: [u8; 32],
    pub auth: Vec<Id>,
    pub stats: ConnStats,
    /// Reading is paused: too many requests are pending, or a sync waits for the leader's answer.
    pub paused: bool,
    /// The ConnectRequest had no readOnly byte (an old client): the reply leaves it out too.
    pub legacy_handshake: bool,
    /// The session is a read-only one, local to this server (see `read_only`).
    pub read_only: bool,
}

/// Serializes a connection's state, telling a redacting serialization whether the unread input serialized
/// next starts with the handshake.
fn state_then_input<S: serde::Serializer>(state: &ConnState, s: S) -> Result<S::Ok, S::Error> {
    crate::redact::note_handshake(!matches!(state, ConnState::AwaitingConnect));
    serde::Serialize::serialize(state, s)
}

impl Connection {
    pub fn new(addr: ClientAddr, max_frame: usize, now: u64) -> Connection {
        Connection {
            addr,
            frames: FrameDecoder::new(max_frame),
            state: ConnState::AwaitingConnect,
            queue: VecDeque::new(),
            auth: vec![Id {
                scheme: "ip".into(),
                id: addr.ip().to_string(),
            }],
            stats: ConnStats::new(now),
            paused: false,
            legacy_handshake: false,
            secret: [0; 32],
            sasl: None,
            read_only: false,
        }
    }

    /// The session this connection carries, once the handshake began.
    pub fn session_id(&self) -> Option<i64> {
        match self.state {
            ConnState::AwaitingConnect | ConnState::Refused => None,
            ConnState::Creating { session_id, .. } | ConnState::Connected { session_id, .. } => {
                Some(session_id)
            }
        }
    }

    pub fn timeout(&self) -> i32 {
        match self.state {
            ConnState::AwaitingConnect | ConnState::Refused => 0,
            ConnState::Creating { timeout, .. } | ConnState::Connected { timeout, .. } => timeout,
        }
    }
}
