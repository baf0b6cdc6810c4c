//! One client connection of the load generator: a non-blocking socket, its outgoing bytes, its incoming
//! frames, and the requests in flight in send order (ZooKeeper answers a session's requests in order).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use mio::net::TcpStream;
use rzk_core::proto::client::{frame_connect, frame_request};
use rzk_core::proto::records::ConnectRequest;
use rzk_core::proto::request::{Request, RequestBody};
use rzk_core::proto::{OpCode, DEFAULT_MAX_BUFFER};

/// Session timeout the load generator asks for: long enough that a stalled server does not expire it.
pub const SESSION_TIMEOUT_MS: i32 = 30_000;

pub struct Conn {
    pub stream: TcpStream,
    out: Vec<u8>,
    out_pos: usize,
    inbuf: BytesMut,
    /// Set once the ConnectResponse has been read.
    pub established: bool,
    /// (op, send time) of each request not yet answered, oldest first.
    pub inflight: VecDeque<(OpCode, Instant)>,
    next_xid: i32,
    /// The peer closed the connection (or it failed).
    pub closed: bool,
    /// When this connection was opened (churn measures whole connect..close cycles).
    pub opened_at: Instant,
    /// `--tls`: the session bytes pass through (plaintext in `out` and `inbuf`).
    tls: Option<Box<rustls::ClientConnection>>,
}

impl Conn {
    /// Starts a non-blocking connect and queues the handshake.
    pub fn open(addr: SocketAddr, tls: Option<&Arc<rustls::ClientConfig>>) -> io::Result<Conn> {
        let tls = match tls {
            Some(config) => Some(Box::new(
                rustls::ClientConnection::new(Arc::clone(config), super::tls::server_name(addr))
                    .map_err(io::Error::other)?,
            )),
            None => None,
        };
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        let mut conn = Conn {
            stream,
            out: Vec::with_capacity(16 * 1024),
            out_pos: 0,
            inbuf: BytesMut::with_capacity(64 * 1024),
            established: false,
            inflight: VecDeque::new(),
            next_xid: 1,
            closed: false,
            opened_at: Instant::now(),
            tls,
        };
        let hello = frame_connect(&ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: SESSION_TIMEOUT_MS,
            session_id: 0,
            passwd: Bytes::from_static(&[0; 16]),
            read_only: false,
        });
        conn.out.extend_from_slice(&hello);
        Ok(conn)
    }

    /// Queues one request; it is sent by the next [`Conn::flush`].
    pub fn send(&mut self, op: OpCode, body: RequestBody, now: Instant) {
        let xid = self.next_xid;
        self.next_xid = self.next_xid.wrapping_add(1).max(1);
        let frame = frame_request(&Request { xid, op, body });
        self.out.extend_from_slice(&frame);
        self.inflight.push_back((op, now));
    }

    pub fn wants_write(&self) -> bool {
        self.out_pos < self.out.len() || self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    /// Writes queued bytes until done or the socket would block.
    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(tls) = &mut self.tls {
            if self.out_pos < self.out.len() {
                tls.writer().write_all(&self.out[self.out_pos..])?;
                self.out.clear();
                self.out_pos = 0;
            }
            while tls.wants_write() {
                match tls.write_tls(&mut self.stream) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(_) => {}
                    Err(e) if would_block(&e) => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            return Ok(());
        }
        while self.out_pos < self.out.len() {
            match self.stream.write(&self.out[self.out_pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.out_pos += n,
                Err(e) if would_block(&e) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.out.clear();
        self.out_pos = 0;
        Ok(())
    }

    /// Reads what the socket has (through `scratch`, shared by a thread's connections) and hands each
    /// complete frame body (without its length) to `on_frame`. Sets `closed` on end of stream.
    pub fn read_frames(
        &mut self,
        scratch: &mut [u8],
        mut on_frame: impl FnMut(&mut Conn, Bytes),
    ) -> io::Result<()> {
        loop {
            match self.stream.read(scratch) {
                Ok(0) => {
                    self.closed = true;
                    break;
                }
                Ok(n) => {
                    match &mut self.tls {
                        Some(tls) => {
                            let mut rest = &scratch[..n];
                            while !rest.is_empty() {
                                tls.read_tls(&mut rest)?;
                                let state = tls.process_new_packets().map_err(io::Error::other)?;
                                let plain = state.plaintext_bytes_to_read();
                                let start = self.inbuf.len();
                                self.inbuf.resize(start + plain, 0);
                                tls.reader().read_exact(&mut self.inbuf[start..])?;
                            }
                        }
                        None => self.inbuf.extend_from_slice(&scratch[..n]),
                    }
                    if n < scratch.len() {
                        break;
                    }
                }
                Err(e) if would_block(&e) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        while self.inbuf.len() >= 4 {
            let n = u32::from_be_bytes([self.inbuf[0], self.inbuf[1], self.inbuf[2], self.inbuf[3]])
                as usize;
            if n > DEFAULT_MAX_BUFFER * 16 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("reply frame of {n} bytes"),
                ));
            }
            if self.inbuf.len() < 4 + n {
                break;
            }
            self.inbuf.advance(4);
            let frame = self.inbuf.split_to(n).freeze();
            on_frame(self, frame);
        }
        Ok(())
    }
}

fn would_block(e: &io::Error) -> bool {
    // A write before a non-blocking connect completes reports NotConnected on Linux.
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::NotConnected
    )
}
