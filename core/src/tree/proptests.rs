//! Random sequences of fitting and non-fitting txns: the tree never panics, keeps its invariants, agrees with
//! a naive model of the same rules, and replaying the same txns rebuilds the same digest. A snapshot (clone)
//! taken part way stays exactly the tree of the txns before it while the live tree goes on changing.

use std::collections::BTreeMap;

use crate::Data;
use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::proto::records::{Acl, Id};
use crate::proto::ErrorCode;
use crate::txn::{Txn, TxnHeader};

const SESSIONS: [i64; 3] = [
    0x0100_0000_0000_0001,
    0x0100_0000_0000_0002,
    0x0200_0000_0000_0003,
];
const PATHS: [&str; 10] = [
    "/a",
    "/b",
    "/a/x",
    "/a/y",
    "/b/x",
    "/a/x/z",
    "/zookeeper/q",
    "/zookeeper",
    "/",
    "bad",
];

fn acl(choice: u8) -> Vec<Acl> {
    let id = |scheme: &str, id: &str| Id {
        scheme: scheme.into(),
        id: id.into(),
    };
    match choice % 3 {
        0 => vec![Acl {
            perms: 31,
            id: id("world", "anyone"),
        }],
        1 => vec![
            Acl {
                perms: 1,
                id: id("world", "anyone"),
            },
            Acl {
                perms: 30,
                id: id("digest", "u:x"),
            },
        ],
        _ => vec![],
    }
}

fn owner(choice: u8) -> i64 {
    match choice % 6 {
        0 | 1 => 0,
        2 => SESSIONS[0],
        3 => SESSIONS[1],
        4 => NodeKind::Container.to_owner(),
        _ => NodeKind::Ttl(1000).to_owner(),
    }
}

fn path() -> impl Strategy<Value = String> {
    prop::sample::select(PATHS.to_vec()).prop_map(str::to_owned)
}

/// Data of a few bytes, empty, or null.
fn data() -> impl Strategy<Value = Data> {
    prop::option::of(prop::collection::vec(any::<u8>(), 0..6).prop_map(Bytes::from))
        .prop_map(Data::from)
}

/// A txn that may appear inside a multi.
fn path_txn() -> impl Strategy<Value = Txn> {
    prop_oneof![
        4 => (path(), data(), any::<u8>(), any::<u8>(), -1i32..6).prop_map(|(path, data, a, o, parent_cversion)| {
            Txn::Create { path, data, acl: acl(a), ephemeral_owner: owner(o), parent_cversion }
        }),
        2 => path().prop_map(|path| Txn::Delete { path }),
        2 => (path(), data(), 0i32..5).prop_map(|(path, data, version)| Txn::SetData { path, data, version }),
        1 => (path(), any::<u8>(), 0i32..5).prop_map(|(path, a, version)| Txn::SetAcl { path, acl: acl(a), version }),
        1 => path().prop_map(|path| Txn::Check { path }),
        1 => prop::sample::select(vec![ErrorCode::NoNode, ErrorCode::BadVersion, ErrorCode::Ok])
            .prop_map(|err| Txn::Error { err }),
    ]
}

fn txn() -> impl Strategy<Value = Txn> {
    prop_oneof![
        10 => path_txn(),
        1 => (1i32..100).prop_map(|timeout| Txn::CreateSession { timeout }),
        1 => Just(Txn::CloseSession),
        3 => prop::collection::vec(path_txn(), 0..4).prop_map(Txn::Multi),
    ]
}

/// One step: the txn, the session issuing it, and how its zxid relates to the last one (0 = next, else stale).
fn steps() -> impl Strategy<Value = Vec<(Txn, usize, u8)>> {
    prop::collection::vec(
        (
            txn(),
            0..SESSIONS.len(),
            prop_oneof![9 => Just(0u8), 1 => 1u8..4],
        ),
        1..60,
    )
}

#[derive(Debug, Clone, PartialEq)]
struct ModelNode {
    data: Data,
    acl: Vec<Acl>,
    version: i32,
    aversion: i32,
    owner: i64,
}

/// The rules restated naively: whole-path maps, multis on a copy.
#[derive(Debug, Clone)]
struct Model {
    nodes: BTreeMap<String, ModelNode>,
    sessions: BTreeMap<i64, i32>,
}

impl Model {
    fn new(tree: &DataTree) -> Model {
        let nodes = tree
            .nodes()
            .map(|(p, n)| {
                let s = n.persisted_stat();
                let node = ModelNode {
                    data: n.data().clone(),
                    acl: n.acl().to_vec(),
                    version: s.version,
                    aversion: s.aversion,
                    owner: s.ephemeral_owner,
                };
                (p.to_owned(), node)
            })
            .collect();
        Model {
            nodes,
            sessions: BTreeMap::new(),
        }
    }

    fn parent(path: &str) -> String {
        crate::proto::path::parent(path).to_owned()
    }

    fn apply(&mut self, session: i64, txn: &Txn) -> Result<(), ErrorCode> {
        match txn {
            Txn::CreateSession { timeout } => {
                self.sessions.insert(session, *timeout);
                Ok(())
            }
            Txn::CloseSession => {
                self.nodes.retain(|_, n| n.owner != session);
                self.sessions.remove(&session);
                Ok(())
            }
            Txn::Error { err } => Err(*err),
            Txn::Multi(subs) => {
                if subs.iter().any(|t| matches!(t, Txn::Error { .. })) {
                    // ZooKeeper's codes: fine sub-txns after an error read RuntimeInconsistency; the multi reports
                    // the first code that is not Ok (`Ok` here marks "failed, but no code").
                    let mut after_error = false;
                    let first = subs.iter().find_map(|t| match t {
                        Txn::Error { err } => {
                            after_error = true;
                            (*err != ErrorCode::Ok).then_some(*err)
                        }
                        _ => after_error.then_some(ErrorCode::RuntimeInconsistency),
                    });
                    return Err(first.unwrap_or(ErrorCode::Ok));
                }
                let mut copy = self.clone();
                for sub in subs {
                    if matches!(
                        sub,
                        Txn::Multi(_) | Txn::CreateSession { .. } | Txn::CloseSession
                    ) {
                        return Err(ErrorCode::BadArguments);
                    }
                    copy.apply(session, sub)?;
                }
                *self = copy;
                Ok(())
            }
            Txn::Create {
                path,
                data,
                acl,
                ephemeral_owner,
                ..
            } => {
                if !path.starts_with('/') || path.ends_with('/') {
                    return Err(ErrorCode::BadArguments);
                }
                let parent = self
                    .nodes
                    .get(&Model::parent(path))
                    .ok_or(ErrorCode::NoNode)?;
                if matches!(NodeKind::from_owner(parent.owner), NodeKind::Ephemeral(_)) {
                    return Err(ErrorCode::NoChildrenForEphemerals);
                }
                if self.nodes.contains_key(path) {
                    return Err(ErrorCode::NodeExists);
                }
                let node = ModelNode {
                    data: data.clone(),
                    acl: acl.clone(),
                    version: 0,
                    aversion: 0,
                    owner: *ephemeral_owner,
                };
                self.nodes.insert(path.clone(), node);
                Ok(())
            }
            Txn::Delete { path } => {
                if path == "/" {
                    return Err(ErrorCode::BadArguments);
                }
                if !self.nodes.contains_key(path) {
                    return Err(ErrorCode::NoNode);
                }
                let prefix = format!("{path}/");
                if self.nodes.keys().any(|k| k.starts_with(&prefix)) {
                    return Err(ErrorCode::NotEmpty);
                }
                self.nodes.remove(path);
                Ok(())
            }
            Txn::SetData {
                path,
                data,
                version,
            } => {
                let n = self.nodes.get_mut(path).ok_or(ErrorCode::NoNode)?;
                n.data = data.clone();
                n.version = *version;
                Ok(())
            }
            Txn::SetAcl { path, acl, version } => {
                let n = self.nodes.get_mut(path).ok_or(ErrorCode::NoNode)?;
                n.acl = acl.clone();
                n.aversion = *version;
                Ok(())
            }
            Txn::Check { path } => self.nodes.get(path).map(|_| ()).ok_or(ErrorCode::NoNode),
        }
    }

    fn matches(&self, tree: &DataTree) -> bool {
        Model::new(tree).nodes == self.nodes && tree.sessions().iter().eq(self.sessions.iter())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_txns_keep_the_tree_consistent(steps in steps(), snap_at in 0usize..60) {
        let mut tree = DataTree::new();
        let mut model = Model::new(&tree);
        let mut log = Vec::new();
        let mut zxid = 0i64;
        // A snapshot taken part way (a clone sharing structure with the live tree): with how many logged txns,
        // and its digest then.
        let mut snapshot = None;
        for (i, (txn, s, stale)) in steps.into_iter().enumerate() {
            if i == snap_at {
                snapshot = Some((tree.clone(), log.len(), tree.digest()));
            }
            let session = SESSIONS[s];
            let z = if stale == 0 { zxid + 1 } else { zxid + 1 - i64::from(stale) };
            let header = TxnHeader { session_id: session, cxid: 0, zxid: z, time: 5000 + z };
            let before = (tree.digest(), tree.node_count(), tree.last_zxid());
            let out = tree.apply(&header, &txn);
            prop_assert_eq!(tree.check_invariants(), Ok(()));
            if stale != 0 {
                prop_assert_eq!(out.err, Some(ErrorCode::RuntimeInconsistency));
                prop_assert_eq!((tree.digest(), tree.node_count(), tree.last_zxid()), before);
                continue;
            }
            zxid = z;
            prop_assert_eq!(tree.last_zxid(), z);
            let expected = model.apply(session, &txn);
            match (&txn, expected) {
                (_, Ok(())) => prop_assert_eq!(out.err, None),
                // A failed multi of only Ok error codes reports no error of its own, as in ZooKeeper.
                (Txn::Multi(_), Err(ErrorCode::Ok)) => prop_assert_eq!(out.err, None),
                (_, Err(e)) => prop_assert_eq!(out.err, Some(e)),
            }
            if out.err.is_some() || matches!(txn, Txn::Check { .. }) {
                prop_assert_eq!(tree.digest(), before.0);
                prop_assert!(out.triggers.is_empty());
            }
            if let Txn::Multi(subs) = &txn {
                prop_assert_eq!(out.multi.len(), subs.len());
            }
            prop_assert!(model.matches(&tree), "model {:?}", model);
            log.push((header, txn));
        }
        // Replaying the same txns (stale ones left out) rebuilds the same tree.
        let mut replayed = DataTree::new();
        for (header, txn) in &log {
            replayed.apply(header, txn);
        }
        prop_assert_eq!(replayed.digest(), tree.digest());
        prop_assert_eq!(replayed.last_zxid(), tree.last_zxid());
        let a: Vec<_> = replayed.nodes().map(|(p, n)| (p.to_owned(), n.stat(), n.data().clone())).collect();
        let b: Vec<_> = tree.nodes().map(|(p, n)| (p.to_owned(), n.stat(), n.data().clone())).collect();
        prop_assert_eq!(a, b);
        // The snapshot is still exactly the tree its txns build, whatever the live tree did afterwards.
        if let Some((snapshot, applied, digest)) = snapshot {
            prop_assert_eq!(snapshot.check_invariants(), Ok(()));
            prop_assert_eq!(snapshot.digest(), digest);
            let mut prefix = DataTree::new();
            for (header, txn) in &log[..applied] {
                prefix.apply(header, txn);
            }
            prop_assert_eq!(snapshot.digest(), prefix.digest());
            prop_assert_eq!(snapshot.last_zxid(), prefix.last_zxid());
            let a: Vec<_> = prefix.nodes().map(|(p, n)| (p.to_owned(), n.stat(), n.data().clone())).collect();
            let b: Vec<_> = snapshot.nodes().map(|(p, n)| (p.to_owned(), n.stat(), n.data().clone())).collect();
            prop_assert_eq!(a, b);
        }
    }
}
