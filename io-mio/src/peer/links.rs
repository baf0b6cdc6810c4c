//! [`Peers`]: the listeners, the connections and each peer's link state, inside the driver's event loop
//! (same `Poll`, tokens from [`TOKEN_BASE`] up). What happens is queued as core inputs for the driver to
//! feed, in order, with [`Peers::pop_input`].

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use rzk_core::peer::{PeerMsg, ServerId};
use rzk_core::Input;
use tracing::{debug, info, trace, warn};

use super::backoff::Backoff;
use super::conn::{PeerConn, PeerTransport, Stage};
use super::wire::{self, Hello, Parsed, PortKind};
use super::{port_of, EnsembleOptions, PeerLimits};
use crate::tls::QuorumTls;
use rustls::pki_types::ServerName;

/// Peer tokens start here; client connections use small tokens (2 + connection number).
pub(crate) const TOKEN_BASE: usize = 1 << 48;
const QUORUM_LISTENER: usize = TOKEN_BASE;
const ELECTION_LISTENER: usize = TOKEN_BASE + 1;
const FIRST_CONN: usize = TOKEN_BASE + 2;
/// Reads per connection per turn before others get a go.
const READS_PER_TURN: usize = 16;
const READ_BUF: usize = 64 * 1024;

/// One port's connection to one peer.
struct Channel {
    /// The established connection.
    link: Option<usize>,
    /// Our dial in progress.
    dialing: Option<usize>,
    /// When to dial next (when there is neither).
    next_dial_at: u64,
    backoff: Backoff,
}

struct Peer {
    addrs: [SocketAddr; 2],
    host: String,
    channels: [Channel; 2],
    /// PeerConnected was reported and PeerDisconnected not yet.
    up: bool,
}

pub(crate) struct Peers {
    my_id: ServerId,
    tls: Option<QuorumTls>,
    next_tls_check_at: u64,
    limits: PeerLimits,
    registry: Registry,
    listeners: [TcpListener; 2],
    peers: BTreeMap<ServerId, Peer>,
    conns: HashMap<usize, PeerConn>,
    next_conn: usize,
    /// Inputs for the core, in the order they happened.
    inputs: VecDeque<Input>,
    /// Connections with output to flush or interest to update.
    dirty: BTreeSet<usize>,
    /// Connections that may still hold unread bytes after their read budget.
    read_queue: VecDeque<usize>,
    read_buf: Vec<u8>,
}

impl Peers {
    /// Binds both ports and registers them with `registry`.
    pub(crate) fn bind(options: EnsembleOptions, registry: &Registry) -> io::Result<Peers> {
        let bind = |addr: SocketAddr, token: usize| -> io::Result<TcpListener> {
            let mut l = TcpListener::bind(addr).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot listen for peers on {addr}: {e}"))
            })?;
            registry.register(&mut l, Token(token), Interest::READABLE)?;
            Ok(l)
        };
        let listeners = [
            bind(options.quorum_listen, QUORUM_LISTENER)?,
            bind(options.election_listen, ELECTION_LISTENER)?,
        ];
        let seed = options.my_id ^ (std::process::id() as u64) << 32;
        let peers = options
            .peers
            .iter()
            .filter(|p| p.id != options.my_id)
            .map(|p| {
                let channel = |i: u64| Channel {
                    link: None,
                    dialing: None,
                    next_dial_at: 0,
                    backoff: Backoff::new(
                        options.limits.backoff_min,
                        options.limits.backoff_max,
                        seed ^ (p.id << 1 | i).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                    ),
                };
                let peer = Peer {
                    addrs: [p.quorum, p.election],
                    host: p.host.clone(),
                    channels: [channel(0), channel(1)],
                    up: false,
                };
                (p.id, peer)
            })
            .collect();
        for l in &listeners {
            if let Ok(addr) = l.local_addr() {
                info!(%addr, my_id = options.my_id, "listening for peers");
            }
        }
        if let Some(t) = &options.tls {
            info!(
                dial_tls = t.dial_tls,
                unified = t.unified,
                "TLS between servers"
            );
        }
        Ok(Peers {
            my_id: options.my_id,
            tls: options.tls,
            next_tls_check_at: 0,
            limits: options.limits,
            registry: registry.try_clone()?,
            listeners,
            peers,
            conns: HashMap::new(),
            next_conn: FIRST_CONN,
            inputs: VecDeque::new(),
            dirty: BTreeSet::new(),
            read_queue: VecDeque::new(),
            read_buf: vec![0; READ_BUF],
        })
    }

    /// Whether a poll token belongs to the peer transport.
    pub(crate) fn owns(token: Token) -> bool {
        token.0 >= TOKEN_BASE
    }

    /// The bound quorum and election addresses.
    pub(crate) fn local_addrs(&self) -> io::Result<(SocketAddr, SocketAddr)> {
        Ok((
            self.listeners[0].local_addr()?,
            self.listeners[1].local_addr()?,
        ))
    }

    /// The next input for the core, if any.
    pub(crate) fn pop_input(&mut self) -> Option<Input> {
        self.inputs.pop_front()
    }

    /// Whether work is waiting that should not wait for the next event.
    pub(crate) fn busy(&self) -> bool {
        !self.read_queue.is_empty() || !self.dirty.is_empty()
    }

    /// When [`Peers::turn`] next has timed work: a dial or a handshake deadline.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        let dials = self
            .peers
            .values()
            .flat_map(|p| p.channels.iter())
            .filter(|c| c.link.is_none() && c.dialing.is_none())
            .map(|c| c.next_dial_at);
        let deadlines = self.conns.values().filter_map(|c| c.deadline);
        dials.chain(deadlines).min()
    }

    pub(crate) fn on_event(&mut self, token: Token, event: &Event, now: u64) {
        match token.0 {
            QUORUM_LISTENER => self.accept(PortKind::Quorum, now),
            ELECTION_LISTENER => self.accept(PortKind::Election, now),
            key => {
                let Some(conn) = self.conns.get_mut(&key) else {
                    return;
                };
                if conn.stage == Stage::Connecting {
                    match conn.check_connected() {
                        Ok(true) => {
                            conn.stage = Stage::Handshake;
                            trace!(peer = conn.peer, port = ?conn.port, "connected; hello sent");
                            self.dirty.insert(key);
                        }
                        Ok(false) => return,
                        Err(e) => return self.close(key, now, &format!("connect failed: {e}")),
                    }
                }
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    if let Some(conn) = self.conns.get_mut(&key) {
                        conn.read_pending = true;
                    }
                    self.read_from(key, now);
                }
                if event.is_writable() || event.is_write_closed() {
                    self.dirty.insert(key);
                }
            }
        }
    }

    /// Queues a message for a peer (dropped when its link is down).
    pub(crate) fn send(&mut self, to: ServerId, msg: &PeerMsg, now: u64) {
        let port = port_of(msg);
        let Some(key) = self
            .peers
            .get(&to)
            .filter(|p| p.up)
            .and_then(|p| p.channels[port.index()].link)
        else {
            trace!(to, "no link: message dropped");
            return;
        };
        let frame = match wire::encode_frame(msg, self.limits.max_frame(port)) {
            Ok(frame) => frame,
            Err(e) => {
                // The peer would refuse it anyway; dropping the link tells the core it was not delivered.
                warn!(to, error = %e, ?port, "message too large for the peer port: dropping the link");
                return self.close(key, now, "message too large");
            }
        };
        let max_queue = self.limits.max_queue(port);
        let Some(conn) = self.conns.get_mut(&key) else {
            return;
        };
        conn.queue(frame);
        if conn.queued > max_queue {
            warn!(
                to,
                queued = conn.queued,
                ?port,
                "peer is not reading: dropping the link"
            );
            return self.close(key, now, "output queue full");
        }
        self.dirty.insert(key);
    }

    /// Whether some connection has output to flush or interest to update.
    pub(crate) fn has_output(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Timed work (dials, handshake deadlines) and reads that ran out of budget; call once per loop turn.
    pub(crate) fn turn(&mut self, now: u64) {
        if now >= self.next_tls_check_at {
            self.next_tls_check_at = now + 1000;
            if let Some(t) = &mut self.tls {
                t.reload_if_changed();
            }
        }
        let expired: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| c.deadline.is_some_and(|d| d <= now))
            .map(|(&k, _)| k)
            .collect();
        for key in expired {
            self.close(key, now, "handshake timed out");
        }
        let due: Vec<(ServerId, PortKind)> = self
            .peers
            .iter()
            .flat_map(|(&id, p)| {
                PortKind::BOTH.into_iter().filter_map(move |port| {
                    let c = &p.channels[port.index()];
                    (c.link.is_none() && c.dialing.is_none() && c.next_dial_at <= now)
                        .then_some((id, port))
                })
            })
            .collect();
        for (id, port) in due {
            self.dial(id, port, now);
        }
        for _ in 0..self.read_queue.len() {
            if let Some(key) = self.read_queue.pop_front() {
                self.read_from(key, now);
            }
        }
    }

    /// Writes what is queued and updates poll interests.
    pub(crate) fn flush(&mut self, now: u64) {
        while let Some(key) = self.dirty.pop_first() {
            let Some(conn) = self.conns.get_mut(&key) else {
                continue;
            };
            let result = conn
                .flush()
                .and_then(|()| conn.sync_interest(&self.registry));
            if let Err(e) = result {
                self.close(key, now, &format!("write failed: {e}"));
            }
        }
    }

    /// Closes every socket (shutdown).
    pub(crate) fn close_all(&mut self) {
        for (_, mut conn) in self.conns.drain() {
            let _ = conn.flush();
            conn.deregister(&self.registry);
        }
    }

    fn accept(&mut self, port: PortKind, now: u64) {
        loop {
            match self.listeners[port.index()].accept() {
                Ok((stream, addr)) => {
                    let pending = self
                        .conns
                        .values()
                        .filter(|c| !c.dialed && c.stage != Stage::Established)
                        .count();
                    if pending >= self.limits.max_pending_accepts {
                        warn!(%addr, "too many peer connections in their handshake: closing a new one");
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    let transport = match &self.tls {
                        None => PeerTransport::Plain,
                        Some(t) if t.unified => PeerTransport::Detect(Arc::clone(&t.server)),
                        Some(t) if t.dial_tls => {
                            match crate::tls::server_session(Arc::clone(&t.server)) {
                                Ok(session) => PeerTransport::tls(session),
                                Err(e) => {
                                    warn!(%addr, error = %e, "cannot start TLS for a peer connection");
                                    continue;
                                }
                            }
                        }
                        Some(_) => PeerTransport::Plain,
                    };
                    let mut conn = PeerConn::new(stream, Token(0), addr, port, false, transport);
                    conn.deadline = Some(now + self.limits.handshake_timeout.as_millis() as u64);
                    self.insert(conn);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // EMFILE and the like: the kernel keeps them queued; the next event retries.
                    warn!(error = %e, ?port, "accepting a peer connection failed");
                    return;
                }
            }
        }
    }

    /// Registers a new connection under a fresh token.
    fn insert(&mut self, mut conn: PeerConn) -> Option<usize> {
        let key = self.next_conn;
        self.next_conn += 1;
        conn.set_token(Token(key));
        if let Err(e) = conn.sync_interest(&self.registry) {
            warn!(addr = %conn.addr, error = %e, "cannot watch a peer connection");
            return None;
        }
        self.conns.insert(key, conn);
        Some(key)
    }

    fn dial(&mut self, id: ServerId, port: PortKind, now: u64) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let addr = peer.addrs[port.index()];
        let host = peer.host.clone();
        let channel = &mut peer.channels[port.index()];
        let retry_at = now + channel.backoff.next_delay_ms();
        channel.next_dial_at = retry_at;
        let stream = match TcpStream::connect(addr) {
            Ok(s) => s,
            Err(e) => {
                debug!(peer = id, %addr, error = %e, "cannot dial peer");
                return;
            }
        };
        let _ = stream.set_nodelay(true);
        let transport = match &self.tls {
            Some(t) if t.dial_tls => {
                let name = match ServerName::try_from(
                    host.trim_start_matches('[').trim_end_matches(']'),
                ) {
                    Ok(name) => name.to_owned(),
                    Err(e) => {
                        warn!(peer = id, %host, error = %e, "the peer's host is not a valid TLS server name");
                        return;
                    }
                };
                match rustls::ClientConnection::new(Arc::clone(&t.client), name) {
                    Ok(mut session) => {
                        session.set_buffer_limit(None);
                        PeerTransport::tls(session.into())
                    }
                    Err(e) => {
                        warn!(peer = id, error = %e, "cannot start TLS to a peer");
                        return;
                    }
                }
            }
            _ => PeerTransport::Plain,
        };
        let mut conn = PeerConn::new(stream, Token(0), addr, port, true, transport);
        conn.peer = Some(id);
        conn.deadline = Some(now + self.limits.handshake_timeout.as_millis() as u64);
        let hello = Hello::new(self.my_id, port);
        match wire::encode_frame(&hello, self.limits.max_frame(port)) {
            Ok(frame) => conn.queue(frame),
            Err(e) => {
                warn!(error = %e, "cannot encode the hello");
                return;
            }
        }
        trace!(peer = id, %addr, ?port, "dialing");
        if let Some(key) = self.insert(conn) {
            if let Some(peer) = self.peers.get_mut(&id) {
                peer.channels[port.index()].dialing = Some(key);
            }
        }
    }

    /// Reads until WouldBlock, the budget, EOF or an error, parsing frames as they complete.
    fn read_from(&mut self, key: usize, now: u64) {
        for _ in 0..READS_PER_TURN {
            let Some(conn) = self.conns.get_mut(&key) else {
                return;
            };
            if !conn.read_pending || conn.stage == Stage::Connecting {
                return;
            }
            match conn.read_some(&mut self.read_buf) {
                Ok(0) => return self.close(key, now, "closed by the peer"),
                Ok(_) => {
                    if let Some(cert) = conn.take_established() {
                        let addr = conn.addr;
                        if let Err(why) = self.check_peer_certificate(key, cert.as_ref()) {
                            warn!(%addr, error = %why, "peer connection refused");
                            return self.close(key, now, &why);
                        }
                        // Handshake messages to send.
                        self.dirty.insert(key);
                    } else if conn.tls_wants_write() {
                        self.dirty.insert(key);
                    }
                    if let Err(why) = self.process(key, now) {
                        return self.close(key, now, &why);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    conn.read_pending = false;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    // A TLS failure (bad certificate, plaintext on a TLS port, ...): worth an operator's eye.
                    let (addr, peer, port) = (conn.addr, conn.peer, conn.port);
                    warn!(%addr, ?peer, ?port, error = %e, "peer connection refused");
                    return self.close(key, now, &format!("read failed: {e}"));
                }
                Err(e) => return self.close(key, now, &format!("read failed: {e}")),
            }
        }
        if !self.read_queue.contains(&key) {
            self.read_queue.push_back(key);
        }
    }

    /// Parses what `key` received: its hello, then messages. Messages that arrive before the peer's link is
    /// whole (the other port's connection is not established yet) are held, within the port's queue bound,
    /// and delivered right after `PeerConnected`. An `Err` says why the connection must close.
    fn process(&mut self, key: usize, now: u64) -> Result<(), String> {
        let mut used = 0;
        let result = loop {
            let Some(conn) = self.conns.get(&key) else {
                return Ok(()); // closed while handling its hello (a nudge)
            };
            let stage = conn.stage;
            let port = conn.port;
            let peer = conn.peer;
            let (payload, n) =
                match wire::parse_frame(&conn.inbuf[used..], self.limits.max_frame(port)) {
                    Parsed::Frame { payload, used } => (payload.to_vec(), used),
                    Parsed::Incomplete => break Ok(()),
                    Parsed::Bad(e) => break Err(format!("bad frame: {e}")),
                };
            used += n;
            if stage == Stage::Established {
                let Some(from) = peer else {
                    break Err("established without a peer".into());
                };
                let msg = match wire::decode::<PeerMsg>(&payload) {
                    Ok(msg) => msg,
                    Err(e) => break Err(format!("bad message: {e}")),
                };
                if self.is_up(from) {
                    self.inputs.push_back(Input::PeerMessage { from, msg });
                } else if let Some(conn) = self.conns.get_mut(&key) {
                    conn.held_bytes += n;
                    conn.held.push_back(msg);
                    if conn.held_bytes > self.limits.max_queue(port) {
                        break Err("too much data before the link was complete".to_string());
                    }
                }
            } else {
                let hello = match wire::decode_hello(&payload) {
                    Ok(h) => h,
                    Err(e) => break Err(format!("bad hello: {e}")),
                };
                // Consume the hello before acting on it: the connection may be closed or replaced.
                if let Some(conn) = self.conns.get_mut(&key) {
                    conn.inbuf.drain(..used);
                }
                used = 0;
                self.on_hello(key, hello, now)?;
            }
        };
        if let Some(conn) = self.conns.get_mut(&key) {
            conn.inbuf.drain(..used.min(conn.inbuf.len()));
        }
        result
    }

    /// ssl.quorum.hostnameVerification on an accepted connection: the peer's certificate must name the
    /// address it connects from, as an IP address, or as the host of a server.N line that resolves to it
    /// (ZooKeeper's trust manager checks the IP, then the reverse-DNS name; the server lines stand in for
    /// reverse DNS, which the event loop must not block on). Dialed connections had their server name
    /// checked by rustls.
    fn check_peer_certificate(
        &self,
        key: usize,
        cert: Option<&rustls::pki_types::CertificateDer<'static>>,
    ) -> Result<(), String> {
        let Some(conn) = self.conns.get(&key) else {
            return Ok(());
        };
        let verify = self.tls.as_ref().is_some_and(|t| t.verify_hostname);
        if conn.dialed || !verify {
            return Ok(());
        }
        let Some(cert) = cert else {
            return Err("TLS peer sent no certificate".into());
        };
        let ip = conn.addr.ip();
        let (ips, names) = crate::tls::certificate_names(cert)?;
        let named = ips.contains(&ip)
            || self.peers.values().any(|p| {
                names.contains(&p.host.to_ascii_lowercase()) && p.addrs.iter().any(|a| a.ip() == ip)
            });
        if named {
            Ok(())
        } else {
            Err(format!(
                "the peer's certificate does not name {ip} (IP SANs {ips:?}, names {names:?}): \
                 hostname verification failed"
            ))
        }
    }

    fn is_up(&self, id: ServerId) -> bool {
        self.peers.get(&id).is_some_and(|p| p.up)
    }

    fn on_hello(&mut self, key: usize, hello: Hello, now: u64) -> Result<(), String> {
        let Some(conn) = self.conns.get(&key) else {
            return Ok(());
        };
        let (port, dialed, target) = (conn.port, conn.dialed, conn.peer);
        if hello.port != port {
            return Err(format!(
                "hello for the {:?} port arrived on the {port:?} port (server lines disagree?)",
                hello.port
            ));
        }
        let id = hello.server_id;
        if dialed {
            if target != Some(id) {
                return Err(format!(
                    "expected server {target:?} at {}, found server {id} (server lines disagree?)",
                    conn.addr
                ));
            }
            if let Some(peer) = self.peers.get_mut(&id) {
                peer.channels[port.index()].dialing = None;
            }
            self.establish(key, id, port);
            return Ok(());
        }
        if id == self.my_id || !self.peers.contains_key(&id) {
            return Err(format!(
                "hello from server {id}, which is not another server of the ensemble"
            ));
        }
        if id < self.my_id {
            // The larger id dials: this connection is a nudge. Close it and dial back now.
            debug!(
                peer = id,
                ?port,
                "connection from a smaller id: dialing it instead"
            );
            self.close(key, now, "smaller id dialed (nudge)");
            if let Some(c) = self
                .peers
                .get_mut(&id)
                .map(|p| &mut p.channels[port.index()])
            {
                if c.link.is_none() && c.dialing.is_none() {
                    c.backoff.reset();
                    c.next_dial_at = now;
                }
            }
            return Ok(());
        }
        // A new connection from a larger id: it no longer trusts the old one.
        if let Some(old) = self
            .peers
            .get(&id)
            .and_then(|p| p.channels[port.index()].link)
        {
            self.close(old, now, "replaced by a new connection from the peer");
        }
        let frame = wire::encode_frame(&Hello::new(self.my_id, port), self.limits.max_frame(port))
            .map_err(|e| format!("cannot encode the hello: {e}"))?;
        if let Some(conn) = self.conns.get_mut(&key) {
            conn.peer = Some(id);
            conn.queue(frame);
        }
        self.establish(key, id, port);
        Ok(())
    }

    /// `key` becomes the channel's connection; the link comes up once both channels have one.
    fn establish(&mut self, key: usize, id: ServerId, port: PortKind) {
        let Some(conn) = self.conns.get_mut(&key) else {
            return;
        };
        conn.stage = Stage::Established;
        conn.deadline = None;
        self.dirty.insert(key);
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let channel = &mut peer.channels[port.index()];
        channel.link = Some(key);
        channel.backoff.reset();
        debug!(peer = id, ?port, "peer connection established");
        if !peer.up && peer.channels.iter().all(|c| c.link.is_some()) {
            peer.up = true;
            info!(peer = id, "peer link up");
            self.inputs.push_back(Input::PeerConnected { peer: id });
            // Deliver what arrived on either connection while waiting for the other.
            for k in peer.channels.iter().filter_map(|c| c.link) {
                if let Some(conn) = self.conns.get_mut(&k) {
                    conn.held_bytes = 0;
                    for msg in conn.held.drain(..) {
                        self.inputs.push_back(Input::PeerMessage { from: id, msg });
                    }
                }
            }
        }
    }

    /// Closes a connection; if it was a channel's connection the link goes down and the other channel's
    /// connection is closed too; if it was a dial, the next one waits for the backoff.
    fn close(&mut self, key: usize, now: u64, why: &str) {
        let Some(mut conn) = self.conns.remove(&key) else {
            return;
        };
        conn.deregister(&self.registry);
        self.dirty.remove(&key);
        self.read_queue.retain(|&k| k != key);
        let Some(id) = conn.peer else {
            debug!(addr = %conn.addr, why, "peer connection closed before its hello");
            return;
        };
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let channel = &mut peer.channels[conn.port.index()];
        if channel.dialing == Some(key) {
            channel.dialing = None;
            trace!(peer = id, port = ?conn.port, why, "dial failed");
            return;
        }
        if channel.link != Some(key) {
            return;
        }
        channel.link = None;
        channel.next_dial_at = now + channel.backoff.next_delay_ms();
        let was_up = peer.up;
        peer.up = false;
        let other = peer.channels[1 - conn.port.index()].link;
        if was_up {
            info!(peer = id, port = ?conn.port, why, "peer link down");
            self.inputs.push_back(Input::PeerDisconnected { peer: id });
        } else {
            debug!(peer = id, port = ?conn.port, why, "peer connection closed");
        }
        if let Some(other) = other {
            self.close(other, now, "the link's other connection closed");
        }
    }
}
