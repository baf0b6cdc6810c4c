//! Read-only mode (ZooKeeper's ReadOnlyZooKeeperServer, `readonlymode.enabled`): a member of an ensemble
//! that has been looking for a leader for a grace period is taken to be cut off from the quorum. It then
//! serves the clients that asked for a read-only session: reads from its local tree, NOTREADONLY for every
//! change (and for sync, which needs the leader), and sessions local to this server that are never logged
//! or replicated. Clients that did not ask for read-only are still refused. Once the server follows or
//! leads again, its read-only connections close and their clients look for a read-write server.

use super::connection::ConnState;
use super::{ConnId, Node, Output};
use crate::proto::records::ConnectRequest;
use crate::proto::{ErrorCode, OpCode};
use crate::session::{password_for, SessionTracker};

/// How long a member must have been looking before it serves read-only clients: ZooKeeper's grace period,
/// max(2 s, tickTime), so an ordinary election does not flip clients to read-only.
const MIN_GRACE_MS: u64 = 2000;

/// The read-only half of a node's state.
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub(super) struct ReadOnlyMode {
    /// When the server started looking for a leader (None while it follows or leads).
    looking_since: Option<u64>,
    /// Sessions handed out in read-only mode: local to this server, expiring here.
    sessions: SessionTracker,
}

impl ReadOnlyMode {
    pub(super) fn new(tick_ms: u64) -> ReadOnlyMode {
        ReadOnlyMode {
            looking_since: None,
            sessions: SessionTracker::new(tick_ms),
        }
    }

    /// When the next read-only session is due to expire.
    pub(super) fn next_expiry(&self) -> Option<u64> {
        self.sessions.next_expiry()
    }
}

/// Whether ZooKeeper's ReadOnlyRequestProcessor answers `op` with NOTREADONLY: every change, and sync.
pub(super) fn refused_in_read_only(op: OpCode) -> bool {
    matches!(
        op,
        OpCode::Sync
            | OpCode::Create
            | OpCode::Create2
            | OpCode::CreateTtl
            | OpCode::CreateContainer
            | OpCode::Delete
            | OpCode::DeleteContainer
            | OpCode::SetData
            | OpCode::Reconfig
            | OpCode::SetAcl
            | OpCode::Multi
            | OpCode::Check
    )
}

impl Node {
    /// Whether this server serves read-only clients now: read-only mode is enabled, and it has been looking
    /// for a leader for longer than the grace period.
    pub(super) fn read_only_serving(&self, now: u64) -> bool {
        let grace = MIN_GRACE_MS.max(self.config.server.tick_time as u64);
        self.config.server.read_only_mode_enabled
            && matches!(self.role, super::ensemble::Role::Looking(_))
            && self
                .read_only
                .looking_since
                .is_some_and(|t| now >= t.saturating_add(grace))
    }

    /// The server started looking for a leader: the grace period starts now (not again if it already looks).
    pub(super) fn read_only_looking(&mut self, now: u64) {
        self.read_only.looking_since.get_or_insert(now);
    }

    /// The server follows or leads again: read-only sessions end and their connections close, as ZooKeeper
    /// shuts its read-only server down (its clients then find a read-write server).
    pub(super) fn leave_read_only(&mut self, out: &mut Vec<Output>) {
        self.read_only.looking_since = None;
        self.read_only.sessions = SessionTracker::new(self.config.server.tick_time as u64);
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.read_only)
            .map(|(id, _)| *id)
            .collect();
        for conn in conns {
            self.close_conn(conn, out);
        }
    }

    /// The handshake of a connection while serving read-only. A read-only client gets a new local session,
    /// or its local session back; anything else is refused by closing the connection.
    pub(super) fn read_only_connect(
        &mut self,
        now: u64,
        conn: ConnId,
        req: ConnectRequest,
        out: &mut Vec<Output>,
    ) {
        if !self.read_only_serving(now) {
            return self.close_conn(conn, out);
        }
        if !req.read_only {
            tracing::info!(conn, "refusing session request for not-read-only client");
            return self.close_conn(conn, out);
        }
        let Some(timeout) = self.admit_handshake(conn, &req, out) else {
            return;
        };
        let session_id = if req.session_id == 0 {
            let id = self.next_session_id;
            self.next_session_id += 1;
            self.read_only.sessions.add(id, timeout, now);
            id
        } else {
            let id = req.session_id;
            let ours =
                self.read_only.sessions.is_live(id) && req.passwd.as_ref() == password_for(id);
            if !ours {
                // ZooKeeper refuses a global session here too (only the leader knows whether it lives);
                // for a session it has never heard of it would answer "expired", which a server cut off
                // from the quorum cannot know: closing lets the client try another server.
                tracing::info!(
                    conn,
                    "refusing reconnection of session 0x{id:x} in read-only mode"
                );
                return self.close_conn(conn, out);
            }
            self.read_only.sessions.set_timeout(id, timeout, now);
            id
        };
        if let Some(old) = self.session_conns.insert(session_id, conn) {
            if old != conn {
                // A client holds a session through one connection at a time.
                self.close_conn(old, out);
            }
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.state = ConnState::Connected {
                session_id,
                timeout,
            };
            c.read_only = true;
        }
        tracing::debug!(
            conn,
            session = format_args!("0x{session_id:x}"),
            "read-only session"
        );
        let mut resp = self.connect_response(session_id, timeout);
        resp.read_only = true;
        self.stats.sent += 1;
        let bytes = self.encode_handshake(conn, &resp);
        out.push(Output::ToClient { conn, bytes });
    }

    /// Answers what a read-only connection may not do; false for requests that take the ordinary read path.
    pub(super) fn read_only_request(
        &mut self,
        now: u64,
        conn: ConnId,
        session_id: i64,
        xid: i32,
        op: OpCode,
    ) -> bool {
        if refused_in_read_only(op) {
            let err = ErrorCode::NotReadOnly;
            self.queue_answer(now, conn, xid, op, err, None, false);
            return true;
        }
        if op == OpCode::CloseSession {
            // A local session closes here, with nothing to log.
            self.read_only.sessions.remove(session_id);
            self.queue_answer(now, conn, xid, op, ErrorCode::Ok, None, true);
            return true;
        }
        false
    }

    /// A read-only session was just used: it lives a timeout longer.
    pub(super) fn read_only_touch(&mut self, session_id: i64, now: u64) {
        self.read_only.sessions.touch(session_id, now);
    }

    /// Whether the read-only session of `conn` still lives.
    pub(super) fn read_only_session_live(&self, conn: ConnId) -> bool {
        self.conns
            .get(&conn)
            .and_then(|c| c.session_id())
            .is_some_and(|s| self.read_only.sessions.is_live(s))
    }

    /// Read-only sessions whose clients went silent expire, and their connections close.
    pub(super) fn read_only_tick(&mut self, now: u64, out: &mut Vec<Output>) {
        for session in self.read_only.sessions.take_expired(now) {
            tracing::info!(
                session = format_args!("0x{session:x}"),
                "read-only session expired"
            );
            self.read_only.sessions.remove(session);
            if let Some(conn) = self.session_conns.remove(&session) {
                self.close_conn(conn, out);
            }
        }
    }
}
