//! Replaying Apache ZooKeeper's txn log over a tree restored from one of its snapshots, with ZooKeeper's own
//! recovery rules (DataTree.processTxn and FileTxnSnapLog.restore): the first step of starting rzk on a
//! ZooKeeper data directory.
//!
//! ZooKeeper's snapshots are fuzzy: written while txns keep applying, they may already hold the effect of txns
//! logged after the zxid in their name. Replay from that zxid must therefore tolerate txns that no longer fit,
//! and ZooKeeper makes every change idempotent enough for it:
//! - a create of a node that exists changes nothing, except that the parent's cversion and pzxid are raised to
//!   the txn's (the node was deleted and created again inside the fuzzy window);
//! - a delete raises the parent's pzxid even when the node is already gone;
//! - setData and setACL overwrite; a txn on a missing node changes nothing;
//! - each sub-txn of a multi is replayed on its own (a failed multi, logged with error sub-txns, changes
//!   nothing);
//! - closeSession deletes the paths the txn lists as well as the ephemerals the tree knows for the session.
//!
//! rzk's own snapshots are exact, so [`DataTree::apply`] refuses txns that do not fit; this module is only for
//! ZooKeeper's files.

use crate::proto::path;
use crate::proto::ErrorCode;
use crate::txn::{Txn, TxnHeader};

use super::{DataTree, NodeKind};

impl DataTree {
    /// Replays one txn of a ZooKeeper log as ZooKeeper's recovery does (see the module docs). `close_paths`
    /// are a closeSession txn's `paths2Delete`. Returns the first error ZooKeeper would have swallowed, for
    /// the caller's counts; the tree is consistent either way.
    pub fn replay_zookeeper_txn(
        &mut self,
        header: &TxnHeader,
        txn: &Txn,
        close_paths: &[String],
    ) -> Option<ErrorCode> {
        if header.zxid > self.last_zxid {
            self.last_zxid = header.zxid;
        }
        match txn {
            Txn::CreateSession { timeout } => {
                self.put_session(header.session_id, *timeout);
                None
            }
            Txn::CloseSession => {
                for p in close_paths {
                    self.replay_delete(header, p);
                }
                let local: Vec<String> = self
                    .ephemerals_of(header.session_id)
                    .map(str::to_owned)
                    .collect();
                for p in &local {
                    self.replay_delete(header, p);
                }
                self.drop_session(header.session_id);
                None
            }
            Txn::Error { .. } => None,
            Txn::Multi(subs) => {
                if subs.iter().any(|t| matches!(t, Txn::Error { .. })) {
                    return None;
                }
                subs.iter()
                    .filter_map(|sub| self.replay_op(header, sub))
                    .next()
            }
            op => self.replay_op(header, op),
        }
    }

    fn replay_op(&mut self, header: &TxnHeader, txn: &Txn) -> Option<ErrorCode> {
        match txn {
            Txn::Create {
                path,
                parent_cversion,
                ..
            } => {
                if path == "/" {
                    return Some(ErrorCode::NodeExists);
                }
                let parent_path = path::parent(path);
                let parent = self.get(parent_path)?;
                if matches!(parent.kind(), NodeKind::Ephemeral(_)) {
                    // ZooKeeper's prep never lets this into a log; the tree keeps ephemerals childless.
                    return Some(ErrorCode::NoChildrenForEphemerals);
                }
                if self.nodes.contains_key(path.as_str()) {
                    // ZooKeeper adjusts only for opcode create (1), not create2 (15); raising the parent to
                    // the txn's values is right for every create that was replayed over a later state.
                    self.raise_parent(parent_path, *parent_cversion, header.zxid);
                    return Some(ErrorCode::NodeExists);
                }
                self.perform(header, txn);
                None
            }
            Txn::Delete { path } => self.replay_delete(header, path),
            // On a missing node, perform changes nothing and reports no stat.
            Txn::SetData { .. } => match self.perform(header, txn).stat {
                Some(_) => None,
                None => Some(ErrorCode::NoNode),
            },
            // Checked first: perform would count a use of the ACL before finding no node.
            Txn::SetAcl { path, .. } => {
                if !self.nodes.contains_key(path.as_str()) {
                    return Some(ErrorCode::NoNode);
                }
                self.perform(header, txn);
                None
            }
            Txn::Check { .. } | Txn::Error { .. } => None,
            // Not sub-txns; replay_zookeeper_txn handles them at the top level.
            Txn::CreateSession { .. } | Txn::CloseSession | Txn::Multi(_) => {
                Some(ErrorCode::BadArguments)
            }
        }
    }

    /// ZooKeeper's deleteNode: the parent's pzxid is raised even if the node is gone already.
    fn replay_delete(&mut self, header: &TxnHeader, node_path: &str) -> Option<ErrorCode> {
        if node_path == "/" {
            return Some(ErrorCode::BadArguments);
        }
        let parent_path = path::parent(node_path);
        let node = match self.get(node_path) {
            Some(node) => node,
            None => {
                self.get(parent_path)?;
                self.modify_node(parent_path, |parent| {
                    let s = parent.stat_mut();
                    if header.zxid > s.pzxid {
                        s.pzxid = header.zxid;
                    }
                });
                return Some(ErrorCode::NoNode);
            }
        };
        if node.num_children() > 0 {
            // Cannot happen in a log ZooKeeper wrote (its children's deletes come first); the tree never
            // holds orphans, so the node stays.
            return Some(ErrorCode::NotEmpty);
        }
        let mut triggers = Vec::new();
        self.delete_node(header.zxid, node_path, &mut triggers);
        None
    }

    /// ZooKeeper's setCversionPzxid: raise the stored cversion (and set pzxid) only if that raises it.
    fn raise_parent(&mut self, parent_path: &str, cversion: i32, zxid: i64) {
        self.modify_node(parent_path, |parent| {
            let current = parent.persisted_stat().cversion;
            let cversion = if cversion == -1 {
                current.wrapping_add(1)
            } else {
                cversion
            };
            if cversion > current {
                let s = parent.stat_mut();
                s.cversion = cversion;
                s.pzxid = zxid;
            }
        });
    }

    /// What ZooKeeper does once its data is loaded (ZooKeeperServer.loadData "clean up dead sessions"):
    /// deletes, without a txn, every ephemeral whose session is not in the session table, raising parents'
    /// pzxid to the last zxid. With `ttl_nodes` false (zookeeper.extendedTypesEnabled off) TTL nodes are
    /// ephemerals of the non-existent session 0xff00... to ZooKeeper, and go the same way. Returns the
    /// number of nodes deleted.
    pub fn drop_dead_ephemerals(&mut self, ttl_nodes: bool) -> usize {
        let mut dead: Vec<String> = self
            .all_ephemerals()
            .filter(|(session, _)| !self.sessions.contains_key(session))
            .flat_map(|(_, paths)| paths.map(str::to_owned))
            .collect();
        if !ttl_nodes {
            dead.extend(self.ttls().map(str::to_owned));
        }
        let header = TxnHeader {
            session_id: 0,
            cxid: 0,
            zxid: self.last_zxid,
            time: 0,
        };
        // Deepest first: a TTL node may have children that are themselves doomed.
        dead.sort_by(|a, b| b.cmp(a));
        dead.iter()
            .filter(|p| self.replay_delete(&header, p).is_none())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::records::{Acl, Id};
    use crate::Data;

    const SESSION: i64 = 0x0100_0000_0000_0007;

    fn header(zxid: i64) -> TxnHeader {
        TxnHeader {
            session_id: SESSION,
            cxid: 1,
            zxid,
            time: 1_000 + zxid,
        }
    }

    fn create(path: &str, owner: i64, parent_cversion: i32) -> Txn {
        Txn::Create {
            path: path.into(),
            data: Data::from_static(b"x"),
            acl: vec![Acl {
                perms: 31,
                id: Id {
                    scheme: "world".into(),
                    id: "anyone".into(),
                },
            }],
            ephemeral_owner: owner,
            parent_cversion,
        }
    }

    /// Applies `txns` strictly, with zxids 1, 2, ...
    fn applied(txns: &[Txn]) -> DataTree {
        let mut tree = DataTree::new();
        for (i, txn) in txns.iter().enumerate() {
            let outcome = tree.apply(&header(i as i64 + 1), txn);
            assert_eq!(outcome.err, None, "{txn:?}");
        }
        tree
    }

    fn script() -> Vec<Txn> {
        vec![
            Txn::CreateSession { timeout: 30_000 },
            create("/p", 0, 1),
            create("/p/a", 0, 1),
            create("/p/e", SESSION, 2),
            Txn::Delete {
                path: "/p/a".into(),
            },
            create("/p/a", 0, 3),
            Txn::SetData {
                path: "/p".into(),
                data: Data::from_static(b"new"),
                version: 1,
            },
            Txn::Multi(vec![create("/m", 0, 2), create("/m/x", 0, 1)]),
            Txn::CloseSession,
        ]
    }

    /// A fuzzy snapshot taken at any point in the script, replayed from any earlier zxid, ends in the state a
    /// strict apply of the whole script reaches.
    #[test]
    fn replay_over_any_later_state_reaches_the_same_tree() {
        let txns = script();
        let want = applied(&txns);
        for snap_at in 0..=txns.len() {
            for replay_from in 0..=snap_at {
                let mut tree = applied(&txns[..snap_at]);
                for (i, txn) in txns.iter().enumerate().skip(replay_from) {
                    tree.replay_zookeeper_txn(&header(i as i64 + 1), txn, &[]);
                }
                assert_eq!(
                    tree.digest(),
                    want.digest(),
                    "snapshot after {snap_at} txns, replayed from txn {replay_from}"
                );
                assert_eq!(tree.last_zxid(), want.last_zxid());
                tree.check_invariants().unwrap();
            }
        }
    }

    #[test]
    fn a_failed_multi_changes_nothing() {
        let mut tree = applied(&[]);
        let before = tree.digest();
        let txn = Txn::Multi(vec![
            create("/m", 0, 1),
            Txn::Error {
                err: ErrorCode::NodeExists,
            },
        ]);
        assert_eq!(tree.replay_zookeeper_txn(&header(5), &txn, &[]), None);
        assert_eq!(tree.digest(), before);
        assert_eq!(tree.last_zxid(), 5);
    }

    #[test]
    fn close_session_deletes_the_listed_paths_too() {
        let mut tree = applied(&[create("/listed", 0, 1)]);
        tree.replay_zookeeper_txn(&header(2), &Txn::CloseSession, &["/listed".into()]);
        assert!(tree.get("/listed").is_none());
        assert_eq!(tree.get("/").unwrap().persisted_stat().pzxid, 2);
    }

    #[test]
    fn dead_sessions_lose_their_ephemerals_and_ttl_nodes_follow_extended_types() {
        let ttl = NodeKind::Ttl(60_000).to_owner();
        let mut tree = applied(&[
            Txn::CreateSession { timeout: 30_000 },
            create("/live", SESSION, 1),
            create("/dead", 0x0200_0000_0000_0001, 2),
            create("/ttl", ttl, 3),
        ]);
        assert_eq!(tree.drop_dead_ephemerals(true), 1);
        assert!(tree.get("/dead").is_none());
        assert!(tree.get("/live").is_some() && tree.get("/ttl").is_some());
        assert_eq!(tree.get("/").unwrap().persisted_stat().pzxid, 4);
        assert_eq!(tree.drop_dead_ephemerals(false), 1);
        assert!(tree.get("/ttl").is_none());
        tree.check_invariants().unwrap();
    }
}
