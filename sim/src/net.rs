//! The simulated network: client connections (TCP: in order, until reset or closed) and the links between
//! servers, plus what a partition has cut. Latencies are drawn by the world and passed in.
//!
//! A link between two servers is what the production transport keeps (io-mio's `peer` module): two TCP
//! connections, one to the quorum port and one to the election port, each FIFO on its own, so a Zab message
//! and a vote sent one after the other may arrive in either order. The link is up while both are, and goes
//! down (losing what was in flight on both) as soon as either fails; a generation tells messages of an
//! older pair of connections apart, as nothing from it may arrive after the link came back.

use std::collections::{BTreeMap, BTreeSet};

/// A connection between a client and a server.
pub struct NetConn {
    pub client: usize,
    pub node: usize,
    /// The server incarnation that accepted it.
    pub incarnation: u64,
    /// Neither side sends anything new (closed or reset).
    pub open: bool,
    /// Reset or killed by a crash: data in flight is lost too.
    pub reset: bool,
    pub last_to_server: u64,
    pub last_to_client: u64,
}

#[derive(Default)]
pub struct Network {
    pub conns: BTreeMap<u64, NetConn>,
    next_conn: u64,
    /// Peer links (smaller index first) that are up, with their generation.
    links: BTreeMap<(usize, usize), u64>,
    link_gen: u64,
    /// Last delivery time per directed connection (from, to, election port?), for FIFO.
    peer_fifo: BTreeMap<(usize, usize, bool), u64>,
    /// Node pairs cut by a partition.
    pub cut: BTreeSet<(usize, usize)>,
    /// Directed links (from, to) whose messages vanish while the connection looks up (a one-way partition);
    /// the connection breaks when the partition ends, as a TCP connection that lost data must.
    pub one_way: BTreeSet<(usize, usize)>,
}

/// A link's key: the smaller index first.
pub fn key(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

impl Network {
    pub fn new() -> Network {
        Network {
            next_conn: 1,
            ..Network::default()
        }
    }

    /// The generation of the link a-b, if it is up.
    pub fn link(&self, a: usize, b: usize) -> Option<u64> {
        self.links.get(&key(a, b)).copied()
    }

    /// Whether the link a-b may come up: not already up, not cut, not a node to itself.
    pub fn can_come_up(&self, a: usize, b: usize) -> bool {
        let k = key(a, b);
        a != b && !self.links.contains_key(&k) && !self.cut.contains(&k)
    }

    /// Brings the link a-b up with a fresh generation.
    pub fn bring_up(&mut self, a: usize, b: usize) {
        self.link_gen += 1;
        self.links.insert(key(a, b), self.link_gen);
    }

    /// Takes the link a-b down; whether it was up.
    pub fn take_down(&mut self, a: usize, b: usize) -> bool {
        self.links.remove(&key(a, b)).is_some()
    }

    /// When a message sent now from `from` to `to` on the election port (or the quorum port) arrives (after
    /// `latency`, never before an earlier one on that connection), and on which link generation; `None` if it
    /// is lost (link down, or one-way cut).
    pub fn peer_send(
        &mut self,
        from: usize,
        to: usize,
        election: bool,
        now: u64,
        latency: impl FnOnce() -> u64,
    ) -> Option<(u64, u64)> {
        let gen = self.link(from, to)?;
        if self.one_way.contains(&(from, to)) {
            return None;
        }
        let last = self
            .peer_fifo
            .get(&(from, to, election))
            .copied()
            .unwrap_or(0);
        let at = (now + latency()).max(last);
        self.peer_fifo.insert((from, to, election), at);
        Some((at, gen))
    }

    /// A new connection from `client` to `node`; returns its id.
    pub fn open(&mut self, client: usize, node: usize) -> u64 {
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
        conn
    }

    /// Open connections, by id.
    pub fn open_conns(&self) -> Vec<u64> {
        self.conns
            .iter()
            .filter(|(_, c)| c.open)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Open connections to `node`, by id.
    pub fn open_conns_to(&self, node: usize) -> Vec<u64> {
        self.conns
            .iter()
            .filter(|(_, c)| c.node == node && c.open)
            .map(|(id, _)| *id)
            .collect()
    }
}
