//! Ephemerals of an ended session vanish everywhere: no running server holds an ephemeral whose owner is not
//! a live session, or whose session a client was told had expired.

use crate::facts::Facts;

pub fn check(facts: &Facts) -> Vec<String> {
    let mut v = Vec::new();
    for (n, end) in facts.servers.iter().enumerate() {
        let Some(end) = end else {
            continue;
        };
        if let Err(e) = &end.invariants {
            v.push(format!("tree invariants on node {n}: {e}"));
        }
        for (session, paths) in &end.ephemerals {
            if !end.sessions.contains(session) {
                v.push(format!(
                    "ephemerals: node {n} holds {paths:?} of ended session 0x{session:x}"
                ));
            }
        }
        for s in &facts.history.expired_sessions {
            if end.sessions.contains(s) && facts.healed_at > 0 {
                // The client was told the session expired, yet the server still counts it live.
                v.push(format!(
                    "ephemerals: node {n} still has session 0x{s:x} that a client saw expire"
                ));
            }
        }
    }
    v
}
