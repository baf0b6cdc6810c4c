//! The container and TTL reaper (ZooKeeper's ContainerManager): every check interval, empty containers that
//! once had children, and TTL nodes without children left unmodified for longer than their TTL, are deleted
//! by server-issued txns.

use super::overlay::View;
use super::prep::prep_delete_container;
use super::Node;
use crate::tree::NodeKind;

impl Node {
    pub(super) fn reap_containers(&mut self, now: u64) {
        let mut candidates = Vec::new();
        for p in self.tree.containers() {
            if let Some(n) = self.tree.get(p) {
                if n.num_children() == 0 && n.stat().cversion > 0 {
                    candidates.push(p.to_owned());
                }
            }
        }
        for p in self.tree.ttls() {
            if let Some(n) = self.tree.get(p) {
                if let NodeKind::Ttl(ttl) = n.kind() {
                    let idle = now as i64 - n.stat().mtime;
                    if n.num_children() == 0 && ttl != 0 && idle > ttl {
                        candidates.push(p.to_owned());
                    }
                }
            }
        }
        for p in candidates {
            let zxid = self.last_proposed + 1;
            let mut view = View::new(&self.tree, &self.overlay);
            // Skipped if a pending change made the node non-empty or removed it.
            if let Ok(txn) = prep_delete_container(&mut view, &p) {
                let changes = std::mem::take(&mut view.changes);
                self.overlay.record(zxid, changes);
                self.propose(now, 0, 0, txn, None);
            }
        }
    }
}
