//! Every server's tree at the end is the committed history replayed up to its last zxid (same digest), and
//! the healed servers converge to one tree. A server that applied a txn the others did not commit, applied
//! one twice, or missed one, ends with another digest.

use std::collections::BTreeMap;

use rzk_core::tree::DataTree;
use rzk_core::Zxid;

use crate::facts::Facts;

pub fn check(facts: &Facts) -> Vec<String> {
    let mut v = Vec::new();
    let ends: Vec<(usize, Zxid, u64)> = facts
        .servers
        .iter()
        .enumerate()
        .filter_map(|(n, end)| end.as_ref().map(|e| (n, e.last_zxid, e.digest)))
        .collect();
    // Replay the committed history once, noting the digest at each zxid a server ends at.
    let wanted: BTreeMap<Zxid, ()> = ends.iter().map(|(_, z, _)| (*z, ())).collect();
    let mut digests: BTreeMap<Zxid, u64> = BTreeMap::new();
    let mut tree = DataTree::new();
    if wanted.contains_key(&0) {
        digests.insert(0, tree.digest());
    }
    let last_wanted = wanted.keys().next_back().copied().unwrap_or(0);
    for (z, t) in facts.committed.range(..=last_wanted) {
        tree.apply(&t.header, &t.txn);
        if wanted.contains_key(z) {
            digests.insert(*z, tree.digest());
        }
    }
    for (n, z, digest) in &ends {
        match digests.get(z) {
            Some(d) if d == digest => {}
            Some(_) => v.push(format!(
                "trees: node {n}'s tree at 0x{z:x} differs from the committed history replayed to 0x{z:x}"
            )),
            None => v.push(format!(
                "trees: node {n} ends at 0x{z:x}, which is not in the committed history"
            )),
        }
    }
    // After the heal and a quiet end, every server holds the same tree.
    if facts.healed_at > 0 {
        if let (Some(first), Some(diverged)) = (
            ends.first(),
            ends.iter().find(|e| (e.1, e.2) != (ends[0].1, ends[0].2)),
        ) {
            v.push(format!(
                "trees: servers do not converge: node {} ends at 0x{:x}, node {} at 0x{:x} (or another tree)",
                first.0, first.1, diverged.0, diverged.1
            ));
        }
    }
    v
}
