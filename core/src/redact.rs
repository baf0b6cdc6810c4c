//! Redaction for the flight recorder's `rzk.recordRedact` mode: znode data and credentials zeroed where
//! they stand, every length kept, so a redacted recording still replays the node's control flow.
//!
//! Zeroed: znode data, except quota nodes' and the ensemble config's (`/zookeeper/quota/...`,
//! `/zookeeper/config`: the server reads them, and they hold no client data), and credentials (an `auth` packet's payload, such as digest's
//! `user:password` in clear text; SASL tokens; TLS and JAAS passwords in the config). Kept: paths, ACLs and
//! authenticated identities (digest ids are hashes, as ZooKeeper's own snapshots hold them), session
//! passwords (a public function of the session id, as in ZooKeeper: [`crate::session::password`]).
//!
//! Two halves. [`StreamRedactor`] zeroes a client's byte stream in place, chunk by chunk: each sensitive
//! span is located by the bytes before it in its frame (jute writes a length before its contents, and a
//! path before its data). And [`redacted`] serializes a node's state (its checkpoint) with every `Data`
//! zeroed and the few structured byte buffers (a connection's unread input, a forwarded request) redacted
//! by their structure: serde's derives reach every field, so a field added later is covered too. That
//! half uses thread-local flags because serde's `serialize_with` sees one field at a time: a path field
//! says whether the `Data` serialized right after it (its sibling) is kept, and a connection's state says
//! whether its unread input starts with the handshake.

use std::cell::Cell;
use std::ops::Range;

use serde::{Serialize, Serializer};

use crate::proto::OpCode;

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static KEEP_NEXT_DATA: Cell<bool> = const { Cell::new(false) };
    static HANDSHAKE_DONE: Cell<bool> = const { Cell::new(false) };
    static CREDENTIAL: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` (which serializes something) with redaction on, on this thread; also says whether a
/// credential was zeroed (one still unread in a connection's input: the node's answer to it cannot be
/// replayed).
pub fn redacted<T>(f: impl FnOnce() -> T) -> (T, bool) {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            ACTIVE.with(|a| a.set(false));
            KEEP_NEXT_DATA.with(|k| k.set(false));
            CREDENTIAL.with(|c| c.set(false));
        }
    }
    ACTIVE.with(|a| a.set(true));
    CREDENTIAL.with(|c| c.set(false));
    let _reset = Reset;
    let value = f();
    (value, CREDENTIAL.with(Cell::get))
}

/// Whether serialization on this thread is redacting.
pub fn active() -> bool {
    ACTIVE.with(Cell::get)
}

/// The server reads the data of quota nodes and of the ensemble config: it is never redacted (and is not
/// client data). Anything else a client may create under `/zookeeper` is.
pub fn is_system_path(path: &[u8]) -> bool {
    path.starts_with(b"/zookeeper/quota/") || path == b"/zookeeper/config"
}

/// `serialize_with` for a path that a `Data` follows in its struct: whether that data is kept.
pub fn path<S: Serializer>(path: &String, s: S) -> Result<S::Ok, S::Error> {
    if active() {
        KEEP_NEXT_DATA.with(|k| k.set(is_system_path(path.as_bytes())));
    }
    path.serialize(s)
}

/// Whether the `Data` being serialized is zeroed (taking its path's verdict).
pub(crate) fn zero_data() -> bool {
    active() && !KEEP_NEXT_DATA.with(|k| k.replace(false))
}

/// `n` zero bytes, serialized as bytes.
pub(crate) struct Zeros(pub usize);

impl Serialize for Zeros {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&vec![0; self.0])
    }
}

/// A connection's state is being serialized: whether the unread input serialized next (its sibling)
/// starts past the handshake.
pub(crate) fn note_handshake(done: bool) {
    if active() {
        HANDSHAKE_DONE.with(|h| h.set(done));
    }
}

/// `serialize_with` for a connection's unread input (it starts at a frame boundary).
pub fn unread_input<S: Serializer>(bytes: &bytes::BytesMut, s: S) -> Result<S::Ok, S::Error> {
    if !active() {
        return s.serialize_bytes(bytes);
    }
    let mut copy = bytes.to_vec();
    let mut r = StreamRedactor {
        started: HANDSHAKE_DONE.with(Cell::get),
        ..StreamRedactor::default()
    };
    if r.redact(&mut copy).credential {
        CREDENTIAL.with(|c| c.set(true));
    }
    s.serialize_bytes(&copy)
}

/// A request frame's body (header and record) with its sensitive spans zeroed.
pub fn redact_request(frame: &[u8]) -> Vec<u8> {
    let mut copy = frame.to_vec();
    let (spans, _) = request_spans(&copy);
    for s in spans {
        let end = s.end.min(copy.len());
        if s.start < end {
            copy[s.start..end].fill(0);
        }
    }
    copy
}

/// `serialize_with` for a forwarded request frame.
pub fn request_frame<S: Serializer>(frame: &bytes::Bytes, s: S) -> Result<S::Ok, S::Error> {
    if active() {
        s.serialize_bytes(&redact_request(frame))
    } else {
        s.serialize_bytes(frame)
    }
}

/// `serialize_with` for a secret string of the config (a password): zeroed, its length kept.
pub fn secret<S: Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    if active() {
        value.as_ref().map(|v| "0".repeat(v.len())).serialize(s)
    } else {
        value.serialize(s)
    }
}

/// `serialize_with` for a map of user names to passwords: the passwords zeroed, their lengths kept.
pub fn secret_map<S: Serializer>(
    users: &Option<std::collections::BTreeMap<String, String>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    if !active() {
        return users.serialize(s);
    }
    let redacted: Option<std::collections::BTreeMap<&String, String>> = users
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k, "0".repeat(v.len()))).collect());
    redacted.serialize(s)
}

/// `serialize_with` for a snapshot's nodes: each node's data is kept or zeroed by its own path.
pub fn snapshot_nodes<S: Serializer, D: Serialize, A: Serialize, T: Serialize>(
    nodes: &[(String, D, A, T)],
    s: S,
) -> Result<S::Ok, S::Error> {
    struct Node<'a, D, A, T>(&'a (String, D, A, T));
    impl<D: Serialize, A: Serialize, T: Serialize> Serialize for Node<'_, D, A, T> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            if active() {
                KEEP_NEXT_DATA.with(|k| k.set(is_system_path(self.0 .0.as_bytes())));
            }
            self.0.serialize(s)
        }
    }
    s.collect_seq(nodes.iter().map(Node))
}

/// A frame longer than this is not parsed: the rest of the connection is zeroed (the node refuses frames
/// beyond `jute.maxbuffer` and closes the connection anyway).
const MAX_FRAME: usize = 1 << 30;

/// One client connection's stream, redacted chunk by chunk.
#[derive(Debug, Default, Clone)]
pub struct StreamRedactor {
    /// The current frame's bytes so far, its 4-byte length included.
    frame: Vec<u8>,
    /// The handshake (the first frame) is behind.
    started: bool,
    mode: Mode,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
enum Mode {
    #[default]
    Frames,
    /// A four-letter-word connection: nothing in it is sensitive.
    Plain,
    /// Unparseable: everything from here on is zeroed.
    Blind,
}

/// What redacting one input found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Redacted {
    /// Some bytes were zeroed.
    pub changed: bool,
    /// A credential was zeroed: the node's answer to it (an identity, a SASL step) cannot be replayed.
    pub credential: bool,
    /// The four-letter word `hash`: its answer shows the tree's digest, which covers the data.
    pub shows_digest: bool,
}

impl StreamRedactor {
    /// Zeroes the sensitive bytes of the next chunk of the stream.
    pub fn redact(&mut self, chunk: &mut [u8]) -> Redacted {
        let mut found = Redacted::default();
        let mut i = 0;
        while i < chunk.len() {
            match self.mode {
                Mode::Plain => break,
                Mode::Blind => {
                    chunk[i..].fill(0);
                    found.changed = true;
                    break;
                }
                Mode::Frames => {}
            }
            if self.frame.len() < 4 {
                let n = (4 - self.frame.len()).min(chunk.len() - i);
                self.frame.extend_from_slice(&chunk[i..i + n]);
                i += n;
                if self.frame.len() < 4 {
                    break;
                }
                if !self.started && self.frame.iter().all(u8::is_ascii_alphabetic) {
                    self.mode = Mode::Plain;
                    found.shows_digest = self.frame == b"hash";
                    break;
                }
                let len = i32::from_be_bytes([
                    self.frame[0],
                    self.frame[1],
                    self.frame[2],
                    self.frame[3],
                ]);
                if len < 0 || len as usize > MAX_FRAME {
                    self.mode = Mode::Blind;
                }
                if len == 0 {
                    self.frame_done();
                }
                continue;
            }
            let body_len =
                i32::from_be_bytes([self.frame[0], self.frame[1], self.frame[2], self.frame[3]])
                    as usize;
            let have = self.frame.len() - 4;
            let n = (body_len - have).min(chunk.len() - i);
            self.frame.extend_from_slice(&chunk[i..i + n]);
            if self.started {
                let (spans, credential) = request_spans(&self.frame[4..]);
                for s in spans {
                    let lo = s.start.max(have);
                    let hi = s.end.min(have + n);
                    if lo < hi {
                        chunk[i + lo - have..i + hi - have].fill(0);
                        found.changed = true;
                        found.credential |= credential;
                    }
                }
            }
            i += n;
            if self.frame.len() - 4 == body_len {
                self.frame_done();
            }
        }
        found
    }

    fn frame_done(&mut self) {
        // Not `clear`: a large frame's buffer is not kept for the connection's lifetime.
        self.frame = Vec::new();
        self.started = true;
    }
}

/// The sensitive spans of a request frame's body (header and record, no length prefix), as far as the
/// `prefix` of it shows them (a span may reach past it), and whether they are credentials.
pub fn request_spans(prefix: &[u8]) -> (Vec<Range<usize>>, bool) {
    let mut w = Walk {
        buf: prefix,
        pos: 0,
        spans: Vec::new(),
    };
    let mut credential = false;
    let _complete = (|| {
        let _xid = w.int()?;
        let op = w.int()?;
        match OpCode::from_code(op) {
            Some(OpCode::Auth) => {
                credential = true;
                w.int()?; // type
                w.string()?; // scheme
                w.secret()
            }
            Some(OpCode::Sasl) => {
                credential = true;
                w.secret()
            }
            Some(OpCode::Multi) => loop {
                let op = w.int()?;
                let done = w.byte()? != 0;
                w.int()?; // err
                if done {
                    return Some(());
                }
                match OpCode::from_code(op) {
                    Some(op) => w.write_op(op)?,
                    None => return None,
                }
            },
            Some(op) => w.write_op(op),
            None => None,
        }
    })();
    (w.spans, credential)
}

/// A cursor over a frame body's known prefix; `None` once a field runs past it.
struct Walk<'a> {
    buf: &'a [u8],
    pos: usize,
    spans: Vec<Range<usize>>,
}

impl Walk<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.pos.checked_add(n)?;
        let bytes = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(bytes)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn int(&mut self) -> Option<i32> {
        let b = self.take(4)?;
        Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }

    /// A jute string (or buffer) that is kept.
    fn string(&mut self) -> Option<()> {
        let len = self.int()?;
        self.skip(len.max(0) as usize)
    }

    /// A jute buffer whose contents are zeroed: the span is known as soon as its length is.
    fn secret(&mut self) -> Option<()> {
        let len = self.int()?.max(0) as usize;
        let start = self.pos;
        self.spans.push(start..start.saturating_add(len));
        self.skip(len)
    }

    /// A path, then its data: zeroed unless the path is the server's own.
    fn path_then_data(&mut self) -> Option<()> {
        let len = self.int()?.max(0) as usize;
        let system = is_system_path(self.take(len)?);
        if system {
            self.string()
        } else {
            self.secret()
        }
    }

    /// The record of a request (or multi op) of type `op`.
    fn write_op(&mut self, op: OpCode) -> Option<()> {
        match op {
            OpCode::Create | OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
                self.path_then_data()?;
                let acls = self.int()?;
                for _ in 0..acls.max(0) {
                    self.int()?; // perms
                    self.string()?; // scheme
                    self.string()?; // id
                }
                self.int()?; // flags
                if op == OpCode::CreateTtl {
                    self.skip(8)?;
                }
                Some(())
            }
            OpCode::SetData => {
                self.path_then_data()?;
                self.int().map(|_| ())
            }
            OpCode::Delete | OpCode::Check => {
                self.string()?;
                self.int().map(|_| ())
            }
            OpCode::GetData | OpCode::GetChildren => {
                self.string()?;
                self.byte().map(|_| ())
            }
            // Nothing else carries data or credentials, and nothing follows it in a multi.
            _ => None,
        }
    }
}
