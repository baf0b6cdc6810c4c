//! [`Node`]: one rzk server as a pure state machine. Inputs go in through [`Node::step`]; what must happen
//! comes out as [`Output`]s; [`Node::next_deadline`] says when to call back with [`Input::Tick`].

mod checkpoint;
mod commit;
mod connection;
mod dispatch;
mod ensemble;
mod handshake;
mod overlay;
mod persist;
mod prep;
mod read_only;
mod reads;
mod reaper;
mod report;
mod sasl;
mod sessionless;
mod stats;
mod timers;
mod x509;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use bytes::Bytes;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::config::ServerConfig;
use crate::peer::{PeerMsg, ServerId};
use crate::planted::{Planted, PlantedBug};
use crate::session::SessionTracker;
use crate::tree::DataTree;
use crate::txn::{LoggedTxn, Txn, TxnHeader};
use crate::watch::WatchManager;
use crate::Zxid;
pub use checkpoint::NodeState;
use connection::Connection;
use overlay::Overlay;
use persist::Persistence;
pub use persist::{PersistId, PersistOp};
use sessionless::HandshakeDeadlines;
use stats::ServerStats;

pub use crate::ids::ConnId;
pub use ensemble::ServerMode;

/// The remote address of a client connection (for ip ACLs, `cons` and maxClientCnxns).
pub type ClientAddr = SocketAddr;

/// Something that happened, fed to [`Node::step`]. Serde for the flight recorder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Input {
    /// Time passed; sent when `now >= next_deadline()` (sending it early is harmless).
    Tick,
    /// A client connected. `secret`: unpredictable bytes for this connection (its SASL nonce): OS entropy
    /// in production, seeded bytes in the simulator; never the node's seeded RNG, whose draws a client
    /// could learn to predict.
    ClientOpened {
        conn: ConnId,
        addr: ClientAddr,
        secret: [u8; 32],
    },
    /// Bytes arrived from a client, in order. The node does the framing and decoding.
    ClientBytes { conn: ConnId, bytes: Bytes },
    /// The client's socket closed or reset. The node forgets the connection (its session lives on).
    ClientClosed { conn: ConnId },
    /// A TLS client finished its handshake with a certificate the driver verified; `subject` is its subject
    /// as Java's `X500Principal.getName()` writes it (RFC 2253). Sent before any of its bytes.
    ClientCertificate { conn: ConnId, subject: String },
    /// Every [`Output::Persist`] up to and including `id` is durable.
    Persisted { id: PersistId },
    /// Host figures the node cannot know by itself, for `mntr` (sent by the driver now and then).
    HostMetrics { open_fds: u64, max_fds: u64 },
    /// A message from another server of the ensemble. Messages from one peer arrive in the order sent,
    /// until the link drops.
    PeerMessage { from: ServerId, msg: PeerMsg },
    /// A link to a peer came up (either side may have dialed).
    PeerConnected { peer: ServerId },
    /// The link to a peer dropped; messages in flight on it may be lost.
    PeerDisconnected { peer: ServerId },
    /// An HTTP admin server GET of `target` (e.g. "/commands/mntr", "/metrics"); answered by
    /// [`Output::AdminReply`] with the same `id`.
    AdminCommand { id: u64, target: String },
}

/// Something the driver must do, produced by [`Node::step`].
#[derive(Debug, Clone)]
pub enum Output {
    /// Send bytes to a client, after everything sent to it before.
    ToClient { conn: ConnId, bytes: Bytes },
    /// Write this tree as a snapshot named for `zxid` (it is exact at that zxid), and start a new log file
    /// for the txns after it. Taking it is off the node's path: the tree is a copy.
    Snapshot { zxid: Zxid, tree: Box<DataTree> },
    /// Send what is queued for the client, then close the connection. The node has already forgotten it.
    CloseClient { conn: ConnId },
    /// Send a message to a peer, after everything sent to it before (dropped if there is no link).
    ToPeer { to: ServerId, msg: PeerMsg },
    /// Stop (false) or resume (true) reading from a client: backpressure when too many requests are pending.
    ReadInterest { conn: ConnId, enabled: bool },
    /// Make `op` durable, after every earlier `Persist` (in `id` order), then report [`Input::Persisted`]
    /// (one report may cover many ops; appends may share an fsync). Nothing the node does waits on the
    /// order in which the driver handles outputs: what depends on durability waits for the report (see
    /// `persist`).
    Persist { id: PersistId, op: PersistOp },
    /// The answer to [`Input::AdminCommand`] `id`.
    AdminReply {
        id: u64,
        response: crate::admin::AdminResponse,
    },
}

/// What the node needs to know about where it runs, beyond zoo.cfg.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeConfig {
    pub server: ServerConfig,
    /// myid (0 in standalone mode).
    pub server_id: u64,
    /// `envi` lines the driver knows (host.name, os.name, user.dir, ...).
    pub environment: Vec<(String, String)>,
}

/// What the driver read from disk at startup: the newest valid snapshot and the durable txns after it.
#[derive(Debug, Clone, Default)]
pub struct Recovered {
    /// The tree of the newest valid snapshot; `None` starts from an empty tree.
    pub tree: Option<DataTree>,
    /// Durable txns with zxids above the snapshot's, in order.
    pub txns: Vec<LoggedTxn>,
    /// The newest epoch this server accepted from a prospective leader, and the epoch of the leader it last
    /// synced with (ZooKeeper's acceptedEpoch / currentEpoch files; 0 when absent).
    pub accepted_epoch: u32,
    pub current_epoch: u32,
}

/// One rzk server.
///
/// The request pipeline keeps ZooKeeper's stages visible: [`prep`] validates a write and turns it into a
/// txn against the tree plus the not-yet-applied changes ([`overlay`]); the txn leaves as
/// [`Output::AppendLog`]; once [`Input::LogSynced`] covers it, [`commit`] applies it, fires watches and
/// releases replies in each connection's request order ([`connection`]). Reads are answered by [`reads`].
///
/// Everything but the tree is serde, for the flight recorder's checkpoints (see `checkpoint`): the tree
/// travels as a snapshot beside it.
#[derive(Serialize, Deserialize)]
pub struct Node {
    config: NodeConfig,
    /// The replicated state.
    #[serde(skip)]
    tree: DataTree,
    sessions: SessionTracker,
    watches: WatchManager,
    conns: BTreeMap<ConnId, Connection>,
    /// When each connection still without a handshake is closed.
    handshake_deadlines: HandshakeDeadlines,
    /// Which connection currently holds each session.
    session_conns: BTreeMap<i64, ConnId>,
    overlay: Overlay,
    /// Txns handed to the log and not yet applied, in zxid order, with the connection waiting for each.
    in_flight: VecDeque<InFlight>,
    /// Txns proposed during the current step, emitted as one AppendLog at its end.
    to_log: Vec<LoggedTxn>,
    /// The highest zxid handed out.
    last_proposed: Zxid,
    /// The highest zxid the log reports durable.
    synced: Zxid,
    next_session_id: i64,
    /// Sessions being closed, with the zxid of their close txn.
    closing: BTreeMap<i64, Zxid>,
    next_reap: u64,
    /// Txns applied since the last snapshot, and the count at which the next one is taken.
    since_snapshot: u64,
    snapshot_at: u64,
    stats: ServerStats,
    /// Notifications raised while answering a read, sent before its reply.
    pending_events: Vec<(ConnId, crate::proto::records::WatcherEvent)>,
    host: (Option<u64>, Option<u64>),
    /// When the node started (for `mntr` uptime) and the trace mask `stmk` sets.
    started_at: u64,
    trace_mask: i64,
    /// Classic mistakes switched on for simulator tests (never without the `planted-bugs` feature).
    planted: Planted,
    /// Seeded randomness for every random choice (election jitter, snapshot spacing).
    #[serde(with = "checkpoint::rng")]
    rng: ChaCha8Rng,
    /// Who votes and who observes (`None` for a standalone server), computed once from zoo.cfg.
    #[serde(skip)]
    membership: Option<std::sync::Arc<ensemble::Membership>>,
    /// The ensemble role (standalone without `server.N` lines).
    role: ensemble::Role,
    /// Logged txns not applied yet: recovered ones whose fate the next leader decides.
    pending_log: Vec<LoggedTxn>,
    /// Recent committed txns, for syncing learners with a DIFF.
    committed_log: crate::zab::CommittedLog,
    accepted_epoch: u32,
    current_epoch: u32,
    /// The last election round this server took part in.
    logical_clock: u64,
    /// Peer messages produced during this step, each with the durable write it must wait for, if any.
    peer_out: Vec<(ServerId, Option<PersistId>, PeerMsg)>,
    /// What was emitted for the disk and is not yet reported durable, and the messages waiting for it.
    persistence: Persistence,
    next_ping: u64,
    last_tick: u64,
    /// An election must start at the next tick (set at startup in an ensemble).
    election_due: bool,
    /// The session number of this server's latest term as a learner (drawn at random at startup, then
    /// counted up), so messages of earlier terms are told apart.
    learner_session: u64,
    /// Learner sessions of this server's earlier leader terms (newest last, bounded): a learner session
    /// belongs to one leader term, so a FOLLOWERINFO of one of these (repeated, or late) is ignored, and its
    /// learner, hearing nothing, elects again with a fresh session.
    retired_sessions: VecDeque<(ServerId, u64)>,
    /// Read-only mode: when looking began, and the local sessions of read-only clients.
    read_only: read_only::ReadOnlyMode,
}

/// A txn waiting for durability, and who to answer when it applies.
#[derive(Serialize, Deserialize)]
struct InFlight {
    txn: LoggedTxn,
    origin: Option<ConnId>,
}

impl Node {
    /// A node at time `now` (ms on this node's clock), starting from what was recovered from disk.
    /// `seed` feeds every random choice it makes.
    pub fn new(config: NodeConfig, recovered: Recovered, now: u64, seed: u64) -> Node {
        let tick = config.server.tick_time as u64;
        let check_interval = config.server.container_check_interval_ms.max(1) as u64;
        let mut tree = recovered.tree.unwrap_or_default();
        let ensemble = !config.server.servers.is_empty();
        let mut pending_log = Vec::new();
        for t in recovered.txns {
            if t.header.zxid <= tree.last_zxid() {
                continue;
            }
            if ensemble {
                // In an ensemble the next leader decides which logged txns are committed.
                pending_log.push(t);
            } else {
                tree.apply(&t.header, &t.txn);
            }
        }
        // Recovered sessions get a full timeout from now to reconnect, as in ZooKeeper.
        let mut sessions = SessionTracker::new(tick);
        for (&id, &timeout) in tree.sessions() {
            sessions.add(id, timeout, now);
        }
        let last = tree.last_zxid();
        // What was recovered from the log is durable.
        let durable = pending_log
            .last()
            .map_or(last, |t: &LoggedTxn| t.header.zxid);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let snapshot_at = snapshot_interval(config.server.snap_count, &mut rng);
        let learner_session = rng.next_u64();
        Node {
            tree,
            sessions,
            watches: WatchManager::default(),
            conns: BTreeMap::new(),
            handshake_deadlines: HandshakeDeadlines::default(),
            session_conns: BTreeMap::new(),
            overlay: Overlay::default(),
            in_flight: VecDeque::new(),
            to_log: Vec::new(),
            last_proposed: last,
            synced: durable,
            next_session_id: crate::session::initial_session_id(config.server_id, now),
            closing: BTreeMap::new(),
            next_reap: now + check_interval,
            since_snapshot: 0,
            snapshot_at,
            stats: ServerStats::default(),
            pending_events: Vec::new(),
            host: (None, None),
            rng,
            started_at: now,
            planted: Planted::default(),
            trace_mask: crate::four_letter::DEFAULT_TRACE_MASK,
            role: ensemble::Role::Standalone,
            membership: ensemble::Membership::from_config(&config.server, config.server_id)
                .map(std::sync::Arc::new),
            committed_log: crate::zab::CommittedLog::new(last, 10_000),
            pending_log,
            accepted_epoch: recovered.accepted_epoch,
            current_epoch: recovered.current_epoch,
            logical_clock: 0,
            peer_out: Vec::new(),
            persistence: Persistence::new(durable),
            next_ping: now,
            last_tick: now,
            election_due: ensemble,
            learner_session,
            retired_sessions: VecDeque::new(),
            read_only: read_only::ReadOnlyMode::new(tick),
            config,
        }
    }

    /// Feeds one input at time `now`; appends what must happen to `out`.
    pub fn step(&mut self, now: u64, input: Input, out: &mut Vec<Output>) {
        if now < self.last_tick {
            // The clock stepped back (the simulator's jumps; production's clock is monotonic): the last tick,
            // and the ping armed from it, lie ahead, and the node would not tick (a leader would stop
            // pinging its learners) until the clock caught up. Re-arm them from `now`.
            let half_tick = (self.config.server.tick_time as u64 / 2).max(1);
            self.last_tick = now;
            self.next_ping = self.next_ping.min(now + half_tick);
        }
        match input {
            Input::Tick => self.on_tick(now, out),
            Input::ClientOpened { conn, addr, secret } => {
                let max = self.config.server.jute_max_buffer;
                let mut c = Connection::new(addr, max, now);
                c.secret = secret;
                self.conns.insert(conn, c);
                let timeout = self.config.server.sessionless_cnxn_timeout as u64;
                self.handshake_deadlines.opened(conn, now + timeout);
            }
            Input::ClientBytes { conn, bytes } => self.on_client_bytes(now, conn, &bytes, out),
            Input::ClientClosed { conn } => self.forget_conn(conn),
            Input::ClientCertificate { conn, subject } => {
                self.on_client_certificate(conn, subject, out)
            }
            Input::Persisted { id } => self.on_persisted(now, id, out),
            Input::HostMetrics { open_fds, max_fds } => self.host = (Some(open_fds), Some(max_fds)),
            Input::PeerMessage { from, msg } => self.on_peer_message(now, from, msg, out),
            Input::PeerConnected { peer } => {
                if let ensemble::Role::Looking(e) = &self.role {
                    // Tell a peer that just came up where we stand, rather than wait for a re-send.
                    let n = e.notification();
                    self.peer_out.push((peer, None, PeerMsg::Election(n)));
                }
            }
            Input::PeerDisconnected { peer } => self.on_peer_down(now, peer, out),
            Input::AdminCommand { id, target } => self.answer_admin(now, id, &target, out),
        }
        self.leader_end_step(now, out);
        self.flush_log(out);
        self.flush_peer_messages(out);
        if self.planted.has(PlantedBug::AckBeforeFsync) && self.synced < self.last_proposed {
            // Planted: treat what was just handed to the log as durable.
            let zxid = self.last_proposed;
            self.on_log_synced(now, zxid, out);
        }
    }

    /// Switches planted bugs on, right after construction (recovery-time bugs act now).
    pub fn plant(&mut self, planted: Planted) {
        if planted.has(PlantedBug::SeqCounterNotRestored) {
            // Rebuild the recovered tree with every stored child-version counter at zero.
            let mut snap = crate::zab::SnapshotData::of(&self.tree);
            for node in &mut snap.nodes {
                node.3.cversion = 0;
            }
            if let Ok(tree) = snap.restore() {
                self.tree = tree;
            }
        }
        if planted.has(PlantedBug::QuorumCountsObservers) {
            let (server, me) = (&self.config.server, self.config.server_id);
            self.membership =
                ensemble::Membership::build(server, me, true).map(std::sync::Arc::new);
        }
        self.planted = planted;
    }

    /// What `srvr` prints as Mode: standalone, leader, follower, observer or looking.
    pub fn mode(&self) -> &'static str {
        self.server_mode().name()
    }

    /// The replicated tree (for tests, the simulator's checkers and tools).
    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    /// The node's configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// Hands a txn to the log. Returns its zxid.
    fn propose(
        &mut self,
        now: u64,
        session_id: i64,
        cxid: i32,
        txn: Txn,
        origin: Option<ConnId>,
    ) -> Zxid {
        let zxid = self.last_proposed + 1;
        self.last_proposed = zxid;
        let header = TxnHeader {
            session_id,
            cxid,
            zxid,
            time: now as i64,
        };
        let logged = LoggedTxn { header, txn };
        if let ensemble::Role::Leading(l) = &mut self.role {
            l.acks.propose(zxid);
            l.proposed(logged.jute_size());
            let learners: Vec<ServerId> = l.synced_learners();
            for p in learners {
                self.send(
                    p,
                    crate::zab::ZabMsg::Proposal {
                        txn: logged.clone(),
                    },
                );
            }
        }
        self.to_log.push(logged.clone());
        self.in_flight.push_back(InFlight {
            txn: logged,
            origin,
        });
        zxid
    }

    fn flush_log(&mut self, out: &mut Vec<Output>) {
        if !self.to_log.is_empty() {
            let txns = std::mem::take(&mut self.to_log);
            self.persist(PersistOp::Append(txns), out);
        }
    }

    /// Emits a persistence op, after the appends this step has gathered so far (ids follow emission order).
    fn persist(&mut self, op: PersistOp, out: &mut Vec<Output>) -> PersistId {
        if !matches!(op, PersistOp::Append(_)) {
            self.flush_log(out);
        }
        let id = self.persistence.emit(&op);
        if matches!(op, PersistOp::Truncate { .. } | PersistOp::Install { .. }) {
            // Nothing above the truncation point, or of the history being replaced, is durable any more.
            self.synced = self.synced.min(self.persistence.durable_log_end());
        }
        out.push(Output::Persist { id, op });
        id
    }

    /// The driver made ops durable: count what became durable, release what waited for it.
    fn on_persisted(&mut self, now: u64, id: PersistId, out: &mut Vec<Output>) {
        self.persistence.completed(id);
        for (to, msg) in self.persistence.release() {
            out.push(Output::ToPeer { to, msg });
        }
        let end = self.persistence.durable_log_end();
        if end > self.synced {
            self.on_log_synced(now, end, out);
        }
    }

    /// Peer messages of this step: Zab messages go through `persistence` (which holds those that must wait
    /// for a durable write, and everything behind them on the same link); votes go at once.
    fn flush_peer_messages(&mut self, out: &mut Vec<Output>) {
        let persistence = &mut self.persistence;
        for (to, after, msg) in self.peer_out.drain(..) {
            let ready = if msg.is_election() {
                Some((to, msg))
            } else {
                persistence.send(to, after, msg)
            };
            if let Some((to, msg)) = ready {
                out.push(Output::ToPeer { to, msg });
            }
        }
    }

    /// Emits a snapshot once enough txns were applied since the last one.
    fn maybe_snapshot(&mut self, out: &mut Vec<Output>) {
        if self.since_snapshot >= self.snapshot_at {
            self.since_snapshot = 0;
            self.snapshot_at = snapshot_interval(self.config.server.snap_count, &mut self.rng);
            let zxid = self.tree.last_zxid();
            out.push(Output::Snapshot {
                zxid,
                tree: Box::new(self.tree.clone()),
            });
        }
    }

    fn forget_conn(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.remove(&conn) {
            if let Some(session) = c.session_id() {
                if self.session_conns.get(&session) == Some(&conn) {
                    self.session_conns.remove(&session);
                }
            }
            self.watches.remove_conn(conn);
        }
    }

    /// Closes a connection after what was already queued for it.
    fn close_conn(&mut self, conn: ConnId, out: &mut Vec<Output>) {
        if self.conns.contains_key(&conn) {
            self.forget_conn(conn);
            out.push(Output::CloseClient { conn });
        }
    }
}
/// Txns between snapshots: uniform in [snapCount/2 + 1, snapCount], as ZooKeeper spaces them so that the
/// servers of an ensemble do not all snapshot at once.
fn snapshot_interval(snap_count: u64, rng: &mut ChaCha8Rng) -> u64 {
    use rand_core::RngCore;
    let half = (snap_count / 2).max(1);
    half + 1 + rng.next_u64() % half
}

#[cfg(test)]
mod ensemble_tests;
#[cfg(test)]
mod tests;
