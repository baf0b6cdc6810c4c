//! One watch table: path -> watching connections, each with a mode.

use std::collections::{BTreeMap, BTreeSet};

use super::{EventType, KeeperState};
use crate::ids::ConnId;
use crate::proto::records::WatcherEvent;

/// How a watch behaves when it fires.
#[derive(
    serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord,
)]
pub enum WatchMode {
    /// Fires once, then is gone.
    Standard,
    /// Stays; fires for the path itself.
    Persistent,
    /// Stays; fires for the path and every descendant (except NodeChildrenChanged).
    PersistentRecursive,
}

/// path -> (connection -> mode), with the reverse index for connection cleanup.
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub struct WatchTable {
    by_path: BTreeMap<String, BTreeMap<ConnId, WatchMode>>,
    by_conn: BTreeMap<ConnId, BTreeSet<String>>,
    recursive: usize,
}

impl WatchTable {
    /// Adds a watch. A standard watch never downgrades an existing persistent one.
    pub fn add(&mut self, path: &str, conn: ConnId, mode: WatchMode) {
        let watchers = self.by_path.entry(path.to_owned()).or_default();
        let old = watchers.get(&conn).copied();
        if old.is_none() || (mode != WatchMode::Standard && old != Some(mode)) {
            watchers.insert(conn, mode);
            if old == Some(WatchMode::PersistentRecursive) {
                self.recursive -= 1;
            }
            if mode == WatchMode::PersistentRecursive {
                self.recursive += 1;
            }
        }
        self.by_conn
            .entry(conn)
            .or_default()
            .insert(path.to_owned());
    }

    /// Fires watches for an event on `path`: watchers of the path itself, and recursive watchers of its
    /// ancestors. One-shot watches are removed. Connections in `skip` are not notified (but still lose their
    /// one-shot watch). Appends (conn, event) once per connection.
    pub fn trigger(
        &mut self,
        path: &str,
        event: EventType,
        skip: &BTreeSet<ConnId>,
        out: &mut Vec<(ConnId, WatcherEvent)>,
    ) {
        let mut notify: BTreeSet<ConnId> = BTreeSet::new();
        if let Some(watchers) = self.by_path.get_mut(path) {
            let mut fired = Vec::new();
            for (conn, mode) in watchers.iter() {
                match mode {
                    WatchMode::PersistentRecursive if event == EventType::NodeChildrenChanged => {}
                    WatchMode::Standard => {
                        notify.insert(*conn);
                        fired.push(*conn);
                    }
                    _ => {
                        notify.insert(*conn);
                    }
                }
            }
            for conn in fired {
                watchers.remove(&conn);
                if let Some(paths) = self.by_conn.get_mut(&conn) {
                    paths.remove(path);
                    if paths.is_empty() {
                        self.by_conn.remove(&conn);
                    }
                }
            }
            if watchers.is_empty() {
                self.by_path.remove(path);
            }
        }
        if self.recursive > 0 && event != EventType::NodeChildrenChanged {
            let mut p = path;
            while p != "/" && !p.is_empty() {
                p = crate::proto::path::parent(p);
                if let Some(watchers) = self.by_path.get(p) {
                    for (conn, mode) in watchers {
                        if *mode == WatchMode::PersistentRecursive {
                            notify.insert(*conn);
                        }
                    }
                }
            }
        }
        for conn in notify {
            if skip.contains(&conn) {
                continue;
            }
            let ev = WatcherEvent {
                event_type: event.code(),
                state: KeeperState::SyncConnected.code(),
                path: path.to_owned(),
            };
            out.push((conn, ev));
        }
    }

    /// Removes the connection's watch on `path` (only of `mode`, if given). True if one was removed.
    pub fn remove(&mut self, path: &str, conn: ConnId, mode: Option<WatchMode>) -> bool {
        let Some(watchers) = self.by_path.get_mut(path) else {
            return false;
        };
        let matches = watchers
            .get(&conn)
            .is_some_and(|m| mode.is_none_or(|want| *m == want));
        if !matches {
            return false;
        }
        if watchers.remove(&conn) == Some(WatchMode::PersistentRecursive) {
            self.recursive -= 1;
        }
        if watchers.is_empty() {
            self.by_path.remove(path);
        }
        if let Some(paths) = self.by_conn.get_mut(&conn) {
            paths.remove(path);
            if paths.is_empty() {
                self.by_conn.remove(&conn);
            }
        }
        true
    }

    pub fn contains(&self, path: &str, conn: ConnId, mode: Option<WatchMode>) -> bool {
        self.by_path
            .get(path)
            .and_then(|w| w.get(&conn))
            .is_some_and(|m| mode.is_none_or(|want| *m == want))
    }

    /// Drops every watch of a connection.
    pub fn remove_conn(&mut self, conn: ConnId) {
        if let Some(paths) = self.by_conn.remove(&conn) {
            for p in paths {
                if let Some(w) = self.by_path.get_mut(&p) {
                    if w.remove(&conn) == Some(WatchMode::PersistentRecursive) {
                        self.recursive -= 1;
                    }
                    if w.is_empty() {
                        self.by_path.remove(&p);
                    }
                }
            }
        }
    }

    /// Number of (path, connection) pairs.
    pub fn count(&self) -> usize {
        self.by_path.values().map(BTreeMap::len).sum()
    }

    /// path -> watching connections.
    pub fn by_path(&self) -> impl Iterator<Item = (&str, impl Iterator<Item = ConnId> + '_)> {
        self.by_path
            .iter()
            .map(|(p, w)| (p.as_str(), w.keys().copied()))
    }

    /// connection -> watched paths.
    pub fn by_conn(&self) -> impl Iterator<Item = (ConnId, impl Iterator<Item = &str>)> {
        self.by_conn
            .iter()
            .map(|(c, p)| (*c, p.iter().map(String::as_str)))
    }
}
