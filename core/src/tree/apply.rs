//! Applying one committed txn: the single place where the tree changes.
//!
//! Every txn is first checked against the tree (a multi against the tree as its earlier sub-txns would leave
//! it), then performed; the checks cover everything that can make a change impossible, so a txn either applies
//! whole or changes nothing. The Stat rules are ZooKeeper 3.8's (DataTree.createNode, deleteNode, setData,
//! setACL, with the values PrepRequestProcessor put in the txn):
//! - create: the node gets czxid = mzxid = pzxid = zxid, ctime = mtime = header time, versions 0. The parent's
//!   stored cversion becomes the txn's `parent_cversion` (-1 means "current + 1"), and its pzxid the zxid, but
//!   only if that raises the stored cversion.
//! - delete: the parent's pzxid becomes the zxid if that raises it; its stored cversion is left alone (the
//!   client-visible cversion, `2 * stored - numChildren`, still goes up by one).
//! - setData: data, mzxid = zxid, mtime = header time, version from the txn.
//! - setACL: ACL, aversion from the txn.

use std::collections::BTreeMap;

use crate::proto::path;
use crate::proto::records::{Acl, Stat};
use crate::proto::ErrorCode;
use crate::txn::{Txn, TxnHeader};
use crate::Data;

use super::{DataTree, NodeKind, PersistedStat, ZNode};

/// A watch event the applied txn raises, for the watch manager (ZooKeeper's DataTree triggers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchTrigger {
    /// Data/exist watches on the path: NodeCreated.
    Created(String),
    /// Data and child watches on the path: NodeDeleted.
    Deleted(String),
    /// Data watches on the path: NodeDataChanged.
    DataChanged(String),
    /// Child watches on the path: NodeChildrenChanged.
    ChildrenChanged(String),
}

/// What applying a txn did, for the reply and the watch manager.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplyOutcome {
    /// `None` (Ok) unless the txn was an error txn, or (defensively) could not apply, or was stale. An error
    /// txn's code is reported as it is, even `Some(Ok)`; inside a failed multi every sub-outcome has `Some`.
    pub err: Option<ErrorCode>,
    /// The txn's path (create: the created path, for the reply; also delete, setData, setACL, check).
    pub path: Option<String>,
    /// The node's Stat after the change (create, setData, setACL).
    pub stat: Option<Stat>,
    /// One outcome per sub-txn of a multi.
    pub multi: Vec<ApplyOutcome>,
    /// Watch events raised, in the order ZooKeeper raises them. For a multi, all of its sub-txns' events are
    /// here, in order, and the sub-outcomes carry none.
    pub triggers: Vec<WatchTrigger>,
}

impl ApplyOutcome {
    fn failed(err: ErrorCode) -> ApplyOutcome {
        ApplyOutcome {
            err: Some(err),
            ..ApplyOutcome::default()
        }
    }

    fn at(path: &str) -> ApplyOutcome {
        ApplyOutcome {
            path: Some(path.to_owned()),
            ..ApplyOutcome::default()
        }
    }
}

/// How a node looks to the check of a txn: enough to decide whether creates and deletes fit.
#[derive(Debug, Clone, Copy)]
struct Shape {
    ephemeral: bool,
    children: usize,
}

/// What the sub-txns of a multi checked so far would change: path -> its shape, or `None` once deleted.
#[derive(Default)]
struct Pending<'t> {
    changed: BTreeMap<&'t str, Option<Shape>>,
}

impl DataTree {
    /// Applies one committed txn. Txns must arrive in strictly increasing zxid order. A txn that no longer
    /// fits the tree (which the preprocessor rules out) is reported in `err` and changes nothing.
    ///
    /// A txn whose zxid is not above [`DataTree::last_zxid`] has already been applied (for example when the log
    /// is replayed over a snapshot taken at a later zxid): it is ignored and reported as
    /// `RuntimeInconsistency`. There is no exception to this: our snapshots are consistent images at their
    /// zxid (unlike ZooKeeper's fuzzy ones, which need replayed creates to fix up parent cversions), every
    /// logged txn has its own zxid, and the sub-txns of a multi share its zxid inside this one call.
    /// Every other txn, failed or not, sets `last_zxid` to its zxid.
    pub fn apply(&mut self, header: &TxnHeader, txn: &Txn) -> ApplyOutcome {
        if header.zxid <= self.last_zxid {
            return ApplyOutcome::failed(ErrorCode::RuntimeInconsistency);
        }
        self.last_zxid = header.zxid;
        match txn {
            Txn::CreateSession { timeout } => {
                self.put_session(header.session_id, *timeout);
                ApplyOutcome::default()
            }
            Txn::CloseSession => self.close_session(header),
            Txn::Error { err } => ApplyOutcome::failed(*err),
            Txn::Multi(subs) => self.apply_multi(header, subs),
            op => match self.check(op, &mut Pending::default()) {
                Ok(()) => self.perform(header, op),
                Err(err) => ApplyOutcome::failed(err),
            },
        }
    }

    /// Deletes the session's ephemerals in path order, raising the same events as deletes, and forgets it.
    fn close_session(&mut self, header: &TxnHeader) -> ApplyOutcome {
        let session = header.session_id;
        let paths: Vec<String> = self.ephemerals_of(session).map(str::to_owned).collect();
        let mut outcome = ApplyOutcome::default();
        for p in &paths {
            // Ephemerals have no children (creates under them do not fit), so each delete fits.
            if self
                .nodes
                .get(p.as_str())
                .is_some_and(|n| n.num_children() == 0)
            {
                self.delete_node(header.zxid, p, &mut outcome.triggers);
            }
        }
        self.drop_session(session);
        outcome
    }

    /// All or nothing: a multi with an error sub-txn is a failed multi and changes nothing; otherwise every
    /// sub-txn is checked against the tree as the earlier ones leave it before any is performed.
    fn apply_multi(&mut self, header: &TxnHeader, subs: &[Txn]) -> ApplyOutcome {
        if subs.iter().any(|t| matches!(t, Txn::Error { .. })) {
            return failed_multi(subs.iter().map(|t| match t {
                Txn::Error { err } => Some(*err),
                _ => None,
            }));
        }
        let mut pending = Pending::default();
        for (i, sub) in subs.iter().enumerate() {
            if let Err(err) = self.check(sub, &mut pending) {
                return failed_multi((0..subs.len()).map(|j| (j == i).then_some(err)));
            }
        }
        let mut outcome = ApplyOutcome::default();
        for sub in subs {
            let mut done = self.perform(header, sub);
            outcome.triggers.append(&mut done.triggers);
            outcome.multi.push(done);
        }
        outcome
    }

    /// The shape of `path` after the pending changes.
    fn shape(&self, pending: &Pending<'_>, path: &str) -> Option<Shape> {
        match pending.changed.get(path) {
            Some(shape) => *shape,
            None => self.nodes.get(path).map(|n| Shape {
                ephemeral: matches!(n.kind(), NodeKind::Ephemeral(_)),
                children: n.num_children(),
            }),
        }
    }

    /// Whether `txn` fits the tree as changed by `pending`; if so, records its change in `pending`.
    fn check<'t>(&self, txn: &'t Txn, pending: &mut Pending<'t>) -> Result<(), ErrorCode> {
        match txn {
            Txn::Create {
                path,
                ephemeral_owner,
                ..
            } => {
                if !path.starts_with('/') || path::basename(path).is_empty() {
                    return Err(ErrorCode::BadArguments);
                }
                let parent_path = path::parent(path);
                let mut parent = self.shape(pending, parent_path).ok_or(ErrorCode::NoNode)?;
                if parent.ephemeral {
                    return Err(ErrorCode::NoChildrenForEphemerals);
                }
                if self.shape(pending, path).is_some() {
                    return Err(ErrorCode::NodeExists);
                }
                parent.children += 1;
                let ephemeral = matches!(
                    NodeKind::from_owner(*ephemeral_owner),
                    NodeKind::Ephemeral(_)
                );
                pending.changed.insert(parent_path, Some(parent));
                pending.changed.insert(
                    path,
                    Some(Shape {
                        ephemeral,
                        children: 0,
                    }),
                );
                Ok(())
            }
            Txn::Delete { path } => {
                if path == "/" {
                    return Err(ErrorCode::BadArguments);
                }
                let node = self.shape(pending, path).ok_or(ErrorCode::NoNode)?;
                if node.children > 0 {
                    return Err(ErrorCode::NotEmpty);
                }
                let parent_path = path::parent(path);
                let mut parent = self.shape(pending, parent_path).ok_or(ErrorCode::NoNode)?;
                parent.children = parent.children.saturating_sub(1);
                pending.changed.insert(parent_path, Some(parent));
                pending.changed.insert(path, None);
                Ok(())
            }
            Txn::SetData { path, .. } | Txn::SetAcl { path, .. } | Txn::Check { path } => self
                .shape(pending, path)
                .map(|_| ())
                .ok_or(ErrorCode::NoNode),
            // Judged by the callers: an error sub-txn fails its multi.
            Txn::Error { .. } => Ok(()),
            // Not allowed inside a multi.
            Txn::CreateSession { .. } | Txn::CloseSession | Txn::Multi(_) => {
                Err(ErrorCode::BadArguments)
            }
        }
    }

    /// Performs a checked path txn.
    pub(super) fn perform(&mut self, header: &TxnHeader, txn: &Txn) -> ApplyOutcome {
        match txn {
            Txn::Create {
                path,
                data,
                acl,
                ephemeral_owner,
                parent_cversion,
            } => self.create_node(header, path, data, acl, *ephemeral_owner, *parent_cversion),
            Txn::Delete { path } => {
                let mut outcome = ApplyOutcome::at(path);
                self.delete_node(header.zxid, path, &mut outcome.triggers);
                outcome
            }
            Txn::SetData {
                path,
                data,
                version,
            } => {
                let changed = self.modify_node(path, |n| {
                    let old_len = n.data().len();
                    n.set_data(own(data));
                    let s = n.stat_mut();
                    s.mzxid = header.zxid;
                    s.mtime = header.time;
                    s.version = *version;
                    (old_len, n.stat())
                });
                let stat = changed.map(|(old_len, stat)| {
                    self.quota_data_changed(path, old_len, data.len());
                    stat
                });
                let mut outcome = ApplyOutcome::at(path);
                outcome.stat = stat;
                outcome
                    .triggers
                    .push(WatchTrigger::DataChanged(path.clone()));
                outcome
            }
            Txn::SetAcl { path, acl, version } => {
                let shared = self.acls.intern(acl);
                let replaced = self.modify_node(path, |n| {
                    n.stat_mut().aversion = *version;
                    (n.replace_acl(shared), n.stat())
                });
                let mut outcome = ApplyOutcome::at(path);
                if let Some((old, stat)) = replaced {
                    self.acls.release(&old);
                    outcome.stat = Some(stat);
                }
                outcome
            }
            Txn::Check { path } => ApplyOutcome::at(path),
            Txn::CreateSession { .. } | Txn::CloseSession | Txn::Multi(_) | Txn::Error { .. } => {
                ApplyOutcome::default()
            }
        }
    }

    fn create_node(
        &mut self,
        header: &TxnHeader,
        path: &str,
        data: &Data,
        acl: &[Acl],
        ephemeral_owner: i64,
        parent_cversion: i32,
    ) -> ApplyOutcome {
        let zxid = header.zxid;
        let parent_path = path::parent(path);
        self.modify_node(parent_path, |parent| {
            let current = parent.persisted_stat().cversion;
            let cversion = if parent_cversion == -1 {
                current.wrapping_add(1)
            } else {
                parent_cversion
            };
            if cversion > current {
                let s = parent.stat_mut();
                s.cversion = cversion;
                s.pzxid = zxid;
            }
            parent.add_child(path::basename(path));
        });
        let stat = PersistedStat {
            czxid: zxid,
            mzxid: zxid,
            ctime: header.time,
            mtime: header.time,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner,
            pzxid: zxid,
        };
        let node = ZNode::new(own(data), self.acls.intern(acl), stat);
        let mut outcome = ApplyOutcome::at(path);
        outcome.stat = Some(node.stat());
        self.insert_node(path, node);
        self.quota_created(path, data.len());
        outcome
            .triggers
            .push(WatchTrigger::Created(path.to_owned()));
        outcome
            .triggers
            .push(WatchTrigger::ChildrenChanged(parent_path.to_owned()));
        outcome
    }

    pub(super) fn delete_node(&mut self, zxid: i64, path: &str, triggers: &mut Vec<WatchTrigger>) {
        let Some(node) = self.remove_node(path) else {
            return;
        };
        self.acls.release(node.acl());
        self.quota_deleted(path, node.data().len());
        let parent_path = path::parent(path);
        self.modify_node(parent_path, |parent| {
            parent.remove_child(path::basename(path));
            let s = parent.stat_mut();
            if zxid > s.pzxid {
                s.pzxid = zxid;
            }
        });
        triggers.push(WatchTrigger::Deleted(path.to_owned()));
        triggers.push(WatchTrigger::ChildrenChanged(parent_path.to_owned()));
    }
}

/// A copy of `data` in an allocation of its own. The txn's data may be a slice of a much larger buffer (a
/// decoded frame, a log read), which a long-lived znode would otherwise keep alive whole.
fn own(data: &Data) -> Data {
    data.detached()
}

/// The outcome of a failed multi from each sub-txn's own error (`None` for a sub-txn that was fine). As in
/// ZooKeeper, fine sub-txns before the first error report Ok and those after it RuntimeInconsistency; the
/// multi's error is the first one that is not Ok.
fn failed_multi(errs: impl Iterator<Item = Option<ErrorCode>>) -> ApplyOutcome {
    let mut outcome = ApplyOutcome::default();
    let mut after_error = false;
    for err in errs {
        let code = match err {
            Some(e) => {
                after_error = true;
                e
            }
            None if after_error => ErrorCode::RuntimeInconsistency,
            None => ErrorCode::Ok,
        };
        if code != ErrorCode::Ok && outcome.err.is_none() {
            outcome.err = Some(code);
        }
        outcome.multi.push(ApplyOutcome::failed(code));
    }
    outcome
}
