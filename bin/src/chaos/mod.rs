//! `rzk chaos`: the real binary under test, checked like the simulator (issue 16). It starts an ensemble of
//! `rzk server` processes of this binary on loopback, each with a test journal, drives them with the
//! simulator's recording clients over real sockets, stops them, gathers the run's facts (the clients'
//! history, the committed history from the journals, each server's recovered tree) and holds them to every
//! checker of `rzk-check`, writing the history file for `rzk check`.
//!
//! This first version has no nemesis yet: the servers run undisturbed (a calm run). Network namespaces,
//! partitions, pauses, kills, clock and disk faults are the next stages of issue 16.

mod clients;
mod cluster;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use rzk_check::{Facts, ServerEnd};
use rzk_sim::client::{SimClient, Workload};
use rzk_sim::rng::SimRng;

use clients::Clients;
use cluster::{monotonic_micros, Cluster};

#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// Servers in the ensemble (1 runs a standalone server).
    #[arg(long, default_value_t = 3)]
    servers: usize,
    /// Seconds of client load.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Seeds the clients' choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Recording clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
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
    let mut cluster = Cluster::start(args.servers, workdir)?;
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
    let load_ms = args.duration * 1000;
    let mut next_progress = 5_000;
    while clients.now() < load_ms {
        let until = next_progress.min(load_ms);
        clients.run_until(until)?;
        if until == next_progress {
            let done = clients.history.ops.len();
            eprintln!("rzk chaos: {} s, {done} operations", until / 1000);
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
    let mut leaders = Vec::new();
    for (when, node, leads) in leading {
        leaders.push((to_ms(when), leads.then_some(node)));
    }
    let facts = Facts {
        history: std::mem::take(&mut clients.history),
        committed_at: at.into_iter().map(|(z, t)| (z, to_ms(t))).collect(),
        committed,
        healed_at: 0,
        heal_ms: 0,
        end,
        calm: true,
        clients: client_count,
        faults: Vec::new(),
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
        "rzk chaos: {} servers, {} clients, {} s: {} operations ({ok_ops} answered), {} committed txns, faults: none (no nemesis yet), {} violation(s)",
        args.servers,
        client_count,
        args.duration,
        facts.history.ops.len(),
        facts.committed.len(),
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
