//! Replaying every member's recording of an ensemble together: the cluster's committed history (each
//! server's committed txns after every step, merged, any two servers disagreeing at a zxid flagged), each
//! server's final tree, and the history of every client connection as the servers saw it
//! ([`ServerHistory`]), with every step checked against its digest and each segment's checkpoint against
//! the state the one before it replays to (as [`crate::verify`] does). The result is `rzk-check`'s [`Facts`], held to the checkers that need only
//! server-side facts ([`rzk_check::check_server_side`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use rzk_check::{Facts, ServerEnd};
use rzk_core::Node;

use crate::dir;
use crate::replay::Replay;
use crate::segment::Segment;
use crate::server_history::ServerHistory;
use crate::verify::{state_differs, Verified};

/// What replaying the members together gave.
pub struct EnsembleReplay {
    pub facts: Facts,
    /// Per member (in the order given): what its replay verified.
    pub members: Vec<Verified>,
}

/// Replays `dirs`, one recording directory per member, in server order.
pub fn replay_ensemble(dirs: &[PathBuf], any_version: bool) -> std::io::Result<EnsembleReplay> {
    let mut history = ServerHistory::default();
    let mut committed = BTreeMap::new();
    let mut committed_at = BTreeMap::new();
    let mut committed_by: BTreeMap<i64, usize> = BTreeMap::new();
    let mut violations = Vec::new();
    let mut servers = Vec::new();
    let mut members = Vec::new();
    let mut end = 0u64;
    let mut out = Vec::new();
    for (server, path) in dirs.iter().enumerate() {
        let mut v = Verified::default();
        let mut last: Option<Node> = None;
        // The run and input the previous segment ended at: a segment that does not follow it starts fresh
        // connections (a restart, or a gap in the recording).
        let mut at: Option<((u64, u64), u64)> = None;
        let mut seen = i64::MIN;
        let mut now = 0;
        for file in dir::list(path)? {
            let bytes = std::fs::read(path.join(&file.name))?;
            let opened = Segment::read(&bytes)
                .map_err(|e| e.to_string())
                .and_then(|s| Replay::open(&s, any_version).map_err(|e| e.to_string()));
            let mut replay = match opened {
                Ok(r) => r,
                Err(e) => {
                    v.failures.push(format!("{}: {e}", file.name));
                    at = None;
                    continue;
                }
            };
            v.segments += 1;
            v.gaps += replay.gap.is_some() as u64;
            let run = (replay.header.server_id, replay.header.run_id);
            let follows = at == Some((run, replay.header.first_input.saturating_sub(1)))
                && replay.gap.is_none();
            if !follows {
                history.forget_server(server, now);
            } else if let Some(why) = last.as_ref().and_then(|n| state_differs(n, &replay.node)) {
                v.failures.push(format!(
                    "{}: its checkpoint differs from the state the segment before replays to ({why})",
                    file.name
                ));
            }
            loop {
                let step = match replay.advance(&mut out) {
                    Ok(Some(step)) => step,
                    Ok(None) => break,
                    Err(e) => {
                        v.failures.push(format!("{}: {e}", file.name));
                        break;
                    }
                };
                v.inputs += 1;
                now = step.wall_us / 1000;
                end = end.max(now);
                history.step(server, now, &step.input, &out);
                let log = replay.node.committed_log();
                if log.last() > seen {
                    for t in log.iter_after(seen) {
                        let z = t.header.zxid;
                        seen = seen.max(z);
                        match committed.get(&z) {
                            None => {
                                committed.insert(z, t.clone());
                                committed_at.insert(z, now);
                                committed_by.insert(z, server);
                            }
                            Some(other) if other != t => violations.push(format!(
                                "replica agreement: servers {} and {server} committed different txns at zxid 0x{z:x}",
                                committed_by.get(&z).copied().unwrap_or(server)
                            )),
                            Some(_) => {}
                        }
                    }
                }
            }
            at = Some((
                run,
                replay
                    .steps()
                    .last()
                    .map_or(replay.header.first_input.saturating_sub(1), |s| s.n),
            ));
            last = Some(replay.node);
        }
        history.forget_server(server, now);
        servers.push(last.as_ref().map(|n| ServerEnd::of(n.tree())));
        members.push(v);
    }
    let clients = history
        .history
        .connected
        .len()
        .max(history.conn_nodes.len());
    let facts = Facts {
        history: history.history,
        committed,
        committed_at,
        end,
        calm: true,
        clients,
        conn_nodes: history.conn_nodes.into_iter().collect(),
        servers,
        violations,
        ..Facts::default()
    };
    Ok(EnsembleReplay { facts, members })
}
