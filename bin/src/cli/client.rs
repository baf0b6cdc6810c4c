//! A small blocking ZooKeeper client for `rzk cli`, on std `TcpStream` and the project's codec.
//!
//! One request at a time (a shell waits for each answer). A reader thread owns the socket's read side: it
//! passes replies to the caller, prints watch events through the event sink, sends pings when the link is
//! idle, and on a broken link reconnects to the next server of the list with the same session (re-arming
//! the watches the shell had set, as ZooKeeper's client does with setWatches).

use std::collections::BTreeSet;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rzk_core::proto::client::{
    decode_connect_response, decode_notification, decode_reply, frame_connect, frame_request,
    peek_xid,
};
use rzk_core::proto::records::{ConnectRequest, ReplyHeader, SetWatches2, WatcherEvent};
use rzk_core::proto::request::{Request, RequestBody};
use rzk_core::proto::response::ResponseBody;
use rzk_core::proto::{xid, ErrorCode, OpCode};

/// Largest reply frame accepted (ZooKeeper's default jute.maxbuffer plus headers).
const MAX_FRAME: usize = 0xfffff + 1024;

/// Where watch and connection-state events go (printed by the shell).
pub type EventSink = Arc<dyn Fn(String) + Send + Sync>;

/// Why a request got no reply.
#[derive(Debug)]
pub enum CallError {
    /// The server answered with this error code.
    Server(ErrorCode),
    /// The link dropped (or no server could be reached) before the reply came.
    ConnectionLoss,
    /// The session expired: the client is closed.
    SessionExpired,
    /// Not connected (after `close`).
    Closed,
}

impl CallError {
    pub fn code(&self) -> ErrorCode {
        match self {
            CallError::Server(c) => *c,
            CallError::ConnectionLoss | CallError::Closed => ErrorCode::ConnectionLoss,
            CallError::SessionExpired => ErrorCode::SessionExpired,
        }
    }
}

/// What the reader thread hands to the caller.
enum Reply {
    Frame(Bytes),
    Lost,
}

/// Watches the shell set, re-armed on reconnect.
#[derive(Default, Clone)]
struct Watches {
    data: BTreeSet<String>,
    exist: BTreeSet<String>,
    child: BTreeSet<String>,
    persistent: BTreeSet<String>,
    recursive: BTreeSet<String>,
}

/// Session state shared with the reader thread.
struct Shared {
    servers: Vec<SocketAddr>,
    timeout_ms: i32,
    session_id: Mutex<i64>,
    passwd: Mutex<Bytes>,
    negotiated_timeout: AtomicI32,
    last_zxid: Mutex<i64>,
    writer: Mutex<Option<TcpStream>>,
    watches: Mutex<Watches>,
    /// Auth infos to replay on reconnect.
    auths: Mutex<Vec<(String, Bytes)>>,
    closed: AtomicBool,
    /// Set before closeSession goes out: the server's close of the link is then expected.
    closing: AtomicBool,
    connected_to: Mutex<Option<SocketAddr>>,
    events: EventSink,
}

pub struct Client {
    shared: Arc<Shared>,
    replies: Receiver<Reply>,
    next_xid: i32,
}

/// What zkCli prints when the shell closes its session (`close`, `quit`).
pub fn closed_event() -> String {
    event_text("Closed", "None", None)
}

/// zkCli prints each of its two lines after a blank one (`printMessage` is `println("\n" + msg)`).
fn event_text(state: &str, kind: &str, path: Option<&str>) -> String {
    format!(
        "\nWATCHER::\n\nWatchedEvent state:{state} type:{kind} path:{}",
        path.unwrap_or("null")
    )
}

fn state_name(state: i32) -> &'static str {
    match state {
        0 => "Disconnected",
        3 => "SyncConnected",
        4 => "AuthFailed",
        5 => "ConnectedReadOnly",
        6 => "SaslAuthenticated",
        -112 => "Expired",
        7 => "Closed",
        _ => "Unknown",
    }
}

fn type_name(kind: i32) -> &'static str {
    match kind {
        -1 => "None",
        1 => "NodeCreated",
        2 => "NodeDeleted",
        3 => "NodeDataChanged",
        4 => "NodeChildrenChanged",
        5 => "DataWatchRemoved",
        6 => "ChildWatchRemoved",
        7 => "PersistentWatchRemoved",
        _ => "Unknown",
    }
}

/// Resolves "host:port[,host:port...]" (a chroot suffix is not supported and is rejected).
pub fn resolve_servers(list: &str) -> io::Result<Vec<SocketAddr>> {
    let mut out = Vec::new();
    for part in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let with_port = if part
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            part.to_string()
        } else {
            format!("{part}:2181")
        };
        out.extend(with_port.to_socket_addrs()?);
    }
    if out.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no server address in {list:?}"),
        ));
    }
    Ok(out)
}

impl Client {
    /// Connects to the first server of `servers` that answers, creating a new session.
    pub fn connect(
        servers: Vec<SocketAddr>,
        timeout_ms: i32,
        events: EventSink,
    ) -> io::Result<Client> {
        let shared = Arc::new(Shared {
            servers,
            timeout_ms,
            session_id: Mutex::new(0),
            passwd: Mutex::new(Bytes::from_static(&[0; 16])),
            negotiated_timeout: AtomicI32::new(timeout_ms),
            last_zxid: Mutex::new(0),
            writer: Mutex::new(None),
            watches: Mutex::new(Watches::default()),
            auths: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            connected_to: Mutex::new(None),
            events,
        });
        let (tx, rx) = mpsc::channel();
        let stream = establish(&shared, 0)?;
        let reader_shared = Arc::clone(&shared);
        thread::Builder::new()
            .name("zk-reader".into())
            .spawn(move || reader_loop(reader_shared, stream, tx))?;
        Ok(Client {
            shared,
            replies: rx,
            next_xid: 1,
        })
    }

    pub fn connected_to(&self) -> Option<SocketAddr> {
        *lock(&self.shared.connected_to)
    }

    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }

    /// Sends one request and waits for its reply.
    pub fn call(&mut self, op: OpCode, body: RequestBody) -> Result<ResponseBody, CallError> {
        let xid = if op == OpCode::Auth {
            xid::AUTH
        } else {
            let x = self.next_xid;
            self.next_xid += 1;
            x
        };
        let wait = self.default_wait();
        self.call_xid(xid, op, op, body, wait).map(|(_, body)| body)
    }

    /// Like `call`, but gives up after `wait` (tab completion must not freeze the prompt on a stalled
    /// server). A reply that comes later is dropped by the next call, which matches replies by xid.
    pub fn call_within(
        &mut self,
        op: OpCode,
        body: RequestBody,
        wait: Duration,
    ) -> Result<ResponseBody, CallError> {
        let xid = self.next_xid;
        self.next_xid += 1;
        self.call_xid(xid, op, op, body, wait.min(self.default_wait()))
            .map(|(_, body)| body)
    }

    /// Sends `op` and decodes its reply as `reply_op`'s (reconfig answers with a getData response).
    pub fn call_decoding_as(
        &mut self,
        op: OpCode,
        reply_op: OpCode,
        body: RequestBody,
    ) -> Result<ResponseBody, CallError> {
        let xid = self.next_xid;
        self.next_xid += 1;
        let wait = self.default_wait();
        self.call_xid(xid, op, reply_op, body, wait)
            .map(|(_, body)| body)
    }

    /// Twice the session timeout: by then the link is declared dead anyway.
    fn default_wait(&self) -> Duration {
        Duration::from_millis(
            self.shared
                .negotiated_timeout
                .load(Ordering::SeqCst)
                .max(1000) as u64
                * 2,
        )
    }

    fn call_xid(
        &mut self,
        xid: i32,
        op: OpCode,
        reply_op: OpCode,
        body: RequestBody,
        wait: Duration,
    ) -> Result<(ReplyHeader, ResponseBody), CallError> {
        if self.is_closed() {
            return Err(CallError::Closed);
        }
        while self.replies.try_recv().is_ok() {}
        let frame = frame_request(&Request { xid, op, body });
        let deadline = Instant::now() + wait;
        if send(&self.shared, &frame).is_err() {
            return Err(CallError::ConnectionLoss);
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.replies.recv_timeout(left) {
                Ok(Reply::Frame(f)) => {
                    if peek_xid(&f) != Some(xid) {
                        continue;
                    }
                    let (header, body) =
                        decode_reply(f, reply_op).map_err(|_| CallError::ConnectionLoss)?;
                    if header.zxid > 0 {
                        let mut z = lock(&self.shared.last_zxid);
                        *z = (*z).max(header.zxid);
                    }
                    if header.err != 0 {
                        let code =
                            ErrorCode::from_code(header.err).unwrap_or(ErrorCode::SystemError);
                        return Err(CallError::Server(code));
                    }
                    return Ok((header, body));
                }
                Ok(Reply::Lost) => {
                    return Err(if self.is_closed() {
                        CallError::SessionExpired
                    } else {
                        CallError::ConnectionLoss
                    })
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    return Err(CallError::ConnectionLoss)
                }
            }
        }
    }

    /// Remembers a watch set by a successful read, to re-arm it after a reconnect.
    pub fn remember_watch(&self, kind: WatchKind, path: &str) {
        let mut w = lock(&self.shared.watches);
        let set = match kind {
            WatchKind::Data => &mut w.data,
            WatchKind::Exist => &mut w.exist,
            WatchKind::Child => &mut w.child,
            WatchKind::Persistent => &mut w.persistent,
            WatchKind::PersistentRecursive => &mut w.recursive,
        };
        set.insert(path.to_string());
    }

    /// Forgets every watch on `path` (after removewatches).
    pub fn forget_watches(&self, path: &str) {
        let mut guard = lock(&self.shared.watches);
        let w = &mut *guard;
        for set in [
            &mut w.data,
            &mut w.exist,
            &mut w.child,
            &mut w.persistent,
            &mut w.recursive,
        ] {
            set.remove(path);
        }
    }

    /// Remembers credentials to replay on reconnect.
    pub fn remember_auth(&self, scheme: &str, auth: Bytes) {
        lock(&self.shared.auths).push((scheme.to_string(), auth));
    }

    /// Closes the session (closeSession, then the socket).
    pub fn close(&mut self) {
        if self.is_closed() {
            return;
        }
        self.shared.closing.store(true, Ordering::SeqCst);
        let _ = self.call(OpCode::CloseSession, RequestBody::CloseSession);
        self.shared.closed.store(true, Ordering::SeqCst);
        if let Some(s) = lock(&self.shared.writer).take() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.close();
    }
}

#[derive(Debug, Clone, Copy)]
pub enum WatchKind {
    Data,
    Exist,
    Child,
    Persistent,
    PersistentRecursive,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn send(shared: &Shared, frame: &[u8]) -> io::Result<()> {
    let mut w = lock(&shared.writer);
    match w.as_mut() {
        Some(s) => s.write_all(frame),
        None => Err(io::ErrorKind::NotConnected.into()),
    }
}

/// Connects to some server, starting at index `start`, with the current session (or a new one).
/// Returns the read side; the write side is stored in `shared.writer`.
fn establish(shared: &Shared, start: usize) -> io::Result<TcpStream> {
    let n = shared.servers.len();
    let mut last_err = io::Error::new(io::ErrorKind::NotConnected, "no server");
    for i in 0..n {
        let addr = shared.servers[(start + i) % n];
        match handshake(shared, addr) {
            Ok(stream) => return Ok(stream),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return Err(e),
            Err(e) => last_err = e,
        }
    }
    Err(last_err)
}

/// Expired sessions surface as PermissionDenied so `establish` stops trying.
fn handshake(shared: &Shared, addr: SocketAddr) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    let _ = stream.set_nodelay(true);
    stream.set_read_timeout(Some(Duration::from_millis(
        shared.timeout_ms.max(1000) as u64
    )))?;
    let session_id = *lock(&shared.session_id);
    let request = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: *lock(&shared.last_zxid),
        time_out: shared.timeout_ms,
        session_id,
        passwd: lock(&shared.passwd).clone(),
        read_only: false,
    };
    stream.write_all(&frame_connect(&request))?;
    let mut reader = FrameReader::default();
    let frame = loop {
        if let Some(f) = reader.next_frame()? {
            break f;
        }
        reader.fill(&mut stream)?;
    };
    let response = decode_connect_response(frame)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    if response.time_out <= 0 {
        (shared.events)(event_text("Expired", "None", None));
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "session expired",
        ));
    }
    *lock(&shared.session_id) = response.session_id;
    *lock(&shared.passwd) = response.passwd;
    shared
        .negotiated_timeout
        .store(response.time_out, Ordering::SeqCst);
    let ping_every = Duration::from_millis((response.time_out / 3).max(100) as u64);
    stream.set_read_timeout(Some(ping_every))?;
    *lock(&shared.writer) = Some(stream.try_clone()?);
    *lock(&shared.connected_to) = Some(addr);
    // Replay credentials and watches before anything else goes out on this link.
    for (scheme, auth) in lock(&shared.auths).clone() {
        let req = Request {
            xid: xid::AUTH,
            op: OpCode::Auth,
            body: RequestBody::Auth(rzk_core::proto::records::AuthPacket {
                auth_type: 0,
                scheme,
                auth,
            }),
        };
        send(shared, &frame_request(&req))?;
    }
    if session_id != 0 {
        let w = lock(&shared.watches).clone();
        if !(w.data.is_empty()
            && w.exist.is_empty()
            && w.child.is_empty()
            && w.persistent.is_empty()
            && w.recursive.is_empty())
        {
            let req = Request {
                xid: xid::SET_WATCHES,
                op: OpCode::SetWatches2,
                body: RequestBody::SetWatches(SetWatches2 {
                    relative_zxid: *lock(&shared.last_zxid),
                    data_watches: w.data.into_iter().collect(),
                    exist_watches: w.exist.into_iter().collect(),
                    child_watches: w.child.into_iter().collect(),
                    persistent_watches: w.persistent.into_iter().collect(),
                    persistent_recursive_watches: w.recursive.into_iter().collect(),
                }),
            };
            send(shared, &frame_request(&req))?;
        }
    }
    let state = if response.read_only {
        "ConnectedReadOnly"
    } else {
        "SyncConnected"
    };
    (shared.events)(event_text(state, "None", None));
    Ok(stream)
}

/// Accumulates bytes and cuts length-prefixed frames; keeps partial frames across read timeouts.
#[derive(Default)]
struct FrameReader {
    buf: Vec<u8>,
}

impl FrameReader {
    fn fill(&mut self, stream: &mut TcpStream) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    fn next_frame(&mut self) -> io::Result<Option<Bytes>> {
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
        if len > MAX_FRAME {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "reply frame too large",
            ));
        }
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let frame = Bytes::copy_from_slice(&self.buf[4..4 + len]);
        self.buf.drain(..4 + len);
        Ok(Some(frame))
    }
}

fn reader_loop(shared: Arc<Shared>, mut stream: TcpStream, replies: Sender<Reply>) {
    let mut reader = FrameReader::default();
    let mut server_index = shared
        .servers
        .iter()
        .position(|a| Some(*a) == *lock(&shared.connected_to))
        .unwrap_or(0);
    loop {
        if shared.closed.load(Ordering::SeqCst) {
            return;
        }
        let result = read_frames(&shared, &mut stream, &mut reader, &replies);
        if shared.closed.load(Ordering::SeqCst) || shared.closing.load(Ordering::SeqCst) {
            let _ = replies.send(Reply::Lost);
            return;
        }
        let _ = replies.send(Reply::Lost);
        if let Err(e) = result {
            tracing::debug!(error = %e, "connection lost");
        }
        (shared.events)(event_text("Disconnected", "None", None));
        *lock(&shared.writer) = None;
        *lock(&shared.connected_to) = None;
        reader = FrameReader::default();
        // Try the other servers (then this one again) until the session times out.
        let give_up = Instant::now()
            + Duration::from_millis(
                shared.negotiated_timeout.load(Ordering::SeqCst).max(1000) as u64
            );
        loop {
            server_index = (server_index + 1) % shared.servers.len();
            match establish(&shared, server_index) {
                Ok(s) => {
                    stream = s;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                    shared.closed.store(true, Ordering::SeqCst);
                    let _ = replies.send(Reply::Lost);
                    return;
                }
                Err(_) if Instant::now() >= give_up => {
                    (shared.events)(event_text("Expired", "None", None));
                    shared.closed.store(true, Ordering::SeqCst);
                    let _ = replies.send(Reply::Lost);
                    return;
                }
                Err(_) => thread::sleep(Duration::from_millis(500)),
            }
        }
        if let Some(addr) = *lock(&shared.connected_to) {
            if let Some(i) = shared.servers.iter().position(|a| *a == addr) {
                server_index = i;
            }
        }
    }
}

/// Reads and dispatches frames until the link fails.
fn read_frames(
    shared: &Shared,
    stream: &mut TcpStream,
    reader: &mut FrameReader,
    replies: &Sender<Reply>,
) -> io::Result<()> {
    let ping = frame_request(&Request {
        xid: xid::PING,
        op: OpCode::Ping,
        body: RequestBody::Ping,
    });
    let mut last_heard = Instant::now();
    let timeout =
        Duration::from_millis(shared.negotiated_timeout.load(Ordering::SeqCst).max(1) as u64);
    loop {
        while let Some(frame) = reader.next_frame()? {
            last_heard = Instant::now();
            match peek_xid(&frame) {
                Some(xid::NOTIFICATION) => {
                    if let Ok(event) = decode_notification(frame) {
                        on_event(shared, &event);
                    }
                }
                Some(xid::PING) | Some(xid::SET_WATCHES) => {}
                Some(_) if replies.send(Reply::Frame(frame)).is_err() => return Ok(()),
                Some(_) => {}
                None => {}
            }
        }
        match reader.fill(stream) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if last_heard.elapsed() > timeout * 2 / 3 {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "server silent"));
                }
                send(shared, &ping)?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn on_event(shared: &Shared, event: &WatcherEvent) {
    // One-shot watches are spent once they fire; persistent ones stay.
    {
        let mut w = lock(&shared.watches);
        match event.event_type {
            1..=3 => {
                w.data.remove(&event.path);
                w.exist.remove(&event.path);
                if event.event_type == 2 {
                    w.child.remove(&event.path);
                }
            }
            4 => {
                w.child.remove(&event.path);
            }
            _ => {}
        }
    }
    let path = (!event.path.is_empty()).then_some(event.path.as_str());
    (shared.events)(event_text(
        state_name(event.state),
        type_name(event.event_type),
        path,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_lists_default_the_port_and_split_on_commas() {
        let servers = resolve_servers("127.0.0.1:2182, 127.0.0.1").unwrap();
        assert_eq!(
            servers,
            vec![
                "127.0.0.1:2182".parse().unwrap(),
                "127.0.0.1:2181".parse().unwrap()
            ]
        );
        assert!(resolve_servers(" , ").is_err());
    }

    #[test]
    fn frames_are_cut_only_when_complete() {
        let mut r = FrameReader::default();
        r.buf.extend_from_slice(&[0, 0, 0, 3, 1, 2]);
        assert!(r.next_frame().unwrap().is_none());
        r.buf.extend_from_slice(&[3, 0, 0]);
        assert_eq!(r.next_frame().unwrap().unwrap().as_ref(), &[1, 2, 3]);
        assert_eq!(r.buf, vec![0, 0]);
    }

    #[test]
    fn oversized_frames_are_refused() {
        let mut r = FrameReader::default();
        r.buf.extend_from_slice(&[0x7f, 0, 0, 0]);
        assert!(r.next_frame().is_err());
    }

    #[test]
    fn events_print_like_zkcli() {
        assert_eq!(
            event_text("SyncConnected", "NodeDataChanged", Some("/x")),
            "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/x"
        );
        assert_eq!(
            event_text(state_name(3), type_name(-1), None),
            "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null"
        );
    }
}
