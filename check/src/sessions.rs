//! A session never sees zxids go back, not even across reconnects to other servers.

use std::collections::BTreeMap;

use crate::facts::Facts;

pub fn check(facts: &Facts) -> Vec<String> {
    let mut v = Vec::new();
    let mut by_session: BTreeMap<i64, Vec<(u64, usize, i64)>> = BTreeMap::new();
    for (i, r) in facts.history.ops.iter().enumerate() {
        if let (Some(z), true) = (r.zxid, r.session != 0) {
            by_session
                .entry(r.session)
                .or_default()
                .push((r.complete, i, z));
        }
    }
    for (session, mut seen) in by_session {
        seen.sort();
        for w in seen.windows(2) {
            if w[1].2 < w[0].2 {
                let (a, b) = (&facts.history.ops[w[0].1], &facts.history.ops[w[1].1]);
                v.push(format!(
                    "session order: session 0x{session:x} saw zxid 0x{:x} (op #{} {:?} on conn {}) after 0x{:x} (op #{} {:?} on conn {})",
                    w[1].2, w[1].1, b.op, b.conn, w[0].2, w[0].1, a.op, a.conn
                ));
                break;
            }
        }
    }
    v
}
