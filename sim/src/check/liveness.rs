//! Availability: once faults stop and every server is back, each client completes writes again within a
//! bound (like VOPR's liveness mode: a healed cluster must make progress), and every server catches up.

use crate::history::Outcome;
use crate::world::World;

/// How long after the heal a client may take to get a write through: a reconnect, a possibly expired
/// session and a new one fit well inside it.
pub const LIVENESS_BOUND_MS: u64 = 20_000;

/// A healed server must hold every txn committed this long before the end of the run.
pub const CATCH_UP_MS: u64 = 5_000;

pub fn check(world: &World) -> Vec<String> {
    let mut v = Vec::new();
    if world.healed_at == 0 {
        return v;
    }
    let from = world.healed_at + LIVENESS_BOUND_MS;
    let until = world.healed_at + world.params.heal_ms;
    if until <= from {
        return v;
    }
    for c in 0..world.clients.len() {
        let progressed = world.history.ops.iter().any(|r| {
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
    let cutoff = world.now.saturating_sub(CATCH_UP_MS);
    let target = world
        .durable_at
        .iter()
        .filter(|(_, at)| **at <= cutoff)
        .map(|(z, _)| *z)
        .max();
    if let Some(target) = target.filter(|_| cutoff > world.healed_at) {
        for n in 0..world.node_count() {
            match world.node_tree(n) {
                Some(tree) if tree.last_zxid() >= target => {}
                Some(tree) => v.push(format!(
                    "no convergence: node {n} ends at zxid 0x{:x}, behind 0x{target:x} committed {CATCH_UP_MS} ms before the end",
                    tree.last_zxid()
                )),
                None => v.push(format!("no convergence: node {n} is not running at the end")),
            }
        }
    }
    v
}
