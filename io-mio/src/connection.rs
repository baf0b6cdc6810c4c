//! One client socket as the driver sees it: bytes queued for it, whether the node wants its input, and
//! whether it is on its way out (flushing before close).

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::net::SocketAddr;

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
}

impl Connection {
    pub(crate) fn new(stream: TcpStream, addr: SocketAddr, token: Token) -> Connection {
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
    }

    pub(crate) fn queue(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.out.push_back(bytes);
        }
    }

    /// Writes queued bytes until done or the kernel pushes back. Errors mean the connection is dead.
    pub(crate) fn flush(&mut self) -> io::Result<Flushed> {
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
