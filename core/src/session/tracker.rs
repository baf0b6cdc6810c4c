//! Expiry bookkeeping. Expiry times are rounded up to the next multiple of the tick, so all sessions due in
//! one tick expire together and the node needs one timer per tick, not one per session.

use std::collections::{BTreeMap, BTreeSet};

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
struct Tracked {
    timeout: u64,
    expires_at: u64,
    closing: bool,
}

/// Live sessions on this server and when each expires unless touched.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct SessionTracker {
    tick: u64,
    sessions: BTreeMap<i64, Tracked>,
    buckets: BTreeMap<u64, BTreeSet<i64>>,
}

impl SessionTracker {
    pub fn new(tick_ms: u64) -> SessionTracker {
        SessionTracker {
            tick: tick_ms.max(1),
            sessions: BTreeMap::new(),
            buckets: BTreeMap::new(),
        }
    }

    fn round_up(&self, t: u64) -> u64 {
        (t / self.tick + 1) * self.tick
    }

    /// Starts tracking a session (new, or recovered at startup) with its timeout in ms.
    pub fn add(&mut self, id: i64, timeout_ms: i32, now: u64) {
        self.remove(id);
        let timeout = timeout_ms.max(0) as u64;
        let expires_at = self.round_up(now + timeout);
        self.sessions.insert(
            id,
            Tracked {
                timeout,
                expires_at,
                closing: false,
            },
        );
        self.buckets.entry(expires_at).or_default().insert(id);
    }

    /// Pushes the session's expiry forward. False if the session is unknown or closing.
    pub fn touch(&mut self, id: i64, now: u64) -> bool {
        let Some(t) = self.sessions.get(&id) else {
            return false;
        };
        if t.closing {
            return false;
        }
        let new_expiry = self.round_up(now + t.timeout);
        let old_expiry = t.expires_at;
        if new_expiry <= old_expiry {
            return true;
        }
        self.unbucket(id, old_expiry);
        self.buckets.entry(new_expiry).or_default().insert(id);
        if let Some(t) = self.sessions.get_mut(&id) {
            t.expires_at = new_expiry;
        }
        true
    }

    /// Changes a session's timeout (a reconnect renegotiates it) and touches it.
    pub fn set_timeout(&mut self, id: i64, timeout_ms: i32, now: u64) {
        if let Some(t) = self.sessions.get_mut(&id) {
            t.timeout = timeout_ms.max(0) as u64;
        }
        self.touch(id, now);
    }

    fn unbucket(&mut self, id: i64, at: u64) {
        if let Some(b) = self.buckets.get_mut(&at) {
            b.remove(&id);
            if b.is_empty() {
                self.buckets.remove(&at);
            }
        }
    }

    /// Marks a session as closing: it is being closed or expired and accepts no more requests.
    pub fn set_closing(&mut self, id: i64) {
        if let Some(t) = self.sessions.get_mut(&id) {
            t.closing = true;
        }
    }

    pub fn is_live(&self, id: i64) -> bool {
        self.sessions.get(&id).is_some_and(|t| !t.closing)
    }

    pub fn contains(&self, id: i64) -> bool {
        self.sessions.contains_key(&id)
    }

    /// The session's timeout in ms.
    pub fn timeout(&self, id: i64) -> Option<u64> {
        self.sessions.get(&id).map(|t| t.timeout)
    }

    /// Stops tracking a session (its close was applied).
    pub fn remove(&mut self, id: i64) {
        if let Some(t) = self.sessions.remove(&id) {
            self.unbucket(id, t.expires_at);
        }
    }

    /// Sessions whose time ran out by `now`, in id order. They are marked closing and left in the tracker
    /// until their close txn is applied.
    pub fn take_expired(&mut self, now: u64) -> Vec<i64> {
        let mut out = Vec::new();
        while let Some((&at, _)) = self.buckets.first_key_value() {
            if at > now {
                break;
            }
            if let Some(ids) = self.buckets.remove(&at) {
                out.extend(ids);
            }
        }
        for id in &out {
            if let Some(t) = self.sessions.get_mut(id) {
                t.closing = true;
            }
        }
        out
    }

    /// When the next bucket is due.
    pub fn next_expiry(&self) -> Option<u64> {
        self.buckets.keys().next().copied()
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// (id, expiry time) of every tracked session.
    pub fn iter_expiry(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.sessions.iter().map(|(id, t)| (*id, t.expires_at))
    }

    /// When the session expires unless touched.
    pub fn expires_at(&self, id: i64) -> Option<u64> {
        self.sessions.get(&id).map(|t| t.expires_at)
    }

    /// (id, timeout ms) of every tracked session.
    pub fn iter(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.sessions.iter().map(|(id, t)| (*id, t.timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_at_the_tick_after_the_timeout() {
        let mut t = SessionTracker::new(100);
        t.add(1, 250, 1000);
        assert_eq!(t.next_expiry(), Some(1300));
        assert!(t.take_expired(1299).is_empty());
        assert_eq!(t.take_expired(1300), vec![1]);
        assert!(!t.is_live(1));
        assert!(!t.touch(1, 1300));
    }

    #[test]
    fn touching_postpones_expiry() {
        let mut t = SessionTracker::new(100);
        t.add(1, 250, 1000);
        assert!(t.touch(1, 1200));
        assert!(t.take_expired(1300).is_empty());
        assert_eq!(t.take_expired(1500), vec![1]);
    }

    #[test]
    fn removed_sessions_never_expire() {
        let mut t = SessionTracker::new(100);
        t.add(1, 250, 1000);
        t.remove(1);
        assert_eq!(t.next_expiry(), None);
        assert!(t.take_expired(10_000).is_empty());
    }
}
