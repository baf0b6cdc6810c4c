//! One client socket as the driver sees it: bytes queued for it, whether the node wants its input, and
//! whether it is on its way out (flushing before close). A TLS connection carries its rustls session:
//! bytes read are decrypted before the node sees them, bytes queued are encrypted as they are flushed.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

/// How many queued chunks one `write_vectored` call hands to the kernel (well under IOV_MAX).
const MAX_IOVECS: usize = 64;

/// What a flush achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flushed {
    /// Nothing is queued any more.
    All,
    /// The kernel's send buffer is full; the rest waits for a WRITABLE event.
    Blocked,
}

pub(crate) struct Connection {
    pub(crate) stream: TcpStream,
    pub(crate) addr: SocketAddr,
    token: Token,
    out: VecDeque<Bytes>,
    /// The node wants this connection's bytes (false while it applies backpressure).
    pub(crate) read_enabled: bool,
    /// The socket may hold unread bytes: set by a readable event, cleared when a read meets WouldBlock.
    /// Edge-triggered readiness is not repeated, so a paused reader must remember it.
    pub(crate) read_pending: bool,
    /// Already waiting in the driver's queue of connections to read again.
    pub(crate) in_read_queue: bool,
    /// Set once the node has forgotten the connection (it asked to close it, or was told it closed):
    /// the driver only flushes what is queued, until this deadline (ms), then closes.
    pub(crate) closing_deadline: Option<u64>,
    registered: Option<Interest>,
    transport: Transport,
}

/// How the bytes of a connection are carried.
pub(crate) enum Transport {
    Plain,
    /// A unified port (client.portUnification): TLS if the first byte is a TLS handshake record's, else
    /// plaintext, as ZooKeeper's UnifiedServerSocket / Netty's port unification decide.
    Detect(Arc<rustls::ServerConfig>),
    Tls {
        session: Box<rustls::Connection>,
        /// The handshake has completed (and its certificate, if any, was reported).
        established: bool,
    },
}

/// The content type of a TLS handshake record: the first byte a TLS client sends.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// What arrived on a connection, once TLS is taken off.
#[derive(Default)]
pub(crate) struct Arrived {
    /// Bytes for the node (empty while a TLS handshake is in progress).
    pub(crate) plaintext: Vec<u8>,
    /// The TLS handshake just completed: the client's certificate chain (leaf first), if it sent one.
    pub(crate) established: Option<Vec<rustls::pki_types::CertificateDer<'static>>>,
}

impl Connection {
    pub(crate) fn new(
        stream: TcpStream,
        addr: SocketAddr,
        token: Token,
        transport: Transport,
    ) -> Connection {
        Connection {
            stream,
            addr,
            token,
            out: VecDeque::new(),
            read_enabled: true,
            read_pending: false,
            in_read_queue: false,
            closing_deadline: None,
            registered: None,
            transport,
        }
    }

    /// Takes TLS off bytes read from the socket. An error is fatal for the connection; a TLS alert saying
    /// why may be queued (flush before closing).
    pub(crate) fn receive(&mut self, data: &[u8]) -> Result<Arrived, rustls::Error> {
        if let Transport::Detect(config) = &self.transport {
            self.transport = if data.first() == Some(&TLS_HANDSHAKE_RECORD) {
                Transport::Tls {
                    session: Box::new(crate::tls::server_session(Arc::clone(config))?),
                    established: false,
                }
            } else {
                Transport::Plain
            };
        }
        let Transport::Tls {
            session,
            established,
        } = &mut self.transport
        else {
            return Ok(Arrived {
                plaintext: data.to_vec(),
                established: None,
            });
        };
        let mut arrived = Arrived::default();
        crate::tls::receive(session, data, &mut arrived.plaintext)?;
        if !*established && !session.is_handshaking() {
            *established = true;
            arrived.established = Some(
                session
                    .peer_certificates()
                    .map(<[_]>::to_vec)
                    .unwrap_or_default(),
            );
        }
        Ok(arrived)
    }

    /// Whether the connection speaks TLS (known once a unified port has seen the first byte).
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self.transport, Transport::Tls { .. })
    }

    /// Queues TLS's close_notify alert after what is queued, so that the client can tell a clean close from
    /// a cut (and reads the last reply before it: the alert must not overtake it).
    pub(crate) fn close_notify(&mut self) {
        if let Transport::Tls { session, .. } = &mut self.transport {
            if encrypt_queued(session, &mut self.out).is_ok() {
                session.send_close_notify();
            }
        }
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing_deadline.is_some()
    }

    pub(crate) fn wants_read(&self) -> bool {
        self.read_enabled && !self.is_closing()
    }

    pub(crate) fn has_output(&self) -> bool {
        !self.out.is_empty()
            || matches!(&self.transport, Transport::Tls { session, .. } if session.wants_write())
    }

    pub(crate) fn queue(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.out.push_back(bytes);
        }
    }

    /// Writes queued bytes until done or the kernel pushes back. Errors mean the connection is dead.
    pub(crate) fn flush(&mut self) -> io::Result<Flushed> {
        if let Transport::Tls { session, .. } = &mut self.transport {
            return flush_tls(session, &mut self.out, &mut self.stream);
        }
        while !self.out.is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let mut count = 0;
            for (slot, chunk) in slices.iter_mut().zip(self.out.iter()) {
                *slot = IoSlice::new(chunk);
                count += 1;
            }
            match self.stream.write_vectored(&slices[..count]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.consume(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Flushed::Blocked),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Flushed::All)
    }

    fn consume(&mut self, mut written: usize) {
        while written > 0 {
            let Some(front) = self.out.front_mut() else {
                return;
            };
            if written >= front.len() {
                written -= front.len();
                self.out.pop_front();
            } else {
                front.advance(written);
                written = 0;
            }
        }
    }

    /// READABLE while the node wants input, WRITABLE only while output is queued.
    fn desired_interest(&self) -> Option<Interest> {
        let read = self.wants_read().then_some(Interest::READABLE);
        let write = self.has_output().then_some(Interest::WRITABLE);
        match (read, write) {
            (Some(r), Some(w)) => Some(r | w),
            (r, w) => r.or(w),
        }
    }

    /// Brings the poll registration in line with [`Connection::desired_interest`].
    pub(crate) fn sync_interest(&mut self, registry: &Registry) -> io::Result<()> {
        let desired = self.desired_interest();
        if desired == self.registered {
            return Ok(());
        }
        match (self.registered, desired) {
            (None, Some(i)) => registry.register(&mut self.stream, self.token, i)?,
            (Some(_), Some(i)) => registry.reregister(&mut self.stream, self.token, i)?,
            (Some(_), None) => registry.deregister(&mut self.stream)?,
            (None, None) => {}
        }
        self.registered = desired;
        Ok(())
    }

    /// Removes the socket from the poll before it is dropped (and closed).
    pub(crate) fn deregister(&mut self, registry: &Registry) {
        if self.registered.take().is_some() {
            let _ = registry.deregister(&mut self.stream);
        }
    }
}

/// Encrypts everything queued (many small replies share records: one vectored write into the session),
/// then writes records until done or the kernel pushes back.
fn flush_tls(
    session: &mut rustls::Connection,
    out: &mut VecDeque<Bytes>,
    stream: &mut TcpStream,
) -> io::Result<Flushed> {
    encrypt_queued(session, out)?;
    while session.wants_write() {
        match session.write_tls(stream) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Flushed::Blocked),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Flushed::All)
}

/// Moves queued plaintext into the session, which turns it into records.
fn encrypt_queued(session: &mut rustls::Connection, out: &mut VecDeque<Bytes>) -> io::Result<()> {
    while !out.is_empty() {
        let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
        let mut count = 0;
        for (slot, chunk) in slices.iter_mut().zip(out.iter()) {
            *slot = IoSlice::new(chunk);
            count += 1;
        }
        let mut written = session.writer().write_vectored(&slices[..count])?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        while written > 0 {
            let Some(front) = out.front_mut() else { break };
            if written >= front.len() {
                written -= front.len();
                out.pop_front();
            } else {
                front.advance(written);
                written = 0;
            }
        }
    }
    Ok(())
}
