//! A black-box linearizability check (Wing & Gong's search with Lowe's memoization, as Porcupine does),
//! partitioned per znode, over client-observed values only: it trusts no version, zxid or stat a server
//! reports, and models each key as a register whose versions it computes itself.
//!
//! Writes and sync-reads are checked; plain reads may be stale in ZooKeeper and are checked elsewhere
//! against the committed history.

use std::collections::{BTreeMap, HashSet};

use rzk_core::proto::ErrorCode;
use rzk_core::Data;

use crate::facts::Facts;
use crate::history::{Extended, OpKind, Outcome};

/// The register: absent, or a value with its version.
type State = Option<(Data, i32)>;

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
    Create(Data),
    Set(Data, i32),
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
        (RegKind::Set(_, want), Some((_, ver)))
            if err == Some(BadVersion) && *want != -1 && want != ver =>
        {
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
/// Depth-first search with an explicit stack (histories have thousands of ops per key). Ops are sorted by
/// invocation; everything before the first op not yet linearized is done, and only ops invoked before the
/// earliest pending completion can go next, so the search only ever looks at a small window, and the memo
/// of visited (linearized set, state) pairs stores just that window.
pub fn check_register(ops: &[RegOp], budget: u64) -> Option<bool> {
    struct Frame {
        cands: Vec<(usize, State)>,
        pos: usize,
        /// The op (position in `sorted`) whose linearization (or dropping) led here.
        via: Option<usize>,
    }
    let mut sorted: Vec<&RegOp> = ops.iter().collect();
    sorted.sort_by_key(|o| (o.invoke, o.complete));
    let n = sorted.len();
    let mut done = vec![false; n];
    let mut first = 0usize;
    let mut known_left = sorted.iter().filter(|o| o.complete != u64::MAX).count();
    if known_left == 0 {
        return Some(true);
    }
    // Candidate steps from `state`: ops invoked before every pending op completed, applied or (if lost) dropped.
    let candidates = |done: &[bool], first: usize, state: &State| -> Vec<(usize, State)> {
        let mut horizon = u64::MAX;
        let mut c = Vec::new();
        for i in first..n {
            if done[i] {
                continue;
            }
            if sorted[i].invoke > horizon {
                break;
            }
            horizon = horizon.min(sorted[i].complete);
        }
        for i in first..n {
            if done[i] {
                continue;
            }
            if sorted[i].invoke > horizon {
                break;
            }
            if let Some(next) = step(state, sorted[i]) {
                c.push((i, next));
            }
            if sorted[i].complete == u64::MAX {
                c.push((i, state.clone()));
            }
        }
        c
    };
    // Everything before `first` is done; the other `total - first` done ops lie just after it.
    let key =
        |done: &[bool], first: usize, total: usize, state: &State| -> (usize, Vec<u64>, State) {
            let mut bits = Vec::new();
            let mut left = total - first;
            let mut i = first;
            while left > 0 {
                if (i - first).is_multiple_of(64) {
                    bits.push(0u64);
                }
                if done[i] {
                    bits[(i - first) / 64] |= 1 << ((i - first) % 64);
                    left -= 1;
                }
                i += 1;
            }
            (first, bits, state.clone())
        };
    let mut total = 0usize;
    let mut seen: HashSet<(usize, Vec<u64>, State)> = HashSet::new();
    seen.insert(key(&done, first, total, &None));
    let mut stack = vec![Frame {
        cands: candidates(&done, first, &None),
        pos: 0,
        via: None,
    }];
    let mut steps = 0u64;
    while let Some(top) = stack.last_mut() {
        steps += 1;
        if steps > budget {
            return None;
        }
        if top.pos < top.cands.len() {
            let (i, next) = top.cands[top.pos].clone();
            top.pos += 1;
            done[i] = true;
            total += 1;
            if sorted[i].complete != u64::MAX {
                known_left -= 1;
            }
            if known_left == 0 {
                return Some(true);
            }
            let old_first = first;
            while first < n && done[first] {
                first += 1;
            }
            if seen.insert(key(&done, first, total, &next)) {
                let cands = candidates(&done, first, &next);
                stack.push(Frame {
                    cands,
                    pos: 0,
                    via: Some(i),
                });
            } else {
                done[i] = false;
                total -= 1;
                first = old_first.min(i);
                if sorted[i].complete != u64::MAX {
                    known_left += 1;
                }
            }
        } else {
            let via = top.via;
            stack.pop();
            if let Some(i) = via {
                done[i] = false;
                total -= 1;
                first = first.min(i);
                if sorted[i].complete != u64::MAX {
                    known_left += 1;
                }
            }
        }
    }
    Some(false)
}

pub fn check(facts: &Facts) -> Vec<String> {
    let mut per_key: BTreeMap<&str, Vec<RegOp>> = BTreeMap::new();
    for r in &facts.history.ops {
        let (path, kind) = match &r.op {
            OpKind::Create {
                path,
                value,
                ephemeral: false,
                sequential: false,
                extended: Extended::None,
            } if path.starts_with("/k") => (path, RegKind::Create(value.clone())),
            OpKind::Set {
                path,
                value,
                version,
            } if path.starts_with("/k") => (path, RegKind::Set(value.clone(), *version)),
            OpKind::Delete { path, version } if path.starts_with("/k") => {
                (path, RegKind::Delete(*version))
            }
            OpKind::SyncGet { path } => (path, RegKind::Read),
            _ => continue,
        };
        // Errors that say nothing about the register (the request never reached the tree).
        if matches!(r.outcome, Outcome::Err(e) if matches!(e, ErrorCode::SessionExpired | ErrorCode::MarshallingError | ErrorCode::ConnectionLoss))
        {
            continue;
        }
        let complete = if matches!(r.outcome, Outcome::Lost) {
            u64::MAX
        } else {
            r.complete
        };
        per_key.entry(path).or_default().push(RegOp {
            invoke: r.invoke,
            complete,
            kind,
            outcome: r.outcome.clone(),
        });
    }
    let mut v = Vec::new();
    for (key, ops) in per_key {
        if check_register(&ops, 500_000) == Some(false) {
            v.push(format!(
                "linearizability: the history of {key} ({} ops) has no linearization",
                ops.len()
            ));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::OkValue;

    fn op(invoke: u64, complete: u64, kind: RegKind, outcome: Outcome) -> RegOp {
        RegOp {
            invoke,
            complete,
            kind,
            outcome,
        }
    }

    fn read(v: &'static str) -> Outcome {
        Outcome::Ok(OkValue {
            data: Some(Data::from_static(v.as_bytes())),
            ..OkValue::default()
        })
    }

    fn ok() -> Outcome {
        Outcome::Ok(OkValue::default())
    }

    #[test]
    fn sequential_history_is_linearizable() {
        let ops = vec![
            op(0, 1, RegKind::Create(Data::from_static(b"a")), ok()),
            op(2, 3, RegKind::Read, read("a")),
            op(4, 5, RegKind::Set(Data::from_static(b"b"), 0), ok()),
            op(6, 7, RegKind::Read, read("b")),
        ];
        assert_eq!(check_register(&ops, 10_000), Some(true));
    }

    #[test]
    fn stale_read_after_acknowledged_write_is_caught() {
        let ops = vec![
            op(0, 1, RegKind::Create(Data::from_static(b"a")), ok()),
            op(2, 3, RegKind::Set(Data::from_static(b"b"), -1), ok()),
            op(4, 5, RegKind::Read, read("a")),
        ];
        assert_eq!(check_register(&ops, 10_000), Some(false));
    }

    #[test]
    fn concurrent_ops_may_linearize_either_way_and_lost_ops_may_vanish() {
        let ops = vec![
            op(0, 10, RegKind::Create(Data::from_static(b"a")), ok()),
            op(1, 9, RegKind::Read, Outcome::Err(ErrorCode::NoNode)),
            op(
                11,
                u64::MAX,
                RegKind::Set(Data::from_static(b"x"), -1),
                Outcome::Lost,
            ),
            op(20, 21, RegKind::Read, read("a")),
        ];
        assert_eq!(check_register(&ops, 10_000), Some(true));
    }

    #[test]
    fn lost_write_seen_later_is_fine_but_bad_version_needs_a_mismatch() {
        let ops = vec![
            op(0, 1, RegKind::Create(Data::from_static(b"a")), ok()),
            op(
                2,
                u64::MAX,
                RegKind::Set(Data::from_static(b"x"), -1),
                Outcome::Lost,
            ),
            op(10, 11, RegKind::Read, read("x")),
            op(12, 13, RegKind::Set(Data::from_static(b"y"), 1), ok()),
            op(
                14,
                15,
                RegKind::Set(Data::from_static(b"z"), 2),
                Outcome::Err(ErrorCode::BadVersion),
            ),
        ];
        assert_eq!(
            check_register(&ops, 10_000),
            Some(false),
            "version 2 matches after two sets"
        );
    }
}
