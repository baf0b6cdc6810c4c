//! Swarm testing: each seed draws which faults are on and how hard, so that over many seeds rare
//! combinations (a slow disk during a crash storm, a clock jump during a partition...) are reached.

use crate::rng::SimRng;

/// Which families of faults a run may use (`rzk sim --faults`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultFilter {
    All,
    Net,
    Crash,
    Clock,
    Disk,
    None,
}

impl std::str::FromStr for FaultFilter {
    type Err = String;

    fn from_str(s: &str) -> Result<FaultFilter, String> {
        Ok(match s {
            "all" => FaultFilter::All,
            "net" => FaultFilter::Net,
            "crash" => FaultFilter::Crash,
            "clock" => FaultFilter::Clock,
            "disk" => FaultFilter::Disk,
            "none" => FaultFilter::None,
            other => {
                return Err(format!(
                    "unknown fault family '{other}' (all, net, crash, clock, disk, none)"
                ))
            }
        })
    }
}

/// The faults of one run, drawn from its seed.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    /// Mean ms between crashes of some node; None = no crashes.
    pub crash_every: Option<u64>,
    /// Down time after a crash (ms range).
    pub down_ms: (u64, u64),
    /// Mean ms between pauses (GC-like stalls) and their length range.
    pub pause_every: Option<u64>,
    pub pause_ms: (u64, u64),
    /// Mean ms between connection resets.
    pub reset_every: Option<u64>,
    /// Mean ms between resets of a link between two servers (both ends reconnect a moment later: a learner
    /// rejoins its leader, with proposals in flight).
    pub peer_reset_every: Option<u64>,
    /// Mean ms between partitions of the servers, and how long each lasts.
    pub partition_every: Option<u64>,
    pub partition_ms: (u64, u64),
    /// Network one-way latency range (ms) and the chance of a slow packet (up to `slow_ms`).
    pub latency_ms: (u64, u64),
    pub slow_chance: f64,
    pub slow_ms: u64,
    /// Clock skew (ms, ±), drift (ppm, ±) and mean ms between jumps (± up to `jump_ms`).
    pub skew_ms: u64,
    pub drift_ppm: u64,
    pub jump_every: Option<u64>,
    pub jump_ms: u64,
    /// fsync latency range (ms), the chance of a very slow fsync, and of an fsync failure (the server stops).
    pub fsync_ms: (u64, u64),
    pub slow_fsync_chance: f64,
    pub fsync_fail_chance: f64,
    /// Crashes at the worst moments (BUGGIFY-style): which protocol events are armed and how often.
    pub crash_points: CrashPoints,
}

/// Protocol events at which a server may crash within milliseconds, when random crashes every few seconds
/// would almost never line up with them. Each is a probability per event (0 = not armed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CrashPoints {
    /// A server sends an ACK, ACKNEWLEADER or ACKEPOCH while it has written data that is not durable.
    pub ack_unsynced: f64,
    /// A server writes its epoch files (the crash may fall between the two).
    pub epochs: f64,
    /// A learner receives its sync (DIFF, TRUNC, SNAP).
    pub sync: f64,
    /// A learner truncates its log or installs a snapshot.
    pub rewrite: f64,
    /// A leader proposes.
    pub propose: f64,
    /// After a crash-point crash, the chance that more servers (the leader first) follow within
    /// milliseconds until a quorum is down.
    pub burst: f64,
    /// At most this many crash-point crashes in a run.
    pub budget: u32,
}

impl CrashPoints {
    fn draw(rng: &mut SimRng) -> CrashPoints {
        let rate = |rng: &mut SimRng| {
            if rng.chance(0.5) {
                rng.range(5, 200) as f64 / 1000.0
            } else {
                0.0
            }
        };
        CrashPoints {
            ack_unsynced: rate(rng),
            epochs: rate(rng),
            sync: rate(rng),
            rewrite: rate(rng),
            propose: rate(rng) / 10.0,
            burst: rng.range(0, 60) as f64 / 100.0,
            budget: rng.range(3, 30) as u32,
        }
    }

    pub fn any(&self) -> bool {
        self.budget > 0
            && [
                self.ack_unsynced,
                self.epochs,
                self.sync,
                self.rewrite,
                self.propose,
            ]
            .iter()
            .any(|r| *r > 0.0)
    }
}

impl FaultPlan {
    /// Whether nothing can stop a connected client from keeping its session alive: a fast network and disk
    /// and no faults at all (what `--faults none` draws).
    pub fn is_calm(&self) -> bool {
        let calm = FaultPlan::none();
        self.latency_ms.1 <= calm.latency_ms.1
            && self.fsync_ms.1 <= calm.fsync_ms.1
            && self.slow_fsync_chance == 0.0
            && self.crash_every.is_none()
            && self.pause_every.is_none()
            && self.reset_every.is_none()
            && self.peer_reset_every.is_none()
            && self.partition_every.is_none()
            && self.slow_chance == 0.0
            && self.skew_ms == 0
            && self.drift_ppm == 0
            && self.jump_every.is_none()
            && self.fsync_fail_chance == 0.0
            && !self.crash_points.any()
    }

    /// A calm world: fast network and disk, no faults.
    pub fn none() -> FaultPlan {
        FaultPlan {
            crash_every: None,
            down_ms: (0, 0),
            pause_every: None,
            pause_ms: (0, 0),
            reset_every: None,
            peer_reset_every: None,
            partition_every: None,
            partition_ms: (0, 0),
            latency_ms: (1, 2),
            slow_chance: 0.0,
            slow_ms: 0,
            skew_ms: 0,
            drift_ppm: 0,
            jump_every: None,
            jump_ms: 0,
            fsync_ms: (1, 2),
            slow_fsync_chance: 0.0,
            fsync_fail_chance: 0.0,
            crash_points: CrashPoints::default(),
        }
    }

    /// Draws the faults of a run: each family is on with some probability (if the filter allows it), at an
    /// intensity drawn as well.
    pub fn draw(rng: &mut SimRng, filter: FaultFilter) -> FaultPlan {
        let mut p = FaultPlan::none();
        let on = |rng: &mut SimRng, family: FaultFilter| {
            (filter == FaultFilter::All || filter == family)
                && filter != FaultFilter::None
                && rng.chance(0.7)
        };
        if on(rng, FaultFilter::Crash) {
            p.crash_every = Some(rng.range(2_000, 20_000));
            p.down_ms = (rng.range(10, 500), rng.range(500, 5_000));
            p.pause_every = rng.chance(0.5).then(|| rng.range(2_000, 15_000));
            p.pause_ms = (rng.range(10, 200), rng.range(200, 3_000));
            if rng.chance(0.6) {
                p.crash_points = CrashPoints::draw(rng);
            }
        }
        if on(rng, FaultFilter::Net) {
            p.reset_every = Some(rng.range(500, 10_000));
            p.peer_reset_every = rng.chance(0.5).then(|| rng.range(500, 10_000));
            p.partition_every = rng.chance(0.6).then(|| rng.range(3_000, 20_000));
            p.partition_ms = (rng.range(100, 1_000), rng.range(1_000, 16_000));
            p.latency_ms = (rng.range(0, 2), rng.range(2, 30));
            p.slow_chance = rng.range(0, 20) as f64 / 100.0;
            p.slow_ms = rng.range(50, 2_000);
        }
        if on(rng, FaultFilter::Clock) {
            p.skew_ms = rng.range(0, 60_000);
            p.drift_ppm = rng.range(0, 2_000);
            p.jump_every = rng.chance(0.6).then(|| rng.range(3_000, 30_000));
            p.jump_ms = rng.range(100, 20_000);
        }
        if on(rng, FaultFilter::Disk) {
            p.fsync_ms = (rng.range(0, 2), rng.range(2, 50));
            p.slow_fsync_chance = rng.range(0, 10) as f64 / 100.0;
            p.fsync_fail_chance = if rng.chance(0.3) {
                rng.range(1, 20) as f64 / 1000.0
            } else {
                0.0
            };
        }
        p
    }

    /// One-line summary for reports.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(e) = self.crash_every {
            parts.push(format!("crash/{e}ms"));
        }
        if self.crash_points.any() {
            let c = &self.crash_points;
            parts.push(format!(
                "crashpoints(ack{:.1}%,epochs{:.1}%,sync{:.1}%,rewrite{:.1}%,propose{:.1}%,burst{:.0}%,max{})",
                c.ack_unsynced * 100.0,
                c.epochs * 100.0,
                c.sync * 100.0,
                c.rewrite * 100.0,
                c.propose * 100.0,
                c.burst * 100.0,
                c.budget
            ));
        }
        if let Some(e) = self.pause_every {
            parts.push(format!("pause/{e}ms"));
        }
        if let Some(e) = self.reset_every {
            parts.push(format!("reset/{e}ms"));
        }
        if let Some(e) = self.peer_reset_every {
            parts.push(format!("peerreset/{e}ms"));
        }
        if let Some(e) = self.partition_every {
            parts.push(format!("partition/{e}ms"));
        }
        if self.slow_chance > 0.0 {
            parts.push(format!("slownet{:.0}%", self.slow_chance * 100.0));
        }
        if self.skew_ms > 0 || self.drift_ppm > 0 {
            parts.push(format!("skew{}ms,drift{}ppm", self.skew_ms, self.drift_ppm));
        }
        if let Some(e) = self.jump_every {
            parts.push(format!("jump/{e}ms"));
        }
        if self.slow_fsync_chance > 0.0 || self.fsync_fail_chance > 0.0 {
            parts.push(format!(
                "disk(slow{:.0}%,fail{:.1}%)",
                self.slow_fsync_chance * 100.0,
                self.fsync_fail_chance * 100.0
            ));
        }
        if parts.is_empty() {
            "no faults".into()
        } else {
            parts.join(" ")
        }
    }
}
