//! The simulated world: servers (the real core `Node` with a simulated disk and clock), clients, and the
//! network between them, advanced one event at a time in simulated time.

use std::collections::BTreeMap;

use bytes::Bytes;
use rzk_core::config::ServerConfig;
use rzk_core::node::{Input, NodeConfig, Output, Recovered};
use rzk_core::tree::DataTree;
use rzk_core::txn::LoggedTxn;
use rzk_core::{Node, Zxid};

use crate::client::{ClientAction, SimClient, Workload};
use crate::clock::NodeClock;
use crate::disk::SimDisk;
use crate::faults::FaultPlan;
use crate::history::History;
use crate::queue::EventQueue;
use crate::rng::SimRng;
use crate::trace::Trace;

/// Something that happens at a simulated instant.
enum Event {
    Tick {
        node: usize,
        incarnation: u64,
    },
    Opened {
        conn: u64,
    },
    ToServer {
        conn: u64,
        bytes: Bytes,
    },
    ToClient {
        conn: u64,
        bytes: Bytes,
    },
    ServerSeesClose {
        conn: u64,
    },
    ClientSeesClose {
        conn: u64,
    },
    SyncDone {
        node: usize,
        incarnation: u64,
        zxid: Zxid,
        /// The disk's log generation when the sync started.
        gen: u64,
    },
    SnapshotDone {
        node: usize,
        incarnation: u64,
        tree: Box<DataTree>,
    },
    ClientWake {
        client: usize,
    },
    Crash,
    Restart {
        node: usize,
    },
    Pause,
    ClockJump,
    Reset,
    Heal,
    StopClients,
    /// A paused node resumes: its deferred events are handled in order.
    Resume {
        node: usize,
    },
    /// A peer message arrives, if the link it was sent on (generation `gen`) is still up.
    PeerDeliver {
        from: usize,
        to: usize,
        gen: u64,
        /// Boxed: events move through the queue's heap, and messages (DIFFs, snapshots) can be large.
        msg: Box<rzk_core::peer::PeerMsg>,
    },
    Partition,
    Unpartition,
    /// Toggles the link a-b, again and again until `until`.
    Flap {
        a: usize,
        b: usize,
        until: u64,
    },
}

/// A connection between a client and a server (TCP: in order, until reset).
struct NetConn {
    client: usize,
    node: usize,
    /// The server incarnation that accepted it.
    incarnation: u64,
    /// Neither side sends anything new (closed or reset).
    open: bool,
    /// Reset or killed by a crash: data in flight is lost too.
    reset: bool,
    last_to_server: u64,
    last_to_client: u64,
}

struct Server {
    node: Option<Node>,
    disk: SimDisk,
    clock: NodeClock,
    incarnation: u64,
    paused_until: u64,
    /// Events that reached the node while it was paused, in arrival order (delivered in that order when it
    /// resumes, before anything newer: TCP order must survive a pause).
    deferred: std::collections::VecDeque<Event>,
    /// The global time of the scheduled tick, to ignore stale ones.
    tick_at: Option<u64>,
}

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
}

pub struct World {
    pub now: u64,
    queue: EventQueue<Event>,
    rng: SimRng,
    servers: Vec<Server>,
    pub clients: Vec<SimClient>,
    conns: BTreeMap<u64, NetConn>,
    next_conn: u64,
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
    fault_phase: bool,
    node_seed: u64,
    /// Peer links (smaller index first) that are up, with their generation.
    links: BTreeMap<(usize, usize), u64>,
    link_gen: u64,
    /// Last delivery time per directed link, for FIFO.
    peer_fifo: BTreeMap<(usize, usize), u64>,
    /// Node pairs cut by a partition.
    cut: std::collections::BTreeSet<(usize, usize)>,
    /// Directed links (from, to) whose messages vanish while the connection looks up (a one-way partition);
    /// the connection breaks when the partition ends, as a TCP connection that lost data must.
    one_way: std::collections::BTreeSet<(usize, usize)>,
    /// Per node: the newest committed zxid already recorded from its committed log.
    seen_committed: Vec<i64>,
}

impl World {
    pub fn new(seed: u64, params: WorldParams, trace: Trace) -> World {
        let mut rng = SimRng::new(seed);
        let mut servers = Vec::new();
        for _ in 0..params.nodes {
            let skew = params.plan.skew_ms as i64;
            let drift = params.plan.drift_ppm as i64;
            let offset = rng.range(0, 2 * skew as u64) as i64 - skew;
            let ppm = rng.range(0, 2 * drift as u64) as i64 - drift;
            // Clocks start around a realistic epoch so that wall-clock-derived values look normal.
            let clock = NodeClock::new(1_700_000_000_000 + offset, ppm);
            servers.push(Server {
                node: None,
                disk: SimDisk::default(),
                clock,
                incarnation: 0,
                paused_until: 0,
                deferred: Default::default(),
                tick_at: None,
            });
        }
        let clients = (0..params.clients)
            .map(|i| SimClient::new(i, rng.fork(100 + i as u64), params.workload.clone()))
            .collect();
        let node_seed = rng.next_u64();
        let mut w = World {
            now: 0,
            queue: EventQueue::new(),
            rng,
            servers,
            clients,
            conns: BTreeMap::new(),
            next_conn: 1,
            params,
            history: History::default(),
            durable: BTreeMap::new(),
            durable_at: BTreeMap::new(),
            violations: Vec::new(),
            trace,
            healed_at: 0,
            events: 0,
            fault_phase: true,
            node_seed,
            links: BTreeMap::new(),
            link_gen: 0,
            peer_fifo: BTreeMap::new(),
            cut: Default::default(),
            one_way: Default::default(),
            seen_committed: vec![0; 0],
        };
        w.seen_committed = vec![0; w.servers.len()];
        if w.servers.len() > 1 {
            if let Some(every) = w.params.plan.partition_every {
                let at = w.rng.range(every / 2, every * 3 / 2);
                w.queue.push(at, Event::Partition);
            }
        }
        for n in 0..w.servers.len() {
            w.start_node(n);
        }
        for c in 0..w.clients.len() {
            let at = w.rng.range(0, 50);
            w.queue.push(at, Event::ClientWake { client: c });
        }
        let plan = w.params.plan.clone();
        type FirstFault = (Option<u64>, fn() -> Event);
        let first: [FirstFault; 4] = [
            (plan.crash_every, || Event::Crash),
            (plan.pause_every, || Event::Pause),
            (plan.reset_every, || Event::Reset),
            (plan.jump_every, || Event::ClockJump),
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

    fn node_config(&self, n: usize) -> NodeConfig {
        NodeConfig {
            server: self.params.config.clone(),
            server_id: if self.servers.len() > 1 {
                n as u64 + 1
            } else {
                0
            },
            environment: Vec::new(),
        }
    }

    fn start_node(&mut self, n: usize) {
        let config = self.node_config(n);
        let s = &mut self.servers[n];
        s.incarnation += 1;
        let recovered = Recovered {
            tree: s.disk.snapshot.clone(),
            txns: s.disk.durable.clone(),
            accepted_epoch: s.disk.accepted_epoch,
            current_epoch: s.disk.current_epoch,
        };
        let local = s.clock.local(self.now);
        let seed = self.node_seed ^ (n as u64) << 32 ^ s.incarnation;
        let mut node = Node::new(config, recovered, local, seed);
        if !self.params.plant.is_empty() {
            match rzk_core::planted::Planted::new(&self.params.plant) {
                Ok(p) => node.plant(p),
                Err(e) => self.violations.push(e.to_owned()),
            }
        }
        let s = &mut self.servers[n];
        s.node = Some(node);
        s.tick_at = None;
        self.trace.line(self.now, || {
            format!(
                "node {n} starts (incarnation {})",
                self.servers[n].incarnation
            )
        });
        self.schedule_tick(n);
        for m in 0..self.servers.len() {
            self.link_up(n, m);
        }
    }

    fn key(a: usize, b: usize) -> (usize, usize) {
        (a.min(b), a.max(b))
    }

    /// Brings the link between two running, unpartitioned nodes up; both hear of it.
    fn link_up(&mut self, a: usize, b: usize) {
        let k = Self::key(a, b);
        if a == b || self.links.contains_key(&k) || self.cut.contains(&k) {
            return;
        }
        if self.servers[a].node.is_none() || self.servers[b].node.is_none() {
            return;
        }
        self.link_gen += 1;
        self.links.insert(k, self.link_gen);
        self.trace.line(self.now, || format!("link {a}-{b} up"));
        self.step_node(a, Input::PeerConnected { peer: b as u64 + 1 });
        self.step_node(b, Input::PeerConnected { peer: a as u64 + 1 });
    }

    /// Takes a link down; the running ends hear of it, and messages in flight on it are lost.
    fn link_down(&mut self, a: usize, b: usize) {
        if self.links.remove(&Self::key(a, b)).is_none() {
            return;
        }
        self.trace.line(self.now, || format!("link {a}-{b} down"));
        self.step_node(a, Input::PeerDisconnected { peer: b as u64 + 1 });
        self.step_node(b, Input::PeerDisconnected { peer: a as u64 + 1 });
    }

    /// Records what a node committed since last time; two nodes never commit different txns at one zxid.
    fn pull_committed(&mut self, n: usize) {
        if self.servers.len() < 2 {
            return;
        }
        let Some(node) = self.servers[n].node.as_ref() else {
            return;
        };
        let log = node.committed_log();
        let seen = self.seen_committed[n];
        let fresh: Vec<LoggedTxn> = log.iter_after(seen).cloned().collect();
        if let Some(last) = fresh.last() {
            self.seen_committed[n] = last.header.zxid;
        }
        self.record_durable(fresh);
    }

    fn latency(&mut self) -> u64 {
        let (lo, hi) = self.params.plan.latency_ms;
        let mut l = self.rng.range(lo, hi);
        // Slow packets are a fault: once healed, the network is merely as fast as its base latency.
        if self.fault_phase
            && self.params.plan.slow_chance > 0.0
            && self.rng.chance(self.params.plan.slow_chance)
        {
            l += self.rng.range(0, self.params.plan.slow_ms);
        }
        l
    }

    /// Steps a node with one input and carries out its outputs.
    fn step_node(&mut self, n: usize, input: Input) {
        let s = &mut self.servers[n];
        let Some(node) = s.node.as_mut() else { return };
        let local = s.clock.local(self.now);
        let mut out = Vec::new();
        // The node's own log lines (shown with `--trace`) say which server wrote them.
        let span = tracing::info_span!("node", n);
        let _entered = span.enter();
        node.step(local, input, &mut out);
        drop(_entered);
        for o in out {
            self.apply_output(n, o);
        }
        self.pull_committed(n);
        self.schedule_tick(n);
    }

    fn schedule_tick(&mut self, n: usize) {
        let s = &mut self.servers[n];
        let Some(node) = s.node.as_ref() else { return };
        let Some(deadline) = node.next_deadline() else {
            return;
        };
        let at = s.clock.global(deadline, self.now).max(self.now);
        if s.tick_at.is_some_and(|t| t <= at) {
            return;
        }
        s.tick_at = Some(at);
        let incarnation = s.incarnation;
        self.queue.push(
            at,
            Event::Tick {
                node: n,
                incarnation,
            },
        );
    }

    fn apply_output(&mut self, n: usize, o: Output) {
        match o {
            // Durable before the next input, as the contract says: applied at once.
            Output::SaveEpochs { accepted, current } => {
                let d = &mut self.servers[n].disk;
                d.accepted_epoch = accepted;
                d.current_epoch = current;
            }
            Output::TruncateLog { zxid } => self.servers[n].disk.truncate_after(zxid),
            Output::InstallSnapshot { tree, .. } => self.servers[n].disk.install(*tree),
            Output::ToPeer { to, msg } => {
                let m = (to as usize).wrapping_sub(1);
                if m >= self.servers.len() {
                    return;
                }
                let Some(&gen) = self.links.get(&Self::key(n, m)) else {
                    return;
                };
                if self.one_way.contains(&(n, m)) {
                    return;
                }
                let lat = self.latency();
                let last = self.peer_fifo.get(&(n, m)).copied().unwrap_or(0);
                let at = (self.now + lat).max(last);
                self.peer_fifo.insert((n, m), at);
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
            Output::ToClient { conn, bytes } => {
                let lat = self.latency();
                let Some(c) = self.conns.get_mut(&conn) else {
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
                let lat = self.latency();
                let Some(c) = self.conns.get_mut(&conn) else {
                    return;
                };
                if c.open {
                    c.open = false;
                    let at = (self.now + lat).max(c.last_to_client);
                    self.queue.push(at, Event::ClientSeesClose { conn });
                }
            }
            Output::ReadInterest { .. } | Output::AdminReply { .. } => {}
            Output::AppendLog(txns) => {
                let s = &mut self.servers[n];
                s.disk.append(txns);
                self.start_sync(n);
            }
            Output::Snapshot { tree, .. } => {
                let incarnation = self.servers[n].incarnation;
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

    fn start_sync(&mut self, n: usize) {
        let Some(zxid) = self.servers[n].disk.start_sync() else {
            return;
        };
        let plan = &self.params.plan;
        let (lo, hi) = plan.fsync_ms;
        let slow = plan.slow_fsync_chance;
        let mut ms = self.rng.range(lo, hi);
        if self.fault_phase && slow > 0.0 && self.rng.chance(slow) {
            ms += self.rng.range(100, 1_000);
        }
        let incarnation = self.servers[n].incarnation;
        self.queue.push(
            self.now + ms,
            Event::SyncDone {
                node: n,
                incarnation,
                zxid,
                gen: self.servers[n].disk.generation,
            },
        );
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

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::Tick { node, incarnation } => {
                let s = &mut self.servers[node];
                if s.incarnation != incarnation || s.tick_at != Some(self.now) {
                    return;
                }
                s.tick_at = None;
                if self.defer_if_paused(node, Event::Tick { node, incarnation }) {
                    return;
                }
                self.step_node(node, Input::Tick);
            }
            Event::Opened { conn } => {
                let Some(c) = self.conns.get(&conn) else {
                    return;
                };
                let (n, client) = (c.node, c.client);
                if self.servers[n].node.is_none() {
                    // Connection refused.
                    self.queue.push(self.now, Event::ClientSeesClose { conn });
                    return;
                }
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.incarnation = self.servers[n].incarnation;
                }
                let addr = format!(
                    "10.0.{}.{}:{}",
                    client / 250,
                    client % 250 + 1,
                    30000 + conn % 30000
                );
                let addr = addr.parse().expect("well-formed simulated address");
                self.trace.line(self.now, || {
                    format!("conn {conn}: client {client} -> node {n} open")
                });
                self.step_node(n, Input::ClientOpened { conn, addr });
                let actions = self.clients[client].on_opened(self.now, conn);
                self.client_actions(client, actions);
            }
            Event::ToServer { conn, bytes } => {
                let Some(c) = self.conns.get(&conn) else {
                    return;
                };
                let n = c.node;
                if c.reset
                    || self.servers[n].incarnation != c.incarnation
                    || self.servers[n].node.is_none()
                {
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
                self.trace.line(self.now, || {
                    format!("conn {conn}: {} bytes to node {n}", bytes.len())
                });
                self.trace.mix(&bytes);
                self.step_node(n, Input::ClientBytes { conn, bytes });
            }
            Event::ToClient { conn, bytes } => {
                let Some(c) = self.conns.get(&conn) else {
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
                self.trace.line(self.now, || {
                    format!("conn {conn}: {} bytes to client {client}", bytes.len())
                });
                self.trace.mix(&bytes);
                let actions = self.clients[client].on_bytes(self.now, &bytes, &mut self.history);
                self.client_actions(client, actions);
            }
            Event::ServerSeesClose { conn } => {
                let Some(c) = self.conns.get(&conn) else {
                    return;
                };
                let n = c.node;
                if self.servers[n].incarnation == c.incarnation {
                    self.step_node(n, Input::ClientClosed { conn });
                }
                self.conns.remove(&conn);
            }
            Event::ClientSeesClose { conn } => {
                let Some(c) = self.conns.get_mut(&conn) else {
                    return;
                };
                c.open = false;
                let client = c.client;
                self.trace.line(self.now, || {
                    format!("conn {conn}: client {client} sees close")
                });
                if self.clients[client].owns(conn) {
                    self.clients[client].on_disconnected(self.now, &mut self.history);
                }
                // The server side learns of it too (a FIN/RST travels back).
                let at = self.now + 1;
                self.queue.push(at, Event::ServerSeesClose { conn });
            }
            Event::SyncDone {
                node,
                incarnation,
                zxid,
                gen,
            } => {
                if self.servers[node].incarnation != incarnation {
                    return;
                }
                if self.servers[node].disk.generation != gen {
                    // The log was rewritten since this sync began: it covers nothing; sync what is there.
                    return self.start_sync(node);
                }
                if self.params.plan.fsync_fail_chance > 0.0
                    && self.fault_phase
                    && self.rng.chance(self.params.plan.fsync_fail_chance)
                {
                    // An fsync error: the production driver stops the server rather than acknowledge.
                    self.trace.line(self.now, || {
                        format!("node {node}: fsync failed, server stops")
                    });
                    self.crash(node);
                    return;
                }
                let done = self.servers[node].disk.finish_sync(zxid);
                // Alone, a server commits what is durable; in an ensemble, commits come from the quorum.
                if self.servers.len() < 2 {
                    self.record_durable(done);
                }
                self.trace
                    .line(self.now, || format!("node {node}: synced to 0x{zxid:x}"));
                self.step_node(node, Input::LogSynced { zxid });
                self.start_sync(node);
            }
            Event::SnapshotDone {
                node,
                incarnation,
                tree,
            } => {
                if self.servers[node].incarnation == incarnation {
                    self.servers[node].disk.store_snapshot(*tree);
                }
            }
            Event::ClientWake { client } => {
                let nodes = self.servers.len();
                let (actions, next) = self.clients[client].wake(self.now, nodes, &mut self.history);
                self.client_actions(client, actions);
                self.queue
                    .push(next.max(self.now + 1), Event::ClientWake { client });
            }
            Event::Crash => {
                if !self.fault_phase {
                    return;
                }
                let n = self.rng.range(0, self.servers.len() as u64 - 1) as usize;
                if self.servers[n].node.is_some() {
                    self.crash(n);
                    let (lo, hi) = self.params.plan.down_ms;
                    let at = self.now + self.rng.range(lo, hi);
                    self.queue.push(at, Event::Restart { node: n });
                }
                self.reschedule(self.params.plan.crash_every, Event::Crash);
            }
            Event::Restart { node } => {
                if self.servers[node].node.is_none() {
                    self.start_node(node);
                }
            }
            Event::Pause => {
                if !self.fault_phase {
                    return;
                }
                let n = self.rng.range(0, self.servers.len() as u64 - 1) as usize;
                let (lo, hi) = self.params.plan.pause_ms;
                let until = self.now + self.rng.range(lo, hi);
                self.servers[n].paused_until = self.servers[n].paused_until.max(until);
                self.trace
                    .line(self.now, || format!("node {n} paused until {until}"));
                self.reschedule(self.params.plan.pause_every, Event::Pause);
            }
            Event::ClockJump => {
                if !self.fault_phase {
                    return;
                }
                let n = self.rng.range(0, self.servers.len() as u64 - 1) as usize;
                let j = self.params.plan.jump_ms;
                let delta = self.rng.range(0, 2 * j) as i64 - j as i64;
                self.servers[n].clock.jump(delta);
                self.trace
                    .line(self.now, || format!("node {n} clock jumps {delta} ms"));
                self.servers[n].tick_at = None;
                self.schedule_tick(n);
                self.reschedule(self.params.plan.jump_every, Event::ClockJump);
            }
            Event::Reset => {
                if !self.fault_phase {
                    return;
                }
                let open: Vec<u64> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.open)
                    .map(|(id, _)| *id)
                    .collect();
                if !open.is_empty() {
                    let conn = *self.rng.pick(&open);
                    self.trace.line(self.now, || format!("conn {conn}: reset"));
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.open = false;
                        c.reset = true;
                    }
                    let lat = self.latency();
                    self.queue
                        .push(self.now + lat, Event::ClientSeesClose { conn });
                }
                self.reschedule(self.params.plan.reset_every, Event::Reset);
            }
            Event::Heal => {
                self.fault_phase = false;
                self.healed_at = self.now;
                self.trace.line(self.now, || {
                    "heal: faults stop, every node restarts".to_string()
                });
                for n in 0..self.servers.len() {
                    self.servers[n].paused_until = 0;
                    if !self.servers[n].deferred.is_empty() {
                        self.queue.push(self.now, Event::Resume { node: n });
                    }
                    if self.servers[n].node.is_none() {
                        self.start_node(n);
                    }
                }
                self.heal_partition();
            }
            Event::PeerDeliver { from, to, gen, msg } => {
                if self.links.get(&Self::key(from, to)) != Some(&gen) {
                    return;
                }
                if self.is_paused(to) {
                    self.defer_if_paused(to, Event::PeerDeliver { from, to, gen, msg });
                    return;
                }
                self.trace.line(self.now, || {
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
            Event::Partition => {
                if !self.fault_phase {
                    return;
                }
                let shape = self.partition();
                self.trace.line(self.now, || format!("partition: {shape}"));
                let (lo, hi) = self.params.plan.partition_ms;
                let at = self.now + self.rng.range(lo, hi);
                self.queue.push(at, Event::Unpartition);
                self.reschedule(self.params.plan.partition_every, Event::Partition);
            }
            Event::Flap { a, b, until } => {
                if !self.fault_phase || self.now >= until {
                    return;
                }
                let k = Self::key(a, b);
                if self.cut.remove(&k) {
                    self.link_up(a, b);
                } else {
                    self.cut.insert(k);
                    self.link_down(a, b);
                }
                let next = self.now + self.rng.range(50, 1_000);
                self.queue.push(next, Event::Flap { a, b, until });
            }
            Event::Unpartition => self.heal_partition(),
            Event::Resume { node } => {
                let until = self.servers[node].paused_until;
                if until > self.now {
                    self.queue.push(until, Event::Resume { node });
                    return;
                }
                let deferred = std::mem::take(&mut self.servers[node].deferred);
                for ev in deferred {
                    self.handle(ev);
                }
                self.servers[node].tick_at = None;
                self.schedule_tick(node);
            }
            Event::StopClients => {
                for c in &mut self.clients {
                    c.active = false;
                }
            }
        }
    }

    /// Cuts the network in one of the shapes real networks fail in; returns its description.
    fn partition(&mut self) -> String {
        let n = self.servers.len();
        if n < 2 {
            return "none (one server)".into();
        }
        let leader = (0..n).find(|&i| {
            self.servers[i]
                .node
                .as_ref()
                .is_some_and(|node| node.mode() == "leader")
        });
        let pairs: Vec<(usize, usize)> = (0..n)
            .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
            .collect();
        let mut cut = Vec::new();
        let shape = match self.rng.range(0, 5) {
            // Two random groups (a leader may land on either side).
            0 => {
                let side: Vec<bool> = (0..n).map(|_| self.rng.chance(0.5)).collect();
                cut.extend(pairs.iter().filter(|(a, b)| side[*a] != side[*b]));
                format!("split {side:?}")
            }
            // The leader alone, cut from everyone.
            1 => {
                let l = leader.unwrap_or(0);
                cut.extend(pairs.iter().filter(|(a, b)| *a == l || *b == l));
                format!("isolate node {l}")
            }
            // Two halves joined only through one bridge server.
            2 => {
                let bridge = self.rng.range(0, n as u64 - 1) as usize;
                let side: Vec<bool> = (0..n).map(|i| i < n / 2).collect();
                cut.extend(
                    pairs
                        .iter()
                        .filter(|(a, b)| side[*a] != side[*b] && *a != bridge && *b != bridge),
                );
                format!("bridge through node {bridge}")
            }
            // A ring: each server reaches only its two neighbours.
            3 => {
                cut.extend(pairs.iter().filter(|(a, b)| {
                    let d = b - a;
                    d != 1 && d != n - 1
                }));
                "ring".to_string()
            }
            // One way: the leader's (or a random server's) messages to one peer vanish.
            _ => {
                let from = leader.unwrap_or_else(|| self.rng.range(0, n as u64 - 1) as usize);
                let to = (from + 1 + self.rng.range(0, n as u64 - 2) as usize) % n;
                self.one_way.insert((from, to));
                if self.rng.chance(0.5) {
                    // And a flapping link elsewhere for the same while.
                    let (lo, hi) = self.params.plan.partition_ms;
                    let until = self.now + hi.max(lo);
                    let (a, b) = pairs[self.rng.range(0, pairs.len() as u64 - 1) as usize];
                    self.queue.push(self.now, Event::Flap { a, b, until });
                    return format!("one way {from}->{to}, link {a}-{b} flapping");
                }
                return format!("one way {from}->{to}");
            }
        };
        for (a, b) in cut {
            self.cut.insert((a, b));
            self.link_down(a, b);
        }
        shape
    }

    fn heal_partition(&mut self) {
        // A connection that silently lost messages one way breaks now.
        for (a, b) in std::mem::take(&mut self.one_way) {
            self.link_down(a, b);
        }
        self.cut.clear();
        let n = self.servers.len();
        for a in 0..n {
            for b in a + 1..n {
                self.link_up(a, b);
            }
        }
    }

    fn reschedule(&mut self, every: Option<u64>, ev: Event) {
        if let Some(every) = every {
            let at = self.now + self.rng.range(every / 2, every * 3 / 2);
            self.queue.push(at, ev);
        }
    }

    /// Whether events for node `n` must wait (it is paused, or earlier events still wait).
    fn is_paused(&self, n: usize) -> bool {
        self.servers[n].paused_until > self.now || !self.servers[n].deferred.is_empty()
    }

    /// A paused node handles nothing until its pause ends; events wait, in order.
    fn defer_if_paused(&mut self, n: usize, ev: Event) -> bool {
        let until = self.servers[n].paused_until;
        if until <= self.now && self.servers[n].deferred.is_empty() {
            return false;
        }
        if self.servers[n].deferred.is_empty() {
            self.queue
                .push(until.max(self.now), Event::Resume { node: n });
        }
        if let Event::Tick { .. } = ev {
            // Timers are re-armed when the node resumes (which must then be scheduled even if nothing else
            // arrives during the pause: a node started while paused had stopped ticking for good).
            self.servers[n].tick_at = None;
            return true;
        }
        self.servers[n].deferred.push_back(ev);
        true
    }

    fn crash(&mut self, n: usize) {
        let s = &mut self.servers[n];
        s.node = None;
        s.tick_at = None;
        s.paused_until = 0;
        s.deferred.clear();
        let unsynced = s.disk.unsynced.len() as u64;
        let keep = self.rng.range(0, unsynced) as usize;
        let survivors = self.servers[n].disk.crash(keep);
        self.trace.line(self.now, || {
            format!("node {n} crashes ({keep} of {unsynced} unsynced txns survive)")
        });
        if self.servers.len() < 2 {
            self.record_durable(survivors);
        }
        for m in 0..self.servers.len() {
            self.link_down(n, m);
        }
        let dead: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.node == n && c.open)
            .map(|(id, _)| *id)
            .collect();
        for conn in dead {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.open = false;
                c.reset = true;
            }
            let lat = self.latency();
            self.queue
                .push(self.now + lat, Event::ClientSeesClose { conn });
        }
    }

    fn client_actions(&mut self, client: usize, actions: Vec<ClientAction>) {
        for a in actions {
            match a {
                ClientAction::Connect { node } => {
                    let conn = self.next_conn;
                    self.next_conn += 1;
                    self.conns.insert(
                        conn,
                        NetConn {
                            client,
                            node,
                            incarnation: 0,
                            open: true,
                            reset: false,
                            last_to_server: 0,
                            last_to_client: 0,
                        },
                    );
                    self.clients[client].set_connecting(conn);
                    let lat = self.latency();
                    self.queue.push(self.now + lat, Event::Opened { conn });
                }
                ClientAction::Send(bytes) => {
                    let lat = self.latency();
                    let Some((conn, c)) = self
                        .conns
                        .iter_mut()
                        .rev()
                        .find(|(_, c)| c.client == client && c.open)
                    else {
                        continue;
                    };
                    let at = (self.now + lat).max(c.last_to_server);
                    c.last_to_server = at;
                    let conn = *conn;
                    self.queue.push(at, Event::ToServer { conn, bytes });
                }
                ClientAction::Close => {
                    let lat = self.latency();
                    let found = self
                        .conns
                        .iter_mut()
                        .rev()
                        .find(|(_, c)| c.client == client && c.open);
                    if let Some((conn, c)) = found {
                        c.open = false;
                        let at = (self.now + lat).max(c.last_to_server);
                        let conn = *conn;
                        self.queue.push(at, Event::ServerSeesClose { conn });
                    }
                }
            }
        }
    }

    /// The tree of a running node (for end-of-run checks).
    pub fn node_tree(&self, n: usize) -> Option<&DataTree> {
        self.servers[n].node.as_ref().map(|node| node.tree())
    }

    pub fn node_count(&self) -> usize {
        self.servers.len()
    }

    pub fn fsyncs(&self) -> u64 {
        self.servers.iter().map(|s| s.disk.syncs).sum()
    }
}

/// A short description of a peer message for traces.
fn describe(msg: &rzk_core::peer::PeerMsg) -> String {
    use rzk_core::peer::PeerMsg;
    use rzk_core::zab::ZabMsg;
    match msg {
        PeerMsg::Election(n) => format!(
            "vote {} (0x{:x}, epoch {}) round {} {:?}",
            n.vote.leader, n.vote.zxid, n.vote.peer_epoch, n.election_epoch, n.state
        ),
        PeerMsg::Zab {
            msg: ZabMsg::Proposal { txn },
            ..
        } => format!("PROPOSAL {}", brief(txn)),
        PeerMsg::Zab {
            msg: ZabMsg::Diff { txns },
            ..
        } => {
            let all: Vec<String> = txns.iter().map(brief).collect();
            format!("DIFF [{}]", all.join(", "))
        }
        PeerMsg::Zab {
            msg: ZabMsg::Snap { snapshot },
            ..
        } => format!("SNAP at 0x{:x}", snapshot.last_zxid),
        PeerMsg::Zab { msg: z, .. } => {
            let s = format!("{z:?}");
            s.chars().take(80).collect()
        }
    }
}

/// A logged txn in a few words: zxid, session and what it changes.
fn brief(t: &rzk_core::txn::LoggedTxn) -> String {
    use rzk_core::txn::Txn;
    fn what(txn: &Txn) -> String {
        match txn {
            Txn::CreateSession { .. } => "createSession".into(),
            Txn::CloseSession => "closeSession".into(),
            Txn::Create { path, data, .. } => {
                format!("create {path} {}", String::from_utf8_lossy(data))
            }
            Txn::Delete { path } => format!("delete {path}"),
            Txn::SetData {
                path,
                data,
                version,
            } => {
                format!("set {path} {} v{version}", String::from_utf8_lossy(data))
            }
            Txn::SetAcl { path, .. } => format!("setAcl {path}"),
            Txn::Check { path } => format!("check {path}"),
            Txn::Multi(txns) => {
                let parts: Vec<String> = txns.iter().map(what).collect();
                format!("multi({})", parts.join("; "))
            }
            Txn::Error { err } => format!("error {err:?}"),
        }
    }
    format!(
        "0x{:x} s{:x} {}",
        t.header.zxid,
        t.header.session_id,
        what(&t.txn)
    )
}
