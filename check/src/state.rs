//! Every read returns the tree as it was at its reply's zxid, and every write's reply matches the state its
//! txn produced (ZooKeeper's sequential consistency, checked against the committed history).

use rzk_core::proto::ErrorCode;

use super::Replay;
use crate::facts::Facts;
use crate::history::{OpKind, Outcome};

pub fn check(facts: &Facts, replay: &Replay) -> Vec<String> {
    let mut v = Vec::new();
    // Sequential names come from a counter that never goes back: no two creates get the same name (the
    // counter never goes back, even when sequential nodes go: ephemeral and TTL ones), and a sequential
    // create never collides.
    let mut seq_names = std::collections::BTreeMap::new();
    for (i, r) in facts.history.ops.iter().enumerate() {
        if let OpKind::Create {
            sequential: true, ..
        } = r.op
        {
            match &r.outcome {
                Outcome::Ok(ok) => {
                    if let Some(prev) = ok
                        .path
                        .as_ref()
                        .and_then(|p| seq_names.insert(p.clone(), i))
                    {
                        v.push(format!(
                            "sequential: ops #{prev} and #{i} both created {:?}",
                            ok.path
                        ));
                    }
                }
                Outcome::Err(ErrorCode::NodeExists) => {
                    v.push(format!(
                        "sequential: op #{i} {:?} failed with NodeExists",
                        r.op
                    ));
                }
                _ => {}
            }
        }
    }
    for (i, r) in facts.history.ops.iter().enumerate() {
        let Some(z) = r.zxid else { continue };
        let bad = |what: String| {
            format!(
                "read/write state: op #{i} {:?} at zxid 0x{z:x}: {what}",
                r.op
            )
        };
        match (&r.op, &r.outcome) {
            (OpKind::Get { path, .. } | OpKind::SyncGet { path }, Outcome::Ok(ok)) => {
                let want = replay.state_at(path, z);
                let got = ok.data.clone().zip(ok.version);
                if want != got {
                    v.push(bad(format!("returned {got:?}, the tree held {want:?}")));
                }
            }
            (
                OpKind::Get { path, .. } | OpKind::SyncGet { path } | OpKind::Exists { path, .. },
                Outcome::Err(ErrorCode::NoNode),
            ) => {
                if let Some(s) = replay.state_at(path, z) {
                    v.push(bad(format!("said NoNode, the tree held {s:?}")));
                }
            }
            (OpKind::Exists { path, .. }, Outcome::Ok(ok)) => match replay.state_at(path, z) {
                Some((_, version)) if Some(version) == ok.version => {}
                other => v.push(bad(format!(
                    "said exists with version {:?}, the tree held {other:?}",
                    ok.version
                ))),
            },
            (OpKind::Set { path, value, .. }, Outcome::Ok(ok)) => {
                let want = Some((value.clone(), ok.version.unwrap_or(-1)));
                if replay.state_at(path, z) != want {
                    v.push(bad(format!(
                        "set returned version {:?}, the tree held {:?}",
                        ok.version,
                        replay.state_at(path, z)
                    )));
                }
            }
            // The server sets a quota's stats node from the subtree when it is created (tree/quota.rs).
            (
                OpKind::Create {
                    path,
                    sequential: false,
                    ..
                },
                Outcome::Ok(_),
            ) if path.ends_with(rzk_core::tree::STATS_NODE)
                && !matches!(replay.state_at(path, z), Some((_, 0))) =>
            {
                v.push(bad(format!(
                    "created, but the tree held {:?}",
                    replay.state_at(path, z)
                )));
            }
            (
                OpKind::Create {
                    path,
                    value,
                    sequential: false,
                    ..
                },
                Outcome::Ok(_),
            ) if !path.ends_with(rzk_core::tree::STATS_NODE)
                && replay.state_at(path, z) != Some((value.clone(), 0)) =>
            {
                v.push(bad(format!(
                    "created, but the tree held {:?}",
                    replay.state_at(path, z)
                )));
            }
            _ => {}
        }
    }
    v
}
