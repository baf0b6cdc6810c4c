//! Availability: once faults stop and every server is back, each client completes writes again within a
//! bound (like VOPR's liveness mode: a healed cluster must make progress), and every server catches up.

use crate::facts::Facts;
use crate::history::Outcome;

/// How long after the heal a client may take to get a write through: a reconnect, a possibly expired
/// session and a new one fit well inside it.
pub const LIVENESS_BOUND_MS: u64 = 20_000;

/// A healed server must hold every txn committed this long before the end of the run.
pub const CATCH_UP_MS: u64 = 5_000;

pub fn check(facts: &Facts) -> Vec<String> {
    let mut v = Vec::new();
    if facts.healed_at == 0 {
        return v;
    }
    let from = facts.healed_at + LIVENESS_BOUND_MS;
    let until = facts.healed_at + facts.heal_ms;
    if until <= from {
        return v;
    }
    for c in 0..facts.clients {
        let progressed = facts.history.ops.iter().any(|r| {
            r.client == c
                && r.op.is_write()
                && r.invoke >= from
                && r.complete <= until
                && !matches!(r.outcome, Outcome::Lost)
        });
        if !progressed {
            v.push(format!("no liveness: client {c} completed no write between {from} ms and {until} ms after heal"));
        }
    }
    // Convergence: every server applied what the ensemble committed a while before the end.
    let cutoff = facts.end.saturating_sub(CATCH_UP_MS);
    let target = facts
        .committed_at
        .iter()
        .filter(|(_, at)| **at <= cutoff)
        .map(|(z, _)| *z)
        .max();
    if let Some(target) = target.filter(|_| cutoff > facts.healed_at) {
        for (n, end) in facts.servers.iter().enumerate() {
            match end {
                Some(end) if end.last_zxid >= target => {}
                Some(end) => v.push(format!(
                    "no convergence: node {n} ends at zxid 0x{:x}, behind 0x{target:x} committed {CATCH_UP_MS} ms before the end",
                    end.last_zxid
                )),
                None => v.push(format!("no convergence: node {n} is not running at the end")),
            }
        }
    }
    v
}
