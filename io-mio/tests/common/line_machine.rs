//! A fake machine speaking a line protocol, enough to exercise every driver duty:
//! - `pause`: replies `paused`, stops reading the connection, resumes it at the next Tick (`resumed`);
//! - `big N`: replies N bytes (in 64 KiB chunks);
//! - `close`: asks the driver to close the connection (after what is queued);
//! - `write`: appends one txn to the log (persistence op Z, zxid Z) and replies `synced Z` once Persisted
//!   covers op Z;
//! - `tick`: replies `tick` at the next Tick;
//! - anything else is echoed back.
//!
//! It records what the driver must never do (bytes for an unknown or paused connection, time going back).

use std::collections::BTreeMap;

use bytes::Bytes;
use rzk_core::node::{PersistId, PersistOp};
use rzk_core::txn::{LoggedTxn, Txn, TxnHeader};
use rzk_core::{ConnId, Input, Output, Zxid};
use rzk_io_mio::Machine;

use super::Shared;

#[derive(Default)]
struct Conn {
    partial: Vec<u8>,
    paused: bool,
    wants_tick: bool,
}

pub struct LineMachine {
    seen: Shared,
    conns: BTreeMap<ConnId, Conn>,
    last_now: u64,
    next_zxid: Zxid,
    /// (zxid, conn) of writes waiting for Persisted.
    unsynced: Vec<(Zxid, ConnId)>,
    deadline: Option<u64>,
}

impl LineMachine {
    pub fn new(seen: Shared) -> LineMachine {
        LineMachine {
            seen,
            conns: BTreeMap::new(),
            last_now: 0,
            next_zxid: 1,
            unsynced: Vec::new(),
            deadline: None,
        }
    }

    fn violation(&self, what: String) {
        self.seen.lock().unwrap().violations.push(what);
    }

    fn reply(out: &mut Vec<Output>, conn: ConnId, text: &str) {
        out.push(Output::ToClient {
            conn,
            bytes: Bytes::from(format!("{text}\n")),
        });
    }

    fn line(&mut self, now: u64, conn: ConnId, line: &str, out: &mut Vec<Output>) {
        let mut words = line.split(' ');
        match words.next().unwrap_or("") {
            "pause" => {
                Self::reply(out, conn, "paused");
                out.push(Output::ReadInterest {
                    conn,
                    enabled: false,
                });
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.paused = true;
                }
                self.deadline = Some(now + 20);
            }
            "big" => {
                let mut left: usize = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                while left > 0 {
                    let n = left.min(64 * 1024);
                    out.push(Output::ToClient {
                        conn,
                        bytes: Bytes::from(vec![b'x'; n]),
                    });
                    left -= n;
                }
            }
            "close" => {
                out.push(Output::CloseClient { conn });
                self.conns.remove(&conn);
            }
            "write" => {
                let zxid = self.next_zxid;
                self.next_zxid += 1;
                self.unsynced.push((zxid, conn));
                out.push(Output::Persist {
                    id: PersistId(zxid as u64),
                    op: PersistOp::Append(vec![LoggedTxn {
                        header: TxnHeader {
                            session_id: 1,
                            cxid: 0,
                            zxid,
                            time: now as i64,
                        },
                        txn: Txn::Delete { path: "/x".into() },
                    }]),
                });
            }
            "tick" => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.wants_tick = true;
                }
                self.deadline = Some(now + 10);
            }
            _ => Self::reply(out, conn, line),
        }
    }
}

impl Machine for LineMachine {
    fn step(&mut self, now: u64, input: Input, out: &mut Vec<Output>) {
        if now < self.last_now {
            self.violation(format!("time went back from {} to {now}", self.last_now));
        }
        self.last_now = now;
        match input {
            Input::PeerMessage { .. }
            | Input::PeerConnected { .. }
            | Input::PeerDisconnected { .. } => {
                self.violation("peer input to a client-port test machine".to_string())
            }
            Input::Tick => {
                if self.deadline.is_some_and(|d| d > now) {
                    return;
                }
                self.deadline = None;
                for (&conn, c) in self.conns.iter_mut() {
                    if c.paused {
                        c.paused = false;
                        out.push(Output::ReadInterest {
                            conn,
                            enabled: true,
                        });
                        Self::reply(out, conn, "resumed");
                    }
                    if c.wants_tick {
                        c.wants_tick = false;
                        Self::reply(out, conn, "tick");
                    }
                }
            }
            Input::ClientOpened { conn, .. } => {
                if self.conns.insert(conn, Conn::default()).is_some() {
                    self.violation(format!("conn {conn} opened twice"));
                }
                self.seen.lock().unwrap().opened += 1;
            }
            Input::ClientBytes { conn, bytes } => {
                let Some(c) = self.conns.get_mut(&conn) else {
                    return self.violation(format!("bytes for unknown conn {conn}"));
                };
                if c.paused {
                    let what = format!("bytes for paused conn {conn}");
                    self.seen.lock().unwrap().violations.push(what);
                }
                c.partial.extend_from_slice(&bytes);
                let mut lines = Vec::new();
                while let Some(pos) = c.partial.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = c.partial.drain(..=pos).collect();
                    lines.push(String::from_utf8_lossy(&line[..pos]).into_owned());
                }
                for line in lines {
                    if !self.conns.contains_key(&conn) {
                        break; // closed by an earlier line
                    }
                    self.line(now, conn, &line, out);
                }
            }
            Input::ClientClosed { conn } => {
                if self.conns.remove(&conn).is_none() {
                    self.violation(format!("close for unknown conn {conn}"));
                }
                self.seen.lock().unwrap().closed += 1;
            }
            Input::Persisted { id } => {
                let (done, pending): (Vec<_>, Vec<_>) = self
                    .unsynced
                    .drain(..)
                    .partition(|(z, _)| *z as u64 <= id.0);
                self.unsynced = pending;
                for (z, conn) in done {
                    if self.conns.contains_key(&conn) {
                        Self::reply(out, conn, &format!("synced {z}"));
                    }
                }
            }
            Input::HostMetrics { open_fds, max_fds } => {
                self.seen.lock().unwrap().host_metrics = Some((open_fds, max_fds));
            }
            // The line machine runs no admin commands (the driver then answers 503).
            Input::AdminCommand { .. } => {}
            Input::ClientCertificate { .. } => {}
        }
    }

    fn next_deadline(&self) -> Option<u64> {
        self.deadline
    }
}
