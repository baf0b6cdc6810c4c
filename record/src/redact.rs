//! Redaction (`rzk.recordRedact`): what a recording must not carry, zeroed where it stands, so every length
//! stays and the node replays the same control flow.
//!
//! Zeroed: znode data (in creates, setData and multi ops a client sends; in the txns, DIFFs, SNAPs and
//! forwarded requests peers send) and credentials (an `auth` packet's payload, such as digest's
//! `user:password` in clear text; SASL tokens). Kept: paths, ACLs and authenticated identities (digest ids are
//! hashes, as ZooKeeper's own snapshots hold them), session passwords (a public function of the session id,
//! as in ZooKeeper: `core/src/session/password.rs`), and everything else.
//!
//! A client's bytes arrive in chunks that split frames anywhere, and the node must see the same chunks on
//! replay, so [`StreamRedactor`] zeroes in place: every sensitive span is located by the bytes before it in
//! its frame (jute writes a length before its contents), so each chunk is classified as it arrives.

use std::ops::Range;

use rzk_core::node::Input;
use rzk_core::peer::PeerMsg;
use rzk_core::proto::OpCode;
use rzk_core::txn::{LoggedTxn, Txn};
use rzk_core::zab::ZabMsg;
use rzk_core::Data;

/// A frame longer than this is not parsed: the rest of the connection is zeroed (the node refuses frames
/// beyond `jute.maxbuffer` and closes the connection anyway).
const MAX_FRAME: usize = 1 << 30;

/// One client connection's stream, redacted chunk by chunk.
#[derive(Debug, Default)]
pub struct StreamRedactor {
    /// The current frame's bytes so far, its 4-byte length included.
    frame: Vec<u8>,
    /// The handshake (the first frame) is behind.
    started: bool,
    mode: Mode,
}

#[derive(Debug, Default, PartialEq, Eq)]
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
        self.frame.clear();
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

    /// The record of a request (or multi op) of type `op`.
    fn write_op(&mut self, op: OpCode) -> Option<()> {
        match op {
            OpCode::Create | OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
                self.string()?; // path
                self.secret()?; // data
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
                self.string()?;
                self.secret()?;
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

/// Data of the same length, zeroed (null stays null).
fn zeroed(d: &Data) -> Data {
    match d.as_option() {
        None => Data::null(),
        Some(b) => Data::copy_from_slice(&vec![0; b.len()]),
    }
}

fn redact_txn(t: &mut Txn) {
    match t {
        Txn::Create { data, .. } | Txn::SetData { data, .. } => *data = zeroed(data),
        Txn::Multi(txns) => txns.iter_mut().for_each(redact_txn),
        _ => {}
    }
}

fn redact_logged(t: &mut LoggedTxn) {
    redact_txn(&mut t.txn);
}

/// Zeroes the data a peer message carries; true if it carried any.
pub fn redact_peer(msg: &mut PeerMsg) -> bool {
    let PeerMsg::Zab { msg, .. } = msg else {
        return false;
    };
    match msg {
        ZabMsg::Proposal { txn } => redact_logged(txn),
        ZabMsg::Diff { txns } => txns.iter_mut().for_each(redact_logged),
        ZabMsg::Snap { snapshot } => {
            for node in &mut snapshot.nodes {
                node.1 = zeroed(&node.1);
            }
        }
        ZabMsg::Request(fwd) => {
            let mut frame = fwd.frame.to_vec();
            let (spans, _) = request_spans(&frame);
            for s in spans {
                let end = s.end.min(frame.len());
                if s.start < end {
                    frame[s.start..end].fill(0);
                }
            }
            fwd.frame = frame.into();
        }
        _ => return false,
    }
    true
}

/// Per-connection redactors for a recorder.
#[derive(Debug, Default)]
pub struct Redactor {
    streams: std::collections::BTreeMap<u64, StreamRedactor>,
}

impl Redactor {
    /// The input as it is recorded (`None`: as it is) and what was found in it.
    pub fn input(&mut self, input: &Input) -> (Option<Input>, Redacted) {
        match input {
            Input::ClientOpened { conn, .. } => {
                self.streams.insert(*conn, StreamRedactor::default());
                (None, Redacted::default())
            }
            Input::ClientClosed { conn } => {
                self.streams.remove(conn);
                (None, Redacted::default())
            }
            Input::ClientBytes { conn, bytes } => {
                let stream = self.streams.entry(*conn).or_default();
                let mut copy = bytes.to_vec();
                let found = stream.redact(&mut copy);
                let redacted = found.changed.then(|| Input::ClientBytes {
                    conn: *conn,
                    bytes: copy.into(),
                });
                (redacted, found)
            }
            Input::PeerMessage { from, msg } => {
                let mut msg = msg.clone();
                let changed = redact_peer(&mut msg);
                let redacted = changed.then(|| Input::PeerMessage { from: *from, msg });
                let found = Redacted {
                    changed,
                    credential: false,
                };
                (redacted, found)
            }
            _ => (None, Redacted::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use rzk_core::proto::client::{frame_connect, frame_request};
    use rzk_core::proto::records::{
        AuthPacket, ConnectRequest, CreateRequest, CreateTtlRequest, GetDataRequest,
        GetSaslRequest, SetDataRequest,
    };
    use rzk_core::proto::request::{decode_request, MultiOp, Request, RequestBody};

    fn create(path: &str, data: &[u8]) -> CreateRequest {
        CreateRequest {
            path: path.into(),
            data: Data::copy_from_slice(data),
            acl: rzk_core::acl::open_acl_unsafe(),
            flags: 0,
        }
    }

    fn req(xid: i32, op: OpCode, body: RequestBody) -> Bytes {
        frame_request(&Request { xid, op, body })
    }

    /// A session's stream: handshake, then every kind of request that carries data or credentials, and some
    /// that do not.
    fn stream() -> Vec<u8> {
        let mut s = frame_connect(&ConnectRequest {
            time_out: 30_000,
            passwd: Bytes::from_static(&[7; 16]),
            ..Default::default()
        })
        .to_vec();
        let auth = AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: Bytes::from_static(b"alice:SECRETPW"),
        };
        let frames = [
            req(-4, OpCode::Auth, RequestBody::Auth(auth)),
            req(
                1,
                OpCode::Create,
                RequestBody::Create(create("/a", b"SECRETDATA1")),
            ),
            req(
                2,
                OpCode::GetData,
                RequestBody::GetData(GetDataRequest {
                    path: "/a".into(),
                    watch: true,
                }),
            ),
            req(
                3,
                OpCode::SetData,
                RequestBody::SetData(SetDataRequest {
                    path: "/a".into(),
                    data: Data::copy_from_slice(b"SECRETDATA2"),
                    version: -1,
                }),
            ),
            req(
                4,
                OpCode::CreateTtl,
                RequestBody::CreateTtl(CreateTtlRequest {
                    path: "/t".into(),
                    data: Data::copy_from_slice(b"SECRETDATA3"),
                    acl: rzk_core::acl::open_acl_unsafe(),
                    flags: 5,
                    ttl: 1000,
                }),
            ),
            req(
                5,
                OpCode::Multi,
                RequestBody::Multi(vec![
                    MultiOp::Create(OpCode::Create, create("/m", b"SECRETDATA4")),
                    MultiOp::SetData(SetDataRequest {
                        path: "/m".into(),
                        data: Data::copy_from_slice(b"SECRETDATA5"),
                        version: 0,
                    }),
                    MultiOp::Create(OpCode::Create2, create("/n", b"SECRETDATA6")),
                ]),
            ),
            req(
                6,
                OpCode::Sasl,
                RequestBody::Sasl(GetSaslRequest {
                    token: Bytes::from_static(b"SECRETTOKEN"),
                }),
            ),
            req(7, OpCode::Create, RequestBody::Create(create("/null", b""))),
        ];
        for f in frames {
            s.extend_from_slice(&f);
        }
        s
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    /// Redacts `s` cut at `cuts`.
    fn redacted(s: &[u8], cuts: &[usize]) -> (Vec<u8>, bool) {
        let mut r = StreamRedactor::default();
        let mut out = Vec::new();
        let mut credential = false;
        let mut from = 0;
        for &to in cuts.iter().chain([&s.len()]) {
            let mut chunk = s[from..to].to_vec();
            credential |= r.redact(&mut chunk).credential;
            out.extend_from_slice(&chunk);
            from = to;
        }
        (out, credential)
    }

    #[test]
    fn data_and_credentials_are_zeroed_and_everything_else_kept() {
        let s = stream();
        let (out, credential) = redacted(&s, &[]);
        assert!(credential);
        assert_eq!(out.len(), s.len());
        assert!(
            !contains(&out, b"SECRET"),
            "{:?}",
            String::from_utf8_lossy(&out)
        );
        // Exactly the secrets' bytes differ.
        let differing = s.iter().zip(&out).filter(|(a, b)| a != b).count();
        assert_eq!(
            differing,
            "alice:SECRETPW".len() + 6 * 11 + "SECRETTOKEN".len()
        );
        // Every frame still decodes, with its paths and structure.
        let mut rest = &out[4 + u32::from_be_bytes([out[0], out[1], out[2], out[3]]) as usize..];
        let mut ops = Vec::new();
        while !rest.is_empty() {
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let r = decode_request(Bytes::copy_from_slice(&rest[4..4 + len])).expect("decodes");
            ops.push(r.op);
            if let RequestBody::Create(c) = &r.body {
                assert!(c.path.starts_with('/'));
                assert!(c.data.iter().all(|b| *b == 0));
            }
            rest = &rest[4 + len..];
        }
        assert_eq!(ops.len(), 8);
    }

    #[test]
    fn any_chunking_redacts_the_same_bytes() {
        let s = stream();
        let (whole, _) = redacted(&s, &[]);
        for cut in 1..s.len() {
            assert_eq!(redacted(&s, &[cut]).0, whole, "cut at {cut}");
        }
        for step in [1, 2, 3, 7, 13] {
            let cuts: Vec<usize> = (step..s.len()).step_by(step).collect();
            assert_eq!(redacted(&s, &cuts).0, whole, "chunks of {step}");
        }
    }

    #[test]
    fn four_letter_words_pass_and_garbage_is_zeroed() {
        let (out, _) = redacted(b"srvr", &[]);
        assert_eq!(out, b"srvr");
        let mut bad = stream();
        bad.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
        let (out, _) = redacted(&bad, &[]);
        // The bad length stays (the node refuses it the same way on replay); what follows is zeroed.
        assert!(out.ends_with(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0]));
    }

    #[test]
    fn peer_messages_lose_their_data() {
        let data = Data::copy_from_slice(b"SECRETDATA");
        let txn = LoggedTxn {
            header: rzk_core::txn::TxnHeader {
                session_id: 1,
                cxid: 1,
                zxid: 5,
                time: 0,
            },
            txn: Txn::Multi(vec![Txn::SetData {
                path: "/a".into(),
                data,
                version: 1,
            }]),
        };
        let mut msg = PeerMsg::Zab {
            session: 1,
            msg: ZabMsg::Proposal { txn },
        };
        assert!(redact_peer(&mut msg));
        assert!(!contains(format!("{msg:?}").as_bytes(), b"SECRET"));
        let frame = req(
            1,
            OpCode::Create,
            RequestBody::Create(create("/f", b"SECRETDATA")),
        );
        let mut msg = PeerMsg::Zab {
            session: 1,
            msg: ZabMsg::Request(rzk_core::zab::Forwarded {
                session_id: 1,
                frame: frame.slice(4..),
                auth: Vec::new(),
            }),
        };
        assert!(redact_peer(&mut msg));
        let PeerMsg::Zab {
            msg: ZabMsg::Request(f),
            ..
        } = &msg
        else {
            unreachable!()
        };
        assert_eq!(f.frame.len(), frame.len() - 4);
        assert!(!contains(&f.frame, b"SECRET"));
    }
}
