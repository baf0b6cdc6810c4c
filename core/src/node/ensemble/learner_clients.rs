//! The client-facing half of being a learner (follower or observer): writes, session changes and syncs are
//! forwarded to the leader, and answered here when the leader's txn commits (matched by session and xid) or
//! when the leader replies. (The leader's half, preparing what learners forwarded, is in `leader`.)

use crate::node::connection::{ConnState, SlotState};
use crate::node::{ConnId, Node, Output};
use crate::proto::records::Id;
use crate::proto::request::{encode_request, Request};
use crate::zab::{Forwarded, ZabMsg};

impl Node {
    /// Learner: hands a client's request to the leader.
    pub(in crate::node) fn forward(&mut self, session_id: i64, req: &Request, auth: Vec<Id>) {
        let frame = encode_request(req);
        self.send_to_leader(ZabMsg::Request(Forwarded {
            session_id,
            frame,
            auth,
        }));
    }

    fn conn_with(&self, pred: impl Fn(&SlotState) -> bool) -> Option<ConnId> {
        self.conns
            .iter()
            .find(|(_, c)| c.queue.iter().any(|s| pred(&s.state)))
            .map(|(id, _)| *id)
    }

    /// Learner: the leader says whether a reconnecting session still lives.
    pub(in crate::node) fn on_revalidated(
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

    /// The leader answered a sync (ours as a learner, or, on the leader, its own client's); the read after it
    /// must see everything up to `zxid`.
    pub(in crate::node) fn on_sync_done(
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
