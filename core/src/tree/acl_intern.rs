//! Shared ACL lists: most znodes carry one of a handful of ACLs, so each distinct list is stored once
//! (the role of ZooKeeper's ReferenceCountedACLCache, without the numeric ids in snapshots).

use std::sync::Arc;

use imbl::OrdMap;

use crate::proto::records::Acl;

/// Each distinct ACL list in use, once, with the number of the tree's nodes that use it; forgotten when that
/// number drops to zero.
///
/// The count is kept here rather than read from the `Arc`'s strong count: snapshots share nodes with the
/// live tree (and copy some when the live tree changes them), so the strong count says nothing about how many
/// of the live tree's nodes use a list. Persistent like the rest of the tree: cloned in O(1).
#[derive(Debug, Clone, Default)]
pub(super) struct AclIntern {
    lists: OrdMap<Arc<[Acl]>, usize>,
}

impl AclIntern {
    /// The shared copy of `acl`, added if new, for one more node.
    pub(super) fn intern(&mut self, acl: &[Acl]) -> Arc<[Acl]> {
        if let Some((shared, uses)) = self.lists.get_key_value_mut(acl) {
            *uses += 1;
            return Arc::clone(shared);
        }
        let shared: Arc<[Acl]> = Arc::from(acl);
        self.lists.insert(Arc::clone(&shared), 1);
        shared
    }

    /// `n` more nodes use `shared`, a list [`AclIntern::intern`] returned (for a caller that batches the
    /// counting of a run of nodes with the same list).
    pub(super) fn add_uses(&mut self, shared: &Arc<[Acl]>, n: usize) {
        if n == 0 {
            return;
        }
        match self.lists.get_mut(&**shared) {
            Some(uses) => *uses += n,
            None => {
                self.lists.insert(Arc::clone(shared), n);
            }
        }
    }

    /// One node less uses `acl`; forgets the list when no node does.
    pub(super) fn release(&mut self, acl: &[Acl]) {
        let last = match self.lists.get_mut(acl) {
            Some(uses) => {
                *uses = uses.saturating_sub(1);
                *uses == 0
            }
            None => false,
        };
        if last {
            self.lists.remove(acl);
        }
    }

    /// Number of distinct lists held.
    pub(super) fn len(&self) -> usize {
        self.lists.len()
    }

    /// Each list with its use count, in ACL order (for the tree's invariant check).
    pub(super) fn uses(&self) -> impl Iterator<Item = (&[Acl], usize)> {
        self.lists.iter().map(|(a, n)| (&**a, *n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::records::Id;

    fn acl(perms: i32) -> Vec<Acl> {
        vec![Acl {
            perms,
            id: Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        }]
    }

    #[test]
    fn equal_lists_share_one_allocation_and_are_forgotten_when_unused() {
        let mut t = AclIntern::default();
        let a = t.intern(&acl(31));
        let b = t.intern(&acl(31));
        assert!(Arc::ptr_eq(&a, &b));
        let c = t.intern(&acl(1));
        assert_eq!(t.len(), 2);
        t.release(&a);
        assert_eq!(t.len(), 2);
        t.release(&b);
        assert_eq!(t.len(), 1);
        t.release(&c);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn copies_of_the_table_or_of_its_lists_do_not_keep_a_list_alive() {
        let mut t = AclIntern::default();
        let a = t.intern(&acl(31));
        let snapshot = t.clone();
        let held_elsewhere = Arc::clone(&a);
        t.release(&a);
        assert_eq!(t.len(), 0);
        assert_eq!(snapshot.len(), 1);
        assert_eq!(&*held_elsewhere, &acl(31)[..]);
    }
}
