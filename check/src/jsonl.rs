//! The history file: a run's [`Facts`] as JSON lines, one object per fact, each tagged by its `t` field, so
//! that a run of real processes (issue 16) and the simulator (`rzk sim --seed S --history FILE`) write the
//! same file and `rzk check FILE` holds both to the same checkers.
//!
//! ```text
//! {"t":"run","format":1,"source":"sim","seed":7,"healed_at":..,"heal_ms":..,"end":..,"calm":false,"clients":8}
//! {"t":"op","client":3,"session":..,"conn":17,"xid":55,"op":{"Set":{..}},"invoke":..,"complete":..,"outcome":..,"zxid":..}
//! {"t":"received","conn":17,"items":[{"Reply":{"op":912,"zxid":..}},{"Event":{..}}]}   arrival order per connection
//! {"t":"watch",..} {"t":"session",..} {"t":"conn",..} {"t":"expired","session":..} {"t":"protocol","msg":..}
//! {"t":"commit","zxid":..,"at":..,"txn":{..}}       every committed txn and when it was first seen committed
//! {"t":"fault","from":..,"to":..,"touched":..}      {"t":"leader","at":..,"node":..}   {"t":"conn_node",..}
//! {"t":"server_end","node":0,"end":{..}|null}       {"t":"violation","msg":..}
//! ```
//!
//! Times are the run's milliseconds. Numbers are exact 64-bit integers (session ids and zxids exceed 2^53:
//! read them with a JSON library that keeps 64-bit integers, as serde_json does). Lines of one kind keep
//! their order (ops by record, received items per connection); kinds may interleave. Unknown `t` values are
//! an error, so that a newer file is never half-checked.

use std::io::{BufRead, Write};

use rzk_core::txn::LoggedTxn;
use rzk_core::Zxid;
use serde::{Deserialize, Serialize};

use crate::facts::{Facts, FaultSpan, ServerEnd};
use crate::history::{ConnSpan, OpRecord, Received, WatchRecord};

/// The format this module writes, and the only one it reads.
pub const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot read or write the history: {0}")]
    Io(#[from] std::io::Error),
    #[error("line {line}: {reason}")]
    Bad { line: usize, reason: String },
    #[error("no \"run\" line: not a history file")]
    NoRun,
}

/// One line of the file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Line {
    Run {
        format: u32,
        /// Who wrote it: "sim", "chaos", ...
        source: String,
        seed: Option<u64>,
        healed_at: u64,
        heal_ms: u64,
        end: u64,
        calm: bool,
        clients: usize,
        /// Observer servers (absent in older files: none).
        #[serde(default)]
        observers: Vec<usize>,
    },
    Op(OpRecord),
    Received {
        conn: u64,
        items: Vec<Received>,
    },
    Watch(WatchRecord),
    Session {
        client: usize,
        session: i64,
        timeout: i32,
        at: u64,
    },
    Conn(ConnSpan),
    Expired {
        session: i64,
    },
    Protocol {
        msg: String,
    },
    Commit {
        zxid: Zxid,
        at: u64,
        txn: LoggedTxn,
    },
    Fault(FaultSpan),
    Leader {
        at: u64,
        node: Option<usize>,
    },
    ConnNode {
        conn: u64,
        node: usize,
    },
    ServerEnd {
        node: usize,
        end: Option<ServerEnd>,
    },
    Violation {
        msg: String,
    },
}

/// Writes `facts` as a history file; `source` and `seed` say where it came from.
pub fn write_history(
    facts: &Facts,
    source: &str,
    seed: Option<u64>,
    out: &mut dyn Write,
) -> Result<(), HistoryError> {
    let mut line = |l: Line| -> Result<(), HistoryError> {
        serde_json::to_writer(&mut *out, &l).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
        Ok(())
    };
    line(Line::Run {
        format: FORMAT,
        source: source.to_owned(),
        seed,
        healed_at: facts.healed_at,
        heal_ms: facts.heal_ms,
        end: facts.end,
        calm: facts.calm,
        clients: facts.clients,
        observers: facts.observers.clone(),
    })?;
    let h = &facts.history;
    for op in &h.ops {
        line(Line::Op(op.clone()))?;
    }
    for (conn, items) in &h.received {
        line(Line::Received {
            conn: *conn,
            items: items.clone(),
        })?;
    }
    for w in &h.watches {
        line(Line::Watch(w.clone()))?;
    }
    for &(client, session, timeout, at) in &h.sessions {
        line(Line::Session {
            client,
            session,
            timeout,
            at,
        })?;
    }
    for c in &h.connected {
        line(Line::Conn(c.clone()))?;
    }
    for &session in &h.expired_sessions {
        line(Line::Expired { session })?;
    }
    for msg in &h.protocol {
        line(Line::Protocol { msg: msg.clone() })?;
    }
    for (zxid, txn) in &facts.committed {
        let at = facts.committed_at.get(zxid).copied().unwrap_or(0);
        line(Line::Commit {
            zxid: *zxid,
            at,
            txn: txn.clone(),
        })?;
    }
    for f in &facts.faults {
        line(Line::Fault(*f))?;
    }
    for &(at, node) in &facts.leaders {
        line(Line::Leader { at, node })?;
    }
    for (&conn, &node) in &facts.conn_nodes {
        line(Line::ConnNode { conn, node })?;
    }
    for (node, end) in facts.servers.iter().enumerate() {
        line(Line::ServerEnd {
            node,
            end: end.clone(),
        })?;
    }
    for msg in &facts.violations {
        line(Line::Violation { msg: msg.clone() })?;
    }
    out.flush()?;
    Ok(())
}

/// Reads a history file back into the facts the checkers read.
pub fn read_history(input: &mut dyn BufRead) -> Result<Facts, HistoryError> {
    let mut facts = Facts::default();
    let mut seen_run = false;
    for (i, text) in input.lines().enumerate() {
        let text = text?;
        if text.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| HistoryError::Bad {
            line: i + 1,
            reason,
        };
        let line: Line = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let h = &mut facts.history;
        match line {
            Line::Run {
                format,
                healed_at,
                heal_ms,
                end,
                calm,
                clients,
                observers,
                ..
            } => {
                if format != FORMAT {
                    return Err(bad(format!("format {format}; this build reads {FORMAT}")));
                }
                seen_run = true;
                facts.healed_at = healed_at;
                facts.heal_ms = heal_ms;
                facts.end = end;
                facts.calm = calm;
                facts.clients = clients;
                facts.observers = observers;
            }
            Line::Op(op) => h.ops.push(op),
            Line::Received { conn, items } => h.received.entry(conn).or_default().extend(items),
            Line::Watch(w) => h.watches.push(w),
            Line::Session {
                client,
                session,
                timeout,
                at,
            } => h.sessions.push((client, session, timeout, at)),
            Line::Conn(c) => h.connected.push(c),
            Line::Expired { session } => h.expired_sessions.push(session),
            Line::Protocol { msg } => h.protocol.push(msg),
            Line::Commit { zxid, at, txn } => {
                if txn.header.zxid != zxid {
                    return Err(bad(format!(
                        "commit line for zxid 0x{zxid:x} holds txn 0x{:x}",
                        txn.header.zxid
                    )));
                }
                facts.committed.insert(zxid, txn);
                facts.committed_at.insert(zxid, at);
            }
            Line::Fault(f) => facts.faults.push(f),
            Line::Leader { at, node } => facts.leaders.push((at, node)),
            Line::ConnNode { conn, node } => {
                facts.conn_nodes.insert(conn, node);
            }
            Line::ServerEnd { node, end } => {
                if facts.servers.len() <= node {
                    facts.servers.resize(node + 1, None);
                }
                facts.servers[node] = end;
            }
            Line::Violation { msg } => facts.violations.push(msg),
        }
    }
    if !seen_run {
        return Err(HistoryError::NoRun);
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_foreign_lines_are_errors_not_panics() {
        for text in [
            "",
            "not json\n",
            "{\"t\":\"op\"}\n",
            "{\"t\":\"run\",\"format\":2,\"source\":\"x\",\"seed\":null,\"healed_at\":0,\"heal_ms\":0,\"end\":0,\"calm\":true,\"clients\":0}\n",
            "{\"t\":\"who knows\"}\n",
        ] {
            assert!(read_history(&mut text.as_bytes()).is_err(), "{text:?}");
        }
    }

    #[test]
    fn an_empty_run_round_trips() {
        let facts = Facts {
            end: 5,
            clients: 2,
            ..Facts::default()
        };
        let mut out = Vec::new();
        write_history(&facts, "test", Some(1), &mut out).unwrap();
        let back = read_history(&mut out.as_slice()).unwrap();
        assert_eq!((back.end, back.clients), (5, 2));
        assert!(crate::check_all(&back).is_empty());
    }
}
