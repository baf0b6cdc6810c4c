//! Sessions expire only when their clients stop keeping them alive. In a calm run (see
//! [`crate::faults::FaultPlan::is_calm`]) every client pings in time through a serving server, so before the
//! heal (which restarts every server) no session may be expired by the servers. A server-issued close has
//! cxid 0; the simulated clients never close their sessions themselves.

use rzk_core::txn::Txn;

use crate::world::World;

pub fn check(world: &World) -> Vec<String> {
    let mut v = Vec::new();
    if !world.params.plan.is_calm() {
        return v;
    }
    for (zxid, t) in &world.durable {
        let at = world.durable_at.get(zxid).copied().unwrap_or(0);
        let before_heal = world.healed_at == 0 || at < world.healed_at;
        if matches!(t.txn, Txn::CloseSession) && t.header.cxid == 0 && before_heal {
            v.push(format!(
                "expiry: session 0x{:x} was expired at zxid 0x{zxid:x} ({at} ms) in a calm run, while its client kept it alive",
                t.header.session_id
            ));
        }
    }
    v
}
