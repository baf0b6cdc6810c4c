//! The first frame of a connection: a ConnectRequest that creates or resumes a session, or the four bytes
//! of a four-letter word.

use super::connection::{ConnState, Slot, SlotState};
use super::{ConnId, Node, Output};
use crate::proto::records::ConnectResponse;
use crate::proto::request::decode_connect;
use crate::proto::response::{encode_connect_response, encode_connect_response_without_read_only};
use crate::proto::FourLetterWord;
use crate::proto::OpCode;
use crate::session::{negotiate_timeout, password_for};
use crate::txn::Txn;

impl Node {
    /// What every handshake checks first: a client that has seen a newer state than ours must find a server
    /// that is caught up (the connection is closed, None); otherwise the negotiated session timeout.
    pub(super) fn admit_handshake(
        &mut self,
        conn: ConnId,
        req: &crate::proto::records::ConnectRequest,
        out: &mut Vec<Output>,
    ) -> Option<i32> {
        let last = self.tree.last_zxid();
        if req.last_zxid_seen > last {
            tracing::info!(
                conn,
                "refusing session request: client has seen zxid 0x{:x}, our last zxid is 0x{:x}",
                req.last_zxid_seen,
                last
            );
            self.close_conn(conn, out);
            return None;
        }
        let cfg = &self.config.server;
        Some(negotiate_timeout(
            req.time_out,
            cfg.min_session_timeout,
            cfg.max_session_timeout,
        ))
    }

    /// Checks whether a fresh connection opened with a four-letter word; answers it if so.
    /// Returns true when the bytes were a command (the connection is then closed).
    pub(super) fn try_four_letter(
        &mut self,
        now: u64,
        conn: ConnId,
        out: &mut Vec<Output>,
    ) -> bool {
        let Some(c) = self.conns.get(&conn) else {
            return false;
        };
        let buf = c.frames.buffered();
        if c.state != ConnState::AwaitingConnect || buf.len() < 4 {
            return false;
        }
        let Some(word) = FourLetterWord::from_bytes(&buf[..4]) else {
            return false;
        };
        self.answer_four_letter(now, conn, word, out);
        true
    }

    /// Handles the ConnectRequest that opens a connection.
    pub(super) fn on_connect(
        &mut self,
        now: u64,
        conn: ConnId,
        frame: bytes::Bytes,
        out: &mut Vec<Output>,
    ) {
        // protocolVersion, lastZxidSeen, timeOut, sessionId, passwd length: 28 bytes before the password.
        let frame_len = frame.len();
        let req = match decode_connect(frame) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(conn, error = %e, "bad connect request; closing");
                return self.close_conn(conn, out);
            }
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            c.legacy_handshake = frame_len <= 28 + req.passwd.len();
        }
        tracing::debug!(
            conn,
            session = format_args!("0x{:x}", req.session_id),
            timeout = req.time_out,
            last_zxid_seen = format_args!("0x{:x}", req.last_zxid_seen),
            "connect request"
        );
        if !self.serving() {
            // Only reached while serving read-only clients (the others are closed before their handshake).
            return self.read_only_connect(now, conn, req, out);
        }
        let Some(timeout) = self.admit_handshake(conn, &req, out) else {
            return;
        };
        if req.session_id == 0 {
            let session_id = self.next_session_id;
            self.next_session_id += 1;
            self.sessions.add(session_id, timeout, now);
            self.session_conns.insert(session_id, conn);
            let state = if self.is_follower() {
                // The leader logs the new session; we answer when that txn commits here.
                self.send_to_leader(crate::zab::ZabMsg::NewSession {
                    session_id,
                    timeout,
                });
                SlotState::Forwarded {
                    cxid: 0,
                    ops: Vec::new(),
                }
            } else {
                let txn = Txn::CreateSession { timeout };
                let zxid = self.propose(now, session_id, 0, txn, Some(conn));
                SlotState::Txn {
                    zxid,
                    ops: Vec::new(),
                }
            };
            self.hold_handshake(now, conn, session_id, timeout, state);
            return;
        }
        let session_id = req.session_id;
        // As ZooKeeper: whoever holds the session now is disconnected first, even if this attempt then
        // fails (the session itself lives on, and its client reconnects).
        if let Some(old) = self.session_conns.remove(&session_id) {
            if old != conn {
                self.close_conn(old, out);
            }
        }
        if self.is_follower() && req.passwd.as_ref() == password_for(session_id) {
            // Only the leader knows whether the session still lives: ask it, and hold the handshake.
            self.session_conns.insert(session_id, conn);
            if !self.sessions.contains(session_id) {
                self.sessions.add(session_id, timeout, now);
            }
            self.send_to_leader(crate::zab::ZabMsg::Revalidate {
                session_id,
                timeout,
            });
            let state = SlotState::Revalidating {
                session_id,
                timeout,
            };
            self.hold_handshake(now, conn, session_id, timeout, state);
            return;
        }
        let valid =
            self.sessions.is_live(session_id) && req.passwd.as_ref() == password_for(session_id);
        if !valid {
            tracing::info!(
                conn,
                "invalid session 0x{session_id:x} for client, probably expired"
            );
            // If the session's close is still on its way to the log, answer once it is durable.
            let after = self.closing.get(&session_id).copied().unwrap_or(0);
            if let Some(c) = self.conns.get_mut(&conn) {
                c.state = ConnState::Refused;
                c.queue.push_back(Slot {
                    xid: 0,
                    op: OpCode::CreateSession,
                    received_at: now,
                    state: SlotState::Refuse { after },
                });
            }
            return self.drain(now, conn, out);
        }
        if let Some(old) = self.session_conns.insert(session_id, conn) {
            if old != conn {
                // A client holds a session through one connection at a time.
                self.close_conn(old, out);
            }
        }
        self.sessions.set_timeout(session_id, timeout, now);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.state = ConnState::Connected {
                session_id,
                timeout,
            };
        }
        let resp = self.connect_response(session_id, timeout);
        self.stats.sent += 1;
        let bytes = self.encode_handshake(conn, &resp);
        out.push(Output::ToClient { conn, bytes });
    }

    /// Parks a handshake until its session is settled (created, or confirmed by the leader); requests the
    /// client pipelines meanwhile queue behind it.
    fn hold_handshake(
        &mut self,
        now: u64,
        conn: ConnId,
        session_id: i64,
        timeout: i32,
        state: SlotState,
    ) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.state = ConnState::Creating {
                session_id,
                timeout,
            };
            c.queue.push_back(Slot {
                xid: 0,
                op: OpCode::CreateSession,
                received_at: now,
                state,
            });
        }
    }

    /// The handshake reply, shaped for the client's protocol version.
    pub(super) fn encode_handshake(&self, conn: ConnId, resp: &ConnectResponse) -> bytes::Bytes {
        if self.conns.get(&conn).is_some_and(|c| c.legacy_handshake) {
            encode_connect_response_without_read_only(resp)
        } else {
            encode_connect_response(resp)
        }
    }

    pub(super) fn connect_response(&self, session_id: i64, timeout: i32) -> ConnectResponse {
        ConnectResponse {
            protocol_version: 0,
            time_out: timeout,
            session_id,
            passwd: password_for(session_id).to_vec().into(),
            read_only: false,
        }
    }
}
