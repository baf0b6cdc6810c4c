//! [`Node`]: one rzk server as a pure state machine. Inputs go in through [`Node::step`]; what must happen
//! comes out as [`Output`]s; [`Node::next_deadline`] says when to call back with [`Input::Tick`].

use std::net::SocketAddr;

use bytes::Bytes;

use crate::config::ServerConfig;
use crate::txn::LoggedTxn;
use crate::Zxid;

/// A client connection, numbered by the driver. Never reused within one node's lifetime.
pub type ConnId = u64;

/// The remote address of a client connection (for ip ACLs, `cons` and maxClientCnxns).
pub type ClientAddr = SocketAddr;

/// Something that happened, fed to [`Node::step`].
#[derive(Debug, Clone)]
pub enum Input {
    /// Time passed; sent when `now >= next_deadline()` (sending it early is harmless).
    Tick,
    /// A client connected.
    ClientOpened { conn: ConnId, addr: ClientAddr },
    /// Bytes arrived from a client, in order. The node does the framing and decoding.
    ClientBytes { conn: ConnId, bytes: Bytes },
    /// The client's socket closed or reset. The node forgets the connection (its session lives on).
    ClientClosed { conn: ConnId },
    /// Every txn handed out in [`Output::AppendLog`] up to and including `zxid` is durable.
    LogSynced { zxid: Zxid },
    /// Host figures the node cannot know by itself, for `mntr` (sent by the driver now and then).
    HostMetrics { open_fds: u64, max_fds: u64 },
}

/// Something the driver must do, produced by [`Node::step`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send bytes to a client, after everything sent to it before.
    ToClient { conn: ConnId, bytes: Bytes },
    /// Send what is queued for the client, then close the connection. The node has already forgotten it.
    CloseClient { conn: ConnId },
    /// Stop (false) or resume (true) reading from a client: backpressure when too many requests are pending.
    ReadInterest { conn: ConnId, enabled: bool },
    /// Persist these txns after all earlier ones, make them durable (fsync), then report
    /// [`Input::LogSynced`] with the highest durable zxid. The driver may batch many appends into one sync.
    AppendLog(Vec<LoggedTxn>),
}

/// What the node needs to know about where it runs, beyond zoo.cfg.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub server: ServerConfig,
    /// myid (0 in standalone mode).
    pub server_id: u64,
    /// `envi` lines the driver knows (host.name, os.name, user.dir, ...).
    pub environment: Vec<(String, String)>,
}

/// One rzk server.
pub struct Node {
    config: NodeConfig,
}

impl Node {
    /// A fresh node at time `now` (ms on this node's clock). `seed` feeds every random choice it makes.
    pub fn new(config: NodeConfig, now: u64, seed: u64) -> Node {
        let _ = (now, seed);
        Node { config }
    }

    /// Feeds one input at time `now`; appends what must happen to `out`.
    pub fn step(&mut self, now: u64, input: Input, out: &mut Vec<Output>) {
        let _ = (now, input, out, &self.config);
        todo!()
    }

    /// When the node next needs an [`Input::Tick`], if ever.
    pub fn next_deadline(&self) -> Option<u64> {
        todo!()
    }
}
