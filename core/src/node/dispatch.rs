//! From client bytes to queued requests: framing, decoding, and routing each request to the read path, the
//! write path (prep → log) or an immediate answer, always behind the connection's earlier requests.

use bytes::Bytes;

use super::connection::{ConnState, Slot, SlotState};
use super::overlay::View;
use super::prep::{prep_multi, prep_write, PrepCtx};
use super::{ConnId, Node, Output};
use crate::acl::digest_id;
use crate::proto::records::Id;
use crate::proto::request::{decode_request, Request, RequestBody};
use crate::proto::{DecodeError, ErrorCode, OpCode};
use crate::txn::Txn;

impl Node {
    pub(super) fn on_client_bytes(
        &mut self,
        now: u64,
        conn: ConnId,
        bytes: &[u8],
        out: &mut Vec<Output>,
    ) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.frames.push(bytes);
        if self.try_four_letter(now, conn, out) {
            return;
        }
        if !self.serving() && !self.read_only_serving(now) {
            // Electing or syncing: ZooKeeper does not accept clients then; they try another server.
            return self.close_conn(conn, out);
        }
        self.process_frames(now, conn, out);
    }

    /// Decodes and handles buffered frames until none is complete or the connection is paused.
    pub(super) fn process_frames(&mut self, now: u64, conn: ConnId, out: &mut Vec<Output>) {
        let limit = self.config.server.global_outstanding_limit.max(1) as usize;
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if c.paused {
                return;
            }
            if c.queue.len() >= limit {
                c.paused = true;
                out.push(Output::ReadInterest {
                    conn,
                    enabled: false,
                });
                return;
            }
            let frame = match c.frames.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(conn, error = %e, "closing connection");
                    return self.close_conn(conn, out);
                }
            };
            c.stats.received += 1;
            self.stats.received += 1;
            if c.state == ConnState::Refused {
                // Nothing after a refused handshake is read.
                return;
            }
            if c.state == ConnState::AwaitingConnect {
                self.on_connect(now, conn, frame, out);
            } else {
                self.on_frame(now, conn, frame, out);
            }
        }
    }

    fn on_frame(&mut self, now: u64, conn: ConnId, frame: Bytes, out: &mut Vec<Output>) {
        match decode_request(frame) {
            Ok(req) => self.on_request(now, conn, req, out),
            Err(e) => match e.header {
                Some(h) => {
                    tracing::warn!(conn, error = %e.error, "undecodable request");
                    // As ZooKeeper: an unknown opcode gets UNIMPLEMENTED (zxid -1) and a close; a record that
                    // does not decode (or a createSession after the handshake) gets MARSHALLINGERROR.
                    let (err, zxid, close) = match e.error {
                        DecodeError::UnknownOpCode(code)
                            if code != OpCode::CreateSession.code() =>
                        {
                            (ErrorCode::Unimplemented, Some(-1), true)
                        }
                        _ => (ErrorCode::MarshallingError, None, false),
                    };
                    let op = crate::proto::OpCode::from_code(h.op).unwrap_or(OpCode::Error);
                    self.queue_answer(now, conn, h.xid, op, err, zxid, close);
                    self.drain(now, conn, out);
                }
                None => {
                    tracing::warn!(conn, error = %e.error, "garbage frame; closing");
                    self.close_conn(conn, out);
                }
            },
        }
    }

    /// Queues an answer that needs nothing more than its turn.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn queue_answer(
        &mut self,
        now: u64,
        conn: ConnId,
        xid: i32,
        op: OpCode,
        err: ErrorCode,
        zxid: Option<crate::Zxid>,
        close: bool,
    ) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.queue.push_back(Slot {
                xid,
                op,
                received_at: now,
                state: SlotState::Answer { err, zxid, close },
            });
        }
    }

    fn on_request(&mut self, now: u64, conn: ConnId, req: Request, out: &mut Vec<Output>) {
        tracing::trace!(conn, xid = req.xid, op = ?req.op, "request");
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let Some(session_id) = c.session_id() else {
            return;
        };
        if req.op == OpCode::Sasl {
            self.on_sasl(now, conn, &req, out);
            return self.drain(now, conn, out);
        }
        if !self.auth_enforced(now, conn, &req) {
            return self.drain(now, conn, out);
        }
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let timeout = c.timeout();
        let read_only = c.read_only;
        if read_only {
            self.read_only_touch(session_id, now);
        } else {
            self.sessions.touch(session_id, now);
            self.follower_touch(session_id, timeout);
        }
        if req.op == OpCode::Auth {
            self.on_auth(now, conn, &req);
            return self.drain(now, conn, out);
        }
        if !self.session_ok(conn) && req.op != OpCode::Ping {
            self.queue_answer(
                now,
                conn,
                req.xid,
                req.op,
                ErrorCode::SessionExpired,
                None,
                false,
            );
            return self.drain(now, conn, out);
        }
        if read_only && self.read_only_request(now, conn, session_id, req.xid, req.op) {
            return self.drain(now, conn, out);
        }
        let op = req.op;
        let state = match op {
            OpCode::Create
            | OpCode::Create2
            | OpCode::CreateContainer
            | OpCode::CreateTtl
            | OpCode::Delete
            | OpCode::DeleteContainer
            | OpCode::SetData
            | OpCode::SetAcl
            | OpCode::Check
            | OpCode::Multi => self.on_write(now, conn, session_id, &req),
            OpCode::CloseSession if self.is_follower() => {
                let auth = Vec::new();
                self.forward(session_id, &req, auth);
                SlotState::Forwarded {
                    cxid: req.xid,
                    ops: Vec::new(),
                }
            }
            OpCode::Sync if self.is_follower() => match &req.body {
                RequestBody::Sync(s) => {
                    let id = self.next_follower_sync_id();
                    self.send_to_leader(crate::zab::ZabMsg::Sync { id });
                    SlotState::ForwardedSync {
                        id,
                        path: s.path.clone(),
                    }
                }
                _ => return,
            },
            OpCode::CloseSession => {
                self.sessions.set_closing(session_id);
                let zxid = self.propose(now, session_id, req.xid, Txn::CloseSession, Some(conn));
                self.closing.insert(session_id, zxid);
                SlotState::Txn {
                    zxid,
                    ops: Vec::new(),
                }
            }
            OpCode::Sync if self.is_leader() => match &req.body {
                RequestBody::Sync(s) => SlotState::ForwardedSync {
                    id: self.leader_local_sync(),
                    path: s.path.clone(),
                },
                _ => return,
            },
            OpCode::Sync => match req.body {
                RequestBody::Sync(s) => SlotState::Sync {
                    path: s.path,
                    after: self.last_proposed,
                },
                _ => return,
            },
            OpCode::Reconfig => {
                let err = ErrorCode::ReconfigDisabled;
                self.queue_answer(now, conn, req.xid, op, err, None, false);
                return self.drain(now, conn, out);
            }
            // createSession only exists as a handshake.
            OpCode::CreateSession | OpCode::Notification | OpCode::Error => {
                self.queue_answer(now, conn, req.xid, op, ErrorCode::Unimplemented, None, true);
                return self.drain(now, conn, out);
            }
            _ if self
                .planted
                .has(crate::planted::PlantedBug::ReadBeforeEarlierWrite)
                && self.is_follower() =>
            {
                // Planted: a follower's fast path answers a read at once, ahead of queued writes.
                let (err, body) = match self.answer_read(conn, &req) {
                    Ok(body) => (ErrorCode::Ok, body),
                    Err(err) => (err, crate::proto::response::ResponseBody::Empty),
                };
                return self.reply(now, conn, op, req.xid, now, err, &body, out);
            }
            _ => SlotState::Deferred(req.clone()),
        };
        let awaits_sync = matches!(state, SlotState::ForwardedSync { .. });
        if let Some(c) = self.conns.get_mut(&conn) {
            c.queue.push_back(Slot {
                xid: req.xid,
                op,
                received_at: now,
                state,
            });
            // Nothing more of this client's is read until the leader answers the sync: a write pipelined behind
            // it would otherwise commit first, and the read after the sync would see the session's own later
            // write.
            if awaits_sync && !c.paused {
                c.paused = true;
                out.push(Output::ReadInterest {
                    conn,
                    enabled: false,
                });
            }
        }
        self.drain(now, conn, out);
    }

    /// Prepares a write and hands its txn to the log.
    fn on_write(&mut self, now: u64, conn: ConnId, session_id: i64, req: &Request) -> SlotState {
        let auth = self
            .conns
            .get(&conn)
            .map(|c| c.auth.clone())
            .unwrap_or_default();
        let ops = multi_ops(req);
        if self.is_follower() {
            // The leader prepares every write; we answer when its txn commits here.
            self.forward(session_id, req, auth);
            return SlotState::Forwarded { cxid: req.xid, ops };
        }
        let zxid = self.prep_and_propose(now, session_id, &auth, req, Some(conn));
        SlotState::Txn { zxid, ops }
    }

    /// Prepares a write (from a local client or forwarded by a learner) and proposes its txn.
    pub(super) fn prep_and_propose(
        &mut self,
        now: u64,
        session_id: i64,
        auth: &[crate::proto::records::Id],
        req: &Request,
        origin: Option<ConnId>,
    ) -> crate::Zxid {
        let zxid = self.last_proposed + 1;
        let ctx = PrepCtx {
            session_id,
            auth,
            providers: self.providers(),
            extended_types: self.config.server.extended_types_enabled,
            enforce_quota: self.config.server.enforce_quota,
        };
        let mut view = View::new(&self.tree, &self.overlay);
        let txn = match &req.body {
            RequestBody::Multi(ops) => {
                let (txn, ok) = prep_multi(&mut view, &ctx, ops);
                if !ok {
                    view.changes.clear();
                }
                txn
            }
            body => prep_write(&mut view, &ctx, req.op, body).unwrap_or_else(|err| {
                view.changes.clear();
                Txn::Error { err }
            }),
        };
        let changes = std::mem::take(&mut view.changes);
        self.overlay.record(zxid, changes);
        let proposed = self.propose(now, session_id, req.xid, txn, origin);
        debug_assert_eq!(proposed, zxid);
        zxid
    }

    /// addAuth: digest credentials become a digest id (and super, if they match superDigest); the ip scheme
    /// re-asserts the connection's address. Anything else fails and closes the connection, as in ZooKeeper.
    fn on_auth(&mut self, now: u64, conn: ConnId, req: &Request) {
        let RequestBody::Auth(packet) = &req.body else {
            return;
        };
        let super_digest = self.config.server.super_digest.clone();
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let mut ok = true;
        match packet.scheme.as_str() {
            "digest" => match std::str::from_utf8(&packet.auth) {
                Ok(cred) => {
                    let id = digest_id(cred);
                    let is_super = super_digest.as_deref() == Some(id.as_str());
                    grant(&mut c.auth, "digest", id, is_super.then(String::new));
                }
                Err(_) => ok = false,
            },
            "ip" => {
                let id = Id {
                    scheme: "ip".into(),
                    id: c.addr.ip().to_string(),
                };
                push_unique(&mut c.auth, id);
            }
            _ => ok = false,
        }
        let err = if ok {
            ErrorCode::Ok
        } else {
            ErrorCode::AuthFailed
        };
        if !ok {
            tracing::warn!(conn, scheme = %packet.scheme, "authentication failed");
            self.stats.auth_failed += 1;
        }
        // ZooKeeper answers auth with zxid 0 and the request's own xid.
        self.queue_answer(now, conn, req.xid, OpCode::Auth, err, Some(0), !ok);
    }
}

/// Adds an authenticated id to a connection's, and a `super` id when it is a super user (`super_id` is what
/// that id carries: empty for digest and SASL, the certificate subject for x509, as in ZooKeeper).
pub(super) fn grant(auth: &mut Vec<Id>, scheme: &str, id: String, super_id: Option<String>) {
    if let Some(s) = super_id {
        push_unique(
            auth,
            Id {
                scheme: "super".into(),
                id: s,
            },
        );
    }
    push_unique(
        auth,
        Id {
            scheme: scheme.into(),
            id,
        },
    );
}

pub(super) fn push_unique(ids: &mut Vec<Id>, id: Id) {
    if !ids.contains(&id) {
        ids.push(id);
    }
}

/// A multi's op codes as ZooKeeper reports them in its reply (empty for other requests).
fn multi_ops(req: &Request) -> Vec<OpCode> {
    match &req.body {
        RequestBody::Multi(ops) => ops
            .iter()
            .map(|o| o.zk_create_op().unwrap_or(o.op_code()))
            .collect(),
        _ => Vec::new(),
    }
}
