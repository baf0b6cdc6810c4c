//! Every timer the node runs, in one table (as quinn-proto's `TimerTable`): what each waits for and when it
//! is due. [`Node::next_deadline`] is the earliest of them; a tick runs them all in the table's order, each
//! doing whatever has come due (a timer that is not due does nothing).

use super::{ensemble, Node, Output};
use crate::planted::PlantedBug;
use crate::txn::Txn;

/// The node's timers, in the order a tick runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// An ensemble member's first election, due at once (set at startup).
    FirstElection,
    /// Connections that sent no handshake within `nio.sessionlessCnxnTimeout`.
    Handshake,
    /// The role's own: election rounds; a leader's pings and quorum check; a follower's leader-silence check
    /// and FOLLOWERINFO retries.
    Ensemble,
    /// Read-only mode: entering it after the grace period, expiring its local sessions.
    ReadOnly,
    /// Session expiry (a serving leader or a standalone server decides it).
    SessionExpiry,
    /// The container and TTL reaper (same deciders).
    Reaper,
}

impl Timer {
    pub const ALL: [Timer; 6] = [
        Timer::FirstElection,
        Timer::Handshake,
        Timer::Ensemble,
        Timer::ReadOnly,
        Timer::SessionExpiry,
        Timer::Reaper,
    ];
}

impl Node {
    /// When the node next needs an [`Input::Tick`](super::Input::Tick), if ever.
    pub fn next_deadline(&self) -> Option<u64> {
        Timer::ALL
            .into_iter()
            .filter_map(|t| self.deadline(t))
            .min()
    }

    /// When `timer` is due (possibly already), or `None` while it is off.
    pub(super) fn deadline(&self, timer: Timer) -> Option<u64> {
        match timer {
            Timer::FirstElection => self.election_due.then_some(0),
            Timer::Handshake => self.handshake_deadlines.next(),
            Timer::Ensemble => self.ensemble_deadline(),
            Timer::ReadOnly => self.read_only.next_expiry(),
            Timer::SessionExpiry => self
                .sessions
                .next_expiry()
                .filter(|_| self.decides_expiry()),
            Timer::Reaper => self.decides_expiry().then_some(self.next_reap),
        }
    }

    pub(super) fn on_tick(&mut self, now: u64, out: &mut Vec<Output>) {
        self.last_tick = now;
        self.touch_paused_sessions(now);
        for timer in Timer::ALL {
            self.run_timer(timer, now, out);
        }
    }

    fn run_timer(&mut self, timer: Timer, now: u64, out: &mut Vec<Output>) {
        match timer {
            Timer::FirstElection => {
                if self.election_due {
                    self.election_due = false;
                    self.start_election(now, out);
                }
            }
            Timer::Handshake => self.close_sessionless(now, out),
            Timer::Ensemble => self.ensemble_tick(now, out),
            Timer::ReadOnly => self.read_only_tick(now, out),
            Timer::SessionExpiry if self.decides_expiry() => self.expire_sessions(now),
            Timer::Reaper if self.decides_expiry() && now >= self.next_reap => {
                self.reap_containers(now);
                self.next_reap = now + self.config.server.container_check_interval_ms.max(1) as u64;
            }
            Timer::SessionExpiry | Timer::Reaper => {}
        }
    }

    /// A connection this server stopped reading (its queue is full: backpressure) may hold the client's
    /// pings unread; the server is the slow one, so its session stays alive until reading resumes.
    fn touch_paused_sessions(&mut self, now: u64) {
        let paused: Vec<(i64, i32)> = self
            .conns
            .values()
            .filter(|c| c.paused && !c.read_only)
            .filter_map(|c| c.session_id().map(|s| (s, c.timeout())))
            .collect();
        for (session, timeout) in paused {
            self.sessions.touch(session, now);
            self.follower_touch(session, timeout);
        }
    }

    fn expire_sessions(&mut self, now: u64) {
        for session in self.sessions.take_expired(now) {
            tracing::info!(session = format_args!("0x{session:x}"), "session expired");
            if self.is_follower() {
                // Planted follower-expires-sessions: ask the leader to close it, as its client would.
                let close = crate::proto::request::Request {
                    xid: 0,
                    op: crate::proto::OpCode::CloseSession,
                    body: crate::proto::request::RequestBody::CloseSession,
                };
                self.forward(session, &close, Vec::new());
                continue;
            }
            let zxid = self.propose(now, session, 0, Txn::CloseSession, None);
            self.closing.insert(session, zxid);
        }
    }

    /// Only a serving leader (or a standalone server) expires sessions and reaps containers.
    pub(super) fn decides_expiry(&self) -> bool {
        let follower_decides = self.planted.has(PlantedBug::FollowerExpiresSessions);
        let role = match self.role {
            ensemble::Role::Standalone | ensemble::Role::Leading(_) => true,
            ensemble::Role::Following(_) => follower_decides,
            ensemble::Role::Looking(_) => false,
        };
        role && self.serving()
    }
}
