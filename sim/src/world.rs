//! The simulated world: hosts (the real core `Node` with a simulated disk and clock, see [`crate::host`]),
//! clients, and the network between them ([`crate::net`]), advanced one event at a time in simulated time.
//!
//! This file is the loop: it pops the next event, hands it to the host, client or network it concerns, and
//! carries out what the node asked for (messages, disk writes, closes). Faults are events too.

use std::collections::BTreeMap;

use bytes::Bytes;
use rzk_core::config::ServerConfig;
use rzk_core::node::{Input, NodeConfig, Output, PersistId};
use rzk_core::peer::PeerMsg;
use rzk_core::tree::DataTree;
use rzk_core::txn::LoggedTxn;
use rzk_core::{ServerMode, Zxid};

use crate::client::{ClientAction, SimClient, Workload};
use crate::clock::NodeClock;
use crate::event::Event;
use crate::faults::FaultPlan;
use crate::history::History;
use crate::host::Host;
use crate::net::Network;
use crate::queue::EventQueue;
use crate::rng::SimRng;
use crate::trace::{describe, fingerprint, Trace};

/// Run parameters drawn from the seed.
pub struct WorldParams {
    pub nodes: usize,
    pub clients: usize,
    pub fault_ms: u64,
    pub heal_ms: u64,
    pub plan: FaultPlan,
    pub workload: Workload,
    pub config: ServerConfig,
    pub plant: Vec<rzk_core::planted::PlantedBug>,
    /// Record every node (a segment every this many inputs) and round-trip it through each checkpoint.
    pub record: Option<u64>,
    /// With `record`: the recorders redact.
    pub record_redacted: bool,
}

pub use rzk_check::{FaultSpan, Touched};

pub struct World {
    pub now: u64,
    pub(crate) queue: EventQueue<Event>,
    pub(crate) rng: SimRng,
    pub(crate) hosts: Vec<Host>,
    pub clients: Vec<SimClient>,
    net: Network,
    pub params: WorldParams,
    pub history: History,
    /// Every txn that became durable, by zxid: the committed history.
    pub durable: BTreeMap<Zxid, LoggedTxn>,
    /// When (simulated ms) each txn of `durable` was first seen committed.
    pub durable_at: BTreeMap<Zxid, u64>,
    pub violations: Vec<String>,
    pub trace: Trace,
    pub healed_at: u64,
    pub events: u64,
    pub(crate) fault_phase: bool,
    /// Crash-point crashes so far (bounded by the plan's budget).
    pub(crate) crash_points_used: u32,
    node_seed: u64,
    /// Per node: the newest committed zxid already recorded from its committed log.
    seen_committed: Vec<i64>,
    pub(crate) invariants: crate::invariants::Invariants,
    /// The voting members' indexes.
    pub(crate) voters: Vec<usize>,
    /// A node step's outputs, reused.
    out_buf: Vec<Output>,
    /// Every fault and what it touched.
    pub faults: Vec<FaultSpan>,
    /// When the established leader changed, and to whom (None: no established leader).
    pub leaders: Vec<(u64, Option<usize>)>,
    /// The server each client connection went to.
    pub conn_nodes: BTreeMap<u64, usize>,
}

/// A network latency: the plan's base range, plus a slow-packet delay while faults are on.
fn latency(rng: &mut SimRng, plan: &FaultPlan, fault_phase: bool) -> u64 {
    let (lo, hi) = plan.latency_ms;
    let mut l = rng.range(lo, hi);
    // Slow packets are a fault: once healed, the network is merely as fast as its base latency.
    if fault_phase && plan.slow_chance > 0.0 && rng.chance(plan.slow_chance) {
        l += rng.range(0, plan.slow_ms);
    }
    l
}

impl World {
    pub fn new(seed: u64, params: WorldParams, trace: Trace) -> World {
        let mut rng = SimRng::new(seed);
        let mut hosts = Vec::new();
        for _ in 0..params.nodes {
            let skew = params.plan.skew_ms as i64;
            let drift = params.plan.drift_ppm as i64;
            let offset = rng.range(0, 2 * skew as u64) as i64 - skew;
            let ppm = rng.range(0, 2 * drift as u64) as i64 - drift;
            // Clocks start around a realistic epoch so that wall-clock-derived values look normal.
            let mut host = Host::new(NodeClock::new(1_700_000_000_000 + offset, ppm));
            host.record_every = params.record;
            host.record_redacted = params.record_redacted;
            hosts.push(host);
        }
        let clients = (0..params.clients)
            .map(|i| SimClient::new(i, rng.fork(100 + i as u64), params.workload.clone()))
            .collect();
        let node_seed = rng.next_u64();
        let seen_committed = vec![0; hosts.len()];
        let mut w = World {
            now: 0,
            queue: EventQueue::new(),
            rng,
            hosts,
            clients,
            net: Network::new(),
            params,
            history: History::default(),
            durable: BTreeMap::new(),
            durable_at: BTreeMap::new(),
            violations: Vec::new(),
            trace,
            healed_at: 0,
            events: 0,
            fault_phase: true,
            crash_points_used: 0,
            node_seed,
            seen_committed,
            invariants: Default::default(),
            voters: Vec::new(),
            out_buf: Vec::new(),
            faults: Vec::new(),
            leaders: Vec::new(),
            conn_nodes: BTreeMap::new(),
        };
        w.voters = w.voter_indexes();
        if w.params.plan.slow_chance > 0.0 {
            let end = w.params.fault_ms;
            w.faults.push(FaultSpan {
                from: 0,
                to: end,
                touched: Touched::Network,
            });
        }
        if w.hosts.len() > 1 {
            if let Some(every) = w.params.plan.partition_every {
                let at = w.rng.range(every / 2, every * 3 / 2);
                w.queue.push(at, Event::Partition);
            }
        }
        for n in 0..w.hosts.len() {
            w.start_node(n);
        }
        for c in 0..w.clients.len() {
            let at = w.rng.range(0, 50);
            w.queue.push(at, Event::ClientWake { client: c });
        }
        let plan = w.params.plan.clone();
        type FirstFault = (Option<u64>, fn() -> Event);
        let first: [FirstFault; 5] = [
            (plan.crash_every, || Event::Crash),
            (plan.pause_every, || Event::Pause),
            (plan.reset_every, || Event::Reset),
            (plan.jump_every, || Event::ClockJump),
            (plan.peer_reset_every, || Event::PeerReset),
        ];
        for (every, ev) in first {
            if let Some(every) = every {
                let at = w.rng.range(every / 2, every * 3 / 2);
                w.queue.push(at, ev());
            }
        }
        w.queue.push(w.params.fault_ms, Event::Heal);
        w.queue
            .push(w.params.fault_ms + w.params.heal_ms, Event::StopClients);
        w
    }

    /// Runs until `end` (global ms).
    pub fn run_until(&mut self, end: u64) {
        while let Some((at, ev)) = self.queue.pop() {
            if at > end {
                self.queue.push(at, ev);
                break;
            }
            self.now = self.now.max(at);
            self.events += 1;
            self.handle(ev);
        }
        self.now = end;
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::Tick { node, incarnation } => self.on_tick(node, incarnation),
            Event::Opened { conn } => self.on_opened(conn),
            Event::ToServer { conn, bytes } => self.on_bytes_to_server(conn, bytes),
            Event::ToClient { conn, bytes } => self.on_bytes_to_client(conn, bytes),
            Event::ServerSeesClose { conn } => self.on_server_sees_close(conn),
            Event::ClientSeesClose { conn } => self.on_client_sees_close(conn),
            Event::SyncDone {
                node,
                incarnation,
                id,
            } => self.on_sync_done(node, incarnation, id),
            Event::SnapshotDone {
                node,
                incarnation,
                tree,
            } => {
                if self.hosts[node].incarnation == incarnation {
                    if let Err(e) = self.hosts[node].disk.store_snapshot(*tree) {
                        self.disk_failed(node, e);
                    }
                }
            }
            Event::ClientWake { client } => {
                let nodes = self.hosts.len();
                let (actions, next) = self.clients[client].wake(self.now, nodes, &mut self.history);
                self.client_actions(client, actions);
                self.queue
                    .push(next.max(self.now + 1), Event::ClientWake { client });
            }
            Event::PeerDeliver { from, to, gen, msg } => self.on_peer_deliver(from, to, gen, msg),
            Event::Resume { node } => self.on_resume(node),
            Event::StopClients => {
                for c in &mut self.clients {
                    c.active = false;
                }
            }
            Event::Crash => self.fault_crash(),
            Event::CrashPoint {
                node,
                incarnation,
                moments,
            } => self.on_crash_point(node, incarnation, moments),
            Event::Restart { node } => {
                if self.hosts[node].node.is_none() {
                    self.start_node(node);
                }
            }
            Event::Pause => self.fault_pause(),
            Event::ClockJump => self.fault_clock_jump(),
            Event::Reset => self.fault_reset(),
            Event::PeerReset => self.fault_peer_reset(),
            Event::PeerRelink { a, b } => self.link_up(a, b),
            Event::Partition => self.fault_partition(),
            Event::Flap { a, b, until } => self.fault_flap(a, b, until),
            Event::Unpartition => self.heal_partition(),
            Event::Heal => self.heal(),
        }
    }

    // ---- hosts

    fn node_config(&self, n: usize) -> NodeConfig {
        NodeConfig {
            server: self.params.config.clone(),
            server_id: if self.hosts.len() > 1 {
                n as u64 + 1
            } else {
                0
            },
            environment: Vec::new(),
        }
    }

    fn start_node(&mut self, n: usize) {
        let config = self.node_config(n);
        let seed = self.node_seed ^ (n as u64) << 32;
        match self.hosts[n].start(config, self.now, seed, &self.params.plant) {
            // Alone, a server commits what it recovers (survivors of a crash included).
            Ok(recovered) if self.hosts.len() < 2 => self.record_durable(recovered),
            Ok(_) => {}
            Err(e) => {
                self.violations.push(format!("node {n}: {e}"));
                return;
            }
        }
        let incarnation = self.hosts[n].incarnation;
        self.trace.line(self.now, [1, n as u64, incarnation], || {
            format!(
                "node {n} starts (incarnation {})",
                self.hosts[n].incarnation
            )
        });
        self.schedule_tick(n);
        for m in 0..self.hosts.len() {
            self.link_up(n, m);
        }
    }

    /// Steps a node with one input and carries out its outputs.
    fn step_node(&mut self, n: usize, input: Input) {
        let sync = crate::crash_points::is_sync(&input);
        // Outputs go to a buffer kept between steps (a nested step, from an output, takes a fresh one).
        let mut out = std::mem::take(&mut self.out_buf);
        out.clear();
        if !self.hosts[n].step(n, self.now, input, &mut out) {
            self.out_buf = out;
            return;
        }
        self.check_outputs(n, &out);
        let moments = if self.params.plan.crash_points.any() {
            self.moments(n, sync, &out)
        } else {
            Vec::new()
        };
        for o in out.drain(..) {
            self.apply_output(n, o);
        }
        self.out_buf = out;
        self.pull_committed(n);
        self.check_leader(n);
        self.note_leader(n);
        self.crash_points(n, &moments);
        self.schedule_tick(n);
    }

    fn schedule_tick(&mut self, n: usize) {
        let h = &mut self.hosts[n];
        let Some(at) = h.next_deadline(self.now) else {
            return;
        };
        if h.tick_at.is_some_and(|t| t <= at) {
            return;
        }
        h.tick_at = Some(at);
        let incarnation = h.incarnation;
        self.queue.push(
            at,
            Event::Tick {
                node: n,
                incarnation,
            },
        );
    }

    fn on_tick(&mut self, node: usize, incarnation: u64) {
        let h = &mut self.hosts[node];
        if h.incarnation != incarnation || h.tick_at != Some(self.now) {
            return;
        }
        h.tick_at = None;
        if self.defer_if_paused(node, Event::Tick { node, incarnation }) {
            return;
        }
        self.step_node(node, Input::Tick);
    }

    /// Carries out one output of node `n`.
    fn apply_output(&mut self, n: usize, o: Output) {
        match o {
            Output::ToPeer { to, msg } => self.send_to_peer(n, to, msg),
            Output::ToClient { conn, bytes } => {
                let lat = latency(&mut self.rng, &self.params.plan, self.fault_phase);
                let Some(c) = self.net.conns.get_mut(&conn) else {
                    return;
                };
                if !c.open {
                    return;
                }
                let at = (self.now + lat).max(c.last_to_client);
                c.last_to_client = at;
                self.queue.push(at, Event::ToClient { conn, bytes });
            }
            Output::CloseClient { conn } => {
                let lat = latency(&mut self.rng, &self.params.plan, self.fault_phase);
                let Some(c) = self.net.conns.get_mut(&conn) else {
                    return;
                };
                if c.open {
                    c.open = false;
                    let at = (self.now + lat).max(c.last_to_client);
                    self.queue.push(at, Event::ClientSeesClose { conn });
                }
            }
            Output::ReadInterest { .. } | Output::AdminReply { .. } => {}
            Output::Persist { id, op } => {
                if let Err(e) = self.hosts[n].disk.write(id, op) {
                    return self.disk_failed(n, e);
                }
                self.start_sync(n);
            }
            Output::Snapshot { tree, .. } => {
                if let Err(e) = self.hosts[n].disk.roll() {
                    return self.disk_failed(n, e);
                }
                let incarnation = self.hosts[n].incarnation;
                let at = self.now + self.rng.range(1, 100);
                self.queue.push(
                    at,
                    Event::SnapshotDone {
                        node: n,
                        incarnation,
                        tree,
                    },
                );
            }
        }
    }

    // ---- disks

    fn start_sync(&mut self, n: usize) {
        let Some(id) = self.hosts[n].disk.start_sync() else {
            return;
        };
        let plan = &self.params.plan;
        let (lo, hi) = plan.fsync_ms;
        let slow = plan.slow_fsync_chance;
        let mut ms = self.rng.range(lo, hi);
        if self.fault_phase && slow > 0.0 && self.rng.chance(slow) {
            ms += self.rng.range(100, 1_000);
        }
        let incarnation = self.hosts[n].incarnation;
        self.queue.push(
            self.now + ms,
            Event::SyncDone {
                node: n,
                incarnation,
                id,
            },
        );
    }

    fn on_sync_done(&mut self, node: usize, incarnation: u64, id: PersistId) {
        if self.hosts[node].incarnation != incarnation {
            return;
        }
        if self.params.plan.fsync_fail_chance > 0.0
            && self.fault_phase
            && self.rng.chance(self.params.plan.fsync_fail_chance)
        {
            // An fsync error: the production driver stops the server rather than acknowledge.
            self.trace.line(self.now, [2, node as u64, 0], || {
                format!("node {node}: fsync failed, server stops")
            });
            self.crash(node);
            let heal = self.params.fault_ms;
            self.touched(heal, Touched::Node(node));
            return;
        }
        self.rewrite_crash_point(node, id);
        let done = match self.hosts[node].disk.finish_sync(id) {
            Ok(done) => done,
            Err(e) => return self.disk_failed(node, e),
        };
        // Alone, a server commits what is durable; in an ensemble, commits come from the quorum.
        if self.hosts.len() < 2 {
            self.record_durable(done);
        }
        self.trace.line(self.now, [3, node as u64, id.0], || {
            format!("node {node}: synced op {}", id.0)
        });
        self.step_node(node, Input::Persisted { id });
        self.start_sync(node);
    }

    // ---- the committed history

    /// Records what a node committed since last time; two nodes never commit different txns at one zxid.
    fn pull_committed(&mut self, n: usize) {
        if self.hosts.len() < 2 {
            return;
        }
        let Some(node) = self.hosts[n].node.as_ref() else {
            return;
        };
        let log = node.committed_log();
        let seen = self.seen_committed[n];
        if log.last() <= seen {
            // Most steps commit nothing.
            return;
        }
        let fresh: Vec<LoggedTxn> = log.iter_after(seen).cloned().collect();
        if let Some(last) = fresh.last() {
            self.seen_committed[n] = last.header.zxid;
        }
        self.check_applied(n, &fresh);
        self.record_durable(fresh);
    }

    fn record_durable(&mut self, txns: Vec<LoggedTxn>) {
        for t in txns {
            let z = t.header.zxid;
            if let Some(prev) = self.durable.get(&z) {
                if *prev != t {
                    self.violations.push(format!(
                        "durable txn at zxid 0x{z:x} was replaced by another"
                    ));
                }
            } else {
                self.durable.insert(z, t);
                self.durable_at.insert(z, self.now);
            }
        }
    }

    // ---- peer links

    /// Brings the link between two running, unpartitioned nodes up; both hear of it.
    fn link_up(&mut self, a: usize, b: usize) {
        if !self.net.can_come_up(a, b) {
            return;
        }
        if self.hosts[a].node.is_none() || self.hosts[b].node.is_none() {
            return;
        }
        self.net.bring_up(a, b);
        self.trace.line(self.now, [4, a as u64, b as u64], || {
            format!("link {a}-{b} up")
        });
        self.step_node(a, Input::PeerConnected { peer: b as u64 + 1 });
        self.step_node(b, Input::PeerConnected { peer: a as u64 + 1 });
    }

    /// Takes a link down; the running ends hear of it, and messages in flight on it are lost.
    fn link_down(&mut self, a: usize, b: usize) {
        if !self.net.take_down(a, b) {
            return;
        }
        self.trace.line(self.now, [5, a as u64, b as u64], || {
            format!("link {a}-{b} down")
        });
        self.step_node(a, Input::PeerDisconnected { peer: b as u64 + 1 });
        self.step_node(b, Input::PeerDisconnected { peer: a as u64 + 1 });
    }

    fn send_to_peer(&mut self, n: usize, to: u64, msg: PeerMsg) {
        let m = (to as usize).wrapping_sub(1);
        if m >= self.hosts.len() {
            return;
        }
        let (rng, plan, faulty) = (&mut self.rng, &self.params.plan, self.fault_phase);
        let election = msg.is_election();
        let Some((at, gen)) = self
            .net
            .peer_send(n, m, election, self.now, || latency(rng, plan, faulty))
        else {
            return;
        };
        self.queue.push(
            at,
            Event::PeerDeliver {
                from: n,
                to: m,
                gen,
                msg: Box::new(msg),
            },
        );
    }

    fn on_peer_deliver(&mut self, from: usize, to: usize, gen: u64, msg: Box<PeerMsg>) {
        if self.net.link(from, to) != Some(gen) {
            return;
        }
        if self.hosts[to].is_paused(self.now) {
            self.defer_if_paused(to, Event::PeerDeliver { from, to, gen, msg });
            return;
        }
        let key = [6, (from as u64) << 32 | to as u64, fingerprint(&msg)];
        self.trace.line(self.now, key, || {
            format!("node {from} -> node {to}: {}", describe(&msg))
        });
        self.step_node(
            to,
            Input::PeerMessage {
                from: from as u64 + 1,
                msg: *msg,
            },
        );
    }

    // ---- client connections

    fn on_opened(&mut self, conn: u64) {
        let Some(c) = self.net.conns.get(&conn) else {
            return;
        };
        let (n, client) = (c.node, c.client);
        if !c.open {
            // Reset (or given up) while it was opening: there is nothing to open.
            return;
        }
        if self.hosts[n].node.is_none() {
            // Connection refused.
            self.queue.push(self.now, Event::ClientSeesClose { conn });
            return;
        }
        let incarnation = self.hosts[n].incarnation;
        if let Some(c) = self.net.conns.get_mut(&conn) {
            c.incarnation = incarnation;
        }
        self.conn_nodes.insert(conn, n);
        let addr = format!(
            "10.0.{}.{}:{}",
            client / 250,
            client % 250 + 1,
            30000 + conn % 30000
        );
        let addr = addr.parse().expect("well-formed simulated address");
        self.trace.line(self.now, [7, conn, n as u64], || {
            format!("conn {conn}: client {client} -> node {n} open")
        });
        // Seeded, but apart from the world's random stream: drawing from it would shift every later draw.
        let secret = crate::rng::SimRng::new(self.node_seed ^ conn.rotate_left(17)).bytes32();
        self.step_node(n, Input::ClientOpened { conn, addr, secret });
        let actions = self.clients[client].on_opened(self.now, conn);
        self.client_actions(client, actions);
    }

    fn on_bytes_to_server(&mut self, conn: u64, bytes: Bytes) {
        let Some(c) = self.net.conns.get(&conn) else {
            return;
        };
        let n = c.node;
        if c.reset || self.hosts[n].incarnation != c.incarnation || self.hosts[n].node.is_none() {
            return;
        }
        if self.defer_if_paused(
            n,
            Event::ToServer {
                conn,
                bytes: bytes.clone(),
            },
        ) {
            return;
        }
        self.trace
            .line(self.now, [8, conn, bytes.len() as u64], || {
                format!("conn {conn}: {} bytes to node {n}", bytes.len())
            });
        self.trace.mix(&bytes);
        self.step_node(n, Input::ClientBytes { conn, bytes });
    }

    fn on_bytes_to_client(&mut self, conn: u64, bytes: Bytes) {
        let Some(c) = self.net.conns.get(&conn) else {
            return;
        };
        if c.reset {
            return;
        }
        let client = c.client;
        if !self.clients[client].owns(conn) {
            // The client already gave up on this connection.
            return;
        }
        self.trace
            .line(self.now, [9, conn, bytes.len() as u64], || {
                format!("conn {conn}: {} bytes to client {client}", bytes.len())
            });
        self.trace.mix(&bytes);
        let actions = self.clients[client].on_bytes(self.now, &bytes, &mut self.history);
        self.client_actions(client, actions);
    }

    fn on_server_sees_close(&mut self, conn: u64) {
        let Some(c) = self.net.conns.get(&conn) else {
            return;
        };
        let n = c.node;
        if self.hosts[n].incarnation == c.incarnation {
            self.step_node(n, Input::ClientClosed { conn });
        }
        self.net.conns.remove(&conn);
    }

    fn on_client_sees_close(&mut self, conn: u64) {
        let Some(c) = self.net.conns.get_mut(&conn) else {
            return;
        };
        c.open = false;
        let client = c.client;
        self.trace.line(self.now, [10, conn, client as u64], || {
            format!("conn {conn}: client {client} sees close")
        });
        if self.clients[client].owns(conn) {
            self.clients[client].on_disconnected(self.now, &mut self.history);
        }
        // The server side learns of it too (a FIN/RST travels back).
        let at = self.now + 1;
        self.queue.push(at, Event::ServerSeesClose { conn });
    }

    fn client_actions(&mut self, client: usize, actions: Vec<ClientAction>) {
        for a in actions {
            match a {
                ClientAction::Connect { node } => {
                    let conn = self.net.open(client, node);
                    self.clients[client].set_connecting(conn);
                    let lat = latency(&mut self.rng, &self.params.plan, self.fault_phase);
                    self.queue.push(self.now + lat, Event::Opened { conn });
                }
                ClientAction::Send { conn, bytes } => {
                    let lat = latency(&mut self.rng, &self.params.plan, self.fault_phase);
                    let Some(c) = self.net.conns.get_mut(&conn).filter(|c| c.open) else {
                        continue;
                    };
                    let at = (self.now + lat).max(c.last_to_server);
                    c.last_to_server = at;
                    self.queue.push(at, Event::ToServer { conn, bytes });
                }
                ClientAction::Close { conn } => {
                    let lat = latency(&mut self.rng, &self.params.plan, self.fault_phase);
                    if let Some(c) = self.net.conns.get_mut(&conn).filter(|c| c.open) {
                        c.open = false;
                        let at = (self.now + lat).max(c.last_to_server);
                        self.queue.push(at, Event::ServerSeesClose { conn });
                    }
                }
            }
        }
    }

    // ---- faults

    fn fault_crash(&mut self) {
        if !self.fault_phase {
            return;
        }
        let n = self.rng.range(0, self.hosts.len() as u64 - 1) as usize;
        if self.hosts[n].node.is_some() {
            self.crash(n);
            let (lo, hi) = self.params.plan.down_ms;
            let at = self.now + self.rng.range(lo, hi);
            self.queue.push(at, Event::Restart { node: n });
            self.touched(at, Touched::Node(n));
        }
        self.reschedule(self.params.plan.crash_every, Event::Crash);
    }

    pub(crate) fn crash(&mut self, n: usize) {
        self.hosts[n].crash();
        self.note_leader(n);
        let unsynced = self.hosts[n].disk.dir.unsynced_bytes() as u64;
        self.hosts[n].disk.crash(&mut self.rng);
        self.trace.line(self.now, [11, n as u64, unsynced], || {
            format!("node {n} crashes ({unsynced} unsynced bytes at risk)")
        });
        for m in 0..self.hosts.len() {
            self.link_down(n, m);
        }
        for conn in self.net.open_conns_to(n) {
            if let Some(c) = self.net.conns.get_mut(&conn) {
                c.open = false;
                c.reset = true;
            }
            let lat = latency(&mut self.rng, &self.params.plan, self.fault_phase);
            self.queue
                .push(self.now + lat, Event::ClientSeesClose { conn });
        }
    }

    fn fault_pause(&mut self) {
        if !self.fault_phase {
            return;
        }
        let n = self.rng.range(0, self.hosts.len() as u64 - 1) as usize;
        let (lo, hi) = self.params.plan.pause_ms;
        let until = self.now + self.rng.range(lo, hi);
        self.hosts[n].paused_until = self.hosts[n].paused_until.max(until);
        self.touched(until, Touched::Node(n));
        self.trace.line(self.now, [12, n as u64, until], || {
            format!("node {n} paused until {until}")
        });
        self.reschedule(self.params.plan.pause_every, Event::Pause);
    }

    /// A paused node handles nothing until its pause ends; events wait, in order.
    fn defer_if_paused(&mut self, n: usize, ev: Event) -> bool {
        let until = self.hosts[n].paused_until;
        if until <= self.now && self.hosts[n].deferred.is_empty() {
            return false;
        }
        if self.hosts[n].deferred.is_empty() {
            self.queue
                .push(until.max(self.now), Event::Resume { node: n });
        }
        if let Event::Tick { .. } = ev {
            // Timers are re-armed when the node resumes (which must then be scheduled even if nothing else
            // arrives during the pause: a node started while paused had stopped ticking for good).
            self.hosts[n].tick_at = None;
            return true;
        }
        self.hosts[n].deferred.push_back(ev);
        true
    }

    fn on_resume(&mut self, node: usize) {
        let until = self.hosts[node].paused_until;
        if until > self.now {
            self.queue.push(until, Event::Resume { node });
            return;
        }
        let deferred = std::mem::take(&mut self.hosts[node].deferred);
        for ev in deferred {
            self.handle(ev);
        }
        self.hosts[node].tick_at = None;
        self.schedule_tick(node);
    }

    fn fault_clock_jump(&mut self) {
        if !self.fault_phase {
            return;
        }
        let n = self.rng.range(0, self.hosts.len() as u64 - 1) as usize;
        let j = self.params.plan.jump_ms;
        let delta = self.rng.range(0, 2 * j) as i64 - j as i64;
        self.hosts[n].clock.jump(delta);
        self.touched(self.now, Touched::Node(n));
        self.trace.line(self.now, [13, n as u64, delta as u64], || {
            format!("node {n} clock jumps {delta} ms")
        });
        self.hosts[n].tick_at = None;
        self.schedule_tick(n);
        self.reschedule(self.params.plan.jump_every, Event::ClockJump);
    }

    fn fault_reset(&mut self) {
        if !self.fault_phase {
            return;
        }
        let open = self.net.open_conns();
        if !open.is_empty() {
            let conn = *self.rng.pick(&open);
            self.trace
                .line(self.now, [14, conn, 0], || format!("conn {conn}: reset"));
            if let Some(c) = self.net.conns.get_mut(&conn) {
                c.open = false;
                c.reset = true;
            }
            self.touched(self.now, Touched::Conn(conn));
            let lat = latency(&mut self.rng, &self.params.plan, self.fault_phase);
            self.queue
                .push(self.now + lat, Event::ClientSeesClose { conn });
        }
        self.reschedule(self.params.plan.reset_every, Event::Reset);
    }

    /// One of a peer link's two connections resets (a TCP reset, a proxy restart): as in the production
    /// transport the link goes down with it, both ends see that, and it comes back a moment later.
    fn fault_peer_reset(&mut self) {
        if !self.fault_phase {
            return;
        }
        let n = self.hosts.len();
        let up: Vec<(usize, usize)> = (0..n)
            .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
            .filter(|&(a, b)| self.net.link(a, b).is_some())
            .collect();
        if !up.is_empty() {
            let (a, b) = *self.rng.pick(&up);
            let back = self.now + self.rng.range(1, 50);
            self.touched(back, Touched::Link(a, b));
            self.link_down(a, b);
            self.queue.push(back, Event::PeerRelink { a, b });
        }
        self.reschedule(self.params.plan.peer_reset_every, Event::PeerReset);
    }

    fn fault_partition(&mut self) {
        if !self.fault_phase {
            return;
        }
        let leader =
            (0..self.hosts.len()).find(|&i| self.hosts[i].mode() == Some(ServerMode::Leading));
        let (lo, hi) = self.params.plan.partition_ms;
        let p = crate::partition::draw(
            &mut self.rng,
            self.hosts.len(),
            leader,
            self.now,
            hi.max(lo),
        );
        let at = self.now + self.rng.range(lo, hi);
        if let Some(one_way) = p.one_way {
            self.net.one_way.insert(one_way);
            self.touched(at, Touched::Link(one_way.0, one_way.1));
        }
        if let Some((a, b, until)) = p.flap {
            self.queue.push(self.now, Event::Flap { a, b, until });
            self.touched(until, Touched::Link(a, b));
        }
        for &(a, b) in &p.cut {
            self.net.cut.insert((a, b));
            self.touched(at, Touched::Link(a, b));
            self.link_down(a, b);
        }
        self.trace.line(self.now, [15, p.cut.len() as u64, at], || {
            format!("partition: {}", p.description)
        });
        self.queue.push(at, Event::Unpartition);
        self.reschedule(self.params.plan.partition_every, Event::Partition);
    }

    fn fault_flap(&mut self, a: usize, b: usize, until: u64) {
        if !self.fault_phase || self.now >= until {
            return;
        }
        let k = crate::net::key(a, b);
        if self.net.cut.remove(&k) {
            self.link_up(a, b);
        } else {
            self.net.cut.insert(k);
            self.link_down(a, b);
        }
        let next = self.now + self.rng.range(50, 1_000);
        self.queue.push(next, Event::Flap { a, b, until });
    }

    fn heal_partition(&mut self) {
        // A connection that silently lost messages one way breaks now.
        for (a, b) in std::mem::take(&mut self.net.one_way) {
            self.link_down(a, b);
        }
        self.net.cut.clear();
        let n = self.hosts.len();
        for a in 0..n {
            for b in a + 1..n {
                self.link_up(a, b);
            }
        }
    }

    /// The fault phase ends: pauses end, every node runs, the network heals.
    fn heal(&mut self) {
        self.fault_phase = false;
        self.healed_at = self.now;
        self.trace.line(self.now, [16, 0, 0], || {
            "heal: faults stop, every node restarts".to_string()
        });
        for n in 0..self.hosts.len() {
            self.hosts[n].paused_until = 0;
            if !self.hosts[n].deferred.is_empty() {
                self.queue.push(self.now, Event::Resume { node: n });
            }
            if self.hosts[n].node.is_none() {
                self.start_node(n);
            }
        }
        self.heal_partition();
    }

    /// Records a fault touching `what` from now until `to`.
    pub(crate) fn touched(&mut self, to: u64, touched: Touched) {
        self.faults.push(FaultSpan {
            from: self.now,
            to: to.max(self.now),
            touched,
        });
    }

    /// Notes a change of the established leader after a step of node `n` (only its own state changed).
    fn note_leader(&mut self, n: usize) {
        let leads = self.hosts[n]
            .node
            .as_ref()
            .is_some_and(|node| node.established_epoch().is_some());
        let current = self.leaders.last().and_then(|l| l.1);
        let next = match (leads, current) {
            (true, c) if c != Some(n) => Some(n),
            (false, Some(c)) if c == n => None,
            _ => return,
        };
        self.leaders.push((self.now, next));
    }

    fn reschedule(&mut self, every: Option<u64>, ev: Event) {
        if let Some(every) = every {
            let at = self.now + self.rng.range(every / 2, every * 3 / 2);
            self.queue.push(at, ev);
        }
    }

    // ---- for the checkers

    /// The tree of a running node (for end-of-run checks).
    pub fn node_tree(&self, n: usize) -> Option<&DataTree> {
        self.hosts[n].node.as_ref().map(|node| node.tree())
    }

    pub fn node_count(&self) -> usize {
        self.hosts.len()
    }

    pub fn fsyncs(&self) -> u64 {
        self.hosts.iter().map(|h| h.disk.syncs).sum()
    }
}
