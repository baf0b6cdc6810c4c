//! Crashes at the worst moments (BUGGIFY-style). Random crashes every few seconds almost never fall in the
//! milliseconds between an acknowledgement and the write it vouches for; these do. After each node step the
//! world looks at what the step did (see [`crate::faults::CrashPoints`]) and, with the seed's odds, crashes
//! that server a few milliseconds later, sometimes followed by a burst that takes a quorum down.

use rzk_core::node::{Input, Output, PersistOp};
use rzk_core::peer::PeerMsg;
use rzk_core::zab::ZabMsg;

use crate::event::Event;
use crate::world::World;

/// Which protocol event a step was, for the crash points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    AckUnsynced,
    Epochs,
    Sync,
    Rewrite,
    Propose,
}

/// Whether `input` is a learner's sync arriving.
pub fn is_sync(input: &Input) -> bool {
    matches!(
        input,
        Input::PeerMessage {
            msg: PeerMsg::Zab {
                msg: ZabMsg::Diff { .. } | ZabMsg::Trunc { .. } | ZabMsg::Snap { .. },
                ..
            },
            ..
        }
    )
}

impl World {
    /// The protocol moments of one step of node `n` (its input was a sync if `sync`).
    pub(crate) fn moments(&self, n: usize, sync: bool, out: &[Output]) -> Vec<Moment> {
        let mut moments = Vec::new();
        if sync {
            moments.push(Moment::Sync);
        }
        let unsynced = !self.hosts[n].disk.written.is_empty();
        for o in out {
            match o {
                Output::ToPeer {
                    msg: PeerMsg::Zab { msg, .. },
                    ..
                } => match msg {
                    ZabMsg::Ack { .. } | ZabMsg::AckNewLeader { .. } | ZabMsg::AckEpoch { .. }
                        if unsynced =>
                    {
                        moments.push(Moment::AckUnsynced)
                    }
                    ZabMsg::Proposal { .. } => moments.push(Moment::Propose),
                    _ => {}
                },
                Output::Persist { op, .. } => match op {
                    PersistOp::SaveEpochs { .. } => moments.push(Moment::Epochs),
                    PersistOp::Truncate { .. } | PersistOp::Install { .. } => {
                        moments.push(Moment::Rewrite)
                    }
                    PersistOp::Append(_) => {}
                },
                _ => {}
            }
        }
        moments.dedup();
        moments
    }

    /// Rolls the crash points armed for these moments; schedules a crash of `n` within milliseconds.
    pub(crate) fn crash_points(&mut self, n: usize, moments: &[Moment]) {
        if !self.fault_phase
            || moments.is_empty()
            || self.crash_points_used >= self.params.plan.crash_points.budget
        {
            return;
        }
        let c = &self.params.plan.crash_points;
        let chance = moments
            .iter()
            .map(|m| match m {
                Moment::AckUnsynced => c.ack_unsynced,
                Moment::Epochs => c.epochs,
                Moment::Sync => c.sync,
                Moment::Rewrite => c.rewrite,
                Moment::Propose => c.propose,
            })
            .fold(0.0, f64::max);
        if chance <= 0.0 || !self.rng.chance(chance) {
            return;
        }
        self.crash_points_used += 1;
        let incarnation = self.hosts[n].incarnation;
        let at = self.now + self.rng.range(0, 3);
        self.queue.push(
            at,
            Event::CrashPoint {
                node: n,
                incarnation,
                moments: moments.to_vec(),
            },
        );
        let burst = self.params.plan.crash_points.burst;
        if burst > 0.0 && self.rng.chance(burst) {
            // More servers follow until a quorum is down, the leader first.
            let quorum = self.hosts.len() / 2 + 1;
            let mut others: Vec<usize> = (0..self.hosts.len())
                .filter(|&m| m != n && self.hosts[m].node.is_some())
                .collect();
            others.sort_by_key(|&m| self.hosts[m].mode() != Some(rzk_core::ServerMode::Leading));
            for (i, m) in others
                .into_iter()
                .take(quorum.saturating_sub(1))
                .enumerate()
            {
                let at = self.now + self.rng.range(1, 10) * (i as u64 + 1);
                let incarnation = self.hosts[m].incarnation;
                self.queue.push(
                    at,
                    Event::CrashPoint {
                        node: m,
                        incarnation,
                        moments: Vec::new(),
                    },
                );
            }
        }
    }

    /// Before a sync completes and runs an epoch write, truncate or install: if that crash point is armed,
    /// the disk fails after a few more calls, so the server dies in the middle of the operation (between the
    /// two epoch files, after the cut but before the snapshot, after the snapshot but before the old logs
    /// are gone...).
    pub(crate) fn rewrite_crash_point(&mut self, n: usize, covers: rzk_core::node::PersistId) {
        let c = &self.params.plan.crash_points;
        if !self.fault_phase || self.crash_points_used >= c.budget {
            return;
        }
        let chance = self.hosts[n]
            .disk
            .written
            .iter()
            .take_while(|(id, _, _)| *id <= covers)
            .map(|(_, op, _)| match op {
                PersistOp::SaveEpochs { .. } => c.epochs,
                PersistOp::Truncate { .. } | PersistOp::Install { .. } => c.rewrite,
                PersistOp::Append(_) => 0.0,
            })
            .fold(0.0, f64::max);
        if chance > 0.0 && self.rng.chance(chance) {
            self.crash_points_used += 1;
            let calls = self.rng.range(0, 8) as u32;
            self.hosts[n].disk.dir.arm_fuse(calls);
        }
    }

    /// A disk call failed. If an armed fuse blew, that is the simulated crash in the middle of an operation;
    /// otherwise the storage code failed on a disk that holds what it wrote: a violation. Either way the
    /// server is down (as the driver stops on a disk error) and comes back later.
    pub(crate) fn disk_failed(&mut self, n: usize, e: std::io::Error) {
        let blown = self.hosts[n].disk.dir.fuse_blown();
        if !blown {
            self.violations
                .push(format!("node {n}: a disk operation failed: {e}"));
        }
        self.trace.line(self.now, [18, n as u64, blown as u64], || {
            format!("node {n}: disk fails mid-write ({e}), server stops")
        });
        self.crash(n);
        let (lo, hi) = self.params.plan.down_ms;
        let at = self.now + self.rng.range(lo.max(1), hi.max(lo.max(1)));
        self.queue.push(at, Event::Restart { node: n });
        self.touched(at, crate::world::Touched::Node(n));
    }

    /// A crash point fires: the server dies now, if it still runs the incarnation that met the moment.
    pub(crate) fn on_crash_point(&mut self, n: usize, incarnation: u64, moments: Vec<Moment>) {
        if !self.fault_phase
            || self.hosts[n].incarnation != incarnation
            || self.hosts[n].node.is_none()
        {
            return;
        }
        self.trace
            .line(self.now, [17, n as u64, moments.len() as u64], || {
                format!("crash point {moments:?}: node {n}")
            });
        self.crash(n);
        let (lo, hi) = self.params.plan.down_ms;
        let at = self.now + self.rng.range(lo.max(1), hi.max(lo.max(1)));
        self.queue.push(at, Event::Restart { node: n });
        self.touched(at, crate::world::Touched::Node(n));
    }
}
