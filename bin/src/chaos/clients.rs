//! The recording clients of a chaos run: the simulator's sans-IO clients ([`SimClient`]: the real wire
//! protocol, sessions, reconnects, pipelining, the same workload and the same history records the checkers
//! read), driven over real sockets by one mio loop. A connection that does not open within
//! [`CONNECT_TIMEOUT_MS`] is given up (a partitioned server never answers a SYN).

use std::collections::{BTreeMap, HashMap};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use rzk_check::history::History;
use rzk_sim::client::{ClientAction, SimClient};

/// How long a connection may take to open.
pub const CONNECT_TIMEOUT_MS: u64 = 1_000;

struct Conn {
    client: usize,
    stream: TcpStream,
    opened: bool,
    started: u64,
    out: Vec<u8>,
}

/// The clients, their connections and the history they record.
pub struct Clients {
    poll: Poll,
    clients: Vec<SimClient>,
    wake_at: Vec<u64>,
    conns: HashMap<u64, Conn>,
    next_conn: u64,
    servers: Vec<SocketAddr>,
    pub history: History,
    /// The server each connection went to.
    pub conn_nodes: BTreeMap<u64, usize>,
    started: Instant,
}

impl Clients {
    pub fn new(
        clients: Vec<SimClient>,
        servers: Vec<SocketAddr>,
        started: Instant,
    ) -> Result<Clients> {
        let n = clients.len();
        Ok(Clients {
            poll: Poll::new()?,
            clients,
            wake_at: vec![0; n],
            conns: HashMap::new(),
            next_conn: 1,
            servers,
            history: History::default(),
            conn_nodes: BTreeMap::new(),
            started,
        })
    }

    /// Milliseconds since the run started: the clients' (and the history's) clock.
    pub fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Stops every client issuing new operations (they keep their sessions alive and finish what is pending).
    pub fn quiesce(&mut self) {
        for c in &mut self.clients {
            c.active = false;
        }
    }

    /// Drives the clients until `until` (run ms).
    pub fn run_until(&mut self, until: u64) -> Result<()> {
        let mut events = Events::with_capacity(256);
        loop {
            let now = self.now();
            if now >= until {
                return Ok(());
            }
            for i in 0..self.clients.len() {
                if self.wake_at[i] <= now {
                    let (actions, next) =
                        self.clients[i].wake(now, self.servers.len(), &mut self.history);
                    self.wake_at[i] = next;
                    self.act(i, actions)?;
                }
            }
            self.give_up_slow_connects(now);
            let next = self
                .wake_at
                .iter()
                .copied()
                .min()
                .unwrap_or(until)
                .min(until);
            let wait = next.saturating_sub(self.now()).clamp(1, 20);
            match self
                .poll
                .poll(&mut events, Some(Duration::from_millis(wait)))
            {
                Ok(()) => {}
                // A signal (a server process ending, say): poll again.
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("polling the client sockets"),
            }
            let ready: Vec<(u64, bool, bool)> = events
                .iter()
                .map(|e| (e.token().0 as u64, e.is_readable(), e.is_writable()))
                .collect();
            for (conn, readable, writable) in ready {
                self.ready(conn, readable, writable)?;
            }
        }
    }

    fn act(&mut self, client: usize, actions: Vec<ClientAction>) -> Result<()> {
        for a in actions {
            match a {
                ClientAction::Connect { node } => {
                    let conn = self.next_conn;
                    self.next_conn += 1;
                    self.clients[client].set_connecting(conn);
                    match TcpStream::connect(self.servers[node]) {
                        Ok(mut stream) => {
                            self.poll.registry().register(
                                &mut stream,
                                Token(conn as usize),
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            self.conn_nodes.insert(conn, node);
                            self.conns.insert(
                                conn,
                                Conn {
                                    client,
                                    stream,
                                    opened: false,
                                    started: self.now(),
                                    out: Vec::new(),
                                },
                            );
                        }
                        Err(_) => {
                            let now = self.now();
                            self.clients[client].on_disconnected(now, &mut self.history);
                        }
                    }
                }
                ClientAction::Send { conn, bytes } => {
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.out.extend_from_slice(&bytes);
                        self.flush(conn);
                    }
                }
                ClientAction::Close { conn } => self.drop_conn(conn),
            }
        }
        Ok(())
    }

    fn give_up_slow_connects(&mut self, now: u64) {
        let slow: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| !c.opened && now.saturating_sub(c.started) > CONNECT_TIMEOUT_MS)
            .map(|(id, _)| *id)
            .collect();
        for conn in slow {
            self.lost(conn);
        }
    }

    fn ready(&mut self, conn: u64, readable: bool, writable: bool) -> Result<()> {
        let Some(c) = self.conns.get_mut(&conn) else {
            return Ok(());
        };
        let client = c.client;
        if !c.opened && writable {
            match c.stream.peer_addr() {
                Ok(_) => {
                    c.opened = true;
                    let now = self.now();
                    let actions = self.clients[client].on_opened(now, conn);
                    self.act(client, actions)?;
                }
                Err(e) if e.kind() == ErrorKind::NotConnected => return Ok(()),
                Err(_) => {
                    self.lost(conn);
                    return Ok(());
                }
            }
        }
        if writable {
            self.flush(conn);
        }
        if readable {
            let mut buf = [0u8; 64 * 1024];
            loop {
                let Some(c) = self.conns.get_mut(&conn) else {
                    return Ok(());
                };
                match c.stream.read(&mut buf) {
                    Ok(0) => {
                        self.lost(conn);
                        return Ok(());
                    }
                    Ok(n) => {
                        let now = self.now();
                        let actions =
                            self.clients[client].on_bytes(now, &buf[..n], &mut self.history);
                        self.act(client, actions)?;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => {
                        self.lost(conn);
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self, conn: u64) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if !c.opened {
            return;
        }
        while !c.out.is_empty() {
            match c.stream.write(&c.out) {
                Ok(n) => {
                    c.out.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.lost(conn);
                    return;
                }
            }
        }
    }

    /// The connection broke (reset, closed by the server, never opened): its client hears of it.
    fn lost(&mut self, conn: u64) {
        if let Some(c) = self.conns.get(&conn) {
            let client = c.client;
            self.drop_conn(conn);
            if self.clients[client].owns(conn) {
                let now = self.now();
                self.clients[client].on_disconnected(now, &mut self.history);
            }
        }
    }

    fn drop_conn(&mut self, conn: u64) {
        if let Some(mut c) = self.conns.remove(&conn) {
            let _ = self.poll.registry().deregister(&mut c.stream);
        }
    }

    /// Closes every connection; returns the number of clients.
    pub fn close_all(&mut self) -> usize {
        let conns: Vec<u64> = self.conns.keys().copied().collect();
        for conn in conns {
            self.drop_conn(conn);
        }
        self.clients.len()
    }
}
