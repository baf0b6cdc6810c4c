//! A black-box linearizability check (Wing & Gong's search with Lowe's memoization, as Porcupine does),
//! partitioned per znode, over client-observed values only: it trusts no version, zxid or stat a server
//! reports, and models each key as a register whose versions it computes itself.
//!
//! Writes and sync-reads are checked; plain reads may be stale in ZooKeeper and are checked elsewhere
//! against the committed history.

use std::collections::{BTreeMap, HashSet};

use bytes::Bytes;
use rzk_core::proto::ErrorCode;

use crate::history::{OpKind, Outcome};
use crate::world::World;

/// The register: absent, or a value with its version.
type State = Option<(Bytes, i32)>;

/// One operation on a key as the checker sees it.
#[derive(Debug, Clone)]
pub struct RegOp {
    pub invoke: u64,
    /// `u64::MAX` when the outcome is unknown.
    pub complete: u64,
    pub kind: RegKind,
    pub outcome: Outcome,
}

#[derive(Debug, Clone)]
pub enum RegKind {
    Create(Bytes),
    Set(Bytes, i32),
    Delete(i32),
    Read,
}

/// Applies `op` to `s`: the new state if the op could have returned its observed outcome from `s`.
/// A lost op may take effect (any success) or not at all; not-at-all is handled by the search.
fn step(s: &State, op: &RegOp) -> Option<State> {
    use ErrorCode::*;
    let lost = matches!(op.outcome, Outcome::Lost);
    let ok = matches!(op.outcome, Outcome::Ok(_)) || lost;
    let err = match &op.outcome {
        Outcome::Err(e) => Some(*e),
        _ => None,
    };
    match (&op.kind, s) {
        (RegKind::Create(v), None) if ok => Some(Some((v.clone(), 0))),
        (RegKind::Create(_), Some(_)) if err == Some(NodeExists) => Some(s.clone()),
        (RegKind::Set(v, want), Some((_, ver))) if ok && (*want == -1 || want == ver) => {
            Some(Some((v.clone(), ver + 1)))
        }
        (RegKind::Set(_, want), Some((_, ver))) if err == Some(BadVersion) && *want != -1 && want != ver => {
            Some(s.clone())
        }
        (RegKind::Set(..), None) if err == Some(NoNode) => Some(None),
        (RegKind::Delete(want), Some((_, ver))) if ok && (*want == -1 || want == ver) => Some(None),
        (RegKind::Delete(_), None) if err == Some(NoNode) => Some(None),
        (RegKind::Read, _) if lost => Some(s.clone()),
        (RegKind::Read, None) if err == Some(NoNode) => Some(None),
        (RegKind::Read, Some((v, _))) => match &op.outcome {
            Outcome::Ok(ok) if ok.data.as_ref() == Some(v) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Whether the history of one register is linearizable from the initial state `None`.
/// `budget` bounds the search; `None` means it ran out (inconclusive, not a violation).
///
/// Depth-first search with an explicit stack (histories have thousands of ops per key): each frame is a
/// state reached by linearizing some set of ops, with the candidate next steps from there.
pub fn check_register(ops: &[RegOp], budget: u64) -> Option<bool> {
    struct Frame {
        cands: Vec<(usize, State)>,
        pos: usize,
        /// The op whose linearization (or dropping) led here.
        via: Option<usize>,
    }
    let n = ops.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (ops[i].invoke, ops[i].complete));
    let mut done = vec![0u64; n.div_ceil(64).max(1)];
    let mut known_left = ops.iter().filter(|o| o.complete != u64::MAX).count();
    let mut seen: HashSet<(Vec<u64>, State)> = HashSet::new();
    let is_done = |done: &[u64], i: usize| done[i / 64] & (1 << (i % 64)) != 0;
    // Candidate steps from `state`: ops invoked before every pending op completed, applied or (lost) dropped.
    let candidates = |done: &[u64], state: &State| -> Vec<(usize, State)> {
        let horizon = order.iter().filter(|&&i| !is_done(done, i)).map(|&i| ops[i].complete).min().unwrap_or(u64::MAX);
        let mut c = Vec::new();
        for &i in &order {
            if is_done(done, i) {
                continue;
            }
            if ops[i].invoke > horizon {
                break;
            }
            if let Some(next) = step(state, &ops[i]) {
                c.push((i, next));
            }
            if ops[i].complete == u64::MAX {
                c.push((i, state.clone()));
            }
        }
        c
    };
    if known_left == 0 {
        return Some(true);
    }
    seen.insert((done.clone(), None));
    let mut stack = vec![Frame { cands: candidates(&done, &None), pos: 0, via: None }];
    let mut steps = 0u64;
    while let Some(top) = stack.last_mut() {
        steps += 1;
        if steps > budget {
            return None;
        }
        if top.pos < top.cands.len() {
            let (i, next) = top.cands[top.pos].clone();
            top.pos += 1;
            done[i / 64] |= 1 << (i % 64);
            if ops[i].complete != u64::MAX {
                known_left -= 1;
            }
            if known_left == 0 {
                return Some(true);
            }
            if seen.insert((done.clone(), next.clone())) {
                let cands = candidates(&done, &next);
                stack.push(Frame { cands, pos: 0, via: Some(i) });
            } else {
                done[i / 64] &= !(1 << (i % 64));
                if ops[i].complete != u64::MAX {
                    known_left += 1;
                }
            }
        } else {
            let via = top.via;
            stack.pop();
            if let Some(i) = via {
                done[i / 64] &= !(1 << (i % 64));
                if ops[i].complete != u64::MAX {
                    known_left += 1;
                }
            }
        }
    }
    Some(false)
}

pub fn check(world: &World) -> Vec<String> {
    let mut per_key: BTreeMap<&str, Vec<RegOp>> = BTreeMap::new();
    for r in &world.history.ops {
        let (path, kind) = match &r.op {
            OpKind::Create { path, value, ephemeral: false, sequential: false } if path.starts_with("/k") => {
                (path, RegKind::Create(value.clone()))
            }
            OpKind::Set { path, value, version } if path.starts_with("/k") => (path, RegKind::Set(value.clone(), *version)),
            OpKind::Delete { path, version } if path.starts_with("/k") => (path, RegKind::Delete(*version)),
            OpKind::SyncGet { path } => (path, RegKind::Read),
            _ => continue,
        };
        // Errors that say nothing about the register (the request never reached the tree).
        if matches!(r.outcome, Outcome::Err(e) if matches!(e, ErrorCode::SessionExpired | ErrorCode::MarshallingError | ErrorCode::ConnectionLoss)) {
            continue;
        }
        let complete = if matches!(r.outcome, Outcome::Lost) { u64::MAX } else { r.complete };
        per_key.entry(path).or_default().push(RegOp { invoke: r.invoke, complete, kind, outcome: r.outcome.clone() });
    }
    let mut v = Vec::new();
    for (key, ops) in per_key {
        if check_register(&ops, 2_000_000) == Some(false) {
            v.push(format!("linearizability: the history of {key} ({} ops) has no linearization", ops.len()));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::OkValue;

    fn op(invoke: u64, complete: u64, kind: RegKind, outcome: Outcome) -> RegOp {
        RegOp { invoke, complete, kind, outcome }
    }

    fn read(v: &'static str) -> Outcome {
        Outcome::Ok(OkValue { data: Some(Bytes::from_static(v.as_bytes())), ..OkValue::default() })
    }

    fn ok() -> Outcome {
        Outcome::Ok(OkValue::default())
    }

    #[test]
    fn sequential_history_is_linearizable() {
        let ops = vec![
            op(0, 1, RegKind::Create(Bytes::from_static(b"a")), ok()),
            op(2, 3, RegKind::Read, read("a")),
            op(4, 5, RegKind::Set(Bytes::from_static(b"b"), 0), ok()),
            op(6, 7, RegKind::Read, read("b")),
        ];
        assert_eq!(check_register(&ops, 10_000), Some(true));
    }

    #[test]
    fn stale_read_after_acknowledged_write_is_caught() {
        let ops = vec![
            op(0, 1, RegKind::Create(Bytes::from_static(b"a")), ok()),
            op(2, 3, RegKind::Set(Bytes::from_static(b"b"), -1), ok()),
            op(4, 5, RegKind::Read, read("a")),
        ];
        assert_eq!(check_register(&ops, 10_000), Some(false));
    }

    #[test]
    fn concurrent_ops_may_linearize_either_way_and_lost_ops_may_vanish() {
        let ops = vec![
            op(0, 10, RegKind::Create(Bytes::from_static(b"a")), ok()),
            op(1, 9, RegKind::Read, Outcome::Err(ErrorCode::NoNode)),
            op(11, u64::MAX, RegKind::Set(Bytes::from_static(b"x"), -1), Outcome::Lost),
            op(20, 21, RegKind::Read, read("a")),
        ];
        assert_eq!(check_register(&ops, 10_000), Some(true));
    }

    #[test]
    fn lost_write_seen_later_is_fine_but_bad_version_needs_a_mismatch() {
        let ops = vec![
            op(0, 1, RegKind::Create(Bytes::from_static(b"a")), ok()),
            op(2, u64::MAX, RegKind::Set(Bytes::from_static(b"x"), -1), Outcome::Lost),
            op(10, 11, RegKind::Read, read("x")),
            op(12, 13, RegKind::Set(Bytes::from_static(b"y"), 1), ok()),
            op(14, 15, RegKind::Set(Bytes::from_static(b"z"), 2), Outcome::Err(ErrorCode::BadVersion)),
        ];
        assert_eq!(check_register(&ops, 10_000), Some(false), "version 2 matches after two sets");
    }
}
