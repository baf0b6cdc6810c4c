//! The load loops: each thread drives its share of the sessions over one mio poll. Pipelined workloads keep
//! `depth` requests in flight per session; churn cycles connect / create ephemeral / close; watch fans one
//! write out to every session's data watch.

use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::{Events, Interest, Poll, Token};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use rzk_core::proto::client::{decode_connect_response, decode_reply, peek_xid};
use rzk_core::proto::request::RequestBody;
use rzk_core::proto::{xid, OpCode};

use super::conn::Conn;
use super::report::Tally;
use super::workload::{create, get_data, set_data, Layout, RequestGen, Workload};

/// Everything a load thread needs to know; shared read-only by all threads.
pub struct Plan {
    pub addr: SocketAddr,
    /// `--tls`: every connection speaks TLS with this configuration.
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    pub workload: Workload,
    pub layout: Layout,
    pub depth: usize,
    pub seed: u64,
    /// Operations completing in [measure_from, end) are counted.
    pub measure_from: Instant,
    pub end: Instant,
    /// Per-session operation budget (`--count`), instead of or on top of the time bound.
    pub budget: Option<Range<u64>>,
    pub sessions: usize,
}

impl Plan {
    fn session_budget(&self, session: usize) -> Option<u64> {
        // --count N split evenly: the first N % sessions sessions do one more.
        self.budget.as_ref().map(|r| {
            let (total, n) = (r.end, self.sessions as u64);
            total / n + u64::from((session as u64) < total % n)
        })
    }
}

const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
const POLL_INTERVAL: Duration = Duration::from_millis(5);

struct Slot {
    session: usize,
    conn: Conn,
    gen: Option<RequestGen>,
    issued: u64,
    budget: Option<u64>,
    churn_cycles: u64,
}

impl Slot {
    fn has_budget(&self) -> bool {
        self.budget.is_none_or(|b| self.issued < b)
    }
}

fn open(
    poll: &Poll,
    addr: SocketAddr,
    tls: Option<&std::sync::Arc<rustls::ClientConfig>>,
    token: usize,
) -> io::Result<Conn> {
    let mut conn = Conn::open(addr, tls)?;
    poll.registry().register(
        &mut conn.stream,
        Token(token),
        Interest::READABLE | Interest::WRITABLE,
    )?;
    Ok(conn)
}

/// Runs a pipelined workload or churn for `sessions` (global session numbers) until the plan ends.
pub fn run_thread(plan: &Plan, sessions: Range<usize>) -> io::Result<Tally> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut scratch = vec![0u8; 256 * 1024];
    let mut tally = Tally::new();
    let churn = plan.workload == Workload::Churn;
    let mut slots = Vec::new();
    for (i, session) in sessions.enumerate() {
        let rng = ChaCha8Rng::seed_from_u64(plan.seed ^ (session as u64).wrapping_mul(0x9E37_79B9));
        let gen =
            (!churn).then(|| RequestGen::new(plan.workload, plan.layout.clone(), rng, session));
        slots.push(Slot {
            session,
            conn: open(&poll, plan.addr, plan.tls.as_ref(), i)?,
            gen,
            issued: 0,
            budget: plan.session_budget(session),
            churn_cycles: 0,
        });
    }
    let mut stop_at: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let out_of_budget = slots.iter().all(|s| !s.has_budget());
        if stop_at.is_none() && (now >= plan.end || out_of_budget) {
            stop_at = Some(now);
        }
        if let Some(t) = stop_at {
            let idle = slots
                .iter()
                .all(|s| s.conn.inflight.is_empty() || s.conn.closed);
            if idle || now > t + DRAIN_TIMEOUT {
                break;
            }
        }
        poll.poll(&mut events, Some(POLL_INTERVAL))?;
        for event in events.iter() {
            let Some(slot) = slots.get_mut(event.token().0) else {
                continue;
            };
            if !event.is_readable() {
                continue;
            }
            let Slot {
                conn,
                churn_cycles,
                session,
                ..
            } = slot;
            let result = conn.read_frames(&mut scratch, |conn, frame| {
                on_frame(plan, conn, frame, &mut tally, churn, *session, churn_cycles)
            });
            if let Err(e) = result {
                tally.error(|| format!("session {}: read: {e}", slot.session));
                slot.conn.closed = true;
            }
        }
        let now = Instant::now();
        let stopping = stop_at.is_some();
        for (i, slot) in slots.iter_mut().enumerate() {
            if slot.conn.closed {
                if churn && !stopping && slot.has_budget() {
                    if !slot.conn.inflight.is_empty() {
                        tally.error(|| {
                            format!("session {}: connection lost mid-cycle", slot.session)
                        });
                    }
                    let _ = poll.registry().deregister(&mut slot.conn.stream);
                    slot.conn = open(&poll, plan.addr, plan.tls.as_ref(), i)?;
                    slot.issued += 1;
                } else if !slot.conn.inflight.is_empty() {
                    tally.error(|| {
                        format!("session {}: server closed the connection", slot.session)
                    });
                    slot.conn.inflight.clear();
                }
                continue;
            }
            if !stopping && slot.conn.established {
                if let Some(gen) = slot.gen.as_mut() {
                    while slot.conn.inflight.len() < plan.depth
                        && slot.budget.is_none_or(|b| slot.issued < b)
                    {
                        let (op, body) = gen.next();
                        slot.conn.send(op, body, now);
                        slot.issued += 1;
                    }
                }
            }
            if slot.conn.wants_write() {
                if let Err(e) = slot.conn.flush() {
                    tally.error(|| format!("session {}: write: {e}", slot.session));
                    slot.conn.closed = true;
                }
            }
        }
    }
    close_all(
        &mut poll,
        &mut events,
        &mut scratch,
        slots.into_iter().map(|s| s.conn),
    );
    Ok(tally)
}

fn on_frame(
    plan: &Plan,
    conn: &mut Conn,
    frame: Bytes,
    tally: &mut Tally,
    churn: bool,
    session: usize,
    churn_cycles: &mut u64,
) {
    let now = Instant::now();
    if !conn.established {
        match decode_connect_response(frame) {
            Ok(r) if r.session_id != 0 && r.time_out > 0 => conn.established = true,
            Ok(_) => {
                tally.error(|| format!("session {session}: server refused the session"));
                conn.closed = true;
            }
            Err(e) => {
                tally.error(|| format!("session {session}: bad handshake reply: {e}"));
                conn.closed = true;
            }
        }
        if churn && conn.established {
            *churn_cycles += 1;
            let path = format!("{}/e{session}-{churn_cycles}", plan.layout.dir);
            let (op, body) = create(path, plan.layout.value.clone(), true);
            conn.send(op, body, now);
        }
        return;
    }
    match peek_xid(&frame) {
        Some(xid::NOTIFICATION) | Some(xid::PING) => return,
        _ => {}
    }
    let Some((op, sent)) = conn.inflight.pop_front() else {
        tally.error(|| format!("session {session}: reply with nothing in flight"));
        return;
    };
    let in_window = now >= plan.measure_from && now < plan.end;
    match decode_reply(frame, op) {
        Err(e) => tally.error(|| format!("session {session}: undecodable reply to {op:?}: {e}")),
        Ok((h, _)) if h.err != 0 => {
            tally.error(|| format!("session {session}: {op:?} failed with {}", h.err))
        }
        Ok(_) if churn => match op {
            OpCode::Create => conn.send(OpCode::CloseSession, RequestBody::CloseSession, now),
            _ => {
                if in_window {
                    tally.record(now - conn.opened_at);
                }
                conn.closed = true;
            }
        },
        Ok(_) => {
            if in_window {
                tally.record(now - sent);
            }
        }
    }
}

/// Closes every session politely (closeSession, then wait a moment for the server to hang up), so the server
/// does not keep them until they expire.
fn close_all(
    poll: &mut Poll,
    events: &mut Events,
    scratch: &mut [u8],
    conns: impl Iterator<Item = Conn>,
) {
    let mut open: Vec<Conn> = Vec::new();
    for mut conn in conns {
        if conn.closed || !conn.established {
            continue;
        }
        conn.send(
            OpCode::CloseSession,
            RequestBody::CloseSession,
            Instant::now(),
        );
        if conn.flush().is_ok() {
            open.push(conn);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while !open.is_empty() && Instant::now() < deadline {
        if poll.poll(events, Some(POLL_INTERVAL)).is_err() {
            break;
        }
        for conn in open.iter_mut() {
            let _ = conn.flush();
            if conn
                .read_frames(scratch, |c, frame| {
                    if peek_xid(&frame).is_some_and(|x| x > 0) {
                        c.inflight.pop_front();
                    }
                })
                .is_err()
            {
                conn.closed = true;
            }
        }
        open.retain(|c| !c.closed && !c.inflight.is_empty());
    }
}

/// Watch fan-out on one thread: `watchers` sessions keep a data watch on one node, a writer session sets it,
/// and each notification's latency is measured from the moment the write was sent. The next write waits
/// until every watcher has been notified and has set its watch again.
pub fn run_watch(plan: &Plan, watchers: usize) -> io::Result<(Tally, u64)> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut scratch = vec![0u8; 256 * 1024];
    let mut tally = Tally::new();
    let mut conns = Vec::new();
    for i in 0..=watchers {
        conns.push(open(&poll, plan.addr, plan.tls.as_ref(), i)?);
    }
    let writer = watchers;
    let watched = plan.layout.watched();
    let mut awaiting_registration = watchers;
    let mut awaiting_notification = 0usize;
    let mut write_sent: Option<Instant> = None;
    let mut writes = 0u64;
    let mut ready_writer = false;
    while Instant::now() < plan.end {
        poll.poll(&mut events, Some(POLL_INTERVAL))?;
        for event in events.iter() {
            let i = event.token().0;
            let Some(conn) = conns.get_mut(i) else {
                continue;
            };
            let result = conn.read_frames(&mut scratch, |conn, frame| {
                let now = Instant::now();
                if !conn.established {
                    match decode_connect_response(frame) {
                        Ok(r) if r.session_id != 0 => conn.established = true,
                        _ => {
                            tally.error(|| format!("watch session {i}: handshake failed"));
                            conn.closed = true;
                            return;
                        }
                    }
                    if i == writer {
                        ready_writer = true;
                    } else {
                        let (op, body) = get_data(watched.clone(), true);
                        conn.send(op, body, now);
                    }
                    return;
                }
                match peek_xid(&frame) {
                    Some(xid::NOTIFICATION) => {
                        awaiting_notification = awaiting_notification.saturating_sub(1);
                        if let Some(sent) = write_sent {
                            if now >= plan.measure_from {
                                tally.record(now - sent);
                            }
                        }
                        let (op, body) = get_data(watched.clone(), true);
                        conn.send(op, body, now);
                        return;
                    }
                    Some(xid::PING) => return,
                    _ => {}
                }
                let Some((op, _)) = conn.inflight.pop_front() else {
                    tally.error(|| format!("watch session {i}: unexpected reply"));
                    return;
                };
                match decode_reply(frame, op) {
                    Ok((h, _)) if h.err == 0 => {}
                    _ => tally.error(|| format!("watch session {i}: {op:?} failed")),
                }
                if op == OpCode::GetData {
                    awaiting_registration = awaiting_registration.saturating_sub(1);
                }
            });
            if let Err(e) = result {
                tally.error(|| format!("watch session {i}: {e}"));
                conn.closed = true;
            }
        }
        if conns.iter().any(|c| c.closed) {
            tally.error(|| "a watch session was closed by the server".to_string());
            break;
        }
        let idle_writer = conns[writer].inflight.is_empty();
        if ready_writer && idle_writer && awaiting_registration == 0 && awaiting_notification == 0 {
            let now = Instant::now();
            let (op, body) = set_data(watched.clone(), plan.layout.value.clone());
            conns[writer].send(op, body, now);
            write_sent = Some(now);
            writes += 1;
            awaiting_notification = watchers;
            awaiting_registration = watchers;
        }
        for conn in conns.iter_mut() {
            if conn.wants_write() {
                if let Err(e) = conn.flush() {
                    tally.error(|| format!("watch: write: {e}"));
                    conn.closed = true;
                }
            }
        }
    }
    close_all(&mut poll, &mut events, &mut scratch, conns.into_iter());
    Ok((tally, writes))
}
