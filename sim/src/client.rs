//! A simulated ZooKeeper client: it holds a session, connects to a server (another one after a failure),
//! speaks the real wire protocol, pipelines a random workload, and records what it saw in the history.

use std::collections::VecDeque;

use bytes::Bytes;
use rzk_core::acl::open_acl_unsafe;
use rzk_core::proto::client::{
    decode_connect_response, decode_notification, decode_reply, frame_connect, frame_request,
    peek_xid,
};
use rzk_core::proto::frame::FrameDecoder;
use rzk_core::proto::records::*;
use rzk_core::proto::request::{MultiOp, Request, RequestBody};
use rzk_core::proto::response::ResponseBody;
use rzk_core::proto::{ErrorCode, OpCode};
use rzk_core::Data;

use crate::history::{
    Extended, History, OkValue, OpKind, OpRecord, Outcome, Received, WatchRecord,
};
use crate::rng::SimRng;

/// What the client asks the world to do.
#[derive(Debug)]
pub enum ClientAction {
    Connect {
        node: usize,
    },
    /// Send bytes on connection `conn` (dropped if it is no longer open).
    Send {
        conn: u64,
        bytes: Bytes,
    },
    /// Close connection `conn`.
    Close {
        conn: u64,
    },
}

/// The workload's shape, drawn per seed.
#[derive(Debug, Clone)]
pub struct Workload {
    pub keys: usize,
    pub depth: usize,
    pub think_ms: u64,
    pub session_timeout: i32,
    /// Clients below this index go idle now and then: for two to four session timeouts they only ping, so
    /// nothing but pings (through whatever server they are on) keeps their sessions alive.
    pub idlers: usize,
    /// Idle stretches end by this time (global ms), so that the liveness window after the heal sees writes.
    pub idle_before: u64,
    /// The servers run SASL (DIGEST-MD5 with [`crate::SASL_USER`]): clients authenticate now and then.
    pub sasl: bool,
}

struct Pending {
    xid: i32,
    op: OpCode,
    /// Index of the op's record in the history.
    record: usize,
    /// The sync half of a SyncGet: no record of its own.
    sync_half: bool,
    /// The first packet of a SASL exchange: its reply is the challenge, answered by a second packet.
    sasl_first: bool,
}

struct Conn {
    id: u64,
    handshaken: bool,
    /// A SASL exchange was started on this connection (the server allows one).
    sasl_tried: bool,
    frames: FrameDecoder,
    pending: VecDeque<Pending>,
    last_heard: u64,
    last_sent: u64,
}

pub struct SimClient {
    pub id: usize,
    rng: SimRng,
    workload: Workload,
    session: Option<(i64, Bytes)>,
    timeout: i32,
    conn: Option<Conn>,
    /// A connection the world is opening for us.
    connecting: Option<u64>,
    last_zxid: i64,
    next_xid: i32,
    counter: u64,
    /// The client stops issuing new ops (but keeps its session alive) after this time.
    pub active: bool,
    /// Until then the client only pings (an idle stretch).
    idle_until: u64,
    /// The server's proof (`rspauth`) the SASL exchange in flight must end with.
    sasl_expected: Option<Vec<u8>>,
}

impl SimClient {
    pub fn new(id: usize, rng: SimRng, workload: Workload) -> SimClient {
        let timeout = workload.session_timeout;
        SimClient {
            id,
            rng,
            workload,
            session: None,
            timeout,
            conn: None,
            connecting: None,
            last_zxid: 0,
            next_xid: 1,
            counter: 0,
            active: true,
            idle_until: 0,
            sasl_expected: None,
        }
    }

    pub fn connected(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.handshaken)
    }

    pub fn session_id(&self) -> i64 {
        self.session.as_ref().map_or(0, |s| s.0)
    }

    /// The world is opening connection `conn` for us (after `Connect`).
    pub fn set_connecting(&mut self, conn: u64) {
        self.connecting = Some(conn);
    }

    /// Whether `conn` is this client's current (or opening) connection.
    pub fn owns(&self, conn: u64) -> bool {
        self.connecting == Some(conn) || self.conn.as_ref().is_some_and(|c| c.id == conn)
    }

    /// The world opened a connection for us (after `Connect`): send the handshake.
    pub fn on_opened(&mut self, now: u64, conn: u64) -> Vec<ClientAction> {
        if self.connecting != Some(conn) {
            // We gave up on this connection (it was reset while opening); the world closes it.
            return vec![ClientAction::Close { conn }];
        }
        self.connecting = None;
        let (session_id, passwd) = self
            .session
            .clone()
            .unwrap_or((0, Bytes::from_static(&[0; 16])));
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: self.last_zxid,
            time_out: self.timeout,
            session_id,
            passwd,
            read_only: false,
        };
        self.conn = Some(Conn {
            id: conn,
            handshaken: false,
            sasl_tried: false,
            frames: FrameDecoder::new(16 << 20),
            pending: VecDeque::new(),
            last_heard: now,
            last_sent: now,
        });
        vec![ClientAction::Send {
            conn,
            bytes: frame_connect(&req),
        }]
    }

    /// The connection is gone (reset, server crash, or closed by the server).
    pub fn on_disconnected(&mut self, now: u64, history: &mut History) {
        self.connecting = None;
        if let Some(c) = self.conn.take() {
            if let Some(span) = history
                .connected
                .iter_mut()
                .rev()
                .find(|s| s.conn == c.id && s.to.is_none())
            {
                span.to = Some(now);
            }
            for p in c.pending {
                if !p.sync_half {
                    let r = &mut history.ops[p.record];
                    r.outcome = Outcome::Lost;
                    r.complete = now;
                }
            }
        }
    }

    /// Time to act: connect if needed, detect a dead connection, issue the next op or a ping.
    /// Returns the actions and when to wake next.
    pub fn wake(
        &mut self,
        now: u64,
        nodes: usize,
        history: &mut History,
    ) -> (Vec<ClientAction>, u64) {
        let mut actions = Vec::new();
        let think = self.rng.range(1, self.workload.think_ms);
        if self.connecting.is_some() {
            return (actions, now + think);
        }
        let Some(c) = &mut self.conn else {
            actions.push(ClientAction::Connect {
                node: self.rng.range(0, nodes as u64 - 1) as usize,
            });
            return (actions, now + think.max(10));
        };
        // A ZooKeeper client gives up on a server it has not heard from for 2/3 of the session timeout.
        let read_timeout = (self.timeout as u64 * 2 / 3).max(1);
        let waiting = !c.handshaken || !c.pending.is_empty();
        if waiting && now.saturating_sub(c.last_heard) > read_timeout {
            actions.push(ClientAction::Close { conn: c.id });
            self.on_disconnected(now, history);
            return (actions, now + think);
        }
        let ping_every = self.timeout as u64 / 3;
        // Like a real client, ping on time whatever the application's pace.
        let next = (now + think).min((c.last_sent + ping_every + 1).max(now + 1));
        if !c.handshaken {
            return (actions, next);
        }
        if self.id < self.workload.idlers && now >= self.idle_until && self.rng.chance(0.002) {
            let t = self.timeout.max(1) as u64;
            self.idle_until = (now + self.rng.range(2 * t, 4 * t)).min(self.workload.idle_before);
        }
        let idle = now < self.idle_until;
        if self.active && !idle && c.pending.len() < self.workload.depth {
            let op = if self.workload.sasl && !c.sasl_tried && self.rng.chance(0.05) {
                c.sasl_tried = true;
                OpKind::Sasl {
                    good_password: self.rng.chance(0.8),
                }
            } else {
                self.next_op()
            };
            actions.extend(self.issue(now, op, history));
        } else if now.saturating_sub(c.last_sent) > ping_every {
            actions.extend(self.issue(now, OpKind::Ping, history));
        }
        (actions, next)
    }

    /// A value no other write uses, or now and then null (ZooKeeper's "no data", which must stay apart
    /// from empty data through the log, snapshots and Zab sync).
    fn value(&mut self) -> Data {
        self.counter += 1;
        if self.rng.range(0, 15) == 0 {
            return Data::null();
        }
        Data::from(format!("c{}-{}", self.id, self.counter).into_bytes())
    }

    fn key(&mut self) -> String {
        format!("/k{}", self.rng.range(0, self.workload.keys as u64 - 1))
    }

    fn next_op(&mut self) -> OpKind {
        let roll = self.rng.range(0, 99);
        let path = self.key();
        match roll {
            0..=14 => OpKind::Create {
                path,
                value: self.value(),
                ephemeral: false,
                sequential: false,
                extended: Extended::None,
            },
            15..=34 => OpKind::Set {
                path,
                value: self.value(),
                version: -1,
            },
            35..=39 => {
                let version = self.rng.range(0, 3) as i32;
                OpKind::Set {
                    path,
                    value: self.value(),
                    version,
                }
            }
            40..=47 => OpKind::Delete { path, version: -1 },
            48..=62 => OpKind::Get {
                path,
                watch: self.rng.chance(0.4),
            },
            63..=67 => OpKind::Exists {
                path,
                watch: self.rng.chance(0.5),
            },
            68..=71 => OpKind::Children {
                path: "/".into(),
                watch: self.rng.chance(0.3),
            },
            72..=81 => OpKind::SyncGet { path },
            82..=85 => {
                let path = format!("/e{}-{}", self.id, self.rng.range(0, 2));
                OpKind::Create {
                    path,
                    value: self.value(),
                    ephemeral: true,
                    sequential: false,
                    extended: Extended::None,
                }
            }
            86 => OpKind::Create {
                path: "/q/e-".into(),
                value: self.value(),
                ephemeral: true,
                sequential: true,
                extended: Extended::None,
            },
            87..=89 => OpKind::Create {
                path: "/q/n-".into(),
                value: self.value(),
                ephemeral: false,
                sequential: true,
                extended: Extended::None,
            },
            90 => self.container_or_ttl(),
            91 => {
                // /q, or one of the nodes of a quota on it (zkCli's setquota -N 12 /q, a step at a time:
                // a step before its parent fails, a repeated one finds the node there).
                let (path, value) = match self.rng.range(0, 3) {
                    0 => ("/q", self.value()),
                    1 => ("/zookeeper/quota/q", Data::null()),
                    2 => (
                        "/zookeeper/quota/q/zookeeper_limits",
                        Data::from_static(b"count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=12"),
                    ),
                    _ => (
                        "/zookeeper/quota/q/zookeeper_stats",
                        Data::from_static(b"count=0,bytes=0"),
                    ),
                };
                OpKind::Create {
                    path: path.into(),
                    value,
                    ephemeral: false,
                    sequential: false,
                    extended: Extended::None,
                }
            }
            92..=95 => {
                let paths = vec!["/m0".to_owned(), "/m1".to_owned()];
                OpKind::MultiSet {
                    paths,
                    value: self.value(),
                }
            }
            _ => {
                let path = format!("/m{}", self.rng.range(0, 1));
                OpKind::Create {
                    path,
                    value: self.value(),
                    ephemeral: false,
                    sequential: false,
                    extended: Extended::None,
                }
            }
        }
    }

    /// The other create modes: a container `/c0`/`/c1` and a child in it (the reaper deletes a container
    /// once its last child goes), a TTL node `/t0`/`/t1`, or a sequential TTL node under `/q`.
    fn container_or_ttl(&mut self) -> OpKind {
        let c = format!("/c{}", self.rng.range(0, 1));
        let plain = |path: String, value: Data, extended| OpKind::Create {
            path,
            value,
            ephemeral: false,
            sequential: false,
            extended,
        };
        match self.rng.range(0, 4) {
            0 => plain(c, self.value(), Extended::Container),
            1 => plain(format!("{c}/n"), self.value(), Extended::None),
            2 => OpKind::Delete {
                path: format!("{c}/n"),
                version: -1,
            },
            3 => {
                let ttl = self.rng.range(200, 3_000) as i64;
                let path = format!("/t{}", self.rng.range(0, 1));
                plain(path, self.value(), Extended::Ttl(ttl))
            }
            _ => OpKind::Create {
                path: "/q/t-".into(),
                value: self.value(),
                ephemeral: false,
                sequential: true,
                extended: Extended::Ttl(self.rng.range(200, 3_000) as i64),
            },
        }
    }

    fn request(&mut self, kind: &OpKind) -> Vec<(OpCode, RequestBody, bool)> {
        let create = |path: &str, value: &Data, flags| CreateRequest {
            path: path.to_owned(),
            data: value.clone(),
            acl: open_acl_unsafe(),
            flags,
        };
        match kind {
            OpKind::Create {
                path,
                value,
                ephemeral,
                sequential,
                extended,
            } => {
                let flags = *ephemeral as i32 | ((*sequential as i32) << 1);
                // CreateMode's flags: CONTAINER 4, PERSISTENT_WITH_TTL 5, PERSISTENT_SEQUENTIAL_WITH_TTL 6.
                let (op, body) = match extended {
                    Extended::None => (
                        OpCode::Create,
                        RequestBody::Create(create(path, value, flags)),
                    ),
                    Extended::Container => (
                        OpCode::CreateContainer,
                        RequestBody::Create(create(path, value, 4)),
                    ),
                    Extended::Ttl(ttl) => (
                        OpCode::CreateTtl,
                        RequestBody::CreateTtl(CreateTtlRequest {
                            path: path.clone(),
                            data: value.clone(),
                            acl: open_acl_unsafe(),
                            flags: if *sequential { 6 } else { 5 },
                            ttl: *ttl,
                        }),
                    ),
                };
                vec![(op, body, false)]
            }
            OpKind::Set {
                path,
                value,
                version,
            } => vec![(
                OpCode::SetData,
                RequestBody::SetData(SetDataRequest {
                    path: path.clone(),
                    data: value.clone(),
                    version: *version,
                }),
                false,
            )],
            OpKind::Delete { path, version } => vec![(
                OpCode::Delete,
                RequestBody::Delete(DeleteRequest {
                    path: path.clone(),
                    version: *version,
                }),
                false,
            )],
            OpKind::Get { path, watch } => vec![(
                OpCode::GetData,
                RequestBody::GetData(GetDataRequest {
                    path: path.clone(),
                    watch: *watch,
                }),
                false,
            )],
            OpKind::Exists { path, watch } => vec![(
                OpCode::Exists,
                RequestBody::Exists(ExistsRequest {
                    path: path.clone(),
                    watch: *watch,
                }),
                false,
            )],
            OpKind::Children { path, watch } => vec![(
                OpCode::GetChildren,
                RequestBody::GetChildren(GetChildrenRequest {
                    path: path.clone(),
                    watch: *watch,
                }),
                false,
            )],
            OpKind::SyncGet { path } => vec![
                (
                    OpCode::Sync,
                    RequestBody::Sync(SyncRequest { path: path.clone() }),
                    true,
                ),
                (
                    OpCode::GetData,
                    RequestBody::GetData(GetDataRequest {
                        path: path.clone(),
                        watch: false,
                    }),
                    false,
                ),
            ],
            OpKind::MultiSet { paths, value } => {
                let ops = paths
                    .iter()
                    .map(|p| {
                        MultiOp::SetData(SetDataRequest {
                            path: p.clone(),
                            data: value.clone(),
                            version: -1,
                        })
                    })
                    .collect();
                vec![(OpCode::Multi, RequestBody::Multi(ops), false)]
            }
            OpKind::Ping => vec![(OpCode::Ping, RequestBody::Ping, false)],
            OpKind::Sasl { .. } => vec![(
                OpCode::Sasl,
                RequestBody::Sasl(rzk_core::proto::records::GetSaslRequest::default()),
                false,
            )],
        }
    }

    fn issue(&mut self, now: u64, kind: OpKind, history: &mut History) -> Vec<ClientAction> {
        let parts = self.request(&kind);
        let record = history.ops.len();
        let Some(c) = &mut self.conn else {
            return Vec::new();
        };
        history.ops.push(OpRecord {
            client: self.id,
            session: self.session.as_ref().map_or(0, |s| s.0),
            conn: c.id,
            xid: 0,
            op: kind,
            invoke: now,
            complete: u64::MAX,
            outcome: Outcome::Lost,
            zxid: None,
        });
        let mut actions = Vec::new();
        if c.pending.is_empty() {
            // The silence that counts starts when we begin waiting for an answer.
            c.last_heard = now;
        }
        for (op, body, sync_half) in parts {
            let xid = if op == OpCode::Ping {
                -2
            } else {
                self.next_xid
            };
            if op != OpCode::Ping {
                self.next_xid += 1;
            }
            if !sync_half {
                history.ops[record].xid = xid;
            }
            c.pending.push_back(Pending {
                xid,
                op,
                record,
                sync_half,
                sasl_first: op == OpCode::Sasl,
            });
            actions.push(ClientAction::Send {
                conn: c.id,
                bytes: frame_request(&Request { xid, op, body }),
            });
        }
        c.last_sent = now;
        actions
    }

    /// Bytes from the server.
    pub fn on_bytes(&mut self, now: u64, bytes: &[u8], history: &mut History) -> Vec<ClientAction> {
        let Some(c) = &mut self.conn else {
            return Vec::new();
        };
        c.frames.push(bytes);
        c.last_heard = now;
        let mut actions = Vec::new();
        while let Some(c) = &mut self.conn {
            let frame = match c.frames.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(_) => {
                    actions.push(ClientAction::Close { conn: c.id });
                    self.on_disconnected(now, history);
                    break;
                }
            };
            if !c.handshaken {
                match decode_connect_response(frame) {
                    Ok(resp) if resp.session_id != 0 && resp.time_out > 0 => {
                        c.handshaken = true;
                        self.timeout = resp.time_out;
                        if self.session.as_ref().map(|s| s.0) != Some(resp.session_id) {
                            history
                                .sessions
                                .push((self.id, resp.session_id, resp.time_out, now));
                        }
                        history.connected.push(crate::history::ConnSpan {
                            client: self.id,
                            conn: c.id,
                            session: resp.session_id,
                            from: now,
                            to: None,
                        });
                        self.session = Some((resp.session_id, resp.passwd));
                    }
                    _ => {
                        // Expired (or garbage): the session is gone; start over with a new one.
                        if let Some((id, _)) = self.session.take() {
                            history.expired_sessions.push(id);
                        }
                        actions.push(ClientAction::Close { conn: c.id });
                        self.on_disconnected(now, history);
                        break;
                    }
                }
                continue;
            }
            if peek_xid(&frame) == Some(-1) {
                if let Ok(ev) = decode_notification(frame) {
                    history
                        .received
                        .entry(c.id)
                        .or_default()
                        .push(Received::Event {
                            event_type: ev.event_type,
                            path: ev.path,
                        });
                }
                continue;
            }
            let Some(p) = c.pending.pop_front() else {
                actions.push(ClientAction::Close { conn: c.id });
                self.on_disconnected(now, history);
                break;
            };
            let Ok((header, body)) = decode_reply(frame, p.op) else {
                actions.push(ClientAction::Close { conn: c.id });
                self.on_disconnected(now, history);
                break;
            };
            if header.xid != p.xid {
                // ZooKeeper answers each connection in request order: a reply to anything but the oldest
                // pending request is a violation, whatever the client would do next.
                history.protocol.push(format!(
                    "reply order: conn {} got the reply to xid {} at {now} ms while xid {} ({:?}) was the oldest pending",
                    c.id, header.xid, p.xid, p.op
                ));
                history.ops[p.record].outcome = Outcome::Err(ErrorCode::RuntimeInconsistency);
                actions.push(ClientAction::Close { conn: c.id });
                self.on_disconnected(now, history);
                break;
            }
            self.last_zxid = self.last_zxid.max(header.zxid);
            if p.sync_half {
                continue;
            }
            if p.op == OpCode::Sasl {
                if let Some(next) = self.on_sasl_reply(now, &p, header.err, body, history) {
                    actions.push(next);
                }
                continue;
            }
            let conn_id = c.id;
            let rec = &mut history.ops[p.record];
            rec.complete = now;
            rec.zxid = Some(header.zxid);
            rec.outcome = match ErrorCode::from_code(header.err) {
                Some(ErrorCode::Ok) => Outcome::Ok(OkValue::of(body)),
                Some(e) => Outcome::Err(e),
                None => Outcome::Err(ErrorCode::SystemError),
            };
            if let Outcome::Err(ErrorCode::SessionExpired) = rec.outcome {
                if let Some((id, _)) = self.session.take() {
                    history.expired_sessions.push(id);
                }
            }
            let watch = match &rec.op {
                OpKind::Get { path, watch: true }
                    if rec.outcome != Outcome::Err(ErrorCode::NoNode) =>
                {
                    Some((path.clone(), false))
                }
                OpKind::Exists { path, watch: true } => Some((path.clone(), false)),
                OpKind::Children { path, watch: true } if matches!(rec.outcome, Outcome::Ok(_)) => {
                    Some((path.clone(), true))
                }
                _ => None,
            };
            if let Some((path, child)) = watch {
                if matches!(
                    rec.outcome,
                    Outcome::Ok(_) | Outcome::Err(ErrorCode::NoNode)
                ) {
                    history.watches.push(WatchRecord {
                        op: p.record,
                        conn: conn_id,
                        path,
                        child,
                        zxid: header.zxid,
                    });
                }
            }
            history
                .received
                .entry(conn_id)
                .or_default()
                .push(Received::Reply {
                    op: p.record,
                    zxid: header.zxid,
                });
        }
        actions
    }
}

impl SimClient {
    /// A reply to a SASL packet: the challenge (answered with the digest-response), or the outcome, which
    /// must be what the password deserves: ok with the server's proof (`rspauth`) for the right one,
    /// AUTHFAILED (and a close) for a wrong one; without a SASL server, ok with a null token.
    fn on_sasl_reply(
        &mut self,
        now: u64,
        p: &Pending,
        err: i32,
        body: ResponseBody,
        history: &mut History,
    ) -> Option<ClientAction> {
        let good = matches!(
            history.ops[p.record].op,
            OpKind::Sasl {
                good_password: true
            }
        );
        let token = match body {
            ResponseBody::Sasl(r) => r.token,
            _ => None,
        };
        let client = rzk_core::sasl::digest_md5_client::DigestMd5Client {
            user: crate::SASL_USER,
            password: if good { crate::SASL_PASSWORD } else { "wrong" },
            cnonce: "c2ltdWxhdGVkLWNub25jZQ",
        };
        let expected_rspauth = self.sasl_expected.take();
        if p.sasl_first && err == 0 {
            if let Some(challenge) = token.as_deref() {
                if let Some((response, rspauth)) = client.respond(challenge) {
                    self.sasl_expected = Some(rspauth);
                    let c = self.conn.as_mut()?;
                    let xid = self.next_xid;
                    self.next_xid += 1;
                    c.pending.push_back(Pending {
                        xid,
                        op: OpCode::Sasl,
                        record: p.record,
                        sync_half: false,
                        sasl_first: false,
                    });
                    c.last_sent = now;
                    let body = RequestBody::Sasl(rzk_core::proto::records::GetSaslRequest {
                        token: Bytes::from(response),
                    });
                    return Some(ClientAction::Send {
                        conn: c.id,
                        bytes: frame_request(&Request {
                            xid,
                            op: OpCode::Sasl,
                            body,
                        }),
                    });
                }
            }
        }
        let rec = &mut history.ops[p.record];
        rec.complete = now;
        rec.outcome = match ErrorCode::from_code(err) {
            Some(ErrorCode::Ok) => Outcome::Ok(OkValue::default()),
            Some(e) => Outcome::Err(e),
            None => Outcome::Err(ErrorCode::SystemError),
        };
        let fine = match (self.workload.sasl, p.sasl_first, good) {
            (false, true, _) => err == 0 && token.is_none(),
            (true, false, true) => {
                err == 0 && token.is_some() && token.map(|t| t.to_vec()) == expected_rspauth
            }
            (true, false, false) => err == ErrorCode::AuthFailed.code(),
            _ => false,
        };
        if !fine {
            history.protocol.push(format!(
                "SASL: client {} conn {} ({} password, SASL server: {}) got err {err} at {now} ms",
                self.id,
                self.conn.as_ref().map_or(0, |c| c.id),
                if good { "right" } else { "wrong" },
                self.workload.sasl
            ));
        }
        None
    }
}
