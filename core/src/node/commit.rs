//! From durable to visible (ZooKeeper's FinalRequestProcessor, write half): once the log reports a txn
//! durable, apply it to the tree, fire the watches it triggers, and release replies in request order.
//!
//! A txn is applied, and its client answered, only once the log holding it is durable
//! ([`Input::Persisted`](super::Input::Persisted), see `persist`) and, in an ensemble, a quorum has it.

use super::connection::{ConnState, SlotState};
use super::{ConnId, InFlight, Node, Output};
use crate::proto::records::*;
use crate::proto::response::{encode_notification, encode_reply, MultiResult, ResponseBody};
use crate::proto::{ErrorCode, OpCode};
use crate::tree::{ApplyOutcome, WatchTrigger};
use crate::txn::Txn;
use crate::Zxid;

impl Node {
    /// The log is durable up to `zxid` (for the node's current history).
    pub(super) fn on_log_synced(&mut self, now: u64, zxid: Zxid, out: &mut Vec<Output>) {
        // Never acknowledge beyond what this log holds.
        let zxid = zxid.min(self.last_logged());
        self.synced = self.synced.max(zxid);
        if self.is_leader() {
            // Our own ACK: the txn commits once a quorum (counting us) has it.
            return self.leader_own_ack(now, zxid, out);
        }
        if self.is_follower() {
            // The leader decides commits; we acknowledge what is durable here.
            return self.follower_synced(zxid, out);
        }
        let synced = self.synced;
        self.commit_up_to(now, synced, out);
    }

    /// Applies every in-flight txn up to `zxid`, in order.
    pub(super) fn commit_up_to(&mut self, now: u64, zxid: Zxid, out: &mut Vec<Output>) {
        while self
            .in_flight
            .front()
            .is_some_and(|f| f.txn.header.zxid <= zxid)
        {
            if let Some(f) = self.in_flight.pop_front() {
                if f.txn.header.zxid <= self.tree.last_zxid() {
                    continue;
                }
                self.committed_log.push(f.txn.clone());
                self.apply_committed(now, f, out);
                self.since_snapshot += 1;
            }
        }
        self.maybe_snapshot(out);
    }

    fn apply_committed(&mut self, now: u64, f: InFlight, out: &mut Vec<Output>) {
        let InFlight {
            txn: logged,
            origin,
        } = f;
        let header = logged.header;
        let outcome = self.tree.apply(&header, &logged.txn);
        self.overlay.applied(header.zxid);

        let mut triggers: Vec<&WatchTrigger> = outcome.triggers.iter().collect();
        if triggers.is_empty() {
            triggers = outcome
                .multi
                .iter()
                .flat_map(|o| o.triggers.iter())
                .collect();
        }
        for t in triggers {
            for (conn, event) in self.watches.trigger(t) {
                self.notify(conn, &event, out);
            }
        }

        if let Txn::CreateSession { timeout } = logged.txn {
            if !self.sessions.contains(header.session_id) {
                self.sessions.add(header.session_id, timeout, now);
            }
        }
        let origin = origin.or_else(|| self.forwarded_origin(header.session_id, header.cxid));
        let mut close_session_conn = None;
        if let Txn::CloseSession = logged.txn {
            self.sessions.remove(header.session_id);
            self.closing.remove(&header.session_id);
            close_session_conn = self.session_conns.remove(&header.session_id);
        }

        if let Some(conn) = origin {
            self.complete_write(conn, &logged.txn, header.zxid, header.cxid, &outcome);
            self.drain(now, conn, out);
        }
        if let Some(conn) = close_session_conn {
            // An expired session's connection closes now; a client's own close was answered first.
            self.close_conn(conn, out);
        }
    }

    /// The connection waiting for a txn a learner forwarded for it (matched by session and xid).
    fn forwarded_origin(&self, session_id: i64, cxid: i32) -> Option<ConnId> {
        let conn = *self.session_conns.get(&session_id)?;
        let c = self.conns.get(&conn)?;
        c.queue
            .iter()
            .any(|s| matches!(s.state, SlotState::Forwarded { cxid: x, .. } if x == cxid))
            .then_some(conn)
    }

    /// Turns the connection's waiting slot for `zxid` into a ready reply.
    fn complete_write(
        &mut self,
        conn: ConnId,
        txn: &Txn,
        zxid: Zxid,
        cxid: i32,
        outcome: &ApplyOutcome,
    ) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some(idx) = c.queue.iter().position(|s| match &s.state {
            SlotState::Txn { zxid: z, .. } => *z == zxid,
            SlotState::Forwarded { cxid: x, .. } => *x == cxid,
            _ => false,
        }) else {
            return;
        };
        let slot = &c.queue[idx];
        let (xid, op) = (slot.xid, slot.op);
        let ops = match &slot.state {
            SlotState::Txn { ops, .. } | SlotState::Forwarded { ops, .. } => ops.clone(),
            _ => Vec::new(),
        };
        let (bytes, close) = if op == OpCode::CreateSession {
            // The handshake of a new session completes when its createSession txn applies.
            let ConnState::Creating {
                session_id,
                timeout,
            } = c.state
            else {
                return;
            };
            c.state = ConnState::Connected {
                session_id,
                timeout,
            };
            let resp = self.connect_response(session_id, timeout);
            (self.encode_handshake(conn, &resp), false)
        } else {
            let (err, body) = write_reply(op, &ops, txn, outcome);
            let header = ReplyHeader {
                xid,
                zxid,
                err: err.code(),
            };
            (encode_reply(&header, &body), op == OpCode::CloseSession)
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            c.queue[idx].state = SlotState::Ready { bytes, zxid, close };
        }
    }

    /// Sends whatever replies are ready at the head of the connection's queue, answering deferred reads
    /// as they come up, and stops at the first write still waiting for its txn.
    pub(super) fn drain(&mut self, now: u64, conn: ConnId, out: &mut Vec<Output>) {
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            let Some(front) = c.queue.front() else { break };
            match &front.state {
                SlotState::Txn { .. }
                | SlotState::Forwarded { .. }
                | SlotState::ForwardedSync { .. }
                | SlotState::Revalidating { .. } => break,
                SlotState::Sync { after, .. } | SlotState::Refuse { after }
                    if self.tree.last_zxid() < *after =>
                {
                    break
                }
                _ => {}
            }
            let Some(slot) = c.queue.pop_front() else {
                break;
            };
            match slot.state {
                SlotState::Ready { .. } | SlotState::Answer { .. } => {
                    let (bytes, zxid, close) = match slot.state {
                        SlotState::Ready { bytes, zxid, close } => (bytes, zxid, close),
                        SlotState::Answer { err, zxid, close } => {
                            // Encoded now, so the zxid is the one applied when the answer leaves.
                            let zxid = zxid.unwrap_or_else(|| self.tree.last_zxid());
                            let header = ReplyHeader {
                                xid: slot.xid,
                                zxid,
                                err: err.code(),
                            };
                            (encode_reply(&header, &ResponseBody::Empty), zxid, close)
                        }
                        _ => unreachable!("matched above"),
                    };
                    self.sent(
                        now,
                        conn,
                        slot.op,
                        slot.xid,
                        zxid,
                        slot.received_at,
                        bytes,
                        out,
                    );
                    if close {
                        return self.close_conn(conn, out);
                    }
                }
                SlotState::Refuse { .. } => {
                    let resp = ConnectResponse {
                        passwd: vec![0u8; 16].into(),
                        ..ConnectResponse::default()
                    };
                    let bytes = self.encode_handshake(conn, &resp);
                    out.push(Output::ToClient { conn, bytes });
                    return self.close_conn(conn, out);
                }
                SlotState::Sync { path, .. } => {
                    let body = ResponseBody::Sync(SyncResponse { path });
                    self.reply(
                        now,
                        conn,
                        slot.op,
                        slot.xid,
                        slot.received_at,
                        ErrorCode::Ok,
                        &body,
                        out,
                    );
                }
                SlotState::Deferred(req) => {
                    let (err, body) = match self.answer_read(conn, &req) {
                        Ok(body) => (ErrorCode::Ok, body),
                        Err(err) => (err, ResponseBody::Empty),
                    };
                    // Notifications raised by the read (setWatches) go before its reply.
                    for (c, ev) in std::mem::take(&mut self.pending_events) {
                        self.notify(c, &ev, out);
                    }
                    self.reply(
                        now,
                        conn,
                        slot.op,
                        slot.xid,
                        slot.received_at,
                        err,
                        &body,
                        out,
                    );
                }
                SlotState::Txn { .. }
                | SlotState::Forwarded { .. }
                | SlotState::ForwardedSync { .. }
                | SlotState::Revalidating { .. } => unreachable!("checked above"),
            }
        }
        // Backpressure: resume reading once the queue has drained well below the limit.
        let limit = self.config.server.global_outstanding_limit.max(1) as usize;
        if let Some(c) = self.conns.get_mut(&conn) {
            let resume = c.paused
                && c.queue.len() < limit.div_ceil(2)
                && !c
                    .queue
                    .iter()
                    .any(|s| matches!(s.state, SlotState::ForwardedSync { .. }));
            if resume {
                c.paused = false;
                out.push(Output::ReadInterest {
                    conn,
                    enabled: true,
                });
                self.process_frames(now, conn, out);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn reply(
        &mut self,
        now: u64,
        conn: ConnId,
        op: OpCode,
        xid: i32,
        received_at: u64,
        err: ErrorCode,
        body: &ResponseBody,
        out: &mut Vec<Output>,
    ) {
        let zxid = self.tree.last_zxid();
        let bytes = encode_reply(
            &ReplyHeader {
                xid,
                zxid,
                err: err.code(),
            },
            body,
        );
        self.sent(now, conn, op, xid, zxid, received_at, bytes, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn sent(
        &mut self,
        now: u64,
        conn: ConnId,
        op: OpCode,
        xid: i32,
        zxid: Zxid,
        received_at: u64,
        bytes: bytes::Bytes,
        out: &mut Vec<Output>,
    ) {
        let latency = now.saturating_sub(received_at);
        self.stats.sent += 1;
        self.stats.response_size.record(bytes.len() as i64 - 4);
        self.stats.latency.record(latency);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.stats.sent += 1;
            c.stats.latency.record(latency);
            c.stats.last_op = Some(op);
            c.stats.last_cxid = xid as i64;
            c.stats.last_zxid = zxid;
            c.stats.last_response = now;
        }
        out.push(Output::ToClient { conn, bytes });
    }

    fn notify(&mut self, conn: ConnId, event: &WatcherEvent, out: &mut Vec<Output>) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.stats.sent += 1;
            self.stats.sent += 1;
            out.push(Output::ToClient {
                conn,
                bytes: encode_notification(event),
            });
        }
    }
}

/// The reply to an applied write.
fn write_reply(
    op: OpCode,
    ops: &[OpCode],
    txn: &Txn,
    outcome: &ApplyOutcome,
) -> (ErrorCode, ResponseBody) {
    if let Txn::Error { err } = txn {
        return (*err, ResponseBody::Empty);
    }
    if let Some(err) = outcome.err.filter(|e| *e != ErrorCode::Ok) {
        if op != OpCode::Multi {
            return (err, ResponseBody::Empty);
        }
    }
    let path = || outcome.path.clone().unwrap_or_default();
    let stat = || outcome.stat.unwrap_or_default();
    let body = match op {
        OpCode::Create => ResponseBody::Create(CreateResponse { path: path() }),
        OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
            ResponseBody::Create2(Create2Response {
                path: path(),
                stat: stat(),
            })
        }
        OpCode::SetData => ResponseBody::SetData(SetDataResponse { stat: stat() }),
        OpCode::SetAcl => ResponseBody::SetAcl(SetAclResponse { stat: stat() }),
        OpCode::Multi => {
            let Txn::Multi(subs) = txn else {
                return (ErrorCode::Ok, ResponseBody::Multi(Vec::new()));
            };
            let results = subs
                .iter()
                .enumerate()
                .map(|(i, sub)| {
                    let o = outcome.multi.get(i).cloned().unwrap_or_default();
                    let op = ops.get(i).copied().unwrap_or(OpCode::Create);
                    match sub {
                        Txn::Error { err } => MultiResult::Error(*err),
                        Txn::Create { .. } => MultiResult::Create {
                            op,
                            path: o.path.unwrap_or_default(),
                            stat: o.stat.unwrap_or_default(),
                        },
                        Txn::Delete { .. } => MultiResult::Delete,
                        Txn::SetData { .. } => MultiResult::SetData(o.stat.unwrap_or_default()),
                        Txn::Check { .. } => MultiResult::Check,
                        _ => MultiResult::Error(ErrorCode::RuntimeInconsistency),
                    }
                })
                .collect();
            ResponseBody::Multi(results)
        }
        _ => ResponseBody::Empty,
    };
    (ErrorCode::Ok, body)
}
