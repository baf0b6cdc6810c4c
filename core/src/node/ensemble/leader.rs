//! LEADING: what the leader does for each learner, from its FOLLOWERINFO to serving.
//!
//! Discovery: once a quorum (counting the leader) reported its accepted epoch, the leader picks a new epoch
//! above all of them and announces it (LEADERINFO). Synchronization: once a quorum acknowledged that epoch
//! (ACKEPOCH), the leader writes the epoch as its currentEpoch, and each acknowledging learner gets a DIFF,
//! TRUNC+DIFF or SNAP, the proposals in flight, and NEWLEADER, which waits for that write (the leader counts
//! itself toward the NEWLEADER quorum). Broadcast: once a quorum acknowledged NEWLEADER the leader is
//! established: its logged history is committed, learners get UPTODATE, and each proposal commits when a
//! quorum of voters that took the epoch has it durably. Learners also forward writes, session changes and
//! syncs here.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::learner_handler::{LearnerHandler, LearnerInfo, LearnerPhase};
use super::membership::Membership;
use super::Role;
use crate::election::{Decision, Notification, PeerState};
use crate::node::{Node, Output, PersistOp};
use crate::peer::ServerId;
use crate::planted::PlantedBug;
use crate::proto::request::decode_request;
use crate::proto::OpCode;
use crate::txn::{LoggedTxn, Txn};
use crate::zab::{plan_sync, AckTracker, Forwarded, SnapshotData, SyncPlan, ZabMsg};
use crate::{zxid, Zxid};

/// A sync waiting for its answer. ZooKeeper answers a sync once what was proposed before it is committed;
/// a leader that was paused or cut off may not know yet that a new leader has committed more, so (as Raft's
/// ReadIndex) the answer also waits until a quorum has answered a ping round sent after the sync arrived:
/// those learners were still following this leader then, so no other leader had committed anything yet.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy)]
struct PendingSync {
    /// The learner that forwarded it, or this server for one of its own clients.
    from: ServerId,
    id: u64,
    /// Answered once this is committed...
    target: Zxid,
    /// ...and a quorum answered this ping round.
    round: u64,
}

/// A leader through its phases.
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub struct Leader {
    pub decision: Decision,
    /// What this server itself brings to discovery (it counts toward every quorum).
    own_info: LearnerInfo,
    /// One handler per learner that sent FOLLOWERINFO in its current session, by id.
    learners: BTreeMap<ServerId, LearnerHandler>,
    /// The new epoch, once a quorum of infos arrived.
    pub epoch: Option<u32>,
    /// A quorum acknowledged the epoch: learners are synced as soon as they acknowledge it.
    discovered: bool,
    /// Our current epoch before this term: a learner whose history is newer than ours must not follow us.
    prior_epoch: u32,
    /// A quorum acknowledged NEWLEADER: our history is committed and we serve.
    established: bool,
    pub acks: AckTracker,
    started: u64,
    /// Syncs waiting for their answer: the learners' and our own clients'.
    syncs: Vec<PendingSync>,
    /// Ping rounds sent to the learners so far (each learner echoes the round it answers).
    ping_round: u64,
    /// A sync arrived in this step: a ping round goes out at its end (one round for all of them).
    ping_wanted: bool,
    /// The last id given to one of our own clients' syncs.
    last_local_sync: u64,
    /// Our own clients' syncs that are answered, waiting for the tree to reach their zxid: (id, zxid).
    local_ready: Vec<(u64, Zxid)>,
    /// "Expired" answers to revalidations, held until the session's close txn commits:
    /// (learner, session, close zxid).
    refusals: Vec<(ServerId, i64, Zxid)>,
    /// Proposal sizes in bytes (last, min, max) for `mntr`; none before the first proposal.
    proposal_sizes: Option<(usize, usize, usize)>,
}

impl Leader {
    pub fn new(
        decision: Decision,
        own_info: LearnerInfo,
        acks: AckTracker,
        now: u64,
        prior_epoch: u32,
    ) -> Leader {
        Leader {
            decision,
            own_info,
            learners: BTreeMap::new(),
            epoch: None,
            discovered: false,
            prior_epoch,
            established: false,
            acks,
            started: now,
            syncs: Vec::new(),
            ping_round: 0,
            ping_wanted: false,
            last_local_sync: 0,
            local_ready: Vec::new(),
            refusals: Vec::new(),
            proposal_sizes: None,
        }
    }

    /// Learners that get proposals and commits (their sync has been sent), by id.
    pub fn synced_learners(&self) -> Vec<ServerId> {
        self.ids_where(LearnerHandler::is_synced)
    }

    fn ids_where(&self, pred: impl Fn(&LearnerHandler) -> bool) -> Vec<ServerId> {
        self.learners
            .iter()
            .filter(|(_, h)| pred(h))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Whether some learner serves (was sent UPTODATE).
    pub fn any_up_to_date(&self) -> bool {
        self.learners.values().any(LearnerHandler::is_up_to_date)
    }

    /// The session `learner` is in with us, if any.
    pub fn session_of(&self, learner: ServerId) -> Option<u64> {
        self.learners.get(&learner).map(|h| h.session)
    }

    /// Ends every learner's session (the leader steps down); returns them, to be retired.
    pub fn end_sessions(&mut self) -> Vec<(ServerId, u64)> {
        std::mem::take(&mut self.learners)
            .into_iter()
            .map(|(id, h)| (id, h.session))
            .collect()
    }

    /// Counts a proposal's size for `mntr`.
    pub fn proposed(&mut self, size: usize) {
        self.proposal_sizes = Some(match self.proposal_sizes {
            None => (size, size, size),
            Some((_, lo, hi)) => (size, lo.min(size), hi.max(size)),
        });
    }

    /// The leader figures `mntr` and `stat` print.
    pub fn report(&self, now: u64, m: &Membership) -> crate::report::LeaderReport {
        let serving = |observers: bool| {
            self.learners
                .iter()
                .filter(|(id, h)| h.is_up_to_date() && m.observers.contains(id) == observers)
                .count() as u64
        };
        let size =
            |f: fn((usize, usize, usize)) -> usize| self.proposal_sizes.map_or(-1, |s| f(s) as i64);
        crate::report::LeaderReport {
            learners: self.learners.len() as u64,
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

impl Node {
    fn leader_mut(&mut self) -> Option<&mut Leader> {
        match &mut self.role {
            Role::Leading(l) => Some(l),
            _ => None,
        }
    }

    fn leader_ref(&self) -> Option<&Leader> {
        match &self.role {
            Role::Leading(l) => Some(l),
            _ => None,
        }
    }

    /// Elected: take the lead. Discovery starts with our own info.
    pub(super) fn become_leader(&mut self, now: u64, m: &Membership, d: Decision) {
        tracing::info!(me = m.me, "elected leader");
        // The leader owns session expiry: start from the committed sessions, each with a full timeout
        // (pending creates and closes adjust this when the history is established).
        self.sessions = crate::session::SessionTracker::new(self.config.server.tick_time as u64);
        self.closing.clear();
        let committed: Vec<(i64, i32)> =
            self.tree.sessions().iter().map(|(s, t)| (*s, *t)).collect();
        for (s, t) in committed {
            self.sessions.add(s, t, now);
        }
        // Our whole log becomes the new history, but only once a quorum acknowledged NEWLEADER: until then it
        // stays pending (a leader that fails to establish itself must not have applied it).
        let own_info = LearnerInfo {
            accepted_epoch: self.accepted_epoch,
            last_zxid: self.last_logged(),
            observer: false,
        };
        let acks = AckTracker::new(m.quorum.clone(), self.tree.last_zxid());
        let prior = self.current_epoch;
        self.role = Role::Leading(Leader::new(d, own_info, acks, now, prior));
    }

    /// A message from a learner in its current session (or a FOLLOWERINFO opening one).
    pub(super) fn leader_on_message(
        &mut self,
        now: u64,
        from: ServerId,
        session: u64,
        msg: ZabMsg,
        out: &mut Vec<Output>,
    ) {
        let Some(l) = self.leader_mut() else { return };
        let known = l.session_of(from) == Some(session);
        match msg {
            ZabMsg::FollowerInfo {
                accepted_epoch,
                last_zxid,
                observer,
            } => {
                if known {
                    // A repeated FOLLOWERINFO of a session under way: answer it, change nothing.
                    if let Some(h) = l.learners.get_mut(&from) {
                        h.last_heard = now;
                    }
                    if let Some(epoch) = l.epoch {
                        self.send_after_epochs(from, ZabMsg::LeaderInfo { epoch });
                    }
                    return;
                }
                if self.retired_sessions.contains(&(from, session)) {
                    return;
                }
                let info = LearnerInfo {
                    accepted_epoch,
                    last_zxid,
                    observer,
                };
                self.on_follower_info(now, from, session, info, out);
            }
            _ if !known => {}
            msg => {
                if let Some(h) = l.learners.get_mut(&from) {
                    h.last_heard = now;
                }
                self.leader_on_session_message(now, from, msg, out);
            }
        }
    }

    /// A learner connects (or starts over after looking again): a fresh handler, then LEADERINFO once the
    /// epoch is known.
    fn on_follower_info(
        &mut self,
        now: u64,
        from: ServerId,
        session: u64,
        info: LearnerInfo,
        out: &mut Vec<Output>,
    ) {
        let m = self.membership_arc();
        let Some(l) = self.leader_mut() else { return };
        // Any earlier session's stream stops: proposals and commits resume once it is synced again. Its
        // acknowledgements of outstanding proposals go too: the sync may truncate those from its log (the
        // TRUNC point is our last committed txn), so counting them could commit a txn that only we hold.
        l.learners
            .insert(from, LearnerHandler::new(session, now, info));
        l.acks.withdraw(from);
        match l.epoch {
            Some(e) if info.accepted_epoch > e => {
                // The learner promised a newer epoch (to a leader that never established itself) and cannot
                // follow ours: elect again, so the next epoch is above every promise.
                tracing::warn!(
                    from,
                    accepted_epoch = info.accepted_epoch,
                    epoch = e,
                    "a learner accepted a newer epoch; looking again"
                );
                self.start_election(now, out);
            }
            Some(e) => self.send_after_epochs(from, ZabMsg::LeaderInfo { epoch: e }),
            None => {
                if let Some(m) = m {
                    self.leader_try_epoch(&m, out);
                }
            }
        }
    }

    fn leader_on_session_message(
        &mut self,
        now: u64,
        from: ServerId,
        msg: ZabMsg,
        out: &mut Vec<Output>,
    ) {
        let Some(m) = self.membership_arc() else {
            return;
        };
        match msg {
            ZabMsg::AckEpoch {
                current_epoch,
                last_zxid,
            } => self.on_ack_epoch(now, &m, from, current_epoch, last_zxid, out),
            ZabMsg::AckNewLeader { .. } => self.on_ack_new_leader(&m, from),
            ZabMsg::Ack { zxid } => {
                let committed = match &mut self.role {
                    // Only a learner that took our epoch (acknowledged NEWLEADER) may count.
                    Role::Leading(l)
                        if !m.observers.contains(&from)
                            && l.learners
                                .get(&from)
                                .is_some_and(LearnerHandler::acked_new_leader) =>
                    {
                        l.acks.ack(from, zxid)
                    }
                    _ => Vec::new(),
                };
                self.leader_commit(now, committed, out);
            }
            ZabMsg::Request(fwd) => self.on_forwarded(now, fwd),
            ZabMsg::NewSession {
                session_id,
                timeout,
            } => {
                self.sessions.add(session_id, timeout, now);
                self.propose(now, session_id, 0, Txn::CreateSession { timeout }, None);
            }
            ZabMsg::Revalidate {
                session_id,
                timeout,
            } => self.on_revalidate(now, from, session_id, timeout),
            ZabMsg::Sync { id } => self.leader_add_sync(from, id),
            ZabMsg::Ping { round, sessions } => {
                if let Some(h) = self.leader_mut().and_then(|l| l.learners.get_mut(&from)) {
                    h.answered_round = h.answered_round.max(round);
                }
                self.on_learner_ping(now, sessions);
                let committed = self.leader_ref().map_or(0, |l| l.acks.committed());
                self.leader_answer_syncs(committed);
            }
            _ => {}
        }
    }

    /// Once a quorum reported its accepted epoch, pick the new one and announce it.
    pub(super) fn leader_try_epoch(&mut self, m: &Membership, out: &mut Vec<Output>) {
        let current_epoch = self.current_epoch;
        let Some(l) = self.leader_mut() else { return };
        if l.epoch.is_some() {
            return;
        }
        let voters = std::iter::once(m.me).chain(
            l.learners
                .iter()
                .filter(|(_, h)| !h.info.observer)
                .map(|(id, _)| *id),
        );
        if !m.quorum.is_quorum(voters) {
            return;
        }
        let epoch = std::iter::once(l.own_info.accepted_epoch)
            .chain(l.learners.values().map(|h| h.info.accepted_epoch))
            .max()
            .unwrap_or(0)
            .max(current_epoch)
            + 1;
        l.epoch = Some(epoch);
        let learners: Vec<ServerId> = l.learners.keys().copied().collect();
        // The epoch's zxids start above everything of earlier epochs.
        self.last_proposed = zxid::make(epoch, 0);
        self.accepted_epoch = epoch;
        let current = self.current_epoch;
        self.persist(
            PersistOp::SaveEpochs {
                accepted: epoch,
                current,
            },
            out,
        );
        tracing::info!(epoch, "new epoch");
        for p in learners {
            self.send_after_epochs(p, ZabMsg::LeaderInfo { epoch });
        }
        if self.planted.has(PlantedBug::ServeBeforeNewLeaderQuorum) {
            // Planted: established at once, our logged history taken as committed.
            self.apply_pending();
            self.current_epoch = epoch;
            self.persist(
                PersistOp::SaveEpochs {
                    accepted: epoch,
                    current: epoch,
                },
                out,
            );
        }
    }

    /// A learner took our epoch and says where its history ends: sync it, once a quorum has.
    fn on_ack_epoch(
        &mut self,
        now: u64,
        m: &Membership,
        from: ServerId,
        current_epoch: u32,
        last_zxid: Zxid,
        out: &mut Vec<Output>,
    ) {
        let ours = self.last_logged();
        let Some(l) = self.leader_mut() else { return };
        let Some(epoch) = l.epoch else { return };
        // Before discovery, a learner is checked against the history we had before this term; after it, our
        // current epoch is this one (a learner of this epoch reconnecting is no sign of a newer history).
        let our_epoch = if l.discovered { epoch } else { l.prior_epoch };
        let Some(h) = l.learners.get_mut(&from) else {
            return;
        };
        if h.is_synced() {
            // Already synced in this session with the learner.
            return;
        }
        if current_epoch > our_epoch || (current_epoch == our_epoch && last_zxid > ours) {
            // A learner knows a newer history than ours: we must not lead.
            tracing::warn!(from, "a learner is ahead of the leader; looking again");
            return self.start_election(now, out);
        }
        h.phase = LearnerPhase::EpochAcked { last_zxid };
        // Synchronization starts only once a quorum acknowledged the epoch (Zab's discovery): then the quorum
        // has left every older leader, and its histories, which include everything those leaders committed,
        // were checked against ours above. A learner of an epoch whose leader synced it without that could
        // later win an election with an empty log and truncate committed txns everywhere.
        if !l.discovered {
            let acked = l
                .learners
                .iter()
                .filter(|(_, h)| matches!(h.phase, LearnerPhase::EpochAcked { .. }))
                .map(|(id, _)| *id)
                .chain([m.me]);
            if !m.quorum.is_quorum(acked) {
                return;
            }
            l.discovered = true;
            // As ZooKeeper's `Leader.lead`: our current epoch is the new one, durably, before any NEWLEADER
            // goes out (they wait for the write), so a quorum that acknowledges NEWLEADER, counting us, really
            // holds the epoch: a leader that crashed before the write could otherwise come back with its old
            // epoch and lose an election to a server that never saw this epoch's commits.
            self.current_epoch = epoch;
            let accepted = self.accepted_epoch;
            self.persist(
                PersistOp::SaveEpochs {
                    accepted,
                    current: epoch,
                },
                out,
            );
        }
        let Some(l) = self.leader_mut() else { return };
        let mut ready = Vec::new();
        for (id, h) in l.learners.iter_mut() {
            if let LearnerPhase::EpochAcked { last_zxid } = h.phase {
                h.phase = LearnerPhase::Synced;
                ready.push((*id, last_zxid));
            }
        }
        for (learner, last) in ready {
            self.leader_sync_learner(learner, last, epoch);
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
        let proposals: Vec<LoggedTxn> = self.in_flight.iter().map(|f| f.txn.clone()).collect();
        let committed = if self.planted.has(PlantedBug::SyncMarksProposalsCommitted) {
            self.last_logged()
        } else {
            history.last()
        };
        match plan_sync(&history, &proposals, peer_last) {
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
        for txn in proposals {
            self.send(to, ZabMsg::Proposal { txn });
        }
        let newleader = ZabMsg::NewLeader {
            epoch,
            zxid: zxid::make(epoch, 0),
            committed,
        };
        if self.planted.has(PlantedBug::NewLeaderBeforeEpochDurable) {
            self.send(to, newleader);
        } else {
            self.send_after_epochs(to, newleader);
        }
    }

    /// A learner took our epoch as its current one. Once a quorum has, we are established: our logged
    /// history is committed, and every learner that acknowledged gets UPTODATE.
    fn on_ack_new_leader(&mut self, m: &Membership, from: ServerId) {
        let Some(l) = self.leader_mut() else { return };
        if let Some(h) = l.learners.get_mut(&from) {
            if h.phase < LearnerPhase::NewLeaderAcked {
                h.phase = LearnerPhase::NewLeaderAcked;
            }
        }
        let Some(epoch) = l.epoch else { return };
        let acked = l.ids_where(LearnerHandler::acked_new_leader);
        if !m.quorum.is_quorum(acked.iter().copied().chain([m.me])) {
            return;
        }
        if !std::mem::replace(&mut l.established, true) {
            // Established: our logged history is committed now (our current epoch was made durable before
            // NEWLEADER went out).
            self.apply_pending();
            tracing::info!(epoch, "a quorum is synced: serving");
        }
        let ready = self.leader_ref().map_or(Vec::new(), |l| {
            l.ids_where(|h| h.acked_new_leader() && !h.is_up_to_date())
        });
        for p in ready {
            if let Some(h) = self.leader_mut().and_then(|l| l.learners.get_mut(&p)) {
                h.phase = LearnerPhase::UpToDate;
            }
            let zxid = self.tree.last_zxid();
            self.send_after_epochs(p, ZabMsg::UpToDate { zxid });
        }
    }

    /// Proposals a quorum acknowledged: tell the learners, apply them here.
    pub(in crate::node) fn leader_commit(
        &mut self,
        now: u64,
        committed: Vec<Zxid>,
        out: &mut Vec<Output>,
    ) {
        let Some(last) = committed.last().copied() else {
            return;
        };
        let learners = self
            .leader_ref()
            .map_or(Vec::new(), Leader::synced_learners);
        for z in &committed {
            for p in &learners {
                self.send(*p, ZabMsg::Commit { zxid: *z });
            }
            // A sync is answered right after the COMMIT of the last proposal before it, so the read behind it
            // sees exactly what preceded the sync, not the session's own later writes.
            self.leader_answer_syncs(*z);
        }
        self.commit_up_to(now, last, out);
    }

    /// A sync from a learner (or from one of our own clients, `from` being this server): answered once what
    /// was proposed before it is committed and a quorum answered a ping round sent after it.
    fn leader_add_sync(&mut self, from: ServerId, id: u64) {
        let proposed = self.last_proposed;
        if let Some(l) = self.leader_mut() {
            // Nothing proposed yet in this epoch (its zxid 0 never commits): all there is is committed.
            let target = if zxid::counter(proposed) == 0 {
                l.acks.committed()
            } else {
                proposed
            };
            let round = l.ping_round + 1;
            l.syncs.push(PendingSync {
                from,
                id,
                target,
                round,
            });
            l.ping_wanted = true;
        }
    }

    /// One of our own clients asked for sync: the id its slot waits under.
    pub(in crate::node) fn leader_local_sync(&mut self) -> u64 {
        let me = self.config.server_id;
        let id = match self.leader_mut() {
            Some(l) => {
                l.last_local_sync += 1;
                l.last_local_sync
            }
            None => 0,
        };
        self.leader_add_sync(me, id);
        id
    }

    /// The end of a step: the ping round syncs of this step wait for, and our own clients' answered syncs.
    pub(in crate::node) fn leader_end_step(&mut self, now: u64, out: &mut Vec<Output>) {
        // Answering a local sync reads the connection on, which may bring its next sync: that one's round
        // goes out now too, not with the next step.
        loop {
            let applied = self.tree.last_zxid();
            let Some(l) = self.leader_mut() else { return };
            let (done, wait): (Vec<_>, Vec<_>) =
                l.local_ready.drain(..).partition(|(_, z)| *z <= applied);
            l.local_ready = wait;
            for (id, zxid) in done {
                self.on_sync_done(now, id, zxid, out);
            }
            let Some(l) = self.leader_mut() else { return };
            if !std::mem::take(&mut l.ping_wanted) {
                return;
            }
            self.leader_ping_round();
            // A lone voter is its own quorum.
            let committed = self.leader_ref().map_or(0, |l| l.acks.committed());
            self.leader_answer_syncs(committed);
        }
    }

    /// Pings every learner with a new round number, which it echoes.
    fn leader_ping_round(&mut self) {
        let Some(l) = self.leader_mut() else { return };
        l.ping_round += 1;
        let round = l.ping_round;
        let learners: Vec<ServerId> = l.learners.keys().copied().collect();
        for p in learners {
            let sessions = Vec::new();
            self.send(p, ZabMsg::Ping { round, sessions });
        }
    }

    /// Answers the syncs whose target is committed by `committed` and whose ping round a quorum answered:
    /// a learner's with SYNCDONE and its target; our own clients' once the tree has their target.
    fn leader_answer_syncs(&mut self, committed: Zxid) {
        let me = self.config.server_id;
        let Some(m) = self.membership_arc() else {
            return;
        };
        let unproven = self.planted.has(PlantedBug::SyncWithoutLeadershipProof);
        let Some(l) = self.leader_mut() else { return };
        // A learner vouches for a round once it answered it, having taken our epoch (the leader counts itself).
        let confirmed = |round: u64| {
            let answered = l
                .learners
                .iter()
                .filter(|(_, h)| h.acked_new_leader() && h.answered_round >= round)
                .map(|(id, _)| *id);
            unproven || m.quorum.is_quorum(answered.chain([me]))
        };
        let (ready, wait): (Vec<_>, Vec<_>) = l
            .syncs
            .drain(..)
            .partition(|s| s.target <= committed && confirmed(s.round));
        l.syncs = wait;
        let mut remote = Vec::new();
        for s in ready {
            if s.from == me {
                l.local_ready.push((s.id, s.target));
            } else {
                remote.push(s);
            }
        }
        let (refused, hold): (Vec<_>, Vec<_>) =
            l.refusals.drain(..).partition(|(_, _, z)| *z <= committed);
        l.refusals = hold;
        for s in remote {
            self.send(
                s.from,
                ZabMsg::SyncDone {
                    id: s.id,
                    zxid: s.target,
                },
            );
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
    pub(in crate::node) fn leader_own_ack(&mut self, now: u64, zxid: Zxid, out: &mut Vec<Output>) {
        let me = self.config.server_id;
        let hasty = self.planted.has(PlantedBug::CommitBeforeQuorum);
        let committed = match self.leader_mut() {
            Some(l) if hasty => l.acks.force_commit(zxid),
            Some(l) => l.acks.ack(me, zxid),
            None => Vec::new(),
        };
        self.leader_commit(now, committed, out);
    }

    /// A learner's client reconnected there: does its session still live?
    fn on_revalidate(&mut self, now: u64, from: ServerId, session_id: i64, timeout: i32) {
        if self.sessions.is_live(session_id) {
            self.sessions.set_timeout(session_id, timeout, now);
            let valid = true;
            return self.send(from, ZabMsg::Revalidated { session_id, valid });
        }
        // Never tell a client its session expired before the close is committed: a crash could still undo
        // an uncommitted close.
        let close = self.closing.get(&session_id).copied().unwrap_or(0);
        let committed = match self.leader_mut() {
            Some(l) => {
                l.refusals.push((from, session_id, close));
                l.acks.committed()
            }
            None => 0,
        };
        self.leader_answer_syncs(committed);
    }

    /// A learner's ping carries the sessions its clients kept alive.
    fn on_learner_ping(&mut self, now: u64, sessions: Vec<(i64, i32)>) {
        if self.planted.has(PlantedBug::LeaderIgnoresLearnerPings) {
            return;
        }
        for (s, t) in sessions {
            // A closing session stays closing (touch refuses it); one the tracker lost track of but the
            // committed state still holds is tracked again.
            if self.sessions.contains(s) {
                self.sessions.touch(s, now);
            } else if self.tree.sessions().contains_key(&s) && !self.closing.contains_key(&s) {
                self.sessions.add(s, t, now);
            }
        }
    }

    /// A request a learner forwarded for one of its clients: prepared as if our own client sent it.
    fn on_forwarded(&mut self, now: u64, fwd: Forwarded) {
        let Ok(req) = decode_request(fwd.frame) else {
            return;
        };
        self.sessions.touch(fwd.session_id, now);
        match req.op {
            OpCode::CloseSession => {
                self.sessions.set_closing(fwd.session_id);
                let zxid = self.propose(now, fwd.session_id, req.xid, Txn::CloseSession, None);
                self.closing.insert(fwd.session_id, zxid);
            }
            op if op.is_write() && !self.sessions.is_live(fwd.session_id) => {
                // The session expired or is closing (PrepRequestProcessor.checkSession): the learner's client
                // gets SessionExpired, in order, when this error txn commits.
                let err = crate::proto::ErrorCode::SessionExpired;
                self.propose(now, fwd.session_id, req.xid, Txn::Error { err }, None);
            }
            op if op.is_write() => {
                self.prep_and_propose(now, fwd.session_id, &fwd.auth, &req, None);
            }
            _ => {}
        }
    }

    /// Steps down without a quorum in touch; pings the learners every half tick.
    pub(super) fn leader_tick(&mut self, now: u64, m: &Membership, out: &mut Vec<Output>) {
        let tick = self.config.server.tick_time as u64;
        let sync_limit = tick * self.config.server.sync_limit.max(1) as u64;
        let init_limit = tick * self.config.server.init_limit.max(1) as u64;
        let next_ping = self.next_ping;
        let Some(l) = self.leader_mut() else { return };
        // A leader that cannot hear from a quorum steps down.
        let limit = if l.any_up_to_date() {
            sync_limit
        } else {
            init_limit
        };
        let heard = l
            .learners
            .iter()
            .filter(|(_, h)| now.saturating_sub(h.last_heard) <= limit)
            .map(|(id, _)| *id);
        let alive = m.quorum.is_quorum(heard.chain([m.me]));
        if !alive && now.saturating_sub(l.started) > limit {
            tracing::warn!("leader lost its quorum; looking again");
            return self.start_election(now, out);
        }
        // A clock stepped back leaves `next_ping` far ahead: learners would report their clients' session
        // activity only once the clock caught up, and their sessions would expire meanwhile.
        let half_tick = (tick / 2).max(1);
        if now >= next_ping || next_ping > now + half_tick {
            self.leader_ping_round();
            self.next_ping = now + half_tick;
        }
    }

    /// A leader answers a looking (or observing) peer with its decision.
    pub(super) fn leader_answer_notification(&self, n: &Notification) -> Option<Notification> {
        let l = self.leader_ref()?;
        (n.state == PeerState::Looking || n.state == PeerState::Observing).then(|| {
            let d = l.decision;
            Notification {
                vote: d.vote,
                election_epoch: d.election_epoch,
                state: PeerState::Leading,
            }
        })
    }

    /// The link to a learner dropped: its session ends.
    pub(super) fn leader_lost_learner(&mut self, peer: ServerId) {
        let Some(l) = self.leader_mut() else { return };
        if let Some(h) = l.learners.remove(&peer) {
            self.retire_session((peer, h.session));
        }
    }

    /// Whether the leader serves clients: established (a quorum acknowledged NEWLEADER).
    pub(super) fn leader_serving(&self, l: &Leader) -> bool {
        // Once established, the leader serves until it steps down (its tick checks the quorum), even while
        // a learner that was up to date reconnects and is synced again.
        if l.established || (l.epoch.is_some() && l.any_up_to_date()) {
            return true;
        }
        if self.planted.has(PlantedBug::ServeBeforeNewLeaderQuorum) && l.epoch.is_some() {
            return true;
        }
        // A quorum acknowledged NEWLEADER (the leader counts itself).
        self.membership.as_ref().is_some_and(|m| {
            m.quorum.is_quorum(
                l.ids_where(LearnerHandler::acked_new_leader)
                    .into_iter()
                    .chain([m.me]),
            )
        })
    }

    /// The membership, shared so handlers can hold it while changing the node.
    pub(super) fn membership_arc(&self) -> Option<Arc<Membership>> {
        self.membership.clone()
    }
}
