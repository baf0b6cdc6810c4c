//! Progress under faults: while a fault cuts servers off (a partition, a crashed, paused or isolated
//! server), the voters that can still reach each other, if they are a majority, keep committing. Zab
//! promises that much (a quorum elects a leader and commits), and it is what an operator means by "a
//! minority failure does not stop the service".
//!
//! The run is cut into stretches in which the same faults hold (a partition's cut links, crashed, paused,
//! isolated or otherwise touched servers; or none at all). In every stretch long enough to matter
//! ([`PROGRESS_BOUND_MS`] plus a window), the connected majority is computed with every touched link cut
//! and every touched server gone; if one exists and a client sent a write to one of its servers inside the
//! window, some txn must commit inside the window. A stretch in which every link is touched (slow or
//! delayed packets) makes no claim. The bound is generous (an election, a sync and a loaded machine fit in
//! it): safety is strict, liveness generous.

use std::collections::BTreeSet;

use crate::facts::{Facts, Touched};

/// How long a connected majority may take, after a fault starts, to commit again.
pub const PROGRESS_BOUND_MS: u64 = 10_000;

/// The least window (after the bound, before the fault ends) worth checking.
const WINDOW_MS: u64 = 2_000;

pub fn check(facts: &Facts) -> Vec<String> {
    evaluate(facts).0
}

/// How many stretches of the run the check held to progress (a connected majority, written to).
pub fn stretches_checked(facts: &Facts) -> usize {
    evaluate(facts).1
}

fn evaluate(facts: &Facts) -> (Vec<String>, usize) {
    let mut v = Vec::new();
    let mut checked = 0;
    let voters: Vec<usize> = (0..facts.servers.len())
        .filter(|n| !facts.observers.contains(n))
        .collect();
    if voters.is_empty() {
        return (v, 0);
    }
    for (from, to, active) in stretches(facts) {
        let (start, end) = (from + PROGRESS_BOUND_MS, to);
        if end < start + WINDOW_MS || active.contains(&Touched::Network) {
            // Too short, or every link touched (slow or delayed packets): no claim.
            continue;
        }
        let Some(majority) = connected_majority(&voters, &active) else {
            continue;
        };
        let asked = facts.history.ops.iter().any(|r| {
            r.op.is_write()
                && r.invoke >= start
                && r.invoke + WINDOW_MS / 2 <= end
                && facts
                    .conn_nodes
                    .get(&r.conn)
                    .is_some_and(|n| majority.contains(n))
        });
        if asked {
            checked += 1;
        }
        let committed = facts
            .committed_at
            .values()
            .any(|&at| at >= start && at <= end);
        if asked && !committed {
            v.push(format!(
                "no progress: servers {majority:?} (a connected majority) committed nothing between {start} ms \
                 and {end} ms, while the same faults ({active:?}) held from {from} ms, though clients wrote to them"
            ));
        }
    }
    (v, checked)
}

/// The run cut where any lasting fault starts or ends: each stretch with the faults active throughout it.
/// Instants (a connection reset, a clock jump) and client connection faults are left out: neither stops
/// a majority for long.
fn stretches(facts: &Facts) -> Vec<(u64, u64, Vec<Touched>)> {
    let lasting: Vec<_> = facts
        .faults
        .iter()
        .filter(|f| f.to > f.from && !matches!(f.touched, Touched::Conn(_)))
        .collect();
    let mut points: Vec<u64> = lasting.iter().flat_map(|f| [f.from, f.to]).collect();
    points.extend([0, facts.end]);
    points.sort();
    points.dedup();
    let mut out: Vec<(u64, u64, Vec<Touched>)> = Vec::new();
    for w in points.windows(2) {
        let (a, b) = (w[0], w[1]);
        let mut active: Vec<Touched> = lasting
            .iter()
            .filter(|f| f.from <= a && f.to > a)
            .map(|f| f.touched)
            .collect();
        active.sort_by_key(key);
        active.dedup();
        match out.last_mut() {
            Some(last) if last.2 == active && last.1 == a => last.1 = b,
            _ => out.push((a, b, active)),
        }
    }
    out
}

fn key(t: &Touched) -> (u8, u64, u64) {
    match *t {
        Touched::Node(n) => (0, n as u64, 0),
        Touched::Link(a, b) => (1, a.min(b) as u64, a.max(b) as u64),
        Touched::Conn(c) => (2, c, 0),
        Touched::Network => (3, 0, 0),
    }
}

/// The voters still connected to each other that form a majority of all voters, if any.
fn connected_majority(voters: &[usize], touched: &[Touched]) -> Option<BTreeSet<usize>> {
    let gone: BTreeSet<usize> = touched
        .iter()
        .filter_map(|t| match t {
            Touched::Node(n) => Some(*n),
            _ => None,
        })
        .collect();
    let cut = |a: usize, b: usize| {
        touched
            .iter()
            .any(|t| matches!(*t, Touched::Link(x, y) if (x, y) == (a, b) || (y, x) == (a, b)))
    };
    let mut seen = BTreeSet::new();
    for &root in voters.iter().filter(|n| !gone.contains(n)) {
        if seen.contains(&root) {
            continue;
        }
        let mut component = BTreeSet::from([root]);
        let mut stack = vec![root];
        while let Some(a) = stack.pop() {
            for &b in voters {
                if !gone.contains(&b) && !component.contains(&b) && !cut(a, b) {
                    component.insert(b);
                    stack.push(b);
                }
            }
        }
        seen.extend(component.iter().copied());
        if component.len() * 2 > voters.len() {
            return Some(component);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_connected_majority() {
        let voters = [0, 1, 2, 3, 4];
        // 0,1 | 2,3,4
        let split: Vec<Touched> = [(0, 2), (0, 3), (0, 4), (1, 2), (1, 3), (1, 4)]
            .iter()
            .map(|&(a, b)| Touched::Link(a, b))
            .collect();
        assert_eq!(
            connected_majority(&voters, &split),
            Some(BTreeSet::from([2, 3, 4]))
        );
        // A ring of 5 stays connected.
        let ring: Vec<Touched> = [(0, 2), (0, 3), (1, 3), (1, 4), (2, 4)]
            .iter()
            .map(|&(a, b)| Touched::Link(a, b))
            .collect();
        assert_eq!(connected_majority(&voters, &ring).map(|c| c.len()), Some(5));
        // Two of three gone: no majority.
        assert_eq!(
            connected_majority(&[0, 1, 2], &[Touched::Node(0), Touched::Node(1)]),
            None
        );
        assert_eq!(
            connected_majority(&[0, 1, 2], &[Touched::Node(2)]),
            Some(BTreeSet::from([0, 1]))
        );
    }
}
