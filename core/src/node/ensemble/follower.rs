//! FOLLOWING (a follower, or an observer): the learner's half of each Zab step.
//!
//! It says who it is (FOLLOWERINFO, repeated until answered), takes the leader's epoch (ACKEPOCH), logs the
//! sync it gets (TRUNC, DIFF, SNAP, the proposals in flight), acknowledges NEWLEADER once all of that and the
//! new epoch are durable, and serves once told UPTODATE. Then it logs proposals, acknowledges them once
//! durable (observers do not vote) and applies them when the leader commits.

use super::membership::Membership;
use super::Role;
use crate::election::{Decision, Notification, PeerState};
use crate::node::{InFlight, Node, Output, PersistOp};
use crate::peer::ServerId;
use crate::planted::PlantedBug;
use crate::txn::LoggedTxn;
use crate::zab::{CommittedLog, ZabMsg};
use crate::Zxid;

/// NEWLEADER arrived; it is acknowledged once the history synced before it is durable.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy)]
pub struct NewLeaderPending {
    pub epoch: u32,
    /// Everything logged up to here (the synced history) must be durable first.
    pub durable_through: Zxid,
}

/// A follower (or observer) through its phases.
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub struct Follower {
    pub decision: Decision,
    pub leader: ServerId,
    /// This term's session number (see [`crate::peer::PeerMsg::Zab`]).
    pub(super) session: u64,
    /// The epoch the leader announced (LEADERINFO), once known.
    leader_epoch: Option<u32>,
    /// NEWLEADER received and not yet acknowledged.
    new_leader: Option<NewLeaderPending>,
    pub serving: bool,
    last_heard: u64,
    /// Sessions this server's clients kept alive since the last ping.
    pub touched: std::collections::BTreeMap<i64, i32>,
    /// The last id given to a sync forwarded to the leader.
    last_sync_id: u64,
    /// When FOLLOWERINFO was last sent (it is repeated until LEADERINFO arrives).
    info_sent_at: u64,
}

impl Node {
    fn follower_mut(&mut self) -> Option<&mut Follower> {
        match &mut self.role {
            Role::Following(f) => Some(f),
            _ => None,
        }
    }

    fn is_observer(&self) -> bool {
        self.membership.as_ref().is_some_and(|m| m.is_observer())
    }

    /// The election chose another server: follow it, starting a new learner session with it.
    pub(super) fn become_follower(&mut self, now: u64, m: &Membership, d: Decision) {
        tracing::info!(me = m.me, leader = d.leader, "following");
        self.learner_session = self.learner_session.wrapping_add(1);
        self.role = Role::Following(Follower {
            decision: d,
            leader: d.leader,
            session: self.learner_session,
            leader_epoch: None,
            new_leader: None,
            serving: false,
            last_heard: now,
            touched: Default::default(),
            last_sync_id: 1,
            info_sent_at: now,
        });
        let info = self.follower_info(m);
        self.send(d.leader, info);
    }

    /// A message from our leader in our session.
    pub(super) fn follower_on_message(&mut self, now: u64, msg: ZabMsg, out: &mut Vec<Output>) {
        if let Some(f) = self.follower_mut() {
            f.last_heard = now;
            // Until the leader answers our FOLLOWERINFO, anything else is from an earlier session with it.
            if f.leader_epoch.is_none() && !matches!(msg, ZabMsg::LeaderInfo { .. }) {
                return;
            }
        }
        match msg {
            ZabMsg::LeaderInfo { epoch } => self.on_leader_info(now, epoch, out),
            ZabMsg::Trunc { .. } if self.planted.has(PlantedBug::FollowerKeepsOldEpochTxn) => {}
            ZabMsg::Trunc { zxid } => {
                // Everything logged after `zxid` goes: synced history, proposals and what is still to be
                // written.
                self.pending_log.retain(|t| t.header.zxid <= zxid);
                self.in_flight.retain(|f| f.txn.header.zxid <= zxid);
                self.to_log.retain(|t| t.header.zxid <= zxid);
                self.persist(PersistOp::Truncate { zxid }, out);
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
                    let installed = Box::new(tree.clone());
                    self.persist(
                        PersistOp::Install {
                            zxid,
                            tree: installed,
                        },
                        out,
                    );
                    self.tree = tree;
                    self.committed_log = CommittedLog::new(zxid, 10_000);
                }
                Err(e) => {
                    tracing::error!(error = %e, "bad snapshot from the leader; looking again");
                    self.start_election(now, out);
                }
            },
            ZabMsg::Proposal { txn } => {
                if txn.header.zxid <= self.last_logged() {
                    return;
                }
                self.to_log.push(txn.clone());
                self.in_flight.push_back(InFlight { txn, origin: None });
            }
            ZabMsg::NewLeader {
                epoch, committed, ..
            } => {
                // What we logged past the leader's history is its outstanding proposals: they wait for their
                // COMMIT like any proposal, instead of being applied with the history at UPTODATE.
                let mut outstanding = self.pending_log.split_off(
                    self.pending_log
                        .partition_point(|t| t.header.zxid <= committed),
                );
                outstanding.retain(|t| t.header.zxid > self.tree.last_zxid());
                for txn in outstanding.into_iter().rev() {
                    self.in_flight.push_front(InFlight { txn, origin: None });
                }
                let durable_through = self.last_logged();
                if let Some(f) = self.follower_mut() {
                    f.new_leader = Some(NewLeaderPending {
                        epoch,
                        durable_through,
                    });
                }
                self.follower_try_ack_newleader(out);
            }
            ZabMsg::UpToDate { .. } => {
                self.apply_pending();
                if let Some(f) = self.follower_mut() {
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
            ZabMsg::Ping { round, .. } => {
                let sessions = match self.follower_mut() {
                    Some(f) => std::mem::take(&mut f.touched).into_iter().collect(),
                    None => Vec::new(),
                };
                self.send_to_leader(ZabMsg::Ping { round, sessions });
            }
            _ => {}
        }
    }

    /// The leader announced its epoch: take it (durably) and say where our history ends.
    fn on_leader_info(&mut self, now: u64, epoch: u32, out: &mut Vec<Output>) {
        // The leader may announce its epoch twice (to everyone once a quorum reported, and in answer to our
        // FOLLOWERINFO): acknowledge once, or the leader would sync us twice.
        if self
            .follower_mut()
            .is_some_and(|f| f.leader_epoch.is_some())
        {
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
        if let Some(f) = self.follower_mut() {
            f.leader_epoch = Some(epoch);
        }
        if epoch > self.accepted_epoch {
            self.accepted_epoch = epoch;
            let current = self.current_epoch;
            self.persist(
                PersistOp::SaveEpochs {
                    accepted: epoch,
                    current,
                },
                out,
            );
        }
        // The acknowledgement promises the epoch: it leaves once the epoch files are durable.
        let ack = ZabMsg::AckEpoch {
            current_epoch: self.current_epoch,
            last_zxid: self.last_logged(),
        };
        let leader = self.leader_id();
        if self.planted.has(PlantedBug::AckEpochBeforeDurable) {
            self.send(leader, ack);
        } else {
            self.send_after_epochs(leader, ack);
        }
    }

    /// Applies the logged history that is now known committed (after a sync, or on being established).
    pub(super) fn apply_pending(&mut self) {
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
    fn follower_try_ack_newleader(&mut self, out: &mut Vec<Output>) {
        let synced = self.synced;
        let Some(f) = self.follower_mut() else { return };
        let Some(pending) = f.new_leader else { return };
        // Everything logged before NEWLEADER (the synced history) must be durable first
        // (ZOOKEEPER-2678/3911: acking early lets a whole-quorum crash lose committed txns).
        if synced < pending.durable_through {
            return;
        }
        f.new_leader = None;
        let epoch = pending.epoch;
        self.current_epoch = epoch;
        let accepted = self.accepted_epoch.max(epoch);
        self.persist(
            PersistOp::SaveEpochs {
                accepted,
                current: epoch,
            },
            out,
        );
        // Vouches for the new current epoch and the synced history up to `zxid`: it (and everything after it
        // to the leader) leaves once the epoch files are durable.
        let zxid = pending.durable_through;
        let leader = self.leader_id();
        if self.planted.has(PlantedBug::NewLeaderAckBeforeDurable) {
            self.send(leader, ZabMsg::AckNewLeader { zxid });
        } else {
            self.send_after_epochs(leader, ZabMsg::AckNewLeader { zxid });
        }
        // Proposals of the new epoch logged so far are acknowledged only now (see `follower_synced`).
        if !self.is_observer() {
            self.send_to_leader(ZabMsg::Ack { zxid: synced });
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

    /// Our logged proposals are durable: acknowledge them to the leader.
    pub(in crate::node) fn follower_synced(&mut self, zxid: Zxid, out: &mut Vec<Output>) {
        let current_epoch = self.current_epoch;
        let Some(f) = self.follower_mut() else { return };
        // A learner acknowledges proposals only once it has taken the leader's epoch as its current one
        // (acknowledged NEWLEADER): a txn a quorum acknowledged is then known to a quorum of the new epoch, so
        // no server of an older epoch can win the next election and truncate it.
        let established = f.leader_epoch.is_some_and(|e| e == current_epoch);
        if !self.is_observer() && established {
            self.send_to_leader(ZabMsg::Ack { zxid });
        }
        self.follower_try_ack_newleader(out);
    }

    /// Steps down when the leader falls silent; repeats FOLLOWERINFO until the leader answers it.
    pub(super) fn follower_tick(&mut self, now: u64, m: &Membership, out: &mut Vec<Output>) {
        let tick = self.config.server.tick_time as u64;
        let sync_limit = tick * self.config.server.sync_limit.max(1) as u64;
        let init_limit = tick * self.config.server.init_limit.max(1) as u64;
        let Some(f) = self.follower_mut() else { return };
        let limit = if f.serving { sync_limit } else { init_limit };
        if now.saturating_sub(f.last_heard) > limit {
            tracing::warn!(leader = f.leader, "leader silent; looking again");
            return self.start_election(now, out);
        }
        // Until the leader answers, say who we are again: the first FOLLOWERINFO may have reached it while it
        // was still electing (and so was dropped).
        if f.leader_epoch.is_none() && now >= f.info_sent_at + follower_info_retry(tick) {
            f.info_sent_at = now;
            let leader = f.leader;
            let info = self.follower_info(m);
            self.send(leader, info);
        }
    }

    /// When a follower next needs a tick: every half tick, sooner while FOLLOWERINFO is unanswered.
    pub(super) fn follower_deadline(&self, f: &Follower) -> u64 {
        let tick = self.config.server.tick_time as u64;
        let half_tick = (tick / 2).max(1);
        let regular = self.last_tick + half_tick;
        match f.leader_epoch {
            None => regular.min(f.info_sent_at + follower_info_retry(tick)),
            Some(_) => regular,
        }
    }

    /// A follower tells a looking peer who leads (an observer answers only voters, or two observers would
    /// echo each other forever).
    pub(super) fn follower_answer_notification(
        &self,
        f: &Follower,
        n: &Notification,
    ) -> Option<Notification> {
        let observer = self.is_observer();
        let asks = n.state == PeerState::Looking || (n.state == PeerState::Observing && !observer);
        asks.then_some(Notification {
            vote: f.decision.vote,
            election_epoch: f.decision.election_epoch,
            state: if observer {
                PeerState::Observing
            } else {
                PeerState::Following
            },
        })
    }

    /// An id for a sync forwarded to the leader.
    pub(in crate::node) fn next_follower_sync_id(&mut self) -> u64 {
        match self.follower_mut() {
            Some(f) => {
                f.last_sync_id += 1;
                f.last_sync_id
            }
            None => 0,
        }
    }

    /// A learner's client session was touched: the next ping tells the leader.
    pub(in crate::node) fn follower_touch(&mut self, session: i64, timeout: i32) {
        if let Some(f) = self.follower_mut() {
            f.touched.insert(session, timeout);
        }
    }
}

/// How soon a learner repeats an unanswered FOLLOWERINFO. Peers decide the election within microseconds of
/// each other, so the leader often gets the first one before it knows it leads; waiting a whole tick (2 s by
/// default) for the next one would delay the ensemble's start by that much.
fn follower_info_retry(tick: u64) -> u64 {
    const RETRY_MS: u64 = 100;
    RETRY_MS.min(tick).max(1)
}
