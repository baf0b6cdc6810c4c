//! Ephemerals of an ended session vanish everywhere: no running server holds an ephemeral whose owner is not
//! a live session, or whose session a client was told had expired.

use crate::world::World;

pub fn check(world: &World) -> Vec<String> {
    let mut v = Vec::new();
    for n in 0..world.node_count() {
        let Some(tree) = world.node_tree(n) else {
            continue;
        };
        if let Err(e) = tree.check_invariants() {
            v.push(format!("tree invariants on node {n}: {e}"));
        }
        for (session, paths) in tree.all_ephemerals() {
            if !tree.sessions().contains_key(&session) {
                let paths: Vec<&str> = paths.collect();
                v.push(format!(
                    "ephemerals: node {n} holds {paths:?} of ended session 0x{session:x}"
                ));
            }
        }
        for s in &world.history.expired_sessions {
            if tree.sessions().contains_key(s) && world.healed_at > 0 {
                // The client was told the session expired, yet the server still counts it live.
                v.push(format!(
                    "ephemerals: node {n} still has session 0x{s:x} that a client saw expire"
                ));
            }
        }
    }
    v
}
