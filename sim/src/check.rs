//! The simulator's side of checking: the facts of a finished run, gathered from the world, for the checkers
//! of `rzk-check` (shared with checks of real-process runs).

pub use rzk_check::{check_register, liveness, Replay};

use rzk_check::{Facts, ServerEnd};

use crate::world::World;

/// Runs every checker over a finished run.
pub fn check_all(world: &World) -> Vec<String> {
    rzk_check::check_all(&facts(world))
}

/// What the checkers read, from the world at the end of a run.
pub fn facts(world: &World) -> Facts {
    Facts {
        history: world.history.clone(),
        committed: world.durable.clone(),
        committed_at: world.durable_at.clone(),
        healed_at: world.healed_at,
        heal_ms: world.params.heal_ms,
        end: world.now,
        calm: world.params.plan.is_calm(),
        clients: world.clients.len(),
        faults: world.faults.clone(),
        leaders: world.leaders.clone(),
        conn_nodes: world.conn_nodes.clone(),
        // Servers are ids 1..=n in order: index = id - 1.
        observers: world
            .params
            .config
            .servers
            .iter()
            .enumerate()
            .filter(|(_, s)| s.peer_type == rzk_core::config::PeerType::Observer)
            .map(|(i, _)| i)
            .collect(),
        servers: (0..world.node_count())
            .map(|n| world.node_tree(n).map(ServerEnd::of))
            .collect(),
        violations: world.violations.clone(),
    }
}
