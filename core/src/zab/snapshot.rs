//! A tree in a form that travels in a SNAP sync and rebuilds exactly on the other side.

use serde::{Deserialize, Serialize};

use crate::proto::records::Acl;
use crate::tree::{DataTree, PersistedStat, TreeBuilder};
use crate::{Data, Zxid};

pub use crate::tree::RestoreError as SnapshotError;

/// Every node (in path order) and session of a tree at `last_zxid`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotData {
    pub last_zxid: Zxid,
    #[serde(serialize_with = "crate::redact::snapshot_nodes")]
    pub nodes: Vec<(String, Data, Vec<Acl>, PersistedStat)>,
    pub sessions: Vec<(i64, i32)>,
}

impl SnapshotData {
    pub fn of(tree: &DataTree) -> SnapshotData {
        SnapshotData {
            last_zxid: tree.last_zxid(),
            nodes: tree
                .nodes()
                .map(|(p, n)| {
                    (
                        p.to_owned(),
                        n.data().clone(),
                        n.acl().to_vec(),
                        *n.persisted_stat(),
                    )
                })
                .collect(),
            sessions: tree.sessions().iter().map(|(s, t)| (*s, *t)).collect(),
        }
    }

    pub fn restore(&self) -> Result<DataTree, SnapshotError> {
        let mut b = TreeBuilder::new();
        for (p, data, acl, stat) in &self.nodes {
            b.node(p, data.clone(), acl, *stat)?;
        }
        for (s, t) in &self.sessions {
            b.session(*s, *t)?;
        }
        b.finish(self.last_zxid)
    }
}
