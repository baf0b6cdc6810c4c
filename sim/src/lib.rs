//! rzk-sim: a seeded, deterministic simulator that drives the unmodified rzk core through crashes, lost
//! disk writes, slow disks, pauses, clock skew and jumps, and connection resets, and checks every history.
//!
//! One u64 seed decides everything: the topology, the workload, the fault plan (swarm testing: which fault
//! families are on and how hard), every latency and every clock. `run(seed, ..)` twice gives the same trace
//! hash. The checkers in [`check`] read only what clients observed and the durable txn record.

pub mod check;
pub mod client;
pub mod clock;
pub mod crash_points;
pub mod disk;
pub mod event;
pub mod faults;
pub use rzk_check::history;
pub mod host;
pub mod invariants;
pub mod net;
pub mod partition;
pub mod queue;
mod replay_check;
pub mod rng;
pub mod sim_dir;
pub mod trace;
pub mod world;

use rzk_core::config::ServerConfig;

use client::Workload;
use faults::{FaultFilter, FaultPlan};
use rng::SimRng;
use trace::Trace;
use world::{World, WorldParams};

/// What to run.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Number of servers; `None` draws it from the seed.
    pub nodes: Option<usize>,
    pub faults: FaultFilter,
    /// Length of the fault phase in simulated ms; the heal phase follows.
    pub fault_ms: u64,
    pub trace: bool,
    /// Planted bugs to switch on in every node (needs the `planted-bugs` feature).
    pub plant: Vec<rzk_core::planted::PlantedBug>,
    /// At most this many clients (default: drawn from the seed, 2 to 6).
    pub max_clients: Option<usize>,
    /// Record every node with the flight recorder, a segment every this many inputs; the live node
    /// continues from each checkpoint decoded, and every segment is replayed and checked at the end.
    pub record: Option<u64>,
    /// With `record`: the recorders redact (`rzk.recordRedact`), and the replay checks by shape.
    pub record_redacted: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            nodes: None,
            faults: FaultFilter::All,
            fault_ms: 60_000,
            trace: false,
            plant: Vec::new(),
            max_clients: None,
            record: None,
            record_redacted: false,
        }
    }
}

/// The outcome of one seed.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub seed: u64,
    pub nodes: usize,
    /// How many of the nodes are observers.
    pub observers: usize,
    pub clients: usize,
    pub faults: String,
    pub simulated_ms: u64,
    pub events: u64,
    pub ops: usize,
    pub ops_ok: usize,
    pub committed: usize,
    pub fsyncs: u64,
    pub trace_hash: u64,
    pub violations: Vec<String>,
    /// With `record`: the segments replayed and the inputs they held.
    pub replayed: (u64, u64),
}

impl RunReport {
    /// The one command that replays this run.
    pub fn replay_command(&self, opts: &SimOptions) -> String {
        let mut cmd = format!("rzk sim --seed {}", self.seed);
        if let Some(n) = opts.nodes {
            cmd.push_str(&format!(" --nodes {n}"));
        }
        if opts.faults != FaultFilter::All {
            cmd.push_str(&format!(" --faults {:?}", opts.faults).to_lowercase());
        }
        if opts.fault_ms != SimOptions::default().fault_ms {
            cmd.push_str(&format!(" --fault-ms {}", opts.fault_ms));
        }
        if let Some(c) = opts.max_clients {
            cmd.push_str(&format!(" --clients {c}"));
        }
        for bug in &opts.plant {
            cmd.push_str(&format!(" --plant {}", bug.name()));
        }
        if let Some(every) = opts.record {
            cmd.push_str(&format!(" --record {every}"));
            if opts.record_redacted {
                cmd.push_str(" --record-redacted");
            }
        }
        cmd.push_str(" --trace");
        cmd
    }
}

/// Heal phase length: long enough for the liveness bound plus writes after it.
const HEAL_MS: u64 = 30_000;

/// Simulates one seed and returns the finished world (history, committed txns, servers) unchecked.
pub fn run_world(seed: u64, opts: &SimOptions) -> World {
    let mut rng = SimRng::new(seed);
    // The layout: odd and even voter counts, and up to two observers anywhere in the server list, so that a
    // wrong quorum rule (observers counted, a miscounted majority) changes who can commit. Drawn even when
    // `--nodes N` is given, so that it replays a seed that drew N servers exactly.
    let drawn_voters = *rng.pick(&[1, 1, 2, 3, 3, 3, 4, 5, 5, 7]);
    let drawn_observers = if drawn_voters > 1 {
        *rng.pick(&[0, 0, 0, 1, 1, 2])
    } else {
        0
    };
    let nodes = opts.nodes.unwrap_or(drawn_voters + drawn_observers);
    // At least two voters stay (one voter alone would be a standalone server).
    let observers = drawn_observers.min(nodes.saturating_sub(2));
    let mut observer_ids: Vec<u64> = (1..=nodes as u64).collect();
    for i in (1..observer_ids.len()).rev() {
        observer_ids.swap(i, rng.range(0, i as u64) as usize);
    }
    observer_ids.truncate(observers);
    let drawn_clients = rng.range(2, 6) as usize;
    let clients = opts
        .max_clients
        .map_or(drawn_clients, |m| drawn_clients.min(m.max(1)));
    let plan = if opts.faults == FaultFilter::None {
        FaultPlan::none()
    } else {
        FaultPlan::draw(&mut rng, opts.faults)
    };
    let mut config = ServerConfig::default_standalone();
    config.tick_time = *rng.pick(&[50, 100, 200, 500]) as u32;
    config.min_session_timeout = config.tick_time * 2;
    config.max_session_timeout = config.tick_time * 20;
    config.snap_count = rng.range(50, 2_000);
    config.container_check_interval_ms = 1_000;
    // The clients create TTL nodes too.
    config.extended_types_enabled = true;
    config.global_outstanding_limit = rng.range(2, 1000) as u32;
    // Clients put a quota on /q (hard count limit 12): with enforcement, creates past it are refused.
    config.enforce_quota = rng.chance(0.5);
    // Half the seeds run a SASL server (drawn apart from the seed's stream, so no other draw moves): clients
    // then now and then authenticate with DIGEST-MD5, with the right password or a wrong one.
    let sasl = crate::rng::SimRng::new(seed ^ 0x5a51_5a51).chance(0.5);
    if sasl {
        config.sasl_auth = true;
        config.sasl_users = Some(
            [(SASL_USER.to_string(), SASL_PASSWORD.to_string())]
                .into_iter()
                .collect(),
        );
    }
    if nodes > 1 {
        config.init_limit = 10;
        config.sync_limit = 5;
        config.servers = (1..=nodes as u64)
            .map(|id| rzk_core::config::ServerSpec {
                id,
                host: format!("10.0.0.{id}"),
                quorum_port: 2888,
                election_port: 3888,
                peer_type: if observer_ids.contains(&id) {
                    rzk_core::config::PeerType::Observer
                } else {
                    rzk_core::config::PeerType::Participant
                },
                client_address: None,
                client_port: None,
            })
            .collect();
    }
    let workload = Workload {
        keys: rng.range(1, 6) as usize,
        depth: rng.range(1, 4) as usize,
        think_ms: rng.range(1, 100),
        // A client must be able to get an answer through a follower (about six network hops and a quorum's
        // fsyncs) within 2/3 of its timeout, as operators size real timeouts; shorter ones only measure
        // reconnect churn.
        session_timeout: rng
            .range(
                config.min_session_timeout as u64,
                config.max_session_timeout as u64,
            )
            .max(8 * (plan.latency_ms.1 + plan.fsync_ms.1))
            .min(config.max_session_timeout as u64) as i32,
        idlers: 1 + rng.range(0, clients as u64 / 2) as usize,
        idle_before: opts.fault_ms + check::liveness::LIVENESS_BOUND_MS,
        sasl,
    };
    let params = WorldParams {
        nodes,
        clients,
        fault_ms: opts.fault_ms,
        heal_ms: HEAL_MS,
        plan,
        workload,
        config,
        plant: opts.plant.clone(),
        record: opts.record,
        record_redacted: opts.record_redacted,
    };
    let world_seed = rng.next_u64();
    let mut world = World::new(world_seed, params, Trace::new(opts.trace));
    let end = opts.fault_ms + HEAL_MS + 5_000;
    world.run_until(end);
    world
}

/// The SASL user every simulated SASL server knows.
pub const SASL_USER: &str = "simuser";
pub const SASL_PASSWORD: &str = "simsecret";

/// Simulates one seed and checks its history.
pub fn run(seed: u64, opts: &SimOptions) -> RunReport {
    run_with_facts(seed, opts).0
}

/// [`run`], also returning the facts the checkers read (what `rzk sim --history` writes).
pub fn run_with_facts(seed: u64, opts: &SimOptions) -> (RunReport, rzk_check::Facts) {
    let mut world = run_world(seed, opts);
    let end = world.now;
    let nodes = world.node_count();
    let observers = world
        .params
        .config
        .servers
        .iter()
        .filter(|s| s.peer_type == rzk_core::config::PeerType::Observer)
        .count();
    let clients = world.clients.len();
    let faults = world.params.plan.describe();
    let facts = check::facts(&world);
    let mut violations = rzk_check::check_all(&facts);
    let mut replayed = (0, 0);
    if opts.record.is_some() {
        let (segments, inputs, failures) = world.replay_recordings();
        replayed = (segments, inputs);
        violations.extend(failures);
    }
    let ops = world.history.ops.len();
    let ops_ok = world
        .history
        .ops
        .iter()
        .filter(|r| !matches!(r.outcome, history::Outcome::Lost))
        .count();
    let report = RunReport {
        seed,
        nodes,
        observers,
        clients,
        faults,
        simulated_ms: end,
        events: world.events,
        ops,
        ops_ok,
        committed: world.durable.len(),
        fsyncs: world.fsyncs(),
        trace_hash: world.trace.hash(),
        violations,
        replayed,
    };
    (report, facts)
}

/// Looks for a smaller run that still fails: fewer fault families, a shorter fault phase, fewer clients.
/// Every candidate is a plain `SimOptions`, so the result replays with one command. Returns the smallest
/// failing options found and their report, or `None` if the seed passes as given.
pub fn shrink(seed: u64, opts: &SimOptions) -> Option<(SimOptions, RunReport)> {
    let quiet = SimOptions {
        trace: false,
        ..opts.clone()
    };
    let first = run(seed, &quiet);
    if first.violations.is_empty() {
        return None;
    }
    let mut best = (quiet, first);
    loop {
        let cur = best.0.clone();
        let mut candidates = Vec::new();
        if cur.faults == FaultFilter::All {
            for f in [
                FaultFilter::None,
                FaultFilter::Crash,
                FaultFilter::Net,
                FaultFilter::Clock,
                FaultFilter::Disk,
            ] {
                candidates.push(SimOptions {
                    faults: f,
                    ..cur.clone()
                });
            }
        } else if cur.faults != FaultFilter::None {
            candidates.push(SimOptions {
                faults: FaultFilter::None,
                ..cur.clone()
            });
        }
        if cur.fault_ms > 2_000 {
            candidates.push(SimOptions {
                fault_ms: cur.fault_ms / 2,
                ..cur.clone()
            });
        }
        let clients = cur.max_clients.unwrap_or(6);
        if clients > 1 {
            candidates.push(SimOptions {
                max_clients: Some(clients - 1),
                ..cur.clone()
            });
        }
        let smaller = candidates.into_iter().find_map(|c| {
            let r = run(seed, &c);
            (!r.violations.is_empty()).then_some((c, r))
        });
        match smaller {
            Some(s) => best = s,
            None => return Some(best),
        }
    }
}
