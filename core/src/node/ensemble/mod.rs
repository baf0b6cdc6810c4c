//! The node's role in an ensemble (Zab): LOOKING (electing), LEADING or FOLLOWING, and the switch between
//! them. A standalone node is none of these: it commits its own txns as a one-server quorum.
//!
//! - [`leader`]: what the leader does for each learner, from FOLLOWERINFO to UPTODATE, and broadcast.
//! - [`follower`]: the learner's half of each step (followers and observers).
//! - [`learner_handler`]: the leader's state per learner and its phases.
//! - [`learner_clients`]: a learner's clients: forwarded writes, revalidations and syncs.
//! - [`membership`]: who votes and who observes, computed once.
//!
//! This file routes peer messages to the role, runs elections and switches roles.

mod follower;
mod leader;
mod learner_clients;
mod learner_handler;
mod membership;

use super::{ConnId, Node, Output};
use crate::election::{Decision, Election, Notification};
use crate::peer::{PeerMsg, ServerId};
use crate::planted::PlantedBug;
use crate::zab::{CommittedLog, ZabMsg};
use crate::Zxid;
pub use follower::Follower;
pub use leader::Leader;
pub use membership::Membership;

/// What a server is doing, as `srvr`'s Mode and ZooKeeper's ServerState say it (plus standalone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerMode {
    Standalone,
    Looking,
    Leading,
    Following,
    Observing,
}

impl ServerMode {
    /// The word `srvr`/`stat` print as Mode.
    pub fn name(self) -> &'static str {
        match self {
            ServerMode::Standalone => "standalone",
            ServerMode::Looking => "looking",
            ServerMode::Leading => "leader",
            ServerMode::Following => "follower",
            ServerMode::Observing => "observer",
        }
    }
}

/// The node's current role.
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub enum Role {
    Standalone,
    Looking(Election),
    Leading(Leader),
    Following(Follower),
}

impl Node {
    /// Whether clients may be served now.
    pub(super) fn serving(&self) -> bool {
        match &self.role {
            // An ensemble member is "standalone" only until its first tick starts the election: it must not
            // serve (or propose zxids of its own) in that moment.
            Role::Standalone => self.membership.is_none(),
            Role::Looking(_) => false,
            Role::Leading(l) => self.leader_serving(l),
            Role::Following(f) => f.serving,
        }
    }

    /// What this server is doing now.
    pub fn server_mode(&self) -> ServerMode {
        match &self.role {
            Role::Standalone => ServerMode::Standalone,
            Role::Looking(_) => ServerMode::Looking,
            Role::Leading(_) => ServerMode::Leading,
            Role::Following(_) if self.membership.as_ref().is_some_and(|m| m.is_observer()) => {
                ServerMode::Observing
            }
            Role::Following(_) => ServerMode::Following,
        }
    }

    /// The newest zxid in this server's log (what it votes with).
    pub(super) fn last_logged(&self) -> Zxid {
        let pending = self.pending_log.last().map(|t| t.header.zxid);
        let flight = self.in_flight.back().map(|f| f.txn.header.zxid);
        [Some(self.tree.last_zxid()), pending, flight]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(0)
    }

    /// Sends a Zab message within the current session with `to` (a leader's learner, or a learner's leader).
    pub(super) fn send(&mut self, to: ServerId, msg: ZabMsg) {
        let session = match &self.role {
            Role::Leading(l) => l.session_of(to).unwrap_or(0),
            Role::Following(f) => f.session,
            _ => 0,
        };
        self.peer_out
            .push((to, None, PeerMsg::Zab { session, msg }));
    }

    /// Sends a message that vouches for the epoch files (an epoch acknowledgement, LEADERINFO, NEWLEADER,
    /// UPTODATE): held until every epoch write emitted so far is durable.
    pub(super) fn send_after_epochs(&mut self, to: ServerId, msg: ZabMsg) {
        let session = match &self.role {
            Role::Leading(l) => l.session_of(to).unwrap_or(0),
            Role::Following(f) => f.session,
            _ => 0,
        };
        let after = self.persistence.epochs_pending();
        self.peer_out
            .push((to, after, PeerMsg::Zab { session, msg }));
    }

    /// Learner: a message for the leader.
    pub(super) fn send_to_leader(&mut self, msg: ZabMsg) {
        let leader = self.leader_id();
        self.send(leader, msg);
    }

    /// Starts (or restarts) an election: logged-but-uncommitted proposals go back to the pending log, the
    /// clients are told we are not serving.
    pub(super) fn start_election(&mut self, now: u64, out: &mut Vec<Output>) {
        let Some(m) = self.membership.clone() else {
            return;
        };
        if let Role::Leading(l) = &mut self.role {
            for s in l.end_sessions() {
                self.retire_session(s);
            }
        }
        for f in std::mem::take(&mut self.in_flight) {
            self.pending_log.push(f.txn);
        }
        self.pending_log.sort_by_key(|t| t.header.zxid);
        self.pending_log.dedup_by_key(|t| t.header.zxid);
        self.overlay = Default::default();
        // Messages held for a durable write belong to sessions that end now.
        self.persistence.drop_held();
        self.drop_all_clients(out);
        self.read_only_looking(now);
        let mut sends = Vec::new();
        let mut e = Election::start(
            m.me,
            m.quorum.clone(),
            m.is_observer(),
            self.logical_clock,
            self.last_logged(),
            self.current_epoch,
            now,
            &mut sends,
        );
        if self.planted.has(PlantedBug::ElectionById) {
            e.compare_ids_only();
        }
        self.logical_clock = e.logical_clock();
        tracing::info!(
            me = m.me,
            round = self.logical_clock,
            last_zxid = format_args!("0x{:x}", self.last_logged()),
            "looking for a leader"
        );
        self.role = Role::Looking(e);
        self.send_election(&m, sends);
    }

    fn send_election(&mut self, m: &Membership, sends: Vec<(Option<ServerId>, Notification)>) {
        for (to, n) in sends {
            match to {
                Some(t) => self.peer_out.push((t, None, PeerMsg::Election(n))),
                None => {
                    for p in m.peers() {
                        self.peer_out.push((p, None, PeerMsg::Election(n)));
                    }
                }
            }
        }
    }

    /// Closes every client connection (the server stops serving while it elects or syncs).
    fn drop_all_clients(&mut self, out: &mut Vec<Output>) {
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for c in conns {
            self.close_conn(c, out);
        }
    }

    /// A message from another server: votes go to the election (or are answered), Zab messages to the role,
    /// if they belong to the current session with that server.
    pub(super) fn on_peer_message(
        &mut self,
        now: u64,
        from: ServerId,
        msg: PeerMsg,
        out: &mut Vec<Output>,
    ) {
        let Some(m) = self.membership.clone() else {
            return;
        };
        match msg {
            PeerMsg::Election(n) => self.on_notification(now, &m, from, n, out),
            PeerMsg::Zab { session, msg } => match &self.role {
                Role::Leading(_) => self.leader_on_message(now, from, session, msg, out),
                Role::Following(f) if f.leader == from && f.session == session => {
                    self.follower_on_message(now, msg, out)
                }
                _ => {}
            },
        }
    }

    fn on_notification(
        &mut self,
        now: u64,
        m: &Membership,
        from: ServerId,
        n: Notification,
        out: &mut Vec<Output>,
    ) {
        let mut sends = Vec::new();
        let decision = if let Role::Looking(e) = &mut self.role {
            e.on_notification(now, from, n, &mut sends)
        } else {
            // Others answer a peer that is looking with where they stand.
            let answer = match &self.role {
                Role::Leading(_) => self.leader_answer_notification(&n),
                Role::Following(f) => self.follower_answer_notification(f, &n),
                Role::Looking(_) | Role::Standalone => None,
            };
            sends.extend(answer.map(|a| (Some(from), a)));
            None
        };
        self.send_election(m, sends);
        if let Some(d) = decision {
            self.decided(now, m, d, out);
        }
    }

    pub(super) fn ensemble_tick(&mut self, now: u64, out: &mut Vec<Output>) {
        let Some(m) = self.membership.clone() else {
            return;
        };
        match &mut self.role {
            Role::Standalone => {}
            Role::Looking(e) => {
                let mut sends = Vec::new();
                let d = if now >= e.next_deadline() {
                    e.on_tick(now, &mut sends)
                } else {
                    None
                };
                self.send_election(&m, sends);
                if let Some(d) = d {
                    self.decided(now, &m, d, out);
                }
            }
            Role::Leading(_) => self.leader_tick(now, &m, out),
            Role::Following(_) => self.follower_tick(now, &m, out),
        }
    }

    pub(super) fn ensemble_deadline(&self) -> Option<u64> {
        let half_tick = (self.config.server.tick_time as u64 / 2).max(1);
        match &self.role {
            Role::Standalone => None,
            Role::Looking(e) => Some(e.next_deadline()),
            Role::Leading(_) => Some(self.next_ping.min(self.last_tick + half_tick)),
            Role::Following(f) => Some(self.follower_deadline(f)),
        }
    }

    /// The election settled: lead or follow.
    fn decided(&mut self, now: u64, m: &Membership, d: Decision, out: &mut Vec<Output>) {
        self.logical_clock = d.election_epoch;
        self.leave_read_only(out);
        if d.leader == m.me {
            self.become_leader(now, m, d);
            self.leader_try_epoch(m, out);
        } else {
            self.become_follower(now, m, d);
        }
    }

    /// Remembers a learner session of an ended leader term (see `retired_sessions`).
    fn retire_session(&mut self, s: (ServerId, u64)) {
        const KEPT: usize = 1024;
        if self.retired_sessions.len() == KEPT {
            self.retired_sessions.pop_front();
        }
        self.retired_sessions.push_back(s);
    }

    pub(super) fn leader_id(&self) -> ServerId {
        match &self.role {
            Role::Following(f) => f.leader,
            Role::Leading(_) => self.config.server_id,
            _ => 0,
        }
    }

    pub(super) fn is_follower(&self) -> bool {
        matches!(self.role, Role::Following(_))
    }

    pub(super) fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leading(_))
    }

    /// A peer link dropped: a follower that lost its leader looks again; a leader ends that learner's
    /// session.
    pub(super) fn on_peer_down(&mut self, now: u64, peer: ServerId, out: &mut Vec<Output>) {
        match &self.role {
            Role::Following(f) if f.leader == peer => {
                tracing::warn!(leader = peer, "lost the leader; looking again");
                self.start_election(now, out);
            }
            Role::Leading(_) => self.leader_lost_learner(peer),
            _ => {}
        }
    }

    /// Recent committed txns (the simulator reads the committed history from here).
    pub fn committed_log(&self) -> &CommittedLog {
        &self.committed_log
    }

    /// The newest epoch this server accepted from a prospective leader (what acceptedEpoch must hold).
    pub fn accepted_epoch(&self) -> u32 {
        self.accepted_epoch
    }

    /// The epoch of the leader this server last synced with, or leads (what currentEpoch must hold).
    pub fn current_epoch(&self) -> u32 {
        self.current_epoch
    }

    /// The epoch this server leads, once it is established (a quorum acknowledged NEWLEADER).
    pub fn established_epoch(&self) -> Option<u32> {
        match &self.role {
            Role::Leading(l) if self.serving() => l.epoch,
            _ => None,
        }
    }

    /// The newest zxid in this server's log, applied or not.
    pub fn last_logged_zxid(&self) -> Zxid {
        self.last_logged()
    }
}
