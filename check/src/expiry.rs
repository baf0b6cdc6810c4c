//! Sessions expire only when their clients stop keeping them alive.
//!
//! Every quiet stretch of every run is checked: a session the servers expired (a server-issued close has
//! cxid 0; the simulated clients never close their sessions themselves) is a violation if, for two session
//! timeouts before the expiry committed, its client held it on one connection to one server, one leader was
//! established throughout, and no fault touched that server, the leader, the link between them, the
//! connection or the network. Clients go idle now and then (only pings keep their sessions alive), so a
//! leader that ignores the session activity its followers report is caught.
//!
//! And in a calm run (no fault planned: [`crate::Facts::calm`]) no session may be expired before the heal
//! at all.

use rzk_core::txn::Txn;

use crate::facts::{Facts, Touched};

pub fn check(facts: &Facts) -> Vec<String> {
    let mut v = Vec::new();
    let calm = facts.calm;
    for (zxid, t) in &facts.committed {
        if !matches!(t.txn, Txn::CloseSession) || t.header.cxid != 0 {
            continue;
        }
        let session = t.header.session_id;
        let at = facts.committed_at.get(zxid).copied().unwrap_or(0);
        let before_heal = facts.healed_at == 0 || at < facts.healed_at;
        if calm && before_heal {
            v.push(format!(
                "expiry: session 0x{session:x} was expired at zxid 0x{zxid:x} ({at} ms) in a calm run, while its client kept it alive"
            ));
            continue;
        }
        if let Some(stretch) = quiet_stretch(facts, session, at) {
            v.push(format!(
                "expiry: session 0x{session:x} was expired at zxid 0x{zxid:x} ({at} ms) after a quiet stretch \
                 ({stretch}) in which its client kept it alive"
            ));
        }
    }
    v
}

/// Describes the quiet stretch before `at` in which `session`'s client kept it alive, if there was one.
fn quiet_stretch(facts: &Facts, session: i64, at: u64) -> Option<String> {
    let &(client, _, timeout, _) = facts.history.sessions.iter().find(|s| s.1 == session)?;
    let from = at.checked_sub(2 * timeout.max(1) as u64)?;
    let span = facts
        .history
        .connected
        .iter()
        .find(|c| c.session == session && c.from <= from && c.to.is_none_or(|to| to >= at))?;
    let node = *facts.conn_nodes.get(&span.conn)?;
    // One established leader throughout.
    let changes = &facts.leaders;
    let i = changes.partition_point(|(t, _)| *t <= from);
    let leader = changes.get(i.checked_sub(1)?)?.1?;
    if changes.get(i).is_some_and(|(t, _)| *t <= at) {
        return None;
    }
    let touched = facts.faults.iter().any(|f| {
        f.from <= at
            && f.to >= from
            && match f.touched {
                Touched::Node(m) => m == node || m == leader,
                Touched::Link(a, b) => (a.min(b), a.max(b)) == (node.min(leader), node.max(leader)),
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
