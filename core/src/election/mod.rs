//! Fast leader election (ZooKeeper's FastLeaderElection): servers exchange votes ordered by
//! (epoch, last zxid, server id) until a quorum agrees on one leader.
//!
//! [`Election`] is one server's side of one election, as a small state machine: feed it notifications and
//! ticks, send what it returns, act on its decision. The node owns it while LOOKING.

mod quorum;
mod vote;

pub use quorum::Quorum;
pub use vote::{Notification, PeerState, Vote};

use std::collections::BTreeMap;

use crate::ids::ServerId;
use crate::Zxid;

/// How long to wait, once a quorum agrees, for a better vote that may still be in flight
/// (FastLeaderElection's finalizeWait).
pub const FINALIZE_WAIT_MS: u64 = 200;
/// First and largest gap between re-sends of our vote while no decision is reached.
pub const RESEND_MIN_MS: u64 = 200;
pub const RESEND_MAX_MS: u64 = 3_200;

/// The outcome of an election for this server.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub leader: ServerId,
    /// The election round it was decided in (the logical clock).
    pub election_epoch: u64,
    pub vote: Vote,
}

/// One server's side of a leader election.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct Election {
    me: ServerId,
    quorum: Quorum,
    observer: bool,
    logical_clock: u64,
    /// Our own vote (the one we fall back to when a newer round starts).
    own: Vote,
    proposal: Vote,
    /// Votes in the current round, with the sender's state.
    received: BTreeMap<ServerId, (Vote, PeerState)>,
    /// Votes of servers that already follow or lead, with their round and state.
    settled: BTreeMap<ServerId, (Vote, u64, PeerState)>,
    finalize_at: Option<u64>,
    resend_at: u64,
    resend_gap: u64,
    /// The planted election-by-id bug: votes compare by server id alone.
    ids_only: bool,
}

/// Messages to send: to every other server (`None`) or to one.
pub type Sends = Vec<(Option<ServerId>, Notification)>;

impl Election {
    /// Switches on the planted election-by-id bug (see [`crate::planted`]).
    pub fn compare_ids_only(&mut self) {
        self.ids_only = true;
    }

    fn better(&self, a: &Vote, b: &Vote) -> bool {
        if self.ids_only {
            a.leader > b.leader
        } else {
            a.beats(b)
        }
    }

    /// Starts a new election round at `now` with this server's last logged zxid and current epoch.
    /// `logical_clock` is the last round this server took part in (elections continue numbering).
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        me: ServerId,
        quorum: Quorum,
        observer: bool,
        logical_clock: u64,
        last_zxid: Zxid,
        epoch: u32,
        now: u64,
        out: &mut Sends,
    ) -> Election {
        let own = Vote {
            leader: me,
            zxid: last_zxid,
            peer_epoch: epoch,
        };
        let mut e = Election {
            me,
            quorum,
            observer,
            logical_clock: logical_clock + 1,
            own,
            proposal: own,
            received: BTreeMap::new(),
            settled: BTreeMap::new(),
            finalize_at: None,
            resend_at: now + RESEND_MIN_MS,
            resend_gap: RESEND_MIN_MS,
            ids_only: false,
        };
        if !observer && e.quorum.is_voter(me) {
            e.received.insert(me, (own, PeerState::Looking));
        }
        out.push((None, e.notification()));
        e
    }

    /// Our current notification.
    pub fn notification(&self) -> Notification {
        Notification {
            vote: self.proposal,
            election_epoch: self.logical_clock,
            state: self.state(),
        }
    }

    fn state(&self) -> PeerState {
        if self.observer {
            PeerState::Observing
        } else {
            PeerState::Looking
        }
    }

    pub fn logical_clock(&self) -> u64 {
        self.logical_clock
    }

    /// When the election needs a tick.
    pub fn next_deadline(&self) -> u64 {
        self.finalize_at
            .map_or(self.resend_at, |f| f.min(self.resend_at))
    }

    /// A notification from `from`. Returns the decision if this settles the election.
    pub fn on_notification(
        &mut self,
        now: u64,
        from: ServerId,
        n: Notification,
        out: &mut Sends,
    ) -> Option<Decision> {
        if from == self.me {
            return None;
        }
        let voter = self.quorum.is_voter(from);
        match n.state {
            PeerState::Looking if voter => {
                self.settled.remove(&from);
                if n.election_epoch > self.logical_clock {
                    // A newer round: join it, keeping the better of our own vote and theirs.
                    self.logical_clock = n.election_epoch;
                    self.received.clear();
                    self.finalize_at = None;
                    self.proposal = if self.better(&n.vote, &self.own) {
                        n.vote
                    } else {
                        self.own
                    };
                    if !self.observer && self.quorum.is_voter(self.me) {
                        self.received
                            .insert(self.me, (self.proposal, PeerState::Looking));
                    }
                    out.push((None, self.notification()));
                } else if n.election_epoch < self.logical_clock {
                    // They are behind: tell them where we are.
                    out.push((Some(from), self.notification()));
                    return None;
                } else if self.better(&n.vote, &self.proposal) {
                    self.proposal = n.vote;
                    self.finalize_at = None;
                    if !self.observer && self.quorum.is_voter(self.me) {
                        self.received
                            .insert(self.me, (self.proposal, PeerState::Looking));
                    }
                    out.push((None, self.notification()));
                }
                self.received.insert(from, (n.vote, n.state));
                self.check_round(now)
            }
            PeerState::Looking | PeerState::Observing => {
                // Observers do not vote; a looking observer only needs to learn who leads (from voters: two
                // looking observers answering each other would echo forever).
                if !self.observer && (n.state == PeerState::Observing || !voter) {
                    out.push((Some(from), self.notification()));
                }
                None
            }
            PeerState::Following | PeerState::Leading => {
                if !voter {
                    return None;
                }
                if n.election_epoch == self.logical_clock {
                    self.received.insert(from, (n.vote, n.state));
                    if self.agreed(&self.received, &n.vote)
                        && self.leader_confirmed(&self.received, n.vote.leader, n.election_epoch)
                    {
                        return Some(self.decide(n.vote, n.election_epoch));
                    }
                }
                // A leader elected while we were away: follow it once a quorum of settled servers follows or
                // is it. Their votes are compared by leader alone (as ZooKeeper's Vote.equals does for settled
                // servers, roughly): servers that joined a leader at different times keep different rounds
                // and zxids in their votes, and must not keep a healed server out for good.
                self.settled
                    .insert(from, (n.vote, n.election_epoch, n.state));
                let leader = n.vote.leader;
                let settled: BTreeMap<ServerId, (Vote, PeerState)> = self
                    .settled
                    .iter()
                    .filter(|(_, (v, _, _))| v.leader == leader)
                    .map(|(id, (v, _, st))| (*id, (*v, *st)))
                    .collect();
                let quorum = self.quorum.is_quorum(settled.keys().copied());
                if quorum && self.leader_confirmed(&settled, leader, n.election_epoch) {
                    self.logical_clock = self.logical_clock.max(n.election_epoch);
                    return Some(self.decide(n.vote, self.logical_clock));
                }
                None
            }
        }
    }

    /// Time passed: re-send our vote, or finish a finalize wait.
    pub fn on_tick(&mut self, now: u64, out: &mut Sends) -> Option<Decision> {
        if let Some(at) = self.finalize_at {
            if now >= at {
                self.finalize_at = None;
                if self.agreed(&self.received, &self.proposal) {
                    return Some(self.decide(self.proposal, self.logical_clock));
                }
            }
        }
        if now >= self.resend_at {
            out.push((None, self.notification()));
            self.resend_gap = (self.resend_gap * 2).min(RESEND_MAX_MS);
            self.resend_at = now + self.resend_gap;
        }
        None
    }

    /// After a change in this round: start the finalize wait once a quorum agrees on our proposal.
    fn check_round(&mut self, now: u64) -> Option<Decision> {
        if self.observer {
            return None;
        }
        if self.agreed(&self.received, &self.proposal) {
            if self.received.len() == self.quorum.voters().len() {
                // Everybody voted the same: nothing better can come.
                return Some(self.decide(self.proposal, self.logical_clock));
            }
            if self.finalize_at.is_none() {
                self.finalize_at = Some(now + FINALIZE_WAIT_MS);
            }
        }
        None
    }

    /// Whether a quorum of voters in `votes` voted for `vote`.
    fn agreed(&self, votes: &BTreeMap<ServerId, (Vote, PeerState)>, vote: &Vote) -> bool {
        self.quorum.is_quorum(
            votes
                .iter()
                .filter(|(_, (v, _))| v == vote)
                .map(|(id, _)| *id),
        )
    }

    /// We only follow a leader that has itself said it leads (or that is us), so a stale majority for a dead
    /// server does not stall us (FastLeaderElection.checkLeader).
    fn leader_confirmed(
        &self,
        votes: &BTreeMap<ServerId, (Vote, PeerState)>,
        leader: ServerId,
        epoch: u64,
    ) -> bool {
        if leader == self.me {
            return epoch == self.logical_clock;
        }
        votes
            .get(&leader)
            .is_some_and(|(_, s)| *s == PeerState::Leading)
    }

    fn decide(&mut self, vote: Vote, election_epoch: u64) -> Decision {
        self.finalize_at = None;
        self.proposal = vote;
        Decision {
            leader: vote.leader,
            election_epoch,
            vote,
        }
    }
}

#[cfg(test)]
mod tests;
