//! Connections without a session: one that has not sent its handshake within `nio.sessionlessCnxnTimeout`
//! (ZooKeeper's `zookeeper.nio.sessionlessCnxnTimeout`, 10 s) is closed, so idle sockets cannot exhaust the
//! server's connections. ZooKeeper checks in buckets of the timeout and restarts the clock on every read
//! (a client trickling one byte at a time stays forever); rzk closes at exactly the timeout after the
//! connection opened, whatever arrived meanwhile, unless the handshake completed.

use std::collections::VecDeque;

use super::connection::ConnState;
use super::{ConnId, Node, Output};

/// Handshake deadlines in the order connections opened. Every connection gets the same timeout and time only
/// moves forward, so the queue is sorted by deadline; entries of connections that completed their handshake
/// or closed are dropped when they reach the front.
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub struct HandshakeDeadlines {
    queue: VecDeque<(u64, ConnId)>,
}

impl HandshakeDeadlines {
    pub fn opened(&mut self, conn: ConnId, deadline: u64) {
        self.queue.push_back((deadline, conn));
    }

    /// The earliest deadline still queued (possibly of a connection that has since completed its
    /// handshake: waking early is harmless, and the tick drops it).
    pub fn next(&self) -> Option<u64> {
        self.queue.front().map(|&(deadline, _)| deadline)
    }

    fn pop_due(&mut self, now: u64) -> Option<ConnId> {
        match self.queue.front() {
            Some(&(deadline, conn)) if deadline <= now => {
                self.queue.pop_front();
                Some(conn)
            }
            _ => None,
        }
    }
}

impl Node {
    /// Closes every connection whose handshake deadline passed without a handshake.
    pub(super) fn close_sessionless(&mut self, now: u64, out: &mut Vec<Output>) {
        while let Some(conn) = self.handshake_deadlines.pop_due(now) {
            let awaiting = self
                .conns
                .get(&conn)
                .is_some_and(|c| c.state == ConnState::AwaitingConnect);
            if awaiting {
                tracing::info!(
                    conn,
                    timeout_ms = self.config.server.sessionless_cnxn_timeout,
                    "closing a connection that sent no handshake in time"
                );
                self.stats.sessionless_closed += 1;
                self.close_conn(conn, out);
            }
        }
    }
}
