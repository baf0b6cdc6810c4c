//! A fake machine for the peer transport, commanded by lines on its client port:
//! - `send TO N`: N Zab messages (Commit with zxids counting up per destination) and N election
//!   notifications (election epochs counting up) to server TO;
//! - `epochs A C`: persists the epochs; once the driver reports that op durable, both files must be on disk;
//! - `append N`: appends N txns to the log; `truncate Z`: truncates the log, and once that is reported
//!   durable, recovery must find exactly the txns up to Z.
//!
//! Each command is answered `ok`. Every peer input is recorded, and what the driver must never do is a
//! violation.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use rzk_core::election::{Notification, PeerState, Vote};
use rzk_core::node::{PersistId, PersistOp};
use rzk_core::peer::{PeerMsg, ServerId};
use rzk_core::txn::{LoggedTxn, Txn, TxnHeader};
use rzk_core::zab::ZabMsg;
use rzk_core::{ConnId, Input, Output, Zxid};
use rzk_io_mio::storage::StorageOptions;
use rzk_io_mio::Machine;

#[derive(Debug, Clone, PartialEq)]
pub enum PeerEvent {
    Connected(ServerId),
    Disconnected(ServerId),
    Message(ServerId, PeerMsg),
}

#[derive(Debug, Default)]
pub struct PeerLog {
    pub events: Vec<PeerEvent>,
    pub violations: Vec<String>,
    /// Storage checks run (each once its op was reported durable).
    pub checked: usize,
}

impl PeerLog {
    pub fn connected(&self, id: ServerId) -> usize {
        self.count(|e| *e == PeerEvent::Connected(id))
    }
    pub fn disconnected(&self, id: ServerId) -> usize {
        self.count(|e| *e == PeerEvent::Disconnected(id))
    }
    fn count(&self, f: impl Fn(&PeerEvent) -> bool) -> usize {
        self.events.iter().filter(|e| f(e)).count()
    }
    /// Zxids of the Commits and epochs of the notifications received from `from`, in arrival order.
    pub fn received(&self, from: ServerId) -> (Vec<i64>, Vec<u64>) {
        let (mut zab, mut election) = (Vec::new(), Vec::new());
        for e in &self.events {
            match e {
                PeerEvent::Message(
                    f,
                    PeerMsg::Zab {
                        msg: ZabMsg::Commit { zxid },
                        ..
                    },
                ) if *f == from => zab.push(*zxid),
                PeerEvent::Message(f, PeerMsg::Election(n)) if *f == from => {
                    election.push(n.election_epoch)
                }
                _ => {}
            }
        }
        (zab, election)
    }
}

pub type SharedLog = Arc<Mutex<PeerLog>>;

enum Check {
    Epochs(u32, u32),
    Truncated(Zxid),
}

pub struct PeerMachine {
    log: SharedLog,
    storage: Option<StorageOptions>,
    partial: BTreeMap<ConnId, Vec<u8>>,
    sent: BTreeMap<ServerId, u64>,
    next_zxid: Zxid,
    next_op: u64,
    /// Checks to run once the op they follow is reported durable.
    checks: Vec<(PersistId, Check)>,
}

impl PeerMachine {
    pub fn new(log: SharedLog, storage: Option<StorageOptions>) -> PeerMachine {
        PeerMachine {
            log,
            storage,
            partial: BTreeMap::new(),
            sent: BTreeMap::new(),
            next_zxid: 1,
            next_op: 1,
            checks: Vec::new(),
        }
    }

    fn persist(&mut self, op: PersistOp, out: &mut Vec<Output>) -> PersistId {
        let id = PersistId(self.next_op);
        self.next_op += 1;
        out.push(Output::Persist { id, op });
        id
    }

    fn violation(&self, what: String) {
        self.log.lock().unwrap().violations.push(what);
    }

    /// Runs the checks of every op up to `id`, which the driver reports durable.
    fn run_checks(&mut self, id: PersistId) {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.checks)
            .into_iter()
            .partition(|(op, _)| *op <= id);
        self.checks = later;
        for (_, check) in due {
            self.run_check(check);
        }
    }

    fn run_check(&mut self, check: Check) {
        self.log.lock().unwrap().checked += 1;
        let Some(storage) = &self.storage else {
            return self.violation("a check without storage".into());
        };
        if let Check::Epochs(a, c) = check {
            // Read the files only: a recovery tidies the log directory (drops empty or torn files) and
            // would race with the writer thread, which may be creating the next log file right now.
            let dir = rzk_io_mio::storage::FsDir::new(storage.snap_dir());
            match rzk_io_mio::storage::read_epochs(&dir, 0) {
                Ok(e) if (e.accepted, e.current) == (a, c) => {}
                Ok(e) => self.violation(format!(
                    "epochs on disk {:?}, saved ({a}, {c})",
                    (e.accepted, e.current)
                )),
                Err(e) => self.violation(format!("cannot read the epochs: {e}")),
            }
            return;
        }
        // After a truncation nothing is being written (the driver waited for the writer), so a recovery
        // may look at the log.
        match storage.recover() {
            Err(e) => self.violation(format!("recovery failed: {e}")),
            Ok(r) => match check {
                Check::Epochs(..) => {}
                Check::Truncated(z) => {
                    let zxids: Vec<Zxid> = r.recovered.txns.iter().map(|t| t.header.zxid).collect();
                    if zxids != (1..=z).collect::<Vec<_>>() {
                        self.violation(format!("after truncating to {z} the log holds {zxids:?}"));
                    }
                }
            },
        }
    }

    fn command(&mut self, now: u64, line: &str, out: &mut Vec<Output>) {
        let words: Vec<&str> = line.split(' ').collect();
        let num = |i: usize| {
            words
                .get(i)
                .and_then(|w| w.parse::<u64>().ok())
                .unwrap_or(0)
        };
        match words[0] {
            "send" => {
                let to = num(1);
                for _ in 0..num(2) {
                    let seq = self.sent.entry(to).or_default();
                    *seq += 1;
                    let msg = PeerMsg::Zab {
                        session: 0,
                        msg: ZabMsg::Commit { zxid: *seq as i64 },
                    };
                    out.push(Output::ToPeer { to, msg });
                    let vote = Vote {
                        leader: to,
                        zxid: 0,
                        peer_epoch: 0,
                    };
                    let n = Notification {
                        vote,
                        election_epoch: *seq,
                        state: PeerState::Looking,
                    };
                    out.push(Output::ToPeer {
                        to,
                        msg: PeerMsg::Election(n),
                    });
                }
            }
            "epochs" => {
                let (accepted, current) = (num(1) as u32, num(2) as u32);
                let id = self.persist(PersistOp::SaveEpochs { accepted, current }, out);
                self.checks.push((id, Check::Epochs(accepted, current)));
            }
            "append" => {
                let txns = (0..num(1))
                    .map(|_| {
                        let zxid = self.next_zxid;
                        self.next_zxid += 1;
                        LoggedTxn {
                            header: TxnHeader {
                                session_id: 1,
                                cxid: 0,
                                zxid,
                                time: now as i64,
                            },
                            txn: Txn::Delete { path: "/x".into() },
                        }
                    })
                    .collect();
                self.persist(PersistOp::Append(txns), out);
            }
            "truncate" => {
                let zxid = num(1) as Zxid;
                let id = self.persist(PersistOp::Truncate { zxid }, out);
                self.next_zxid = zxid + 1;
                self.checks.push((id, Check::Truncated(zxid)));
            }
            other => self.violation(format!("unknown command {other:?}")),
        }
    }
}

impl Machine for PeerMachine {
    fn step(&mut self, now: u64, input: Input, out: &mut Vec<Output>) {
        match input {
            Input::Persisted { id } => self.run_checks(id),
            Input::AdminCommand { .. } => {}
            Input::ClientCertificate { .. } => {}
            Input::PeerConnected { peer } => {
                self.log
                    .lock()
                    .unwrap()
                    .events
                    .push(PeerEvent::Connected(peer));
            }
            Input::PeerDisconnected { peer } => {
                self.log
                    .lock()
                    .unwrap()
                    .events
                    .push(PeerEvent::Disconnected(peer));
            }
            Input::PeerMessage { from, msg } => {
                let mut log = self.log.lock().unwrap();
                let up = log
                    .events
                    .iter()
                    .rev()
                    .find_map(|e| match e {
                        PeerEvent::Connected(p) if *p == from => Some(true),
                        PeerEvent::Disconnected(p) if *p == from => Some(false),
                        _ => None,
                    })
                    .unwrap_or(false);
                if !up {
                    log.violations
                        .push(format!("message from {from} while its link is down"));
                }
                log.events.push(PeerEvent::Message(from, msg));
            }
            Input::ClientOpened { conn, .. } => {
                self.partial.insert(conn, Vec::new());
            }
            Input::ClientClosed { conn } => {
                self.partial.remove(&conn);
            }
            Input::ClientBytes { conn, bytes } => {
                let Some(buf) = self.partial.get_mut(&conn) else {
                    return;
                };
                buf.extend_from_slice(&bytes);
                let mut lines = Vec::new();
                while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=pos).collect();
                    lines.push(String::from_utf8_lossy(&line[..pos]).into_owned());
                }
                for line in lines {
                    self.command(now, &line, out);
                    out.push(Output::ToClient {
                        conn,
                        bytes: Bytes::from_static(b"ok\n"),
                    });
                }
            }
            Input::Tick | Input::HostMetrics { .. } => {}
        }
    }

    fn next_deadline(&self) -> Option<u64> {
        None
    }
}
