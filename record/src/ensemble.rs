//! Replaying every member's recording of an ensemble together: the cluster's committed history (each
//! server's committed txns after every step, merged, any two servers disagreeing at a zxid flagged), each
//! server's final tree, and the history of every client connection as the servers saw it
//! ([`ServerHistory`]), with every step checked against its digest and each segment's checkpoint against
//! the state the one before it replays to (as [`crate::verify`] does). The result is `rzk-check`'s [`Facts`], held to the checkers that need only
//! server-side facts ([`rzk_check::check_server_side`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use rzk_check::{Facts, ServerEnd};

use crate::dir;
use crate::server_history::ServerHistory;
use crate::verify::{Verified, Walk};

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
        let mut walk = Walk::default();
        let mut seen = i64::MIN;
        let mut now = 0;
        for file in dir::list(path)? {
            let bytes = std::fs::read(path.join(&file.name))?;
            let Some(mut opened) = walk.open(&file.name, &bytes, any_version, &mut v.failures)
            else {
                history.forget_server(server, now);
                continue;
            };
            v.segments += 1;
            v.gaps += opened.replay.gap.is_some() as u64;
            if opened.replay.redacted() {
                // Its replies hold zeros and the steps after a zeroed credential are not the recorded ones:
                // the checkers would find violations that did not happen.
                v.failures.push(format!(
                    "{}: a redacted recording (rzk.recordRedact) cannot be checked (--check); replay it without",
                    file.name
                ));
                walk.abandoned();
                history.forget_server(server, now);
                continue;
            }
            // A segment that does not continue the one before (a restart, a gap, a damaged one) starts with
            // connections this replay knows nothing of.
            if !opened.follows {
                history.forget_server(server, now);
            }
            let mut diverged = false;
            loop {
                let step = match opened.replay.advance(&mut out) {
                    Ok(Some(step)) => step,
                    Ok(None) => break,
                    Err(e) => {
                        v.failures.push(format!("{}: {e}", opened.name));
                        diverged = true;
                        break;
                    }
                };
                v.inputs += 1;
                now = step.wall_us / 1000;
                end = end.max(now);
                history.step(server, now, &step.input, &out);
                let log = opened.replay.node.committed_log();
                if log.last() > seen {
                    for t in log.iter_after(seen) {
                        let z = t.header.zxid;
                        seen = seen.max(z);
                        match committed.get(&z) {
                            None => {
                                committed.insert(z, t.clone());
                                committed_by.insert(z, server);
                            }
                            Some(other) if other != t => violations.push(format!(
                                "replica agreement: servers {} and {server} committed different txns at zxid 0x{z:x}",
                                committed_by.get(&z).copied().unwrap_or(server)
                            )),
                            Some(_) => {}
                        }
                        // When the cluster first knew it committed: the earliest server to say so.
                        let at = committed_at.entry(z).or_insert(now);
                        *at = (*at).min(now);
                    }
                }
            }
            if diverged {
                walk.abandoned();
                history.forget_server(server, now);
            } else {
                walk.finished(opened);
            }
        }
        history.forget_server(server, now);
        servers.push(walk.last_node().map(|n| ServerEnd::of(n.tree())));
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
