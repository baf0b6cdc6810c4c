//! Zab and leader-election tests on real [`Node`]s: a tiny deterministic cluster in which the test plays
//! the network (FIFO per link, links can be cut), each server's disk and the shared clock.
//!
//! Unequal histories are set up by starting servers from prepared logs ([`Recovered`]); writes during a
//! test go through the client protocol. Time is simulated: nothing here depends on wall-clock speed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::Data;
use bytes::Bytes;

use super::*;
use crate::config::{PeerType, ServerSpec};
use crate::proto::client::{decode_connect_response, decode_reply, frame_connect, frame_request};
use crate::proto::records::{ConnectRequest, CreateRequest};
use crate::proto::request::{Request, RequestBody};
use crate::proto::OpCode;
use crate::zab::ZabMsg;
use crate::zxid;

/// What one server has on disk.
#[derive(Default)]
struct Disk {
    snapshot: Option<DataTree>,
    log: Vec<LoggedTxn>,
    accepted_epoch: u32,
    current_epoch: u32,
    /// A slow disk holds back its appends' durability (and so that of every op after them) until
    /// [`Cluster::flush`]; other ops before the first held append are reported as usual.
    slow: bool,
    /// A slow disk holds an append not yet reported.
    holding: bool,
    /// A stalled disk reports nothing at all until [`Cluster::flush`].
    stalled: bool,
    /// The newest zxid reported durable: a crash loses what was logged after it.
    durable: Zxid,
    /// The newest op written, and whether it is an append not yet reported durable.
    last_id: Option<PersistId>,
}

impl Disk {
    fn recovered(&self) -> Recovered {
        let base = self.snapshot.as_ref().map_or(0, |t| t.last_zxid());
        Recovered {
            tree: self.snapshot.clone(),
            txns: self
                .log
                .iter()
                .filter(|t| t.header.zxid > base)
                .cloned()
                .collect(),
            accepted_epoch: self.accepted_epoch,
            current_epoch: self.current_epoch,
        }
    }

    fn has(&self, z: Zxid) -> bool {
        self.log.iter().any(|t| t.header.zxid == z)
    }
}

/// N servers, the messages between them, their disks and one clock.
struct Cluster {
    now: u64,
    config: ServerConfig,
    /// `None` while crashed.
    nodes: BTreeMap<ServerId, Option<Node>>,
    disks: BTreeMap<ServerId, Disk>,
    /// Peer messages in flight, in send order (so FIFO on every link).
    queue: VecDeque<(ServerId, ServerId, PeerMsg)>,
    /// Servers cut off from every other.
    cut: BTreeSet<ServerId>,
    /// Every Zab message delivered: (from, to, kind).
    trace: Vec<(ServerId, ServerId, &'static str)>,
    /// Bytes each client connection received, by (server, connection).
    inbox: BTreeMap<(ServerId, ConnId), Vec<u8>>,
    /// Client connections the servers closed.
    closed: BTreeSet<ConnId>,
    next_conn: ConnId,
    starts: u64,
}

const START: u64 = 1_000;
/// Simulated time a `run_until` may take before the test fails.
const PATIENCE_MS: u64 = 120_000;

impl Cluster {
    /// `n` servers with ids 1..=n, each starting from what `recovered(id)` returns.
    fn new(n: u64, recovered: impl Fn(ServerId) -> Recovered) -> Cluster {
        let mut config = ServerConfig::default_standalone();
        config.tick_time = 100;
        config.init_limit = 10;
        config.sync_limit = 5;
        config.servers = (1..=n)
            .map(|id| ServerSpec {
                id,
                host: format!("10.0.0.{id}"),
                quorum_port: 2888,
                election_port: 3888,
                peer_type: PeerType::Participant,
                client_address: None,
                client_port: None,
            })
            .collect();
        let mut c = Cluster {
            now: START,
            config,
            nodes: BTreeMap::new(),
            disks: BTreeMap::new(),
            queue: VecDeque::new(),
            cut: BTreeSet::new(),
            trace: Vec::new(),
            inbox: BTreeMap::new(),
            closed: BTreeSet::new(),
            next_conn: 1,
            starts: 0,
        };
        for id in 1..=n {
            let r = recovered(id);
            let disk = Disk {
                snapshot: r.tree.clone(),
                log: r.txns.clone(),
                accepted_epoch: r.accepted_epoch,
                current_epoch: r.current_epoch,
                slow: false,
                holding: false,
                stalled: false,
                durable: r.txns.last().map_or(0, |t| t.header.zxid),
                last_id: None,
            };
            c.disks.insert(id, disk);
            c.nodes.insert(id, None);
            c.restart(id);
        }
        c
    }

    fn ids(&self) -> Vec<ServerId> {
        self.nodes.keys().copied().collect()
    }

    fn is_up(&self, id: ServerId) -> bool {
        matches!(self.nodes.get(&id), Some(Some(_)))
    }

    /// Up and not cut off: the servers that take part.
    fn live(&self) -> Vec<ServerId> {
        self.ids()
            .into_iter()
            .filter(|id| self.is_up(*id) && !self.cut.contains(id))
            .collect()
    }

    fn linked(&self, a: ServerId, b: ServerId) -> bool {
        a != b
            && [a, b]
                .iter()
                .all(|id| self.is_up(*id) && !self.cut.contains(id))
    }

    fn node(&self, id: ServerId) -> &Node {
        self.nodes[&id].as_ref().expect("server is up")
    }

    fn tree(&self, id: ServerId) -> &DataTree {
        self.node(id).tree()
    }

    /// The live server that leads, if exactly one does.
    fn leader(&self) -> Option<ServerId> {
        let leaders: Vec<ServerId> = self
            .live()
            .into_iter()
            .filter(|id| self.node(*id).server_mode() == ServerMode::Leading)
            .collect();
        (leaders.len() == 1).then(|| leaders[0])
    }

    /// One leader, everyone else live following it, and every live tree equal at a zxid >= `at_least`.
    fn in_sync(&self, at_least: Zxid) -> bool {
        let live = self.live();
        let Some(first) = live.first() else {
            return false;
        };
        let (digest, last) = (self.tree(*first).digest(), self.tree(*first).last_zxid());
        self.leader().is_some()
            && live.iter().all(|id| {
                let n = self.node(*id);
                matches!(n.server_mode(), ServerMode::Leading | ServerMode::Following)
                    && n.tree().digest() == digest
                    && n.tree().last_zxid() == last
            })
            && last >= at_least
    }

    /// Feeds one input to a server and plays out what it asks for (disk and network).
    fn step(&mut self, id: ServerId, input: Input) {
        let now = self.now;
        let mut input = Some(input);
        while let Some(i) = input.take() {
            let Some(Some(node)) = self.nodes.get_mut(&id) else {
                return;
            };
            let mut out = Vec::new();
            node.step(now, i, &mut out);
            input = self.absorb(id, out);
        }
    }

    /// Plays out a server's outputs; returns the `Persisted` to feed back, if its disk is fast.
    fn absorb(&mut self, id: ServerId, out: Vec<Output>) -> Option<Input> {
        let mut written = None;
        for o in out {
            let disk = self.disks.get_mut(&id).expect("disk");
            match o {
                Output::ToPeer { to, msg } => {
                    if self.linked(id, to) {
                        self.queue.push_back((id, to, msg));
                    }
                }
                Output::Persist { id: op_id, op } => {
                    assert!(disk.last_id < Some(op_id), "ops are numbered in order");
                    disk.last_id = Some(op_id);
                    if disk.slow && matches!(op, PersistOp::Append(_)) {
                        disk.holding = true;
                    }
                    if !disk.holding && !disk.stalled {
                        written = Some(op_id);
                    }
                    match op {
                        PersistOp::Append(txns) => {
                            for t in txns {
                                let last = disk.log.last().map_or(0, |l| l.header.zxid);
                                assert!(
                                    t.header.zxid > last,
                                    "server {id} appends 0x{:x} after 0x{last:x}",
                                    t.header.zxid
                                );
                                disk.log.push(t);
                            }
                        }
                        PersistOp::SaveEpochs { accepted, current } => {
                            disk.accepted_epoch = accepted;
                            disk.current_epoch = current;
                        }
                        PersistOp::Truncate { zxid } => {
                            disk.log.retain(|t| t.header.zxid <= zxid);
                            disk.durable = disk.durable.min(zxid);
                        }
                        PersistOp::Install { tree, .. } => {
                            disk.snapshot = Some(*tree);
                            disk.log.clear();
                        }
                    }
                }
                Output::Snapshot { tree, .. } => disk.snapshot = Some(*tree),
                Output::ToClient { conn, bytes } => self
                    .inbox
                    .entry((id, conn))
                    .or_default()
                    .extend_from_slice(&bytes),
                Output::CloseClient { conn } => {
                    self.closed.insert(conn);
                }
                Output::ReadInterest { .. } | Output::AdminReply { .. } => {}
            }
        }
        let disk = self.disks.get_mut(&id).expect("disk");
        let op_id = written?;
        if !disk.slow {
            disk.durable = disk.log.last().map_or(0, |t| t.header.zxid);
        }
        Some(Input::Persisted { id: op_id })
    }

    /// Delivers the oldest message in flight; false if there is none.
    fn deliver_one(&mut self) -> bool {
        let Some((from, to, msg)) = self.queue.pop_front() else {
            return false;
        };
        if self.linked(from, to) {
            if let PeerMsg::Zab { msg: m, .. } = &msg {
                self.trace.push((from, to, kind(m)));
            }
            self.step(to, Input::PeerMessage { from, msg });
        }
        true
    }

    /// Moves the clock to the earliest deadline and ticks the servers that are due.
    fn advance(&mut self) {
        let due = self
            .ids()
            .into_iter()
            .filter(|id| self.is_up(*id))
            .filter_map(|id| self.node(id).next_deadline())
            .min();
        self.now = due.map_or(self.now + 100, |d| d.max(self.now));
        for id in self.ids() {
            if self.is_up(id) && self.node(id).next_deadline().is_some_and(|d| d <= self.now) {
                self.step(id, Input::Tick);
            }
        }
    }

    /// Runs the cluster (messages first, then time) until `done` holds.
    fn run_until(&mut self, what: &str, done: impl Fn(&Cluster) -> bool) {
        let give_up = self.now + PATIENCE_MS;
        while !done(self) {
            assert!(
                self.now <= give_up,
                "{what}: not reached in {PATIENCE_MS} simulated ms"
            );
            if !self.deliver_one() {
                self.advance();
            }
        }
    }

    /// Runs the cluster for `ms` of simulated time.
    fn run_for(&mut self, ms: u64) {
        let end = self.now + ms;
        while self.now < end {
            if !self.deliver_one() {
                self.advance();
            }
        }
    }

    /// Drops every message in flight to or from `id`.
    fn drop_messages_of(&mut self, id: ServerId) {
        self.queue.retain(|(from, to, _)| *from != id && *to != id);
    }

    /// Tells `id` and its linked peers that their links are down (`up` false) or up.
    fn links_changed(&mut self, id: ServerId, up: bool) {
        for p in self.ids() {
            if p == id || !self.is_up(p) || self.cut.contains(&p) {
                continue;
            }
            let (to_p, to_id) = if up {
                (
                    Input::PeerConnected { peer: id },
                    Input::PeerConnected { peer: p },
                )
            } else {
                (
                    Input::PeerDisconnected { peer: id },
                    Input::PeerDisconnected { peer: p },
                )
            };
            self.step(p, to_p);
            self.step(id, to_id);
        }
    }

    /// Cuts `id` off: its messages in flight are lost, and both sides see the links drop.
    fn cut(&mut self, id: ServerId) {
        self.drop_messages_of(id);
        self.links_changed(id, false);
        self.cut.insert(id);
    }

    fn heal(&mut self, id: ServerId) {
        self.cut.remove(&id);
        self.links_changed(id, true);
    }

    /// Stops `id` at once: what it sent but was not delivered is lost, and so is what its disk had not
    /// made durable.
    fn crash(&mut self, id: ServerId) {
        self.drop_messages_of(id);
        if let Some(d) = self.disks.get_mut(&id) {
            let durable = d.durable;
            d.log.retain(|t| t.header.zxid <= durable);
        }
        self.nodes.insert(id, None);
        self.inbox.retain(|(s, _), _| *s != id);
        for p in self.ids() {
            if p != id && self.is_up(p) && !self.cut.contains(&p) {
                self.step(p, Input::PeerDisconnected { peer: id });
            }
        }
    }

    /// Starts `id` from what its disk holds.
    fn restart(&mut self, id: ServerId) {
        let config = NodeConfig {
            server: self.config.clone(),
            server_id: id,
            environment: Vec::new(),
        };
        self.starts += 1;
        let seed = id * 1_000 + self.starts;
        let node = Node::new(config, self.disks[&id].recovered(), self.now, seed);
        self.nodes.insert(id, Some(node));
        // A new node numbers its persistence ops from the start.
        if let Some(d) = self.disks.get_mut(&id) {
            d.last_id = None;
            d.holding = false;
        }
        if !self.cut.contains(&id) {
            self.links_changed(id, true);
        }
    }

    /// Makes `id`'s disk report durability (`slow` false) or hold it back.
    fn set_slow_disk(&mut self, id: ServerId, slow: bool) {
        if let Some(d) = self.disks.get_mut(&id) {
            d.slow = slow;
        }
    }

    /// A slow disk finishes its writes.
    fn flush(&mut self, id: ServerId) {
        let Some(d) = self.disks.get_mut(&id) else {
            return;
        };
        d.durable = d.log.last().map_or(0, |t| t.header.zxid);
        d.holding = false;
        d.stalled = false;
        if let Some(op_id) = d.last_id {
            self.step(id, Input::Persisted { id: op_id });
        }
    }

    // A client, on the wire protocol.

    fn frames(&self, id: ServerId, conn: ConnId) -> Vec<Bytes> {
        let buf = self.inbox.get(&(id, conn)).cloned().unwrap_or_default();
        let mut frames = Vec::new();
        let mut rest = &buf[..];
        while rest.len() >= 4 {
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            if rest.len() < 4 + len {
                break;
            }
            frames.push(Bytes::copy_from_slice(&rest[4..4 + len]));
            rest = &rest[4 + len..];
        }
        frames
    }

    /// Opens a client session on server `id` and waits for it to be established (a server that does not
    /// serve yet closes the connection: the client tries again a tick later).
    fn connect(&mut self, id: ServerId) -> ConnId {
        let give_up = self.now + PATIENCE_MS;
        loop {
            assert!(self.now <= give_up, "no session on server {id}");
            let conn = self.next_conn;
            self.next_conn += 1;
            let addr = "127.0.0.1:40000".parse().expect("address");
            self.step(
                id,
                Input::ClientOpened {
                    conn,
                    addr,
                    secret: [conn as u8; 32],
                },
            );
            let req = ConnectRequest {
                time_out: 2_000,
                passwd: Bytes::from_static(&[0; 16]),
                ..Default::default()
            };
            let bytes = frame_connect(&req);
            self.step(id, Input::ClientBytes { conn, bytes });
            self.run_until("session answered", |c| {
                !c.frames(id, conn).is_empty() || c.closed.contains(&conn)
            });
            if let Some(first) = self.frames(id, conn).first() {
                let resp = decode_connect_response(first.clone()).expect("connect response");
                if resp.session_id != 0 {
                    return conn;
                }
            }
            self.run_for(100);
        }
    }

    /// Sends a create of `path` on `conn` (request number `xid`) without running the cluster.
    fn send_create(&mut self, id: ServerId, conn: ConnId, xid: i32, path: &str) {
        let body = RequestBody::Create(CreateRequest {
            path: path.into(),
            data: Data::from_static(b"v"),
            acl: crate::acl::open_acl_unsafe(),
            flags: 0,
        });
        let bytes = frame_request(&Request {
            xid,
            op: OpCode::Create,
            body,
        });
        self.step(id, Input::ClientBytes { conn, bytes });
    }

    /// Whether the create with `xid` was answered, and succeeded.
    fn create_ok(&self, id: ServerId, conn: ConnId, xid: i32) -> bool {
        self.frames(id, conn)
            .into_iter()
            .skip(1)
            .any(|f| decode_reply(f, OpCode::Create).is_ok_and(|(h, _)| h.xid == xid && h.err == 0))
    }

    /// Creates `path` through a new client on server `id` and waits for the success reply.
    fn write(&mut self, id: ServerId, path: &str) {
        let conn = self.connect(id);
        self.send_create(id, conn, 1, path);
        self.run_until("write acknowledged", |c| c.create_ok(id, conn, 1));
    }

    fn sent(&self, from: ServerId, what: &str) -> bool {
        self.trace.iter().any(|(f, _, k)| *f == from && *k == what)
    }

    fn received(&self, to: ServerId, what: &str) -> bool {
        self.trace.iter().any(|(_, t, k)| *t == to && *k == what)
    }
}

fn kind(m: &ZabMsg) -> &'static str {
    match m {
        ZabMsg::FollowerInfo { .. } => "FOLLOWERINFO",
        ZabMsg::LeaderInfo { .. } => "LEADERINFO",
        ZabMsg::AckEpoch { .. } => "ACKEPOCH",
        ZabMsg::Diff { .. } => "DIFF",
        ZabMsg::Trunc { .. } => "TRUNC",
        ZabMsg::Snap { .. } => "SNAP",
        ZabMsg::NewLeader { .. } => "NEWLEADER",
        ZabMsg::AckNewLeader { .. } => "ACKNEWLEADER",
        ZabMsg::UpToDate { .. } => "UPTODATE",
        ZabMsg::Proposal { .. } => "PROPOSAL",
        ZabMsg::Ack { .. } => "ACK",
        ZabMsg::Commit { .. } => "COMMIT",
        ZabMsg::Ping { .. } => "PING",
        _ => "other",
    }
}

/// The prepared txn with zxid (epoch, counter): it creates `/t{epoch}-{counter}`.
fn txn(epoch: u32, counter: u32, parent_cversion: i32) -> LoggedTxn {
    LoggedTxn {
        header: TxnHeader {
            session_id: 0,
            cxid: 0,
            zxid: zxid::make(epoch, counter),
            time: 1,
        },
        txn: Txn::Create {
            path: path(epoch, counter),
            data: Data::from_static(b"x"),
            acl: crate::acl::open_acl_unsafe(),
            ephemeral_owner: 0,
            parent_cversion,
        },
    }
}

fn path(epoch: u32, counter: u32) -> String {
    format!("/t{epoch}-{counter}")
}

/// A log of the given zxids, in order (each create bumps the root's cversion).
fn log(zxids: &[(u32, u32)]) -> Vec<LoggedTxn> {
    zxids
        .iter()
        .enumerate()
        .map(|(i, &(e, c))| txn(e, c, i as i32 + 1))
        .collect()
}

/// Counters 1..=n of `epoch`.
fn epoch_zxids(epoch: u32, n: u32) -> Vec<(u32, u32)> {
    (1..=n).map(|c| (epoch, c)).collect()
}

/// A server that logged `zxids` and last synced with the leader of `epoch`.
fn logged(zxids: &[(u32, u32)], epoch: u32) -> Recovered {
    Recovered {
        tree: None,
        txns: log(zxids),
        accepted_epoch: epoch,
        current_epoch: epoch,
    }
}

fn tree_of(txns: &[LoggedTxn]) -> DataTree {
    let mut t = DataTree::default();
    for x in txns {
        t.apply(&x.header, &x.txn);
    }
    t
}

#[test]
fn a_follower_a_few_txns_behind_is_synced_by_diff() {
    let mut c = Cluster::new(3, |id| {
        let n = if id == 3 { 3 } else { 6 };
        logged(&epoch_zxids(1, n), 1)
    });
    c.run_until("synced", |c| c.in_sync(zxid::make(1, 6)));
    assert_eq!(c.leader(), Some(2), "equal logs: the highest id leads");
    assert!(c.received(3, "DIFF"));
    assert!(!c.received(3, "SNAP") && !c.received(3, "TRUNC"));
    let expected = tree_of(&log(&epoch_zxids(1, 6)));
    for id in c.ids() {
        assert_eq!(c.tree(id).digest(), expected.digest(), "server {id}");
        assert!(c.tree(id).get(&path(1, 6)).is_some());
    }
    // The diffed txns reached server 3's disk.
    assert!(c.disks[&3].has(zxid::make(1, 6)));
}

#[test]
fn an_uncommitted_old_epoch_txn_is_truncated() {
    // Server 3 alone logged (1,5); it is down while 1 and 2 elect and move to epoch 2.
    let mut c = Cluster::new(3, |id| {
        let n = if id == 3 { 5 } else { 4 };
        logged(&epoch_zxids(1, n), 1)
    });
    c.crash(3);
    c.run_until("1 and 2 synced", |c| c.in_sync(zxid::make(1, 4)));
    c.restart(3);
    c.run_until("all synced", |c| {
        c.live().len() == 3 && c.in_sync(zxid::make(1, 4))
    });
    assert!(c.received(3, "TRUNC"));
    assert!(!c.received(3, "SNAP"));
    assert!(c.tree(3).get(&path(1, 5)).is_none());
    assert!(!c.disks[&3].has(zxid::make(1, 5)), "truncated from the log");
    assert_eq!(c.tree(3).last_zxid(), zxid::make(1, 4));
    for id in c.ids() {
        assert_eq!(c.tree(id).digest(), c.tree(1).digest());
    }
    // After a restart, server 3 recovers the truncated history, not the dropped txn.
    c.crash(3);
    assert!(c.disks[&3]
        .recovered()
        .txns
        .iter()
        .all(|t| t.header.zxid <= zxid::make(1, 4)));
}

#[test]
fn a_follower_behind_the_leaders_snapshot_gets_a_snap() {
    // 1 and 2 start from a snapshot at (1,6) with no log after it; 3 is empty.
    let snapshot = tree_of(&log(&epoch_zxids(1, 6)));
    let mut c = Cluster::new(3, |id| match id {
        3 => Recovered::default(),
        _ => Recovered {
            tree: Some(snapshot.clone()),
            txns: Vec::new(),
            accepted_epoch: 1,
            current_epoch: 1,
        },
    });
    c.run_until("synced", |c| c.in_sync(zxid::make(1, 6)));
    assert_eq!(c.leader(), Some(2));
    assert!(c.received(3, "SNAP"));
    assert!(!c.received(1, "SNAP"), "server 1 is at the snapshot's zxid");
    assert_eq!(c.tree(3).digest(), snapshot.digest());
    let installed = c.disks[&3].snapshot.as_ref().map(|t| t.digest());
    assert_eq!(
        installed,
        Some(snapshot.digest()),
        "the snapshot is durable"
    );
    // Restarted, server 3 comes back from the installed snapshot alone.
    c.crash(3);
    c.restart(3);
    c.run_until("resynced", |c| {
        c.live().len() == 3 && c.in_sync(zxid::make(1, 6))
    });
}

#[test]
fn the_most_up_to_date_server_is_elected_not_the_highest_id() {
    let mut c = Cluster::new(3, |id| {
        let n = if id == 1 { 5 } else { 3 };
        logged(&epoch_zxids(1, n), 1)
    });
    c.run_until("synced", |c| c.in_sync(zxid::make(1, 5)));
    assert_eq!(c.leader(), Some(1));
    for id in c.ids() {
        assert!(c.tree(id).get(&path(1, 5)).is_some(), "server {id}");
    }
}

#[test]
fn a_newer_epoch_beats_a_longer_log_of_an_older_one() {
    // Server 1 synced with epoch 2's leader; server 3 logged more txns of epoch 1 that were never committed.
    let mut c = Cluster::new(3, |id| match id {
        1 => logged(&[(1, 1), (1, 2), (1, 3), (2, 1)], 2),
        2 => logged(&[(1, 1), (1, 2), (1, 3)], 1),
        _ => logged(&epoch_zxids(1, 9), 1),
    });
    c.run_until("synced", |c| c.in_sync(zxid::make(2, 1)));
    assert_eq!(c.leader(), Some(1));
    assert!(c.received(3, "TRUNC"));
    for id in c.ids() {
        assert!(c.tree(id).get(&path(2, 1)).is_some(), "server {id}");
        assert!(c.tree(id).get(&path(1, 4)).is_none(), "server {id}");
        assert_eq!(c.tree(id).last_zxid(), zxid::make(2, 1));
    }
}

#[test]
fn a_leader_crash_after_a_proposal_only_it_logged_keeps_the_ensemble_consistent() {
    let mut c = Cluster::new(3, |_| Recovered::default());
    c.run_until("elected", |c| c.leader().is_some());
    let old = c.leader().expect("leader");
    c.write(old, "/a");
    let settled = c.tree(old).last_zxid();
    c.run_until("/a everywhere", |c| c.in_sync(settled));

    // The leader logs a write, and crashes before any of its messages leave.
    let conn = c.connect(old);
    c.send_create(old, conn, 1, "/lost");
    let lost = c.disks[&old].log.last().expect("logged").header.zxid;
    assert!(
        !c.create_ok(old, conn, 1),
        "not committed by the leader alone"
    );
    c.crash(old);

    c.run_until("new leader", |c| {
        c.leader().is_some_and(|l| l != old) && c.in_sync(settled)
    });
    let new = c.leader().expect("leader");
    c.write(new, "/after");
    assert!(c.tree(new).get("/lost").is_none());

    c.restart(old);
    c.run_until("old leader synced", |c| {
        c.live().len() == 3
            && c.in_sync(0)
            && c.ids().iter().all(|id| c.tree(*id).get("/after").is_some())
    });
    assert_eq!(c.leader(), Some(new));
    assert!(
        c.received(old, "TRUNC"),
        "the old leader drops its unreplicated txn"
    );
    let (digest, last) = (c.tree(new).digest(), c.tree(new).last_zxid());
    for id in c.ids() {
        assert_eq!(c.tree(id).digest(), digest, "server {id}");
        assert_eq!(c.tree(id).last_zxid(), last, "server {id}");
        assert!(c.tree(id).get("/lost").is_none(), "server {id}");
        assert!(
            !c.disks[&id].has(lost),
            "server {id} still logs the lost txn"
        );
    }
}

#[test]
fn a_write_acknowledged_by_a_quorum_survives_a_leader_failover() {
    let mut c = Cluster::new(3, |_| Recovered::default());
    c.run_until("elected", |c| c.leader().is_some());
    let old = c.leader().expect("leader");
    let conn = c.connect(old);
    let settled = c.tree(old).last_zxid();
    c.run_until("session everywhere", |c| c.in_sync(settled));

    // One follower is cut off; the write commits with the other's ACK. The leader crashes the moment it
    // commits, before its COMMITs go out: the remaining follower has the txn only as a proposal.
    let (behind, acker) = match old {
        3 => (1, 2),
        2 => (1, 3),
        _ => (2, 3),
    };
    c.cut(behind);
    c.send_create(old, conn, 1, "/kept");
    c.run_until("write committed", |c| c.create_ok(old, conn, 1));
    let kept = c.tree(old).get("/kept").expect("committed").stat().czxid;
    c.crash(old);
    assert!(
        c.tree(acker).get("/kept").is_none(),
        "the COMMIT never left"
    );

    c.heal(behind);
    c.run_until("new leader", |c| {
        c.leader().is_some_and(|l| l != old) && c.in_sync(kept)
    });
    assert_eq!(
        c.leader(),
        Some(acker),
        "the server holding the write leads"
    );
    for id in [behind, acker] {
        let node = c
            .tree(id)
            .get("/kept")
            .expect("the acknowledged write survived");
        assert_eq!(node.stat().czxid, kept, "server {id}");
    }

    c.restart(old);
    c.run_until("all synced", |c| c.live().len() == 3 && c.in_sync(kept));
    for id in c.ids() {
        assert!(c.tree(id).get("/kept").is_some(), "server {id}");
        assert_eq!(c.tree(id).digest(), c.tree(acker).digest());
    }
}

#[test]
fn a_follower_with_a_slow_disk_is_not_counted_until_its_log_is_durable() {
    let mut c = Cluster::new(3, |id| {
        let n = if id == 2 { 4 } else { 2 };
        logged(&epoch_zxids(1, n), 1)
    });
    // Server 1 cannot make the DIFF it gets durable and server 3 is down: the leader (2) has no quorum
    // that acknowledged NEWLEADER, so it must not commit its history.
    c.set_slow_disk(1, true);
    c.crash(3);
    c.run_until("server 1 got its DIFF", |c| c.received(1, "DIFF"));
    c.run_for(2_000);
    assert!(!c.received(2, "ACKNEWLEADER"));
    assert!(
        c.ids()
            .iter()
            .filter(|id| c.is_up(**id))
            .all(|id| c.tree(*id).last_zxid() == 0),
        "no history is committed before a quorum made it durable"
    );
    c.flush(1);
    c.set_slow_disk(1, false);
    c.restart(3);
    c.run_until("synced", |c| {
        c.live().len() == 3 && c.in_sync(zxid::make(1, 4))
    });
    assert!(c.disks[&3].has(zxid::make(1, 4)));
}

/// A write on a leader whose only reachable follower is `follower`, while `slow`'s disk holds back
/// durability: it must not commit until `slow` flushes.
fn commit_waits_for_durability(slow_leader: bool) {
    let mut c = Cluster::new(3, |_| Recovered::default());
    c.run_until("elected", |c| c.leader().is_some());
    let leader = c.leader().expect("leader");
    let conn = c.connect(leader);
    let settled = c.tree(leader).last_zxid();
    c.run_until("session everywhere", |c| c.in_sync(settled));
    let followers: Vec<ServerId> = c.ids().into_iter().filter(|id| *id != leader).collect();
    let (follower, gone) = (followers[0], followers[1]);
    let slow = if slow_leader { leader } else { follower };
    c.cut(gone);
    c.set_slow_disk(slow, true);
    c.send_create(leader, conn, 1, "/w");
    c.run_until("proposal received", |c| c.received(follower, "PROPOSAL"));
    c.run_for(500);
    assert!(
        !c.create_ok(leader, conn, 1),
        "committed before server {slow} made it durable"
    );
    assert!(c.tree(leader).get("/w").is_none());
    c.flush(slow);
    c.set_slow_disk(slow, false);
    c.run_until("committed", |c| c.create_ok(leader, conn, 1));
    c.run_until("applied", |c| c.tree(follower).get("/w").is_some());
}

#[test]
fn a_proposal_commits_only_once_the_followers_log_is_durable() {
    commit_waits_for_durability(false);
}

#[test]
fn a_proposal_commits_only_once_the_leaders_own_log_is_durable() {
    commit_waits_for_durability(true);
}

#[test]
fn epoch_acknowledgements_wait_for_durable_epoch_files() {
    let mut c = Cluster::new(3, |_| Recovered::default());
    // Server 1's disk reports nothing: it writes the leader's epoch but cannot vouch for it.
    if let Some(d) = c.disks.get_mut(&1) {
        d.stalled = true;
    }
    c.run_until("a leader serves", |c| {
        c.leader().is_some_and(|l| l != 1) && c.received(1, "LEADERINFO")
    });
    c.run_for(2_000);
    assert!(
        !c.sent(1, "ACKEPOCH") && !c.sent(1, "ACKNEWLEADER"),
        "nothing vouches for an epoch file that is not durable"
    );
    c.flush(1);
    c.run_until("server 1 synced", |c| c.sent(1, "ACKNEWLEADER"));
    assert!(c.sent(1, "ACKEPOCH"));
}

impl Cluster {
    /// Sends a sync of `/` then a getData of `path` on `conn`, pipelined (request numbers 100 and 101).
    fn send_sync_get(&mut self, id: ServerId, conn: ConnId, path: &str) {
        use crate::proto::records::{GetDataRequest, SyncRequest};
        let sync = Request {
            xid: 100,
            op: OpCode::Sync,
            body: RequestBody::Sync(SyncRequest { path: "/".into() }),
        };
        let get = Request {
            xid: 101,
            op: OpCode::GetData,
            body: RequestBody::GetData(GetDataRequest {
                path: path.into(),
                watch: false,
            }),
        };
        let mut bytes = frame_request(&sync).to_vec();
        bytes.extend_from_slice(&frame_request(&get));
        self.step(
            id,
            Input::ClientBytes {
                conn,
                bytes: bytes.into(),
            },
        );
    }

    /// The error code the getData of [`Cluster::send_sync_get`] was answered with, if it was.
    fn sync_get_answer(&self, id: ServerId, conn: ConnId) -> Option<i32> {
        self.frames(id, conn).into_iter().skip(1).find_map(|f| {
            let (h, _) = decode_reply(f.clone(), OpCode::GetData)
                .or_else(|_| decode_reply(f, OpCode::Error))
                .ok()?;
            (h.xid == 101).then_some(h.err)
        })
    }
}

#[test]
fn a_sync_on_a_healthy_leader_is_answered_after_a_ping_round() {
    let mut c = Cluster::new(3, |_| Recovered::default());
    c.run_until("elected", |c| c.leader().is_some());
    let leader = c.leader().expect("leader");
    c.write(leader, "/a");
    let conn = c.connect(leader);
    let pings = c.trace.iter().filter(|t| t.2 == "PING").count();
    c.send_sync_get(leader, conn, "/a");
    assert_eq!(
        c.sync_get_answer(leader, conn),
        None,
        "not before the round"
    );
    c.run_until("read answered", |c| {
        c.sync_get_answer(leader, conn).is_some()
    });
    assert_eq!(c.sync_get_answer(leader, conn), Some(0));
    assert!(c.trace.iter().filter(|t| t.2 == "PING").count() > pings);
}

/// A leader that was paused (or cut off without noticing) while the others elected a new leader and committed
/// a write must not answer a sync+read from its old state: ZooKeeper's would (its sync only waits for the
/// proposals before it to commit), which is not linearizable.
#[test]
fn a_stale_leader_does_not_answer_a_sync_with_old_state() {
    assert_eq!(
        stale_leader_sync_answer(false),
        None,
        "a stale leader answered a sync+read"
    );
    if cfg!(feature = "planted-bugs") {
        // The planted bug is ZooKeeper's behaviour: the read is answered, from the old state.
        let no_node = crate::proto::ErrorCode::NoNode.code();
        assert_eq!(stale_leader_sync_answer(true), Some(no_node));
    }
}

/// What the stale leader answered the getData behind the sync with, if anything.
fn stale_leader_sync_answer(planted: bool) -> Option<i32> {
    let mut c = Cluster::new(3, |_| Recovered::default());
    c.run_until("elected", |c| c.leader().is_some());
    let old = c.leader().expect("leader");
    if planted {
        let bug = [crate::planted::PlantedBug::SyncWithoutLeadershipProof];
        if let Some(Some(n)) = c.nodes.get_mut(&old) {
            n.plant(crate::planted::Planted::new(&bug).expect("planted-bugs feature"));
        }
    }
    let conn = c.connect(old);
    let settled = c.tree(old).last_zxid();
    c.run_until("session everywhere", |c| c.in_sync(settled));

    // The leader stops (a long pause): it sees nothing, its links stay up as far as it knows.
    let paused = c.nodes.insert(old, None).flatten().expect("running");
    c.drop_messages_of(old);
    for p in c.ids() {
        if p != old {
            c.step(p, Input::PeerDisconnected { peer: old });
        }
    }
    c.run_until("new leader", |c| c.leader().is_some_and(|l| l != old));
    let new = c.leader().expect("leader");
    c.write(new, "/after");

    // It resumes and reads its client's sync+get before its first tick.
    c.nodes.insert(old, Some(paused));
    c.send_sync_get(old, conn, "/after");
    c.run_until("the old leader stepped down", |c| c.closed.contains(&conn));
    c.sync_get_answer(old, conn)
}

/// As ZooKeeper's leader: its current epoch is the new one, durably, before any NEWLEADER goes out, so a
/// quorum acknowledging NEWLEADER (the leader counting itself) really holds the epoch. (A leader that
/// established itself with the write still pending could crash, come back with its old epoch, and lose an
/// election to a server that never saw the new epoch's commits: simulator seed 424242005503.)
#[test]
fn the_leader_makes_its_new_epoch_durable_before_newleader() {
    let mut c = Cluster::new(3, |_| Recovered::default());
    c.run_until("an epoch announced", |c| {
        c.trace.iter().any(|t| t.2 == "LEADERINFO")
    });
    let leader = c
        .trace
        .iter()
        .find(|t| t.2 == "LEADERINFO")
        .map(|t| t.0)
        .expect("announced");
    // From here the leader's disk reports nothing.
    if let Some(d) = c.disks.get_mut(&leader) {
        d.stalled = true;
    }
    c.run_for(2_000);
    assert!(
        c.received(leader, "ACKEPOCH"),
        "the learners took the epoch"
    );
    assert!(
        !c.sent(leader, "NEWLEADER"),
        "NEWLEADER went out before the leader's current epoch was durable"
    );
    c.flush(leader);
    c.run_until("a leader established", |c| {
        c.trace.iter().any(|t| t.2 == "ACKNEWLEADER")
    });
    let d = &c.disks[&leader];
    assert!(d.current_epoch > 0 && d.current_epoch == d.accepted_epoch);
}

/// A follower of this epoch that loses its leader and comes back follows it again: the "learner ahead of
/// the leader" check compares with the leader's epoch before this term only until discovery ends (a
/// learner's current epoch equal to the leader's new one is no sign of a newer history).
#[test]
fn a_follower_reconnecting_in_the_same_epoch_does_not_unseat_the_leader() {
    let mut c = Cluster::new(3, |_| Recovered::default());
    c.run_until("elected", |c| c.leader().is_some());
    let leader = c.leader().expect("leader");
    let settled = c.tree(leader).last_zxid();
    c.run_until("established everywhere", |c| {
        c.in_sync(settled) && c.ids().iter().all(|id| c.node(*id).current_epoch() > 0)
    });
    let follower = c
        .ids()
        .into_iter()
        .find(|id| *id != leader)
        .expect("follower");
    let epoch = c.node(leader).current_epoch();
    c.cut(follower);
    c.run_for(5_000);
    let mark = c.trace.len();
    c.heal(follower);
    c.run_until("the follower synced again", |c| {
        c.trace[mark..]
            .iter()
            .any(|t| t.1 == follower && t.2 == "UPTODATE")
    });
    c.run_for(5_000);
    assert_eq!(c.leader(), Some(leader));
    assert_eq!(c.node(leader).current_epoch(), epoch, "no new election");
}
