//! A client history as the servers saw it, rebuilt from replayed steps: the requests in each connection's
//! recorded bytes, and the replies and notifications the replayed node sent on it. Every connection counts
//! as one client of `rzk-check`'s [`History`]; times are the recording's wall clock (ms since the epoch),
//! request arrival for `invoke` and reply for `complete`.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use rzk_check::history::{
    ConnSpan, Extended, History, OkValue, OpKind, OpRecord, Outcome, Received, WatchRecord,
};
use rzk_core::node::{ConnId, Input, Output};
use rzk_core::proto::client::{
    decode_connect_response, decode_notification, decode_reply, peek_xid,
};
use rzk_core::proto::frame::FrameDecoder;
use rzk_core::proto::request::{decode_request, MultiOp, Request, RequestBody};
use rzk_core::proto::{ErrorCode, FourLetterWord, OpCode};

/// Frames up to this size are decoded (jute.maxbuffer's default, generously).
const MAX_FRAME: usize = 64 << 20;

struct Conn {
    /// Its number in the history (one client per connection).
    global: u64,
    input: FrameDecoder,
    output: FrameDecoder,
    /// The connect request was seen / the connect response was seen.
    requested: bool,
    answered: bool,
    /// A four-letter word connection (nothing to record) or one whose stream stopped decoding.
    ignored: bool,
    /// Bytes of the stream seen so far (a four-letter word is its first four).
    seen: usize,
    session: i64,
    /// Requests sent and not answered yet, in order: (xid, op code, the op's index in the history).
    pending: VecDeque<(i32, OpCode, Option<usize>)>,
    /// The index in `History::connected` of its span, once it has a session.
    span: Option<usize>,
}

/// Builds the history of every connection of every server.
#[derive(Default)]
pub struct ServerHistory {
    pub history: History,
    /// The server each history connection went to.
    pub conn_nodes: BTreeMap<u64, usize>,
    conns: BTreeMap<(usize, ConnId), Conn>,
    next_global: u64,
}

impl ServerHistory {
    /// Connections that ended (a process restart, a gap in the recording): unanswered ops stay lost.
    pub fn forget_server(&mut self, server: usize, now: u64) {
        let gone: Vec<(usize, ConnId)> = self
            .conns
            .range((server, 0)..=(server, ConnId::MAX))
            .map(|(k, _)| *k)
            .collect();
        for key in gone {
            self.close(key, now);
        }
    }

    fn close(&mut self, key: (usize, ConnId), now: u64) {
        if let Some(c) = self.conns.remove(&key) {
            if let Some(span) = c.span {
                self.history.connected[span].to = Some(now);
            }
        }
    }

    /// One replayed step of `server` at `now` (ms): the input and what the node produced.
    pub fn step(&mut self, server: usize, now: u64, input: &Input, outputs: &[Output]) {
        match input {
            Input::ClientOpened { conn, .. } => {
                let global = self.next_global;
                self.next_global += 1;
                self.conn_nodes.insert(global, server);
                self.conns.insert(
                    (server, *conn),
                    Conn {
                        global,
                        input: FrameDecoder::new(MAX_FRAME),
                        output: FrameDecoder::new(MAX_FRAME),
                        requested: false,
                        answered: false,
                        ignored: false,
                        seen: 0,
                        session: 0,
                        pending: VecDeque::new(),
                        span: None,
                    },
                );
            }
            Input::ClientBytes { conn, bytes } => self.requests(server, *conn, now, bytes),
            Input::ClientClosed { conn } => self.close((server, *conn), now),
            _ => {}
        }
        for o in outputs {
            match o {
                Output::ToClient { conn, bytes } => self.replies(server, *conn, now, bytes),
                Output::CloseClient { conn } => self.close((server, *conn), now),
                _ => {}
            }
        }
    }

    fn requests(&mut self, server: usize, conn: ConnId, now: u64, bytes: &Bytes) {
        let Some(c) = self.conns.get_mut(&(server, conn)) else {
            return;
        };
        if c.ignored {
            return;
        }
        c.input.push(bytes);
        let before = c.seen;
        c.seen += bytes.len();
        if before < 4 && c.seen >= 4 {
            let head = c.input.buffered().get(..4).unwrap_or_default();
            if FourLetterWord::from_bytes(head).is_some() {
                c.ignored = true;
                return;
            }
        }
        loop {
            let frame = match c.input.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(_) => {
                    c.ignored = true;
                    break;
                }
            };
            if !c.requested {
                c.requested = true;
                continue;
            }
            let Ok(req) = decode_request(frame) else {
                c.ignored = true;
                break;
            };
            let record = op_kind(&req).map(|op| {
                self.history.ops.push(OpRecord {
                    client: c.global as usize,
                    session: c.session,
                    conn: c.global,
                    xid: req.xid,
                    op,
                    invoke: now,
                    complete: now,
                    outcome: Outcome::Lost,
                    zxid: None,
                });
                self.history.ops.len() - 1
            });
            c.pending.push_back((req.xid, req.op, record));
        }
    }

    fn replies(&mut self, server: usize, conn: ConnId, now: u64, bytes: &Bytes) {
        let Some(c) = self.conns.get_mut(&(server, conn)) else {
            return;
        };
        if c.ignored {
            return;
        }
        c.output.push(bytes);
        loop {
            let frame = match c.output.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(_) => {
                    c.ignored = true;
                    break;
                }
            };
            if !c.answered {
                c.answered = true;
                if let Ok(r) = decode_connect_response(frame) {
                    if r.session_id != 0 {
                        c.session = r.session_id;
                        self.history.sessions.push((
                            c.global as usize,
                            r.session_id,
                            r.time_out,
                            now,
                        ));
                        self.history.connected.push(ConnSpan {
                            client: c.global as usize,
                            conn: c.global,
                            session: r.session_id,
                            from: now,
                            to: None,
                        });
                        c.span = Some(self.history.connected.len() - 1);
                    }
                }
                continue;
            }
            match peek_xid(&frame) {
                Some(-1) => {
                    if let Ok(e) = decode_notification(frame) {
                        self.history
                            .received
                            .entry(c.global)
                            .or_default()
                            .push(Received::Event {
                                event_type: e.event_type,
                                path: e.path,
                            });
                    }
                    continue;
                }
                None => continue,
                Some(_) => {}
            }
            let Some((xid, op, record)) = c.pending.pop_front() else {
                continue;
            };
            let Ok((header, body)) = decode_reply(frame, op) else {
                continue;
            };
            if header.xid != xid {
                self.history.protocol.push(format!(
                    "reply order: server {server} conn {conn} answered xid {} while xid {xid} was the oldest pending",
                    header.xid
                ));
                c.ignored = true;
                break;
            }
            let Some(i) = record else {
                continue;
            };
            let r = &mut self.history.ops[i];
            r.complete = now;
            r.zxid = Some(header.zxid);
            r.outcome = match ErrorCode::from_code(header.err) {
                Some(ErrorCode::Ok) => Outcome::Ok(OkValue::of(body)),
                Some(e) => Outcome::Err(e),
                None => Outcome::Err(ErrorCode::SystemError),
            };
            self.history
                .received
                .entry(c.global)
                .or_default()
                .push(Received::Reply {
                    op: i,
                    zxid: header.zxid,
                });
            let set_watch = match &r.op {
                OpKind::Get { path, watch: true } => Some((path.clone(), false, false)),
                OpKind::Exists { path, watch: true } => Some((path.clone(), false, true)),
                OpKind::Children { path, watch: true } => Some((path.clone(), true, false)),
                _ => None,
            };
            if let Some((path, child, exists)) = set_watch {
                let ok = matches!(r.outcome, Outcome::Ok(_))
                    || (exists && r.outcome == Outcome::Err(ErrorCode::NoNode));
                if ok {
                    self.history.watches.push(WatchRecord {
                        op: i,
                        conn: c.global,
                        path,
                        child,
                        zxid: header.zxid,
                    });
                }
            }
        }
    }
}

/// The history's view of a request, for the ops the checkers know.
fn op_kind(req: &Request) -> Option<OpKind> {
    Some(match &req.body {
        RequestBody::Create(r) => create(&r.path, r.data.clone(), r.flags, None),
        RequestBody::CreateTtl(r) => create(&r.path, r.data.clone(), r.flags, Some(r.ttl)),
        RequestBody::SetData(r) => OpKind::Set {
            path: r.path.clone(),
            value: r.data.clone(),
            version: r.version,
        },
        RequestBody::Delete(r) => OpKind::Delete {
            path: r.path.clone(),
            version: r.version,
        },
        RequestBody::GetData(r) => OpKind::Get {
            path: r.path.clone(),
            watch: r.watch,
        },
        RequestBody::Exists(r) => OpKind::Exists {
            path: r.path.clone(),
            watch: r.watch,
        },
        RequestBody::GetChildren(r) => OpKind::Children {
            path: r.path.clone(),
            watch: r.watch,
        },
        RequestBody::Multi(ops) if req.op == OpCode::Multi => {
            // The checkers know a multi of setData ops with one value (the simulator's workload).
            let mut paths = Vec::new();
            let mut value = None;
            for op in ops {
                let MultiOp::SetData(s) = op else {
                    return None;
                };
                if value.get_or_insert_with(|| s.data.clone()) != &s.data || s.version != -1 {
                    return None;
                }
                paths.push(s.path.clone());
            }
            OpKind::MultiSet {
                paths,
                value: value?,
            }
        }
        _ => return None,
    })
}

/// CreateMode by its flags (ZooKeeper's CreateMode.fromFlag).
fn create(path: &str, value: rzk_core::Data, flags: i32, ttl: Option<i64>) -> OpKind {
    OpKind::Create {
        path: path.to_owned(),
        value,
        ephemeral: matches!(flags, 1 | 3),
        sequential: matches!(flags, 2 | 3 | 6),
        extended: match (flags, ttl) {
            (4, _) => Extended::Container,
            (5 | 6, Some(ttl)) => Extended::Ttl(ttl),
            _ => Extended::None,
        },
    }
}
