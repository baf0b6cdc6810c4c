//! One znode: data, ACL, persisted stat and children names.

use bytes::Bytes;

use crate::proto::records::{Acl, Stat};

use super::NodeKind;

/// A znode as stored in the tree.
#[derive(Debug, Clone)]
pub struct ZNode {
    // The tree implementation owns the layout; these accessors are the contract.
}

impl ZNode {
    pub fn data(&self) -> &Bytes {
        todo!()
    }

    pub fn acl(&self) -> &[Acl] {
        todo!()
    }

    /// The Stat as clients see it (container and TTL owners read as 0).
    pub fn stat(&self) -> Stat {
        todo!()
    }

    pub fn kind(&self) -> NodeKind {
        todo!()
    }

    /// Children names, sorted.
    pub fn children(&self) -> impl Iterator<Item = &str> {
        std::iter::empty()
    }

    pub fn num_children(&self) -> usize {
        todo!()
    }
}
