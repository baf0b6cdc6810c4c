//! Shared ACL lists: most znodes carry one of a handful of ACLs, so each distinct list is stored once
//! (the role of ZooKeeper's ReferenceCountedACLCache, without the numeric ids in snapshots).

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::proto::records::Acl;

/// Each distinct ACL list in use, once. An entry lives while a node refers to it: the `Arc` strong count is
/// the reference count.
#[derive(Debug, Clone, Default)]
pub(super) struct AclIntern {
    lists: BTreeSet<Arc<[Acl]>>,
}

impl AclIntern {
    /// The shared copy of `acl`, added if new.
    pub(super) fn intern(&mut self, acl: &[Acl]) -> Arc<[Acl]> {
        if let Some(shared) = self.lists.get(acl) {
            return Arc::clone(shared);
        }
        let shared: Arc<[Acl]> = Arc::from(acl);
        self.lists.insert(Arc::clone(&shared));
        shared
    }

    /// Drops a node's reference; forgets the list when nothing else uses it.
    pub(super) fn release(&mut self, acl: Arc<[Acl]>) {
        let key = acl;
        // Two references: the table's and `key`. A ZNode cloned out of the tree keeps the entry alive, which
        // only costs memory until that clone is dropped and the list is released again.
        if Arc::strong_count(&key) <= 2 {
            self.lists.remove(&*key);
        }
    }

    /// Number of distinct lists held.
    pub(super) fn len(&self) -> usize {
        self.lists.len()
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
        t.release(a);
        assert_eq!(t.len(), 2);
        t.release(b);
        assert_eq!(t.len(), 1);
        t.release(c);
        assert_eq!(t.len(), 0);
    }
}
