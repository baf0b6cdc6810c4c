//! `rzk chaos`: the real binary under test, checked like the simulator (issue 16). It starts an ensemble of
//! `rzk server` processes of this binary on loopback, each with a test journal, drives them with the
//! simulator's recording clients over real sockets, stops them, gathers the run's facts (the clients'
//! history, the committed history from the journals, each server's recovered tree) and holds them to every
//! checker of `rzk-check`, writing the history file for `rzk check`.
//!
//! The nemesis of this first version draws, from the seed, kill -9 and restart, or SIGSTOP and SIGCONT, of
//! one server at a time during the fault phase; a heal phase without faults follows. Network namespaces,
//! partitions, proxy delays and loss, clock and disk faults are the next stages of issue 16.

mod clients;
mod cluster;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use rzk_check::{Facts, FaultSpan, ServerEnd, Touched};
use rzk_sim::client::{SimClient, Workload};
use rzk_sim::rng::SimRng;

use clients::Clients;
use cluster::Cluster;
use rzk_io_mio::monotonic_micros;

#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// Servers in the ensemble (1 runs a standalone server).
    #[arg(long, default_value_t = 3)]
    servers: usize,
    /// Seconds of client load with faults (the fault phase).
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Seconds of load after the faults stop (the heal phase); the liveness check needs more than 20.
    #[arg(long, default_value_t = 10)]
    heal: u64,
    /// Fault families: `kill,pause`, `kill`, `pause`, or `none`.
    #[arg(long, default_value = "kill,pause")]
    faults: String,
    /// Seeds the clients' choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Recording clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Planted bugs to switch on in every server (comma-separated; a binary built with `--features
    /// planted-bugs`): shows that the run's checks catch them.
    #[arg(long)]
    plant: Option<String>,
    /// Where to write the run's history (default: in the run's directory, which is kept on a violation).
    #[arg(long)]
    history: Option<PathBuf>,
}

/// After the load: how long the clients keep running (no new operations) so that pending ones complete.
const DRAIN_MS: u64 = 3_000;

pub fn run(args: ChaosArgs) -> Result<()> {
    if !(1..=7).contains(&args.servers) {
        bail!("--servers must be 1 to 7");
    }
    let workdir =
        std::env::temp_dir().join(format!("rzk-chaos-{}-{}", std::process::id(), args.seed));
    std::fs::create_dir_all(&workdir)?;
    let result = run_in(&args, &workdir);
    match &result {
        Ok(true) => {
            let _ = std::fs::remove_dir_all(&workdir);
        }
        _ => eprintln!(
            "rzk chaos: the run's servers, logs and journals are in {}",
            workdir.display()
        ),
    }
    if !result? {
        bail!("violations found: replay the check with rzk check on the history file");
    }
    Ok(())
}

/// One run; true if it passed every check.
fn run_in(args: &ChaosArgs, workdir: &std::path::Path) -> Result<bool> {
    let mut cluster = Cluster::start(args.servers, workdir, args.plant.as_deref())?;
    cluster.wait_up(Duration::from_secs(60))?;
    let started = Instant::now();
    let t0 = monotonic_micros();
    let workload = Workload {
        keys: 5,
        depth: 2,
        think_ms: 20,
        session_timeout: 6_000,
        idlers: 0,
        idle_before: 0,
        sasl: false,
    };
    let sim_clients = (0..args.clients)
        .map(|i| {
            SimClient::new(
                i,
                SimRng::new(args.seed.wrapping_mul(1000) + i as u64),
                workload.clone(),
            )
        })
        .collect();
    let servers = cluster.members.iter().map(|m| m.client).collect();
    let mut clients = Clients::new(sim_clients, servers, started)?;
    let kills = args.faults.split(',').any(|f| f == "kill");
    let pauses = args.faults.split(',').any(|f| f == "pause");
    if !kills && !pauses && args.faults != "none" {
        bail!("--faults takes kill,pause, kill, pause or none");
    }
    let fault_ms = args.duration * 1000;
    let load_ms = fault_ms + args.heal * 1000;
    let mut nemesis = SimRng::new(args.seed ^ 0x006e_656d_6573_6973);
    let mut faults: Vec<FaultSpan> = Vec::new();
    let mut killed_at: Vec<(u64, usize)> = Vec::new();
    let mut next_fault = 1_000 + nemesis.range(1_000, 3_000);
    let mut next_progress = 5_000;
    while clients.now() < fault_ms {
        clients.run_until(next_fault.min(fault_ms).min(next_progress))?;
        let now = clients.now();
        if now >= next_progress {
            eprintln!(
                "rzk chaos: {} s, {} operations, {} faults",
                now / 1000,
                clients.history.ops.len(),
                faults.len()
            );
            next_progress += 5_000;
        }
        if now < next_fault || now >= fault_ms || !(kills || pauses) {
            continue;
        }
        // One server at a time: down (or stopped) for a while, then back.
        let node = nemesis.range(0, args.servers as u64 - 1) as usize;
        let kill = kills && (!pauses || nemesis.range(0, 1) == 0);
        let outage = nemesis.range(500, 3_000);
        if kill {
            cluster.kill(node);
            killed_at.push((now, node));
            clients.run_until(now + outage)?;
            cluster.start_member(node)?;
        } else {
            cluster.signal(node, true);
            clients.run_until(now + outage)?;
            cluster.signal(node, false);
        }
        faults.push(FaultSpan {
            from: now,
            to: clients.now(),
            touched: Touched::Node(node),
        });
        next_fault = clients.now() + nemesis.range(1_000, 4_000);
    }
    let healed_at = clients.now();
    while clients.now() < load_ms {
        let until = next_progress.min(load_ms);
        clients.run_until(until)?;
        if until == next_progress {
            eprintln!(
                "rzk chaos: {} s (healed), {} operations",
                until / 1000,
                clients.history.ops.len()
            );
            next_progress += 5_000;
        }
    }
    clients.quiesce();
    let end = load_ms + DRAIN_MS;
    clients.run_until(end).context("draining the clients")?;
    let client_count = clients.close_all();
    cluster.stop_all();

    let (committed, at, leading, violations) = cluster.journals()?;
    let to_ms = |micros: u64| micros.saturating_sub(t0) / 1000;
    // Leadership as the journals saw it, and a killed leader's end (its journal cannot say so).
    let mut changes: Vec<(u64, usize, bool)> = leading
        .into_iter()
        .map(|(when, node, leads)| (to_ms(when), node, leads))
        .chain(killed_at.iter().map(|&(at, node)| (at, node, false)))
        .collect();
    changes.sort();
    let mut leaders: Vec<(u64, Option<usize>)> = Vec::new();
    for (at, node, leads) in changes {
        let current = leaders.last().and_then(|l| l.1);
        match (leads, current) {
            (true, c) if c != Some(node) => leaders.push((at, Some(node))),
            (false, Some(c)) if c == node => leaders.push((at, None)),
            _ => {}
        }
    }
    let fault_count = faults.len();
    let facts = Facts {
        history: std::mem::take(&mut clients.history),
        committed_at: at.into_iter().map(|(z, t)| (z, to_ms(t))).collect(),
        committed,
        healed_at: if fault_count > 0 { healed_at } else { 0 },
        heal_ms: end.saturating_sub(healed_at),
        end,
        calm: fault_count == 0,
        clients: client_count,
        faults,
        leaders,
        conn_nodes: std::mem::take(&mut clients.conn_nodes),
        servers: cluster
            .trees()
            .iter()
            .map(|t| t.as_ref().map(ServerEnd::of))
            .collect(),
        violations,
    };
    let history = args
        .history
        .clone()
        .unwrap_or_else(|| workdir.join("history.jsonl"));
    let file = std::fs::File::create(&history)
        .with_context(|| format!("cannot create {}", history.display()))?;
    rzk_check::write_history(
        &facts,
        "chaos",
        Some(args.seed),
        &mut std::io::BufWriter::new(file),
    )?;
    let found = rzk_check::check_all(&facts);
    let ok_ops = facts
        .history
        .ops
        .iter()
        .filter(|r| !matches!(r.outcome, rzk_check::history::Outcome::Lost))
        .count();
    println!(
        "rzk chaos: {} servers, {} clients, {} s + {} s healed: {} operations ({ok_ops} answered), {} committed txns, {fault_count} faults ({}), {} violation(s)",
        args.servers,
        client_count,
        args.duration,
        args.heal,
        facts.history.ops.len(),
        facts.committed.len(),
        args.faults,
        found.len()
    );
    for v in found.iter().take(20) {
        println!("  {v}");
    }
    if args.history.is_some() || !found.is_empty() {
        println!(
            "history: {} (rzk check {} repeats the check)",
            history.display(),
            history.display()
        );
    }
    Ok(found.is_empty())
}
