//! The node's role in an ensemble (Zab): LOOKING (electing), LEADING or FOLLOWING. A standalone node is
//! none of these: it commits its own txns as a one-server quorum.
//!
//! Leader: discovery (a new epoch from a quorum's accepted epochs), synchronization of each learner
//! (DIFF / TRUNC / SNAP, then NEWLEADER), then broadcast (PROPOSAL, ACK at a quorum, COMMIT in zxid order).
//! Follower: the other half of each step; it logs proposals, ACKs them once durable and applies them when
//! the leader commits. Writes, session changes and syncs are forwarded to the leader; reads are local.

use std::collections::{BTreeMap, BTreeSet};

use super::{ConnId, InFlight, Node, Output};
use crate::election::{Decision, Election, Notification, PeerState, Quorum};
use crate::peer::{PeerMsg, ServerId};
use crate::planted::PlantedBug;
use crate::txn::LoggedTxn;
use crate::zab::{plan_sync, AckTracker, CommittedLog, SnapshotData, SyncPlan, ZabMsg};
use crate::{zxid, Zxid};

/// Who this server is in the ensemble.
#[derive(Debug, Clone)]
pub struct Membership {
    pub me: ServerId,
    pub quorum: Quorum,
    pub observers: BTreeSet<ServerId>,
}

impl Membership {
    pub fn peers(&self) -> impl Iterator<Item = ServerId> + '_ {
        self.quorum
            .voters()
            .iter()
            .chain(self.observers.iter())
            .copied()
            .filter(move |id| *id != self.me)
    }

    pub fn is_observer(&self) -> bool {
        self.observers.contains(&self.me)
    }
}

/// The node's current role.
#[derive(Debug)]
pub enum Role {
    Standalone,
    Looking(Election),
    Leading(Leader),
    Following(Follower),
}

/// A leader through its phases.
#[derive(Debug)]
pub struct Leader {
    pub decision: Decision,
    /// Learners that sent FOLLOWERINFO: (accepted epoch, last zxid, observer).
    infos: BTreeMap<ServerId, (u32, Zxid, bool)>,
    /// The new epoch, once a quorum of infos arrived.
    pub epoch: Option<u32>,
    /// Learners that acknowledged the epoch (and were sent their sync).
    synced_sent: BTreeSet<ServerId>,
    /// Learners that acknowledged the epoch, with their last zxid, waiting for a quorum of such acks.
    epoch_acks: BTreeMap<ServerId, Zxid>,
    /// A quorum acknowledged the epoch: learners are synced as soon as they acknowledge it.
    discovered: bool,
    /// Learners that acknowledged NEWLEADER.
    newleader_acks: BTreeSet<ServerId>,
    /// Learners serving (sent UPTODATE).
    pub up_to_date: BTreeSet<ServerId>,
    pub acks: AckTracker,
    /// When each learner was last heard from.
    last_heard: BTreeMap<ServerId, u64>,
    /// Each learner's session number (from its FOLLOWERINFO).
    sessions: BTreeMap<ServerId, u64>,
    started: u64,
    /// Sync requests from learners: (learner, id, answer once committed >= zxid).
    syncs: Vec<(ServerId, u64, Zxid)>,
    /// "Expired" answers to revalidations, held until the session's close txn commits:
    /// (learner, session, close zxid).
    refusals: Vec<(ServerId, i64, Zxid)>,
    /// Proposal sizes in bytes (last, min, max) for `mntr`; none before the first proposal.
    proposal_sizes: Option<(usize, usize, usize)>,
}

impl Leader {
    /// Learners that get proposals and commits (their sync has been sent).
    pub fn synced_sent_ids(&self) -> Vec<ServerId> {
        self.synced_sent.iter().copied().collect()
    }

    /// Counts a proposal's size for `mntr`.
    pub fn proposed(&mut self, size: usize) {
        self.proposal_sizes = Some(match self.proposal_sizes {
            None => (size, size, size),
            Some((_, lo, hi)) => (size, lo.min(size), hi.max(size)),
        });
    }

    /// The leader figures `mntr` and `stat` print.
    pub fn report(&self, now: u64, m: &Membership) -> crate::four_letter::LeaderReport {
        let serving = |observers: bool| {
            self.up_to_date
                .iter()
                .filter(|id| m.observers.contains(id) == observers)
                .count() as u64
        };
        let size =
            |f: fn((usize, usize, usize)) -> usize| self.proposal_sizes.map_or(-1, |s| f(s) as i64);
        crate::four_letter::LeaderReport {
            learners: self.sessions.len() as u64,
            synced_followers: serving(false),
            synced_non_voting_followers: 0,
            synced_observers: serving(true),
            pending_syncs: self.syncs.len() as u64,
            leader_uptime_ms: now.saturating_sub(self.started),
            last_proposal_size: size(|s| s.0),
            min_proposal_size: size(|s| s.1),
            max_proposal_size: size(|s| s.2),
        }
    }
}

/// A follower (or observer) through its phases.
#[derive(Debug)]
pub struct Follower {
    pub decision: Decision,
    pub leader: ServerId,
    /// This term's session number (see [`PeerMsg::Zab`]).
    session: u64,
    /// The epoch the leader announced, once known.
    epoch: Option<u32>,
    /// NEWLEADER received: acknowledge once everything logged so far is durable.
    newleader: Option<Zxid>,
    /// What must be durable before acknowledging NEWLEADER.
    newleader_need: Zxid,
    pub serving: bool,
    last_heard: u64,
    /// Sessions this server's clients kept alive since the last ping.
    pub touched: BTreeMap<i64, i32>,
    /// Proposals logged, waiting for COMMIT.
    next_sync_id: u64,
    /// When FOLLOWERINFO was last sent (it is repeated until LEADERINFO arrives).
    info_sent_at: u64,
}

impl Node {
    /// The ensemble membership, if zoo.cfg lists servers.
    pub(super) fn membership(&self) -> Option<Membership> {
        let servers = &self.config.server.servers;
        if servers.is_empty() {
            return None;
        }
        let voters = servers
            .iter()
            .filter(|s| s.peer_type == crate::config::PeerType::Participant)
            .map(|s| s.id);
        let observers = servers
            .iter()
            .filter(|s| s.peer_type == crate::config::PeerType::Observer)
            .map(|s| s.id);
        Some(Membership {
            me: self.config.server_id,
            quorum: Quorum::new(voters),
            observers: observers.collect(),
        })
    }

    /// Whether clients may be served now.
    pub(super) fn serving(&self) -> bool {
        match &self.role {
            // An ensemble member is "standalone" only until its first tick starts the election: it must not
            // serve (or propose zxids of its own) in that moment.
            Role::Standalone => self.config.server.servers.is_empty(),
            Role::Looking(_) => false,
            Role::Leading(l) => {
                l.epoch.is_some() && !l.up_to_date.is_empty() || self.leader_alone_serving(l)
            }
            Role::Following(f) => f.serving,
        }
    }

    fn leader_alone_serving(&self, l: &Leader) -> bool {
        if self.planted.has(PlantedBug::ServeBeforeNewLeaderQuorum) && l.epoch.is_some() {
            return true;
        }
        // A quorum acknowledged NEWLEADER (the leader counts itself).
        self.membership().is_some_and(|m| {
            m.quorum
                .is_quorum(l.newleader_acks.iter().copied().chain([m.me]))
        })
    }

    /// The mode `srvr`/`stat` print.
    pub(super) fn mode_name(&self) -> &'static str {
        match &self.role {
            Role::Standalone => "standalone",
            Role::Looking(_) => "looking",
            Role::Leading(_) => "leader",
            Role::Following(_) if self.membership().is_some_and(|m| m.is_observer()) => "observer",
            Role::Following(_) => "follower",
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
            Role::Leading(l) => l.sessions.get(&to).copied().unwrap_or(0),
            Role::Following(f) => f.session,
            _ => 0,
        };
        self.peer_out.push((to, PeerMsg::Zab { session, msg }));
    }

    /// Learner: a message for the leader.
    pub(super) fn send_to_leader(&mut self, msg: ZabMsg) {
        let leader = self.leader_id();
        self.send(leader, msg);
    }

    /// Starts (or restarts) an election: logged-but-uncommitted proposals go back to the pending log, the
    /// clients are told we are not serving.
    pub(super) fn start_election(&mut self, now: u64, out: &mut Vec<Output>) {
        let Some(m) = self.membership() else { return };
        if let Role::Leading(l) = &mut self.role {
            let ended: Vec<(ServerId, u64)> = std::mem::take(&mut l.sessions).into_iter().collect();
            for s in ended {
                self.retire_session(s);
            }
        }
        for f in std::mem::take(&mut self.in_flight) {
            self.pending_log.push(f.txn);
        }
        self.pending_log.sort_by_key(|t| t.header.zxid);
        self.pending_log.dedup_by_key(|t| t.header.zxid);
        self.overlay = Default::default();
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
                Some(t) => self.peer_out.push((t, PeerMsg::Election(n))),
                None => {
                    for p in m.peers() {
                        self.peer_out.push((p, PeerMsg::Election(n)));
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

    pub(super) fn on_peer_message(
        &mut self,
        now: u64,
        from: ServerId,
        msg: PeerMsg,
        out: &mut Vec<Output>,
    ) {
        let Some(m) = self.membership() else { return };
        match msg {
            PeerMsg::Election(n) => self.on_notification(now, &m, from, n, out),
            PeerMsg::Zab { session, msg } => match &mut self.role {
                Role::Leading(l) => {
                    let known = l.sessions.get(&from) == Some(&session);
                    match msg {
                        // A repeated FOLLOWERINFO of a session under way: answer it, change nothing.
                        ZabMsg::FollowerInfo { .. } if known => {
                            l.last_heard.insert(from, now);
                            if let Some(epoch) = l.epoch {
                                self.send(from, ZabMsg::LeaderInfo { epoch });
                            }
                            return;
                        }
                        ZabMsg::FollowerInfo { .. }
                            if self.retired_sessions.contains(&(from, session)) =>
                        {
                            return;
                        }
                        ZabMsg::FollowerInfo { .. } => {
                            l.sessions.insert(from, session);
                        }
                        _ if !known => return,
                        _ => {}
                    }
                    self.leader_on(now, &m, from, msg, out)
                }
                Role::Following(f) if f.leader == from && f.session == session => {
                    self.follower_on(now, &m, msg, out)
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
        let decision = match &mut self.role {
            Role::Looking(e) => e.on_notification(now, from, n, &mut sends),
            Role::Leading(l) => {
                if n.state == PeerState::Looking || n.state == PeerState::Observing {
                    let d = l.decision;
                    sends.push((
                        Some(from),
                        Notification {
                            vote: d.vote,
                            election_epoch: d.election_epoch,
                            state: PeerState::Leading,
                        },
                    ));
                }
                None
            }
            Role::Following(f) => {
                // A looking observer announces itself as Observing; voters tell it who leads (observers do not
                // answer each other, or two would echo forever).
                let asks = n.state == PeerState::Looking
                    || (n.state == PeerState::Observing && !m.is_observer());
                if asks {
                    let d = f.decision;
                    let state = if m.is_observer() {
                        PeerState::Observing
                    } else {
                        PeerState::Following
                    };
                    sends.push((
                        Some(from),
                        Notification {
                            vote: d.vote,
                            election_epoch: d.election_epoch,
                            state,
                        },
                    ));
                }
                None
            }
            Role::Standalone => None,
        };
        self.send_election(m, sends);
        if let Some(d) = decision {
            self.decided(now, m, d, out);
        }
    }

    pub(super) fn ensemble_tick(&mut self, now: u64, out: &mut Vec<Output>) {
        let Some(m) = self.membership() else { return };
        let tick = self.config.server.tick_time as u64;
        let sync_limit = tick * self.config.server.sync_limit.max(1) as u64;
        let init_limit = tick * self.config.server.init_limit.max(1) as u64;
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
            Role::Leading(l) => {
                // A leader that cannot hear from a quorum steps down.
                let limit = if l.up_to_date.is_empty() {
                    init_limit
                } else {
                    sync_limit
                };
                let heard = l
                    .last_heard
                    .iter()
                    .filter(|(_, t)| now.saturating_sub(**t) <= limit)
                    .map(|(id, _)| *id);
                let alive = m.quorum.is_quorum(heard.chain([m.me]));
                if !alive && now.saturating_sub(l.started) > limit {
                    tracing::warn!("leader lost its quorum; looking again");
                    return self.start_election(now, out);
                }
                if now >= self.next_ping {
                    let learners: Vec<ServerId> = l.last_heard.keys().copied().collect();
                    for p in learners {
                        self.send(
                            p,
                            ZabMsg::Ping {
                                sessions: Vec::new(),
                            },
                        );
                    }
                    self.next_ping = now + (tick / 2).max(1);
                }
            }
            Role::Following(f) => {
                let limit = if f.serving { sync_limit } else { init_limit };
                if now.saturating_sub(f.last_heard) > limit {
                    tracing::warn!(leader = f.leader, "leader silent; looking again");
                    return self.start_election(now, out);
                }
                // Until the leader answers, say who we are again: the first FOLLOWERINFO may have reached
                // it while it was still electing (and so was dropped).
                if f.epoch.is_none() && now >= f.info_sent_at + follower_info_retry(tick) {
                    f.info_sent_at = now;
                    let leader = f.leader;
                    let info = self.follower_info(&m);
                    self.send(leader, info);
                }
            }
        }
    }

    pub(super) fn ensemble_deadline(&self) -> Option<u64> {
        let half_tick = (self.config.server.tick_time as u64 / 2).max(1);
        match &self.role {
            Role::Standalone => None,
            Role::Looking(e) => Some(e.next_deadline()),
            Role::Leading(_) => Some(self.next_ping.min(self.last_tick + half_tick)),
            Role::Following(f) if f.epoch.is_none() => Some(
                (self.last_tick + half_tick)
                    .min(f.info_sent_at + follower_info_retry(self.config.server.tick_time as u64)),
            ),
            Role::Following(_) => Some(self.last_tick + half_tick),
        }
    }

    /// The election settled.
    fn decided(&mut self, now: u64, m: &Membership, d: Decision, out: &mut Vec<Output>) {
        self.logical_clock = d.election_epoch;
        self.leave_read_only(out);
        if d.leader == m.me {
            tracing::info!(me = m.me, "elected leader");
            // The leader owns session expiry: start from the committed sessions, each with a full timeout
            // (pending creates and closes adjust this when the history is established).
            self.sessions =
                crate::session::SessionTracker::new(self.config.server.tick_time as u64);
            self.closing.clear();
            let committed: Vec<(i64, i32)> =
                self.tree.sessions().iter().map(|(s, t)| (*s, *t)).collect();
            for (s, t) in committed {
                self.sessions.add(s, t, now);
            }
            // Our whole log becomes the new history, but only once a quorum acknowledged NEWLEADER:
            // until then it stays pending (a leader that fails to establish itself must not have applied it).
            let mut infos = BTreeMap::new();
            infos.insert(m.me, (self.accepted_epoch, self.last_logged(), false));
            self.role = Role::Leading(Leader {
                decision: d,
                infos,
                epoch: None,
                synced_sent: BTreeSet::new(),
                epoch_acks: BTreeMap::new(),
                discovered: false,
                newleader_acks: BTreeSet::new(),
                up_to_date: BTreeSet::new(),
                acks: AckTracker::new(m.quorum.clone(), self.tree.last_zxid()),
                last_heard: BTreeMap::new(),
                sessions: BTreeMap::new(),
                started: now,
                syncs: Vec::new(),
                refusals: Vec::new(),
                proposal_sizes: None,
            });
            self.leader_try_epoch(now, m, out);
        } else {
            tracing::info!(me = m.me, leader = d.leader, "following");
            self.learner_session = self.learner_session.wrapping_add(1);
            self.role = Role::Following(Follower {
                decision: d,
                leader: d.leader,
                session: self.learner_session,
                epoch: None,
                newleader: None,
                newleader_need: 0,
                serving: false,
                last_heard: now,
                touched: BTreeMap::new(),
                next_sync_id: 1,
                info_sent_at: now,
            });
            let info = self.follower_info(m);
            self.send(d.leader, info);
        }
    }

    /// Once a quorum reported its accepted epoch, pick the new one and announce it.
    fn leader_try_epoch(&mut self, _now: u64, m: &Membership, out: &mut Vec<Output>) {
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        if l.epoch.is_some() {
            return;
        }
        let voters = l
            .infos
            .iter()
            .filter(|(_, (_, _, obs))| !obs)
            .map(|(id, _)| *id);
        if !m.quorum.is_quorum(voters) {
            return;
        }
        let epoch = l
            .infos
            .values()
            .map(|(e, _, _)| *e)
            .max()
            .unwrap_or(0)
            .max(self.current_epoch)
            + 1;
        l.epoch = Some(epoch);
        // The epoch's zxids start above everything of earlier epochs.
        self.last_proposed = zxid::make(epoch, 0);
        self.accepted_epoch = epoch;
        out.push(Output::SaveEpochs {
            accepted: epoch,
            current: self.current_epoch,
        });
        tracing::info!(epoch, "new epoch");
        let learners: Vec<ServerId> = l.infos.keys().copied().filter(|id| *id != m.me).collect();
        for p in learners {
            self.send(p, ZabMsg::LeaderInfo { epoch });
        }
        if self.planted.has(PlantedBug::ServeBeforeNewLeaderQuorum) {
            // Planted: established at once, our logged history taken as committed.
            self.apply_pending();
            self.current_epoch = epoch;
            out.push(Output::SaveEpochs {
                accepted: epoch,
                current: epoch,
            });
        }
    }

    fn leader_on(
        &mut self,
        now: u64,
        m: &Membership,
        from: ServerId,
        msg: ZabMsg,
        out: &mut Vec<Output>,
    ) {
        if let Role::Leading(l) = &mut self.role {
            l.last_heard.insert(from, now);
        }
        match msg {
            ZabMsg::FollowerInfo {
                accepted_epoch,
                last_zxid,
                observer,
            } => {
                let epoch = match &mut self.role {
                    Role::Leading(l) => {
                        // A learner starting over (it went looking and came back): forget its old stream; the old
                        // proposals and commits stop until it is synced again.
                        l.synced_sent.remove(&from);
                        l.epoch_acks.remove(&from);
                        l.up_to_date.remove(&from);
                        l.newleader_acks.remove(&from);
                        l.infos.insert(from, (accepted_epoch, last_zxid, observer));
                        l.epoch
                    }
                    _ => None,
                };
                match epoch {
                    Some(e) if accepted_epoch > e => {
                        // The learner promised a newer epoch (to a leader that never established itself) and
                        // cannot follow ours: elect again, so the next epoch is above every promise.
                        tracing::warn!(
                            from,
                            accepted_epoch,
                            epoch = e,
                            "a learner accepted a newer epoch; looking again"
                        );
                        self.start_election(now, out);
                    }
                    Some(e) => self.send(from, ZabMsg::LeaderInfo { epoch: e }),
                    None => self.leader_try_epoch(now, m, out),
                }
            }
            ZabMsg::AckEpoch {
                current_epoch,
                last_zxid,
            } => {
                let ours = self.last_logged();
                let Role::Leading(l) = &mut self.role else {
                    return;
                };
                let Some(epoch) = l.epoch else { return };
                if l.synced_sent.contains(&from) {
                    // Already synced in this session with the learner.
                    return;
                }
                if current_epoch > self.current_epoch
                    || (current_epoch == self.current_epoch && last_zxid > ours)
                {
                    // A learner knows a newer history than ours: we must not lead.
                    tracing::warn!(from, "a learner is ahead of the leader; looking again");
                    return self.start_election(now, out);
                }
                l.epoch_acks.insert(from, last_zxid);
                // Synchronization starts only once a quorum acknowledged the epoch (Zab's discovery): then
                // the quorum has left every older leader, and its histories, which include everything those
                // leaders committed, were checked against ours above. A learner of an epoch whose leader
                // synced it without that could later win an election with an empty log and truncate
                // committed txns everywhere.
                if !l.discovered {
                    let acked = l.epoch_acks.keys().copied().chain([m.me]);
                    if !m.quorum.is_quorum(acked) {
                        return;
                    }
                    l.discovered = true;
                }
                let ready: Vec<(ServerId, Zxid)> =
                    std::mem::take(&mut l.epoch_acks).into_iter().collect();
                for (learner, last) in ready {
                    if let Role::Leading(l) = &mut self.role {
                        l.synced_sent.insert(learner);
                    }
                    self.leader_sync_learner(learner, last, epoch);
                }
            }
            ZabMsg::AckNewLeader { .. } => {
                let Role::Leading(l) = &mut self.role else {
                    return;
                };
                l.newleader_acks.insert(from);
                let was_serving =
                    !l.up_to_date.is_empty() || self.current_epoch == l.epoch.unwrap_or(0);
                let Role::Leading(l) = &mut self.role else {
                    return;
                };
                let Some(epoch) = l.epoch else { return };
                let quorum = m
                    .quorum
                    .is_quorum(l.newleader_acks.iter().copied().chain([m.me]));
                if quorum {
                    if !was_serving {
                        // Established: our logged history is committed now.
                        self.apply_pending();
                        self.current_epoch = epoch;
                        out.push(Output::SaveEpochs {
                            accepted: self.accepted_epoch,
                            current: epoch,
                        });
                        tracing::info!(epoch, "a quorum is synced: serving");
                    }
                    let Role::Leading(l) = &mut self.role else {
                        return;
                    };
                    let ready: Vec<ServerId> = l
                        .newleader_acks
                        .difference(&l.up_to_date)
                        .copied()
                        .collect();
                    for p in ready {
                        if let Role::Leading(l) = &mut self.role {
                            l.up_to_date.insert(p);
                        }
                        let zxid = self.tree.last_zxid();
                        self.send(p, ZabMsg::UpToDate { zxid });
                    }
                }
            }
            ZabMsg::Ack { zxid } => {
                let committed = match &mut self.role {
                    // Only a learner that took our epoch (acknowledged NEWLEADER) may count.
                    Role::Leading(l)
                        if !m.observers.contains(&from) && l.newleader_acks.contains(&from) =>
                    {
                        l.acks.ack(from, zxid)
                    }
                    _ => Vec::new(),
                };
                self.leader_commit(now, committed, out);
            }
            ZabMsg::Request(fwd) => self.on_forwarded(now, fwd, out),
            ZabMsg::NewSession {
                session_id,
                timeout,
            } => {
                self.sessions.add(session_id, timeout, now);
                self.propose(
                    now,
                    session_id,
                    0,
                    crate::txn::Txn::CreateSession { timeout },
                    None,
                );
            }
            ZabMsg::Revalidate {
                session_id,
                timeout,
            } => {
                let valid = self.sessions.is_live(session_id);
                if valid {
                    self.sessions.set_timeout(session_id, timeout, now);
                    return self.send(from, ZabMsg::Revalidated { session_id, valid });
                }
                // Never tell a client its session expired before the close is committed: a crash could
                // still undo an uncommitted close.
                let close = self.closing.get(&session_id).copied().unwrap_or(0);
                let committed = match &mut self.role {
                    Role::Leading(l) => {
                        l.refusals.push((from, session_id, close));
                        l.acks.committed()
                    }
                    _ => 0,
                };
                self.leader_answer_syncs(committed);
            }
            ZabMsg::Sync { id } => {
                let target = self.last_proposed;
                if let Role::Leading(l) = &mut self.role {
                    l.syncs.push((from, id, target));
                }
                let committed = match &self.role {
                    Role::Leading(l) => l.acks.committed(),
                    _ => 0,
                };
                self.leader_answer_syncs(committed);
            }
            ZabMsg::Ping { sessions } => {
                for (s, t) in sessions {
                    // A closing session stays closing (touch refuses it); one the tracker lost track of but the
                    // committed state still holds is tracked again.
                    if self.sessions.contains(s) {
                        self.sessions.touch(s, now);
                    } else if self.tree.sessions().contains_key(&s)
                        && !self.closing.contains_key(&s)
                    {
                        self.sessions.add(s, t, now);
                    }
                }
            }
            _ => {}
        }
    }

    /// Sends a learner its sync: DIFF, TRUNC then DIFF, or SNAP; the in-flight proposals; NEWLEADER.
    fn leader_sync_learner(&mut self, to: ServerId, peer_last: Zxid, epoch: u32) {
        // Our history: what we applied, then what we logged and will commit once established.
        let mut history = self.committed_log.clone();
        for t in &self.pending_log {
            if t.header.zxid > history.last() {
                history.push(t.clone());
            }
        }
        match plan_sync(&history, peer_last) {
            SyncPlan::Diff(txns) => self.send(to, ZabMsg::Diff { txns }),
            SyncPlan::TruncThenDiff { to: z, txns } => {
                self.send(to, ZabMsg::Trunc { zxid: z });
                self.send(to, ZabMsg::Diff { txns });
            }
            SyncPlan::Snap => {
                let snapshot = Box::new(SnapshotData::of(&self.tree));
                self.send(to, ZabMsg::Snap { snapshot });
                let txns = self.pending_log.clone();
                self.send(to, ZabMsg::Diff { txns });
            }
        }
        let proposals: Vec<LoggedTxn> = self.in_flight.iter().map(|f| f.txn.clone()).collect();
        for txn in proposals {
            self.send(to, ZabMsg::Proposal { txn });
        }
        self.send(
            to,
            ZabMsg::NewLeader {
                epoch,
                zxid: zxid::make(epoch, 0),
            },
        );
    }

    /// Proposals a quorum acknowledged: tell the learners, apply them here.
    pub(super) fn leader_commit(&mut self, now: u64, committed: Vec<Zxid>, out: &mut Vec<Output>) {
        let Some(last) = committed.last().copied() else {
            return;
        };
        let learners: Vec<ServerId> = match &self.role {
            Role::Leading(l) => l.synced_sent.iter().copied().collect(),
            _ => Vec::new(),
        };
        for z in &committed {
            for p in &learners {
                self.send(*p, ZabMsg::Commit { zxid: *z });
            }
            // A sync is answered right after the COMMIT of the last proposal before it, so the read behind
            // it sees exactly what preceded the sync, not the session's own later writes.
            self.leader_answer_syncs(*z);
        }
        self.commit_up_to(now, last, out);
    }

    /// Answers the learners' syncs whose target is committed by `committed`, with their target.
    fn leader_answer_syncs(&mut self, committed: Zxid) {
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        let (ready, wait): (Vec<_>, Vec<_>) =
            l.syncs.drain(..).partition(|(_, _, z)| *z <= committed);
        l.syncs = wait;
        let (refused, hold): (Vec<_>, Vec<_>) =
            l.refusals.drain(..).partition(|(_, _, z)| *z <= committed);
        l.refusals = hold;
        for (to, id, target) in ready {
            self.send(to, ZabMsg::SyncDone { id, zxid: target });
        }
        for (to, session_id, _) in refused {
            self.send(
                to,
                ZabMsg::Revalidated {
                    session_id,
                    valid: false,
                },
            );
        }
    }

    /// A proposal of ours is durable here: count our own ACK.
    pub(super) fn leader_own_ack(&mut self, now: u64, zxid: Zxid, out: &mut Vec<Output>) {
        let me = self.config.server_id;
        let hasty = self.planted.has(PlantedBug::CommitBeforeQuorum);
        let committed = match &mut self.role {
            Role::Leading(l) if hasty => l.acks.force_commit(zxid),
            Role::Leading(l) => l.acks.ack(me, zxid),
            _ => Vec::new(),
        };
        self.leader_commit(now, committed, out);
    }

    fn follower_on(&mut self, now: u64, m: &Membership, msg: ZabMsg, out: &mut Vec<Output>) {
        if let Role::Following(f) = &mut self.role {
            f.last_heard = now;
            // Until the leader answers our FOLLOWERINFO, anything else is from an earlier session with it.
            if f.epoch.is_none() && !matches!(msg, ZabMsg::LeaderInfo { .. }) {
                return;
            }
        }
        match msg {
            ZabMsg::LeaderInfo { epoch } => {
                // The leader may announce its epoch twice (to everyone once a quorum reported, and in answer
                // to our FOLLOWERINFO): acknowledge once, or the leader would sync us twice.
                if matches!(&self.role, Role::Following(f) if f.epoch.is_some()) {
                    return;
                }
                if epoch < self.accepted_epoch {
                    tracing::warn!(
                        epoch,
                        accepted = self.accepted_epoch,
                        "leader's epoch is stale; looking again"
                    );
                    return self.start_election(now, out);
                }
                if let Role::Following(f) = &mut self.role {
                    f.epoch = Some(epoch);
                }
                if epoch > self.accepted_epoch {
                    self.accepted_epoch = epoch;
                    out.push(Output::SaveEpochs {
                        accepted: epoch,
                        current: self.current_epoch,
                    });
                }
                let ack = ZabMsg::AckEpoch {
                    current_epoch: self.current_epoch,
                    last_zxid: self.last_logged(),
                };
                let leader = self.leader_id();
                self.send(leader, ack);
            }
            ZabMsg::Trunc { .. } if self.planted.has(PlantedBug::FollowerKeepsOldEpochTxn) => {}
            ZabMsg::Trunc { zxid } => {
                // Everything logged after `zxid` goes: synced history, proposals and what is still to be written.
                self.pending_log.retain(|t| t.header.zxid <= zxid);
                self.in_flight.retain(|f| f.txn.header.zxid <= zxid);
                self.to_log.retain(|t| t.header.zxid <= zxid);
                self.synced = self.synced.min(zxid);
                out.push(Output::TruncateLog { zxid });
            }
            ZabMsg::Diff { txns } => {
                // Logged now, applied once the leader is established (UPTODATE or a COMMIT).
                let new: Vec<LoggedTxn> = txns
                    .into_iter()
                    .filter(|t| t.header.zxid > self.last_logged())
                    .collect();
                self.pending_log.extend(new.iter().cloned());
                self.to_log.extend(new);
            }
            ZabMsg::Snap { snapshot } => match snapshot.restore() {
                Ok(tree) => {
                    self.pending_log.clear();
                    let zxid = tree.last_zxid();
                    out.push(Output::InstallSnapshot {
                        zxid,
                        tree: Box::new(tree.clone()),
                    });
                    self.tree = tree;
                    self.synced = zxid;
                    self.committed_log = CommittedLog::new(zxid, 10_000);
                }
                Err(e) => {
                    tracing::error!(error = %e, "bad snapshot from the leader; looking again");
                    return self.start_election(now, out);
                }
            },
            ZabMsg::Proposal { txn } => {
                if txn.header.zxid <= self.last_logged() {
                    return;
                }
                self.to_log.push(txn.clone());
                self.in_flight.push_back(InFlight { txn, origin: None });
            }
            ZabMsg::NewLeader { epoch, .. } => {
                let need = self.last_logged();
                if let Role::Following(f) = &mut self.role {
                    f.newleader = Some(epoch as Zxid);
                    f.newleader_need = need;
                }
                self.follower_try_ack_newleader(out);
            }
            ZabMsg::UpToDate { .. } => {
                self.apply_pending();
                if let Role::Following(f) = &mut self.role {
                    f.serving = true;
                }
                tracing::info!("synced with the leader: serving");
            }
            ZabMsg::Commit { zxid } => {
                // A commit means the leader is established: the synced history is committed first.
                self.apply_pending();
                self.commit_up_to(now, zxid, out);
            }
            ZabMsg::Revalidated { session_id, valid } => {
                self.on_revalidated(now, session_id, valid, out)
            }
            ZabMsg::SyncDone { id, zxid } => self.on_sync_done(now, id, zxid, out),
            ZabMsg::Ping { .. } => {
                let sessions = match &mut self.role {
                    Role::Following(f) => std::mem::take(&mut f.touched).into_iter().collect(),
                    _ => Vec::new(),
                };
                let leader = self.leader_id();
                self.send(leader, ZabMsg::Ping { sessions });
            }
            _ => {}
        }
        let _ = m;
    }

    /// Applies the logged history that is now known committed (after a sync, or on being established).
    fn apply_pending(&mut self) {
        for t in std::mem::take(&mut self.pending_log) {
            if t.header.zxid > self.tree.last_zxid() {
                match t.txn {
                    crate::txn::Txn::CreateSession { timeout }
                        if !self.sessions.contains(t.header.session_id) =>
                    {
                        self.sessions
                            .add(t.header.session_id, timeout, self.last_tick);
                    }
                    crate::txn::Txn::CloseSession => {
                        self.sessions.remove(t.header.session_id);
                        self.closing.remove(&t.header.session_id);
                    }
                    _ => {}
                }
                self.tree.apply(&t.header, &t.txn);
                self.committed_log.push(t);
            }
        }
    }

    /// NEWLEADER is acknowledged once everything the sync gave us is durable and the new epoch is saved.
    pub(super) fn follower_try_ack_newleader(&mut self, out: &mut Vec<Output>) {
        let Role::Following(f) = &mut self.role else {
            return;
        };
        let Some(epoch) = f.newleader else { return };
        // Everything logged before NEWLEADER (the synced history) must be durable first
        // (ZOOKEEPER-2678/3911: acking early lets a whole-quorum crash lose committed txns).
        if self.synced < f.newleader_need {
            return;
        }
        f.newleader = None;
        let epoch = epoch as u32;
        self.current_epoch = epoch;
        out.push(Output::SaveEpochs {
            accepted: self.accepted_epoch.max(epoch),
            current: epoch,
        });
        let zxid = self.tree.last_zxid();
        let leader = self.leader_id();
        self.send(leader, ZabMsg::AckNewLeader { zxid });
        // Proposals of the new epoch logged so far are acknowledged only now (see `follower_synced`).
        if !self.membership().is_some_and(|m| m.is_observer()) {
            let synced = self.synced;
            self.send(leader, ZabMsg::Ack { zxid: synced });
        }
    }

    /// FOLLOWERINFO: who we are, the newest epoch we accepted and where our log ends.
    fn follower_info(&self, m: &Membership) -> ZabMsg {
        ZabMsg::FollowerInfo {
            accepted_epoch: self.accepted_epoch,
            last_zxid: self.last_logged(),
            observer: m.is_observer(),
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

    /// A peer link dropped: a follower that lost its leader, or a leader that lost a learner.
    pub(super) fn on_peer_down(&mut self, now: u64, peer: ServerId, out: &mut Vec<Output>) {
        match &mut self.role {
            Role::Following(f) if f.leader == peer => {
                tracing::warn!(leader = peer, "lost the leader; looking again");
                self.start_election(now, out);
            }
            Role::Leading(l) => {
                l.last_heard.remove(&peer);
                l.synced_sent.remove(&peer);
                l.epoch_acks.remove(&peer);
                l.up_to_date.remove(&peer);
                l.newleader_acks.remove(&peer);
                l.infos.remove(&peer);
                if let Some(s) = l.sessions.remove(&peer) {
                    self.retire_session((peer, s));
                }
            }
            _ => {}
        }
    }

    /// Our follower logged proposals durably: acknowledge them to the leader.
    pub(super) fn follower_synced(&mut self, zxid: Zxid, out: &mut Vec<Output>) {
        if let Role::Following(f) = &self.role {
            // A learner acknowledges proposals only once it has taken the leader's epoch as its current one
            // (acknowledged NEWLEADER): a txn a quorum acknowledged is then known to a quorum of the new
            // epoch, so no server of an older epoch can win the next election and truncate it.
            let established = f.epoch.is_some_and(|e| e == self.current_epoch);
            let leader = self.leader_id();
            let observer = self.membership().is_some_and(|m| m.is_observer());
            if !observer && established {
                self.send(leader, ZabMsg::Ack { zxid });
            }
            self.follower_try_ack_newleader(out);
        }
    }

    pub(super) fn next_follower_sync_id(&mut self) -> u64 {
        match &mut self.role {
            Role::Following(f) => {
                f.next_sync_id += 1;
                f.next_sync_id
            }
            _ => 0,
        }
    }

    /// A learner's client session was touched.
    pub(super) fn follower_touch(&mut self, session: i64, timeout: i32) {
        if let Role::Following(f) = &mut self.role {
            f.touched.insert(session, timeout);
        }
    }

    /// Recent committed txns (the simulator reads the committed history from here).
    pub fn committed_log(&self) -> &CommittedLog {
        &self.committed_log
    }
}

/// How soon a learner repeats an unanswered FOLLOWERINFO. Peers decide the election within microseconds of
/// each other, so the leader often gets the first one before it knows it leads; waiting a whole tick
/// (2 s by default) for the next one would delay the ensemble's start by that much.
fn follower_info_retry(tick: u64) -> u64 {
    const RETRY_MS: u64 = 100;
    RETRY_MS.min(tick).max(1)
}
