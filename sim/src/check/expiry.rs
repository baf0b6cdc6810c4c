//! Sessions expire only when their clients stop keeping them alive.
//!
//! Every quiet stretch of every run is checked: a session the servers expired (a server-issued close has
//! cxid 0; the simulated clients never close their sessions themselves) is a violation if, for two session
//! timeouts before the expiry committed, its client held it on one connection to one server, one leader was
//! established throughout, and no fault touched that server, the leader, the link between them, the
//! connection or the network. Clients go idle now and then (only pings keep their sessions alive), so a
//! leader that ignores the session activity its followers report is caught.
//!
//! And in a calm run (see [`crate::faults::FaultPlan::is_calm`]) no session may be expired before the heal
//! at all.

use rzk_core::txn::Txn;

use crate::net::key;
use crate::world::{Touched, World};

pub fn check(world: &World) -> Vec<String> {
    let mut v = Vec::new();
    let calm = world.params.plan.is_calm();
    for (zxid, t) in &world.durable {
        if !matches!(t.txn, Txn::CloseSession) || t.header.cxid != 0 {
            continue;
        }
        let session = t.header.session_id;
        let at = world.durable_at.get(zxid).copied().unwrap_or(0);
        let before_heal = world.healed_at == 0 || at < world.healed_at;
        if calm && before_heal {
            v.push(format!(
                "expiry: session 0x{session:x} was expired at zxid 0x{zxid:x} ({at} ms) in a calm run, while its client kept it alive"
            ));
            continue;
        }
        if let Some(stretch) = quiet_stretch(world, session, at) {
            v.push(format!(
                "expiry: session 0x{session:x} was expired at zxid 0x{zxid:x} ({at} ms) after a quiet stretch \
                 ({stretch}) in which its client kept it alive"
            ));
        }
    }
    v
}

/// Describes the quiet stretch before `at` in which `session`'s client kept it alive, if there was one.
fn quiet_stretch(world: &World, session: i64, at: u64) -> Option<String> {
    let &(client, _, timeout, _) = world.history.sessions.iter().find(|s| s.1 == session)?;
    let from = at.checked_sub(2 * timeout.max(1) as u64)?;
    let span = world
        .history
        .connected
        .iter()
        .find(|c| c.session == session && c.from <= from && c.to.is_none_or(|to| to >= at))?;
    let node = *world.conn_nodes.get(&span.conn)?;
    // One established leader throughout.
    let changes = &world.leaders;
    let i = changes.partition_point(|(t, _)| *t <= from);
    let leader = changes.get(i.checked_sub(1)?)?.1?;
    if changes.get(i).is_some_and(|(t, _)| *t <= at) {
        return None;
    }
    let touched = world.faults.iter().any(|f| {
        f.from <= at
            && f.to >= from
            && match f.touched {
                Touched::Node(m) => m == node || m == leader,
                Touched::Link(a, b) => key(a, b) == key(node, leader),
                Touched::Conn(c) => c == span.conn,
                Touched::Network => true,
            }
    });
    (!touched).then(|| {
        format!(
            "client {client} on node {node}, leader node {leader}, {from}..{at} ms, timeout {timeout} ms"
        )
    })
}
