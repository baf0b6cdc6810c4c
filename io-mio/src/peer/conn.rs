//! One peer socket: a non-blocking stream, what has been received and not yet parsed, and a bounded queue
//! of frames waiting to be written.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use super::wire::PortKind;
use rzk_core::peer::ServerId;

const MAX_IOVECS: usize = 64;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Dialed; the TCP connect has not completed.
    Connecting,
    /// Waiting for the other side's hello.
    Handshake,
    /// Hellos exchanged: this is the channel's connection.
    Established,
}

pub(crate) struct PeerConn {
    stream: TcpStream,
    token: Token,
    pub(crate) addr: SocketAddr,
    pub(crate) port: PortKind,
    /// We dialed it (else we accepted it).
    pub(crate) dialed: bool,
    /// The server at the other end: the dial target, or who the hello named.
    pub(crate) peer: Option<ServerId>,
    pub(crate) stage: Stage,
    /// Close if still not established by then (ms).
    pub(crate) deadline: Option<u64>,
    /// Received bytes not yet parsed.
    pub(crate) inbuf: Vec<u8>,
    /// Messages received before the peer's link was whole, and their frame bytes.
    pub(crate) held: VecDeque<rzk_core::peer::PeerMsg>,
    pub(crate) held_bytes: usize,
    out: VecDeque<Bytes>,
    pub(crate) queued: usize,
    /// The socket may hold unread bytes (edge-triggered readiness is not repeated).
    pub(crate) read_pending: bool,
    registered: Option<Interest>,
    transport: PeerTransport,
}

/// How a peer connection's bytes are carried (sslQuorum, portUnification).
pub(crate) enum PeerTransport {
    Plain,
    /// An accepted connection on a unified port: TLS if its first byte is a TLS handshake record's.
    Detect(Arc<rustls::ServerConfig>),
    Tls {
        session: Box<rustls::Connection>,
        /// Set when the handshake completes, until [`PeerConn::take_established`] is called.
        just_established: bool,
        established: bool,
    },
}

impl PeerTransport {
    pub(crate) fn tls(session: rustls::Connection) -> PeerTransport {
        PeerTransport::Tls {
            session: Box::new(session),
            just_established: false,
            established: false,
        }
    }
}

/// The content type of a TLS handshake record: the first byte a TLS client sends.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

fn tls_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("TLS: {e}"))
}

impl PeerConn {
    pub(crate) fn new(
        stream: TcpStream,
        token: Token,
        addr: SocketAddr,
        port: PortKind,
        dialed: bool,
        transport: PeerTransport,
    ) -> PeerConn {
        PeerConn {
            stream,
            token,
            addr,
            port,
            dialed,
            peer: None,
            stage: if dialed {
                Stage::Connecting
            } else {
                Stage::Handshake
            },
            deadline: None,
            inbuf: Vec::new(),
            held: VecDeque::new(),
            held_bytes: 0,
            out: VecDeque::new(),
            queued: 0,
            read_pending: false,
            registered: None,
            transport,
        }
    }

    /// The poll token (set once the connection has its key).
    pub(crate) fn set_token(&mut self, token: Token) {
        self.token = token;
    }

    pub(crate) fn queue(&mut self, frame: Bytes) {
        self.queued += frame.len();
        self.out.push_back(frame);
    }

    /// For a dialed socket: whether the connect completed (`Ok(false)`: not yet).
    pub(crate) fn check_connected(&mut self) -> io::Result<bool> {
        if let Some(e) = self.stream.take_error()? {
            return Err(e);
        }
        match self.stream.peer_addr() {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Writes queued frames until done or the kernel pushes back. An error means the connection is dead.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        if self.stage == Stage::Connecting {
            return Ok(());
        }
        if let PeerTransport::Tls { session, .. } = &mut self.transport {
            // Frames move into the session only once it has written what it holds, so `queued` keeps
            // bounding what a peer that does not read can make us hold.
            loop {
                while session.wants_write() {
                    match session.write_tls(&mut self.stream) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                if self.out.is_empty() {
                    return Ok(());
                }
                while let Some(frame) = self.out.pop_front() {
                    self.queued -= frame.len().min(self.queued);
                    session.writer().write_all(&frame)?;
                }
            }
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
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn consume(&mut self, mut written: usize) {
        self.queued -= written.min(self.queued);
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

    /// One read into `buf`, its plaintext appended to `inbuf`: `Ok(0)` is end of stream.
    pub(crate) fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stream.read(buf)?;
        if n == 0 {
            return Ok(0);
        }
        if let PeerTransport::Detect(config) = &self.transport {
            self.transport = if buf[0] == TLS_HANDSHAKE_RECORD {
                let session = crate::tls::server_session(Arc::clone(config)).map_err(tls_error)?;
                PeerTransport::tls(session)
            } else {
                PeerTransport::Plain
            };
        }
        let PeerTransport::Tls {
            session,
            just_established,
            established,
        } = &mut self.transport
        else {
            self.inbuf.extend_from_slice(&buf[..n]);
            return Ok(n);
        };
        crate::tls::receive(session, &buf[..n], &mut self.inbuf).map_err(tls_error)?;
        if !*established && !session.is_handshaking() {
            *established = true;
            *just_established = true;
        }
        Ok(n)
    }

    /// If the TLS handshake completed since the last call: the peer's leaf certificate (if it sent one).
    pub(crate) fn take_established(
        &mut self,
    ) -> Option<Option<rustls::pki_types::CertificateDer<'static>>> {
        match &mut self.transport {
            PeerTransport::Tls {
                session,
                just_established,
                ..
            } if *just_established => {
                *just_established = false;
                Some(session.peer_certificates().and_then(|c| c.first()).cloned())
            }
            _ => None,
        }
    }

    pub(crate) fn tls_wants_write(&self) -> bool {
        matches!(&self.transport, PeerTransport::Tls { session, .. } if session.wants_write())
    }

    /// Always readable; writable while connecting (to learn the outcome) or while output is queued.
    pub(crate) fn sync_interest(&mut self, registry: &Registry) -> io::Result<()> {
        let desired =
            if self.stage == Stage::Connecting || !self.out.is_empty() || self.tls_wants_write() {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
        match self.registered {
            Some(i) if i == desired => {}
            Some(_) => registry.reregister(&mut self.stream, self.token, desired)?,
            None => registry.register(&mut self.stream, self.token, desired)?,
        }
        self.registered = Some(desired);
        Ok(())
    }

    pub(crate) fn deregister(&mut self, registry: &Registry) {
        if self.registered.take().is_some() {
            let _ = registry.deregister(&mut self.stream);
        }
    }
}
