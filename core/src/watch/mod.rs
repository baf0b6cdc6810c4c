//! Watches (ZooKeeper's WatchManager): one-shot data/exist and child watches, persistent and
//! persistent-recursive watches (addWatch). Watches belong to a connection, as in ZooKeeper.

mod event;
mod table;

pub use event::{EventType, KeeperState};
pub use table::{WatchMode, WatchTable};

use std::collections::BTreeSet;

use crate::ids::ConnId;
use crate::proto::records::WatcherEvent;
use crate::tree::WatchTrigger;

/// Which watches `removeWatches`/`checkWatches` address (ZooKeeper's WatcherType).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatcherType {
    Children,
    Data,
    Any,
    Persistent,
    PersistentRecursive,
}

impl WatcherType {
    pub fn from_code(code: i32) -> Option<WatcherType> {
        Some(match code {
            1 => WatcherType::Children,
            2 => WatcherType::Data,
            3 => WatcherType::Any,
            4 => WatcherType::Persistent,
            5 => WatcherType::PersistentRecursive,
            _ => return None,
        })
    }
}

/// All watches of this server: the data table (data, exist, persistent and recursive watches) and the child
/// table (child and persistent watches), like ZooKeeper's DataTree.dataWatches/childWatches.
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub struct WatchManager {
    pub data: WatchTable,
    pub child: WatchTable,
}

impl WatchManager {
    /// Registers an addWatch: persistent watches go in both tables, recursive ones only in the data table.
    pub fn add_persistent(&mut self, path: &str, conn: ConnId, recursive: bool) {
        if recursive {
            self.data.add(path, conn, WatchMode::PersistentRecursive);
        } else {
            self.data.add(path, conn, WatchMode::Persistent);
            self.child.add(path, conn, WatchMode::Persistent);
        }
    }

    /// The notifications one applied change raises, in delivery order.
    pub fn trigger(&mut self, trigger: &WatchTrigger) -> Vec<(ConnId, WatcherEvent)> {
        let mut out = Vec::new();
        match trigger {
            WatchTrigger::Created(p) => {
                self.data
                    .trigger(p, EventType::NodeCreated, &BTreeSet::new(), &mut out);
            }
            WatchTrigger::DataChanged(p) => {
                self.data
                    .trigger(p, EventType::NodeDataChanged, &BTreeSet::new(), &mut out);
            }
            WatchTrigger::ChildrenChanged(p) => {
                self.child.trigger(
                    p,
                    EventType::NodeChildrenChanged,
                    &BTreeSet::new(),
                    &mut out,
                );
            }
            WatchTrigger::Deleted(p) => {
                self.data
                    .trigger(p, EventType::NodeDeleted, &BTreeSet::new(), &mut out);
                // A connection watching both data and children of the node hears of its deletion once.
                let told: BTreeSet<ConnId> = out.iter().map(|(c, _)| *c).collect();
                self.child
                    .trigger(p, EventType::NodeDeleted, &told, &mut out);
            }
        }
        out
    }

    /// removeWatches: true if anything was removed.
    pub fn remove(&mut self, path: &str, kind: WatcherType, conn: ConnId) -> bool {
        use WatchMode::*;
        match kind {
            // As ZooKeeper 3.8: Children/Data address a table, whatever the watch's mode.
            WatcherType::Children => self.child.remove(path, conn, None),
            WatcherType::Data => self.data.remove(path, conn, None),
            WatcherType::Any => {
                let c = self.child.remove(path, conn, None);
                let d = self.data.remove(path, conn, None);
                c || d
            }
            WatcherType::Persistent => {
                let c = self.child.remove(path, conn, Some(Persistent));
                let d = self.data.remove(path, conn, Some(Persistent));
                c || d
            }
            WatcherType::PersistentRecursive => {
                self.data.remove(path, conn, Some(PersistentRecursive))
            }
        }
    }

    /// checkWatches: whether the connection has such a watch.
    pub fn contains(&self, path: &str, kind: WatcherType, conn: ConnId) -> bool {
        use WatchMode::*;
        match kind {
            // ZooKeeper 3.8 also answers a children check with a recursive watch on the path.
            WatcherType::Children => {
                self.child.contains(path, conn, None)
                    || self.data.contains(path, conn, Some(PersistentRecursive))
            }
            WatcherType::Data => self.data.contains(path, conn, None),
            WatcherType::Any => {
                self.child.contains(path, conn, None) || self.data.contains(path, conn, None)
            }
            WatcherType::Persistent => {
                self.child.contains(path, conn, Some(Persistent))
                    || self.data.contains(path, conn, Some(Persistent))
            }
            WatcherType::PersistentRecursive => {
                self.data.contains(path, conn, Some(PersistentRecursive))
            }
        }
    }

    /// Drops every watch of a closed connection.
    pub fn remove_conn(&mut self, conn: ConnId) {
        self.data.remove_conn(conn);
        self.child.remove_conn(conn);
    }

    /// Total number of (path, connection) watches, as `wchs` counts them.
    pub fn count(&self) -> usize {
        self.data.count() + self.child.count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(out: &[(ConnId, WatcherEvent)]) -> Vec<(ConnId, i32, &str)> {
        out.iter()
            .map(|(c, e)| (*c, e.event_type, e.path.as_str()))
            .collect()
    }

    #[test]
    fn one_shot_data_watch_fires_once() {
        let mut w = WatchManager::default();
        w.data.add("/a", 1, WatchMode::Standard);
        let out = w.trigger(&WatchTrigger::DataChanged("/a".into()));
        assert_eq!(paths(&out), vec![(1, 3, "/a")]);
        assert!(w
            .trigger(&WatchTrigger::DataChanged("/a".into()))
            .is_empty());
    }

    #[test]
    fn delete_notifies_a_data_and_child_watcher_once() {
        let mut w = WatchManager::default();
        w.data.add("/a", 1, WatchMode::Standard);
        w.child.add("/a", 1, WatchMode::Standard);
        w.child.add("/a", 2, WatchMode::Standard);
        let out = w.trigger(&WatchTrigger::Deleted("/a".into()));
        assert_eq!(paths(&out), vec![(1, 2, "/a"), (2, 2, "/a")]);
        assert_eq!(w.count(), 0);
    }

    #[test]
    fn persistent_watch_stays_and_sees_children() {
        let mut w = WatchManager::default();
        w.add_persistent("/a", 7, false);
        for _ in 0..2 {
            assert_eq!(
                paths(&w.trigger(&WatchTrigger::DataChanged("/a".into()))),
                vec![(7, 3, "/a")]
            );
            assert_eq!(
                paths(&w.trigger(&WatchTrigger::ChildrenChanged("/a".into()))),
                vec![(7, 4, "/a")]
            );
        }
        // Not recursive: nothing for a grandchild.
        assert!(w.trigger(&WatchTrigger::Created("/a/b".into())).is_empty());
    }

    #[test]
    fn recursive_watch_sees_descendants_but_not_child_events() {
        let mut w = WatchManager::default();
        w.add_persistent("/a", 7, true);
        assert_eq!(
            paths(&w.trigger(&WatchTrigger::Created("/a/b/c".into()))),
            vec![(7, 1, "/a/b/c")]
        );
        assert!(w
            .trigger(&WatchTrigger::ChildrenChanged("/a/b".into()))
            .is_empty());
        assert!(w.trigger(&WatchTrigger::Created("/ab".into())).is_empty());
        assert!(w.remove("/a", WatcherType::PersistentRecursive, 7));
        assert!(w.trigger(&WatchTrigger::Created("/a/x".into())).is_empty());
    }

    #[test]
    fn remove_and_check_by_type() {
        let mut w = WatchManager::default();
        w.data.add("/a", 1, WatchMode::Standard);
        assert!(w.contains("/a", WatcherType::Data, 1));
        assert!(!w.contains("/a", WatcherType::Children, 1));
        assert!(!w.remove("/a", WatcherType::Children, 1));
        assert!(w.remove("/a", WatcherType::Any, 1));
        assert!(!w.contains("/a", WatcherType::Any, 1));
    }

    #[test]
    fn a_persistent_watch_counts_as_data_and_child_watch() {
        let mut w = WatchManager::default();
        w.add_persistent("/p", 1, false);
        assert!(w.contains("/p", WatcherType::Data, 1));
        assert!(w.remove("/p", WatcherType::Data, 1));
        assert!(w.contains("/p", WatcherType::Children, 1));
        assert!(w.remove("/p", WatcherType::Children, 1));
        assert!(!w.contains("/p", WatcherType::Any, 1));
    }

    #[test]
    fn closed_connection_loses_its_watches() {
        let mut w = WatchManager::default();
        w.data.add("/a", 1, WatchMode::Standard);
        w.add_persistent("/", 1, true);
        w.remove_conn(1);
        assert_eq!(w.count(), 0);
        assert!(w.trigger(&WatchTrigger::Created("/a".into())).is_empty());
    }
}
