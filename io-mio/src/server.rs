//! [`Server`]: the production event loop. One mio `Poll` over the client listener, every client socket and
//! a waker; it moves bytes between sockets and the [`Machine`], feeds it time, and decides nothing.
//!
//! One turn of the loop: poll; handle every event (accept, read → `ClientBytes`, writable → flush);
//! then, after the batch, feed `Persisted` for persistence ops completed meanwhile, `Tick` if a deadline is due and
//! `HostMetrics` now and then, and flush every connection whose output or interest changed, so many
//! small replies leave in one vectored write.
//!
//! In an ensemble ([`ServerOptions::ensemble`]) the same poll also carries the quorum and election
//! listeners and connections ([`crate::peer`]); their events become the core's peer inputs, fed in order
//! through the same `step`. Persistence ops (`Output::Persist`) are carried out in their order by the
//! [`LogWriter`]: appends by its writer thread, the ensemble's rarer ops (epoch files, truncations, installed
//! snapshots) on the loop thread after everything before them is durable. If one fails, no further input
//! is fed and `run` returns the error.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io::{self, Read};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use rzk_core::node::PersistOp;
use rzk_core::{ConnId, Input, Output};
use tracing::{debug, info, trace, warn};

use crate::admin::{AdminRequest, AdminServer};
use crate::client_limit::ClientLimit;
use crate::clock::Clock;
use crate::connection::Transport;
use crate::connection::{Connection, Flushed};
use crate::host;
use crate::log_writer::LogWriter;
use crate::machine::Machine;
use crate::peer::{EnsembleOptions, Peers};
use crate::shutdown::Shutdown;
use crate::storage::StorageOptions;
use crate::tls::{subject_rfc2253, TlsAcceptor};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const SECURE_LISTENER: Token = Token(2);
const FIRST_CONN_TOKEN: usize = 3;
/// How often (ms) the TLS store files are checked for changes when certificates are reloaded.
const TLS_RELOAD_CHECK_MS: u64 = 1000;

/// Reads per connection per turn before others get a go (the rest waits in the read queue).
const READS_PER_TURN: usize = 16;
/// After accept fails for lack of descriptors or memory, wait this long (ms) before accepting again.
const ACCEPT_RETRY_MS: u64 = 100;

/// How the driver treats client connections.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// maxClientCnxns: concurrent connections allowed from one client IP; 0 means unlimited. Connections
    /// beyond it are closed right after accept, with a warning, as ZooKeeper does.
    pub max_client_cnxns: u32,
    /// How long a connection being closed may take to flush what is queued for it. A peer that does not
    /// read is cut off after this, with the rest unsent; zero closes as soon as a write would block.
    pub close_linger: Duration,
    /// How often the machine is sent [`Input::HostMetrics`].
    pub host_metrics_interval: Duration,
    /// Size of the read buffer shared by all connections (bytes per read call).
    pub read_buffer_size: usize,
    /// Pending connections the kernel queues before accept (capped by net.core.somaxconn). mio listens
    /// with 128, too few when a thousand clients reconnect at once after a failover.
    pub listen_backlog: i32,
    /// Where txns and snapshots go. `None` keeps nothing: appends count as durable at once (for driver tests
    /// with fake machines; a real server always has a dataDir).
    pub storage: Option<StorageOptions>,
    /// Imported ZooKeeper state recovery left for the log writer to write as the first snapshot, before it
    /// appends anything ([`crate::storage::StorageOptions::recover_deferring_import`]).
    pub unwritten_snapshot: Option<crate::storage::UnwrittenSnapshot>,
    /// The test journal's file (`RZK_TEST_JOURNAL`; see `journal.rs`), `None` in production.
    pub journal: Option<std::path::PathBuf>,
    /// This server's part in an ensemble (its id, its quorum and election ports, the other servers);
    /// `None` runs standalone.
    pub ensemble: Option<EnsembleOptions>,
    /// Where the HTTP admin server listens (admin.serverAddress:admin.serverPort); `None` runs none.
    pub admin: Option<SocketAddr>,
    /// After a turn, how long the loop keeps polling without sleeping before it blocks in epoll_wait. A
    /// blocked thread is woken by the scheduler, which on a virtual machine takes tens of microseconds:
    /// more than the server's whole work for a read. Zero blocks at once.
    pub poll_spin: Duration,
    /// TLS for clients: a TLS port (secureClientPort) and/or TLS on the plaintext port
    /// (client.portUnification).
    pub tls: Option<ClientTls>,
    /// The flight recorder (`rzk.recordDir`): every input the machine is fed, to a directory of segments.
    pub record: Option<RecordOptions>,
}

/// What the flight recorder needs from the server.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    pub writer: rzk_record::WriterOptions,
    /// myid, and the node's seed (for people reading the recording).
    pub server_id: u64,
    pub seed: u64,
    /// `rzk.recordRedact`: znode data and credentials are zeroed in the recording.
    pub redact: bool,
}

/// Where clients may speak TLS, and the certificates they get.
#[derive(Clone)]
pub struct ClientTls {
    pub acceptor: TlsAcceptor,
    /// secureClientPortAddress:secureClientPort, a port that speaks only TLS.
    pub secure_addr: Option<SocketAddr>,
    /// client.portUnification: the plaintext port takes TLS clients too.
    pub unify_plain_port: bool,
    /// The main port speaks only TLS: a server with secureClientPort and no clientPort binds it there.
    pub tls_only: bool,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("secure_addr", &self.secure_addr)
            .field("unify_plain_port", &self.unify_plain_port)
            .finish_non_exhaustive()
    }
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            max_client_cnxns: 60,
            close_linger: Duration::from_secs(1),
            host_metrics_interval: Duration::from_secs(5),
            read_buffer_size: 64 * 1024,
            listen_backlog: 1024,
            storage: None,
            unwritten_snapshot: None,
            journal: None,
            ensemble: None,
            admin: None,
            poll_spin: Duration::ZERO,
            tls: None,
            record: None,
        }
    }
}

/// A bound client port, ready to [`Server::run`] a machine.
pub struct Server {
    poll: Poll,
    listener: TcpListener,
    secure_listener: Option<TcpListener>,
    shutdown: Shutdown,
    options: ServerOptions,
    clock: Clock,
    /// Wakes the loop: shutdown requests, the log writer thread's progress and admin requests.
    waker: Arc<Waker>,
    peers: Option<Peers>,
    admin: Option<AdminServer>,
}

impl Server {
    /// Binds the client port (non-blocking, SO_REUSEADDR), and the quorum and election ports in an
    /// ensemble, and prepares the poll.
    pub fn bind(addr: SocketAddr, options: ServerOptions) -> io::Result<Server> {
        let poll = Poll::new()?;
        let mut listener = TcpListener::bind(addr)?;
        set_backlog(&listener, options.listen_backlog)?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let secure_listener = match options.tls.as_ref().and_then(|t| t.secure_addr) {
            Some(addr) => {
                let mut l = TcpListener::bind(addr)?;
                set_backlog(&l, options.listen_backlog)?;
                poll.registry()
                    .register(&mut l, SECURE_LISTENER, Interest::READABLE)?;
                Some(l)
            }
            None => None,
        };
        let peers = match &options.ensemble {
            Some(ensemble) => Some(Peers::bind(ensemble.clone(), poll.registry())?),
            None => None,
        };
        // As ZooKeeper: an admin port that cannot be bound is logged and the server runs without it (three
        // servers of a test ensemble on one host would otherwise fight over the default 8080).
        let admin = options
            .admin
            .and_then(|addr| match AdminServer::bind(addr) {
                Ok(a) => Some(a),
                Err(e) => {
                    warn!(%addr, error = %e, "cannot start the admin server; running without it");
                    None
                }
            });
        Ok(Server {
            peers,
            admin,
            poll,
            listener,
            secure_listener,
            shutdown: Shutdown::new(Arc::clone(&waker)),
            options,
            clock: Clock::start(),
            waker,
        })
    }

    /// The address actually bound (useful after binding port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The TLS client port's address actually bound, if there is one.
    pub fn secure_addr(&self) -> Option<SocketAddr> {
        self.secure_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The quorum and election addresses actually bound, in an ensemble.
    pub fn peer_addrs(&self) -> Option<io::Result<(SocketAddr, SocketAddr)>> {
        self.peers.as_ref().map(Peers::local_addrs)
    }

    /// The admin server's address, if it runs.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().and_then(|a| a.local_addr().ok())
    }

    /// A handle that makes [`Server::run`] return, usable from any thread.
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// The clock `run` will feed the machine, started at bind: read it to create the machine at the same
    /// `now` it will then see.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Drives `machine` until shutdown is requested. Returns an error if polling itself fails, or if the txn
    /// log cannot be written (then no write made after the failure was acknowledged).
    pub fn run<M: Machine>(mut self, machine: M) -> io::Result<()> {
        let unwritten = self.options.unwritten_snapshot.take();
        let read_buf = vec![0; self.options.read_buffer_size.max(1)];
        let clock = self.clock;
        let admin = match self.admin {
            Some(a) => Some(a.start(Arc::clone(&self.waker))?),
            None => None,
        };
        let log = match &self.options.storage {
            Some(storage) => LogWriter::on_disk(storage.clone(), self.waker, unwritten)?,
            None => LogWriter::in_memory(),
        };
        let journal = match &self.options.journal {
            Some(path) => Some(crate::journal::Journal::create(path)?),
            None => None,
        };
        let recorder = match &self.options.record {
            Some(r) => {
                let sink = rzk_record::FileSink::start(r.writer.clone())?;
                info!(
                    dir = %r.writer.dir.display(),
                    redact = r.redact,
                    "recording every input (rzk.recordDir)"
                );
                let recorder = rzk_record::Recorder::new(sink, r.server_id, run_id(), r.seed);
                Some(if r.redact {
                    recorder.redacting()
                } else {
                    recorder
                })
            }
            None => None,
        };
        let driver = Driver {
            journal,
            recorder,
            limit: ClientLimit::new(self.options.max_client_cnxns),
            next_metrics_at: clock.now_ms(),
            poll: self.poll,
            listener: self.listener,
            secure_listener: self.secure_listener,
            next_tls_check_at: clock.now_ms() + TLS_RELOAD_CHECK_MS,
            shutdown: self.shutdown,
            options: self.options,
            machine,
            clock,
            conns: HashMap::new(),
            next_conn: 1,
            log,
            failure: None,
            outputs: Vec::new(),
            read_buf,
            dirty: BTreeSet::new(),
            read_queue: VecDeque::new(),
            reads_this_turn: 0,
            events_came_soon: true,
            closing: BTreeSet::new(),
            accept_retry_at: None,
            peers: self.peers,
            admin,
            admin_pending: HashMap::new(),
            next_admin_id: 1,
        };
        if let Ok(addr) = driver.listener.local_addr() {
            let tls = driver.options.tls.as_ref();
            if tls.is_some_and(|t| t.tls_only) {
                info!(%addr, "serving TLS clients (no plaintext port)");
            } else {
                let unified = tls.is_some_and(|t| t.unify_plain_port);
                info!(%addr, tls_too = unified, "serving clients");
            }
        }
        if let Some(addr) = driver
            .secure_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
        {
            info!(%addr, "serving TLS clients");
        }
        driver.run()
    }
}

/// The loop's state while running.
struct Driver<M> {
    poll: Poll,
    listener: TcpListener,
    secure_listener: Option<TcpListener>,
    next_tls_check_at: u64,
    shutdown: Shutdown,
    options: ServerOptions,
    machine: M,
    /// The test journal, when asked for.
    journal: Option<crate::journal::Journal>,
    /// The flight recorder, when `rzk.recordDir` is set.
    recorder: Option<rzk_record::Recorder<rzk_record::FileSink>>,
    clock: Clock,
    conns: HashMap<ConnId, Connection>,
    next_conn: ConnId,
    limit: ClientLimit,
    log: LogWriter,
    /// Set when the txn log failed: the loop stops and `run` returns it.
    failure: Option<io::Error>,
    /// Reused for every `step` so outputs do not allocate each time.
    outputs: Vec<Output>,
    read_buf: Vec<u8>,
    /// Connections whose queued output or poll interest changed since they were last settled.
    dirty: BTreeSet<ConnId>,
    /// Connections that may still hold unread bytes: read again next turn (fairness, and resuming after
    /// backpressure, since edge-triggered readiness is not reported twice).
    read_queue: VecDeque<ConnId>,
    /// Socket reads (client and peer) since the loop last waited for events: a turn that read once had
    /// one lone request, whose txns are best synced on this thread (see [`LogWriter::commit_pending`]).
    reads_this_turn: usize,
    /// Whether the last wait for events ended within `poll_spin`: then the next one spins first.
    events_came_soon: bool,
    /// (deadline ms, conn) of connections flushing before close.
    closing: BTreeSet<(u64, ConnId)>,
    accept_retry_at: Option<u64>,
    next_metrics_at: u64,
    peers: Option<Peers>,
    /// Admin requests from the admin thread, and those waiting for the machine's answer.
    admin: Option<std::sync::mpsc::Receiver<AdminRequest>>,
    admin_pending: HashMap<u64, std::sync::mpsc::Sender<rzk_core::admin::AdminResponse>>,
    next_admin_id: u64,
}

/// Calling listen(2) again on a listening socket only changes its backlog (Linux and the BSDs).
fn set_backlog(listener: &TcpListener, backlog: i32) -> io::Result<()> {
    // SAFETY: listen on a socket descriptor we own; no memory is passed.
    if unsafe { libc::listen(listener.as_raw_fd(), backlog) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn token_of(conn: ConnId) -> Token {
    Token(FIRST_CONN_TOKEN + conn as usize)
}

fn conn_of(token: Token) -> ConnId {
    (token.0 - FIRST_CONN_TOKEN) as ConnId
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
    )
}

impl<M: Machine> Driver<M> {
    fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            self.after_events();
            // The recorder hands this turn's inputs to its writer in one batch (the writer polls for it).
            if let Some(r) = &mut self.recorder {
                r.flush();
            }
            if let Some(e) = self.failure.take() {
                self.close_all();
                return Err(e);
            }
            if self.shutdown.is_requested() {
                break;
            }
            let timeout = self.poll_timeout();
            match self.wait(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            self.reads_this_turn = 0;
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(false),
                    SECURE_LISTENER => self.accept(true),
                    // Shutdown and log writer progress are checked after every batch anyway.
                    WAKER => {}
                    token if Peers::owns(token) => {
                        self.reads_this_turn += 1;
                        let now = self.clock.now_ms();
                        if let Some(peers) = &mut self.peers {
                            peers.on_event(token, event, now);
                        }
                        self.feed_peer_inputs();
                    }
                    token => self.on_client_event(conn_of(token), event),
                }
            }
        }
        self.close_all();
        Ok(())
    }

    /// Polls for events until `timeout`. While events keep coming sooner than `poll_spin` after the
    /// loop starts waiting, it polls without sleeping (yielding the core to any other runnable thread
    /// between polls) for up to `poll_spin` before it blocks; a server whose clients pause longer than
    /// that blocks at once and burns nothing.
    fn wait(&mut self, events: &mut Events, timeout: Duration) -> io::Result<()> {
        let started = Instant::now();
        let spin = self.options.poll_spin.min(timeout);
        let result = if spin.is_zero() || !self.events_came_soon {
            self.poll.poll(events, Some(timeout))
        } else {
            loop {
                self.poll.poll(events, Some(Duration::ZERO))?;
                let waited = started.elapsed();
                if !events.is_empty() {
                    break Ok(());
                }
                if waited >= spin {
                    break self.poll.poll(events, Some(timeout.saturating_sub(waited)));
                }
                std::thread::yield_now();
            }
        };
        self.events_came_soon = !events.is_empty() && started.elapsed() < self.options.poll_spin;
        result
    }

    /// Everything that happens once per turn, after the batch of events.
    fn after_events(&mut self) {
        let now = self.clock.now_ms();
        if self.accept_retry_at.is_some_and(|at| at <= now) {
            self.accept_retry_at = None;
            self.accept(false);
            self.accept(true);
        }
        if now >= self.next_tls_check_at {
            self.next_tls_check_at = now + TLS_RELOAD_CHECK_MS;
            if let Some(tls) = &mut self.options.tls {
                tls.acceptor.reload_if_changed();
            }
        }
        for _ in 0..self.read_queue.len() {
            let Some(id) = self.read_queue.pop_front() else {
                break;
            };
            if let Some(conn) = self.conns.get_mut(&id) {
                conn.in_read_queue = false;
                self.read_from(id);
            }
        }
        if let Some(peers) = &mut self.peers {
            peers.turn(now);
        }
        self.feed_peer_inputs();
        self.take_admin_requests();
        if self.machine.next_deadline().is_some_and(|d| d <= now) {
            self.step(Input::Tick);
        }
        if now >= self.next_metrics_at {
            self.next_metrics_at = now + self.options.host_metrics_interval.as_millis() as u64;
            if let (Some(open_fds), Some(max_fds)) = (host::open_fds(), host::max_fds()) {
                self.step(Input::HostMetrics { open_fds, max_fds });
            }
        }
        let expired: Vec<ConnId> = self
            .closing
            .iter()
            .take_while(|(deadline, _)| *deadline <= now)
            .map(|(_, id)| *id)
            .collect();
        self.dirty.extend(expired);
        // Settling may tell the machine about dead sockets, whose outputs may dirty other connections or
        // append to the log: go on until both are quiet.
        loop {
            match self.log.take_persisted() {
                Ok(Some(id)) => {
                    self.step(Input::Persisted { id });
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, "the txn log failed: stopping without acknowledging more writes");
                    self.failure = Some(e);
                    return;
                }
            }
            if let Some(id) = self.dirty.pop_first() {
                self.settle(id);
            } else if self.peers.as_ref().is_some_and(Peers::has_output) {
                let now = self.clock.now_ms();
                if let Some(peers) = &mut self.peers {
                    peers.flush(now);
                }
                self.feed_peer_inputs();
            } else if !self.log.commit_pending(self.reads_this_turn <= 1) {
                break;
            }
        }
    }

    /// Until the earliest of: the machine's deadline, host metrics, a closing connection's deadline, an
    /// accept retry; zero while connections wait to be read.
    fn poll_timeout(&self) -> Duration {
        if !self.read_queue.is_empty()
            || !self.dirty.is_empty()
            || self.peers.as_ref().is_some_and(Peers::busy)
        {
            return Duration::ZERO;
        }
        let now = self.clock.now_ms();
        let wake_at = [
            self.machine.next_deadline(),
            Some(self.next_metrics_at),
            self.closing.first().map(|(deadline, _)| *deadline),
            self.accept_retry_at,
            self.peers.as_ref().and_then(Peers::next_deadline),
            self.options.tls.as_ref().map(|_| self.next_tls_check_at),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now);
        Duration::from_millis(wake_at.saturating_sub(now))
    }

    /// Feeds one input, then whatever the peer transport reported meanwhile (a link dropped by a send).
    fn step(&mut self, input: Input) {
        self.step_one(input);
        self.feed_peer_inputs();
    }

    /// Feeds the peer transport's inputs, in the order they happened.
    fn feed_peer_inputs(&mut self) {
        while let Some(input) = self.peers.as_mut().and_then(Peers::pop_input) {
            self.step_one(input);
        }
    }

    fn step_one(&mut self, input: Input) {
        if self.failure.is_some() {
            // A persistence output failed: the machine must not act on anything more.
            return;
        }
        let now = self.clock.now_ms();
        let mut outputs = std::mem::take(&mut self.outputs);
        let recording = match (&mut self.recorder, self.machine.recordable()) {
            (Some(r), Some(node)) => r.before(node, now, wall_micros(), &input),
            _ => None,
        };
        self.machine.step(now, input, &mut outputs);
        if let Some(r) = &mut self.recorder {
            r.after(recording, &outputs);
        }
        for output in outputs.drain(..) {
            self.apply(output, now);
        }
        self.outputs = outputs;
        if let Some(journal) = &mut self.journal {
            if !journal.note(&self.machine) {
                self.journal = None;
            }
        }
    }

    fn apply(&mut self, output: Output, now: u64) {
        if self.failure.is_some() {
            return;
        }
        match output {
            Output::ToClient { conn, bytes } => match self.conns.get_mut(&conn) {
                Some(c) if !c.is_closing() => {
                    c.queue(bytes);
                    self.dirty.insert(conn);
                }
                _ => trace!(
                    conn,
                    "dropping output for a connection the machine has let go"
                ),
            },
            Output::CloseClient { conn } => self.begin_close(conn, now),
            Output::ToPeer { to, msg } => match &mut self.peers {
                Some(peers) => peers.send(to, &msg, now),
                None => warn!(to, "peer message dropped: this server runs standalone"),
            },
            Output::Persist { id, op } => {
                let what = match &op {
                    PersistOp::Append(_) => "",
                    PersistOp::SaveEpochs { .. } => "cannot save the epoch files",
                    PersistOp::Truncate { .. } => "cannot truncate the txn log",
                    PersistOp::Install { .. } => "cannot install the leader's snapshot",
                };
                let result = self.log.persist(id, op);
                self.persist_or_stop(result, what);
            }
            Output::ReadInterest { conn, enabled } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    if c.read_enabled != enabled {
                        c.read_enabled = enabled;
                        self.dirty.insert(conn);
                        if enabled && c.read_pending && !c.in_read_queue {
                            c.in_read_queue = true;
                            self.read_queue.push_back(conn);
                        }
                    }
                }
            }
            Output::Snapshot { zxid, tree } => self.log.snapshot(zxid, tree),
            Output::AdminReply { id, response } => {
                if let Some(reply) = self.admin_pending.remove(&id) {
                    let _ = reply.send(response);
                }
            }
        }
    }

    /// Feeds the machine the admin requests that arrived since the last turn.
    fn take_admin_requests(&mut self) {
        let Some(rx) = &self.admin else { return };
        let requests: Vec<AdminRequest> = rx.try_iter().collect();
        for request in requests {
            let id = self.next_admin_id;
            self.next_admin_id += 1;
            self.admin_pending.insert(id, request.reply);
            self.step(Input::AdminCommand {
                id,
                target: request.target,
            });
            // A machine that does not answer admin requests (test fakes) must not leak them.
            self.admin_pending.remove(&id);
        }
    }

    /// A persistence output the core relies on at once failed: stop before feeding anything more.
    fn persist_or_stop(&mut self, result: io::Result<()>, what: &str) {
        if let Err(e) = result {
            tracing::error!(error = %e, "{what}: stopping");
            self.failure = Some(io::Error::new(e.kind(), format!("{what}: {e}")));
        }
    }

    /// Accepts what is pending on the plaintext (or unified) port, or on the TLS port.
    fn accept(&mut self, secure: bool) {
        loop {
            let listener = if secure {
                match &self.secure_listener {
                    Some(l) => l,
                    None => return,
                }
            } else {
                &self.listener
            };
            match listener.accept() {
                Ok((stream, addr)) => self.admit(stream, addr, secure),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if is_transient(&e) => continue,
                Err(e) => {
                    // Typically EMFILE: pending connections stay queued; try again shortly rather than spin.
                    warn!(error = %e, "accepting a client connection failed; retrying shortly");
                    self.accept_retry_at = Some(self.clock.now_ms() + ACCEPT_RETRY_MS);
                    return;
                }
            }
        }
    }

    fn admit(&mut self, stream: TcpStream, addr: SocketAddr, secure: bool) {
        if !self.limit.try_admit(addr.ip()) {
            warn!(
                "Too many connections from /{} - max is {}",
                addr.ip(),
                self.limit.max_per_ip()
            );
            return; // dropping the stream closes it
        }
        // Replies are small and latency-bound, as in ZooKeeper (tcpNoDelay defaults to true).
        let _ = stream.set_nodelay(true);
        let transport = match (&self.options.tls, secure) {
            (Some(tls), secure) if secure || tls.tls_only => {
                match crate::tls::server_session(tls.acceptor.config()) {
                    Ok(session) => Transport::Tls {
                        session: Box::new(session),
                        established: false,
                    },
                    Err(e) => {
                        warn!(%addr, error = %e, "cannot start TLS for a client; closing it");
                        self.limit.release(addr.ip());
                        return;
                    }
                }
            }
            (Some(tls), false) if tls.unify_plain_port => Transport::Detect(tls.acceptor.config()),
            _ => Transport::Plain,
        };
        let id = self.next_conn;
        self.next_conn += 1;
        let mut conn = Connection::new(stream, addr, token_of(id), transport);
        if let Err(e) = conn.sync_interest(self.poll.registry()) {
            warn!(%addr, error = %e, "cannot watch a new client connection; closing it");
            self.limit.release(addr.ip());
            return;
        }
        self.conns.insert(id, conn);
        debug!(conn = id, %addr, "client connected");
        let mut secret = [0u8; 32];
        if let Err(e) = getrandom::fill(&mut secret) {
            warn!(%addr, error = %e, "no entropy for a client connection; closing it");
            self.close_now(id);
            return;
        }
        self.step(Input::ClientOpened {
            conn: id,
            addr,
            secret,
        });
    }

    fn on_client_event(&mut self, id: ConnId, event: &Event) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if (event.is_readable() || event.is_read_closed() || event.is_error()) && conn.wants_read()
        {
            conn.read_pending = true;
            self.read_from(id);
        }
        if event.is_writable() || event.is_write_closed() || event.is_error() {
            self.dirty.insert(id);
        }
    }

    /// Reads until WouldBlock, backpressure, the per-turn budget, EOF or an error.
    fn read_from(&mut self, id: ConnId) {
        let mut reads = 0;
        loop {
            let Some(conn) = self.conns.get_mut(&id) else {
                return;
            };
            if !conn.wants_read() {
                return;
            }
            if reads == READS_PER_TURN {
                if !conn.in_read_queue {
                    conn.in_read_queue = true;
                    self.read_queue.push_back(id);
                }
                return;
            }
            match conn.stream.read(&mut self.read_buf) {
                Ok(0) => {
                    // EOF: the peer shut down its side. It may still read, so what is queued (say a
                    // four-letter word's reply) is flushed before the socket closes.
                    debug!(conn = id, "client closed its side");
                    self.begin_close(id, self.clock.now_ms());
                    self.step(Input::ClientClosed { conn: id });
                    return;
                }
                Ok(n) => {
                    reads += 1;
                    self.reads_this_turn += 1;
                    let arrived = match conn.receive(&self.read_buf[..n]) {
                        Ok(arrived) => arrived,
                        Err(e) => {
                            // The alert rustls queued (if any) is flushed before the socket closes.
                            warn!(conn = id, addr = %conn.addr, error = %e, "Unsuccessful TLS handshake or bad TLS record; closing the connection");
                            self.begin_close(id, self.clock.now_ms());
                            self.step(Input::ClientClosed { conn: id });
                            return;
                        }
                    };
                    if conn.is_tls() && conn.has_output() {
                        // Handshake messages to send back.
                        self.dirty.insert(id);
                    }
                    if let Some(chain) = arrived.established {
                        let addr = conn.addr;
                        debug!(conn = id, %addr, certificate = !chain.is_empty(), "TLS handshake done");
                        if let Some(leaf) = chain.first() {
                            match subject_rfc2253(leaf) {
                                Ok(subject) => {
                                    self.step(Input::ClientCertificate { conn: id, subject })
                                }
                                Err(e) => {
                                    warn!(conn = id, %addr, error = %e, "cannot read the client's certificate; closing the connection");
                                    self.begin_close(id, self.clock.now_ms());
                                    self.step(Input::ClientClosed { conn: id });
                                    return;
                                }
                            }
                        }
                    }
                    if !arrived.plaintext.is_empty() {
                        let bytes = Bytes::from(arrived.plaintext);
                        self.step(Input::ClientBytes { conn: id, bytes });
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    conn.read_pending = false;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.fail(id, &e);
                    return;
                }
            }
        }
    }

    /// Flushes what is queued and brings the poll interest up to date; closes a closing connection once
    /// flushed or past its deadline.
    fn settle(&mut self, id: ConnId) {
        let now = self.clock.now_ms();
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let flushed = match conn.flush() {
            Ok(flushed) => flushed,
            Err(e) => return self.fail(id, &e),
        };
        match (flushed, conn.closing_deadline) {
            (Flushed::All, Some(_)) => self.close_now(id),
            (Flushed::Blocked, Some(deadline)) if now >= deadline => {
                debug!(conn = id, "peer is not reading; closing with output unsent");
                self.close_now(id);
            }
            _ => {
                if let Err(e) = conn.sync_interest(self.poll.registry()) {
                    self.fail(id, &e);
                }
            }
        }
    }

    /// The machine let go of the connection (or was told it closed): stop reading, flush, then close.
    fn begin_close(&mut self, id: ConnId, now: u64) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.is_closing() {
            return;
        }
        let deadline = now.saturating_add(self.options.close_linger.as_millis() as u64);
        conn.closing_deadline = Some(deadline);
        conn.close_notify();
        self.closing.insert((deadline, id));
        // From here on it no longer counts against maxClientCnxns: the server has let go of it.
        self.limit.release(conn.addr.ip());
        self.dirty.insert(id);
    }

    /// The socket is dead (reset, broken pipe, ...): drop it, and tell the machine unless it already let go.
    fn fail(&mut self, id: ConnId, error: &io::Error) {
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        let was_closing = conn.is_closing();
        debug!(conn = id, %error, "client connection failed");
        self.close_now(id);
        if !was_closing {
            self.step(Input::ClientClosed { conn: id });
        }
    }

    fn close_now(&mut self, id: ConnId) {
        let Some(mut conn) = self.conns.remove(&id) else {
            return;
        };
        conn.deregister(self.poll.registry());
        match conn.closing_deadline {
            Some(deadline) => {
                self.closing.remove(&(deadline, id));
            }
            None => self.limit.release(conn.addr.ip()),
        }
        trace!(conn = id, "socket closed");
    }

    /// On shutdown: one last non-blocking attempt to send what is queued, then close every socket.
    fn close_all(&mut self) {
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            if let Some(conn) = self.conns.get_mut(&id) {
                let _ = conn.flush();
            }
            self.close_now(id);
        }
        if let Some(peers) = &mut self.peers {
            peers.close_all();
        }
        info!("stopped serving clients");
    }
}

/// The wall clock in µs since the epoch (beside each recorded input, to line up servers' recordings).
fn wall_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// A recording run's id: the wall clock at start in µs, so runs sort by time.
fn run_id() -> u64 {
    wall_micros()
}
