//! The client-facing half of being a learner (follower or observer): writes, session changes and syncs are
//! forwarded to the leader, and answered here when the leader's txn commits (matched by session and xid) or
//! when the leader replies. And the leader's half: preparing what learners forwarded.

use super::connection::{ConnState, SlotState};
use super::{ConnId, Node, Output};
use crate::proto::records::Id;
use crate::proto::request::{decode_request, encode_request, Request};
use crate::proto::OpCode;
use crate::txn::Txn;
use crate::zab::{Forwarded, ZabMsg};

impl Node {
    /// Learner: hands a client's request to the leader.
    pub(super) fn forward(&mut self, session_id: i64, req: &Request, auth: Vec<Id>) {
        let frame = encode_request(req);
        self.send_to_leader(ZabMsg::Request(Forwarded {
            session_id,
            frame,
            auth,
        }));
    }

    /// Leader: a request a learner forwarded for one of its clients.
    pub(super) fn on_forwarded(&mut self, now: u64, fwd: Forwarded, out: &mut Vec<Output>) {
        let _ = out;
        let Ok(req) = decode_request(fwd.frame) else {
            return;
        };
        self.sessions.touch(fwd.session_id, now);
        match req.op {
            OpCode::CloseSession => {
                self.sessions.set_closing(fwd.session_id);
                let zxid = self.propose(now, fwd.session_id, req.xid, Txn::CloseSession, None);
                self.closing.insert(fwd.session_id, zxid);
            }
            op if op.is_write() && !self.sessions.is_live(fwd.session_id) => {
                // The session expired or is closing (PrepRequestProcessor.checkSession): the learner's client
                // gets SessionExpired, in order, when this error txn commits.
                let err = crate::proto::ErrorCode::SessionExpired;
                self.propose(now, fwd.session_id, req.xid, Txn::Error { err }, None);
            }
            op if op.is_write() => {
                self.prep_and_propose(now, fwd.session_id, &fwd.auth, &req, None);
            }
            _ => {}
        }
    }

    fn conn_with(&self, pred: impl Fn(&SlotState) -> bool) -> Option<ConnId> {
        self.conns
            .iter()
            .find(|(_, c)| c.queue.iter().any(|s| pred(&s.state)))
            .map(|(id, _)| *id)
    }

    /// Learner: the leader says whether a reconnecting session still lives.
    pub(super) fn on_revalidated(
        &mut self,
        now: u64,
        session_id: i64,
        valid: bool,
        out: &mut Vec<Output>,
    ) {
        let Some(conn) = self.conn_with(
            |s| matches!(s, SlotState::Revalidating { session_id: x, .. } if *x == session_id),
        ) else {
            return;
        };
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some(idx) = c
            .queue
            .iter()
            .position(|s| matches!(s.state, SlotState::Revalidating { .. }))
        else {
            return;
        };
        let SlotState::Revalidating { timeout, .. } = c.queue[idx].state else {
            return;
        };
        if valid {
            c.state = ConnState::Connected {
                session_id,
                timeout,
            };
            let resp = self.connect_response(session_id, timeout);
            let bytes = self.encode_handshake(conn, &resp);
            if let Some(c) = self.conns.get_mut(&conn) {
                c.queue[idx].state = SlotState::Ready {
                    bytes,
                    zxid: 0,
                    close: false,
                };
            }
        } else {
            c.state = ConnState::Refused;
            c.queue[idx].state = SlotState::Refuse { after: 0 };
            self.session_conns.remove(&session_id);
        }
        self.drain(now, conn, out);
    }

    /// Learner: the leader answered a sync; the read after it must see everything up to `zxid`.
    pub(super) fn on_sync_done(
        &mut self,
        now: u64,
        id: u64,
        zxid: crate::Zxid,
        out: &mut Vec<Output>,
    ) {
        let Some(conn) =
            self.conn_with(|s| matches!(s, SlotState::ForwardedSync { id: x, .. } if *x == id))
        else {
            return;
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            for slot in c.queue.iter_mut() {
                if let SlotState::ForwardedSync { id: x, path } = &slot.state {
                    if *x == id {
                        slot.state = SlotState::Sync {
                            path: path.clone(),
                            after: zxid,
                        };
                    }
                }
            }
        }
        self.drain(now, conn, out);
    }
}
