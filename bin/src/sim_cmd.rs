//! `rzk sim`: run the deterministic simulator for one seed (replay, optionally traced) or many seeds
//! (in parallel, with a progress line and a summary), exiting non-zero on any violation.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use rzk_sim::faults::FaultFilter;
use rzk_sim::{run, RunReport, SimOptions};

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Replay exactly this seed.
    #[arg(long, conflicts_with = "seeds")]
    pub seed: Option<u64>,
    /// Run this many seeds.
    #[arg(long)]
    pub seeds: Option<u64>,
    /// First seed of a `--seeds` batch (default: drawn from the clock and printed).
    #[arg(long)]
    pub start: Option<u64>,
    /// Number of servers (default: drawn from the seed).
    #[arg(long)]
    pub nodes: Option<usize>,
    /// Fault families: all, net, crash, clock, disk, none.
    #[arg(long, default_value = "all")]
    pub faults: FaultFilter,
    /// Length of the fault phase in simulated ms (a 30 s heal phase follows).
    #[arg(long, default_value_t = 60_000)]
    pub fault_ms: u64,
    /// Worker threads for `--seeds`.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Print every event of a `--seed` run.
    #[arg(long)]
    pub trace: bool,
    /// Switch on a planted bug by name (builds with the `planted-bugs` feature only): ack-before-fsync,
    /// seq-counter-not-restored, commit-before-quorum, follower-keeps-old-epoch-txn, election-by-id,
    /// serve-before-newleader-quorum, follower-expires-sessions.
    #[arg(long)]
    pub plant: Vec<String>,
    /// At most this many clients.
    #[arg(long)]
    pub clients: Option<usize>,
    /// With `--seed`: if the run fails, search for a smaller failing run (fewer fault families, shorter
    /// fault phase, fewer clients) and print its replay command.
    #[arg(long)]
    pub shrink: bool,
    /// With `--seeds`: write `seed trace-hash` lines to this file (compare two builds' traces: a refactoring
    /// that must not change behaviour keeps every hash).
    #[arg(long)]
    pub hashes: Option<std::path::PathBuf>,
    /// With `--seed`: write the run's history (what the checkers read, as JSON lines) to this file, for
    /// `rzk check FILE`.
    #[arg(long, requires = "seed")]
    pub history: Option<std::path::PathBuf>,
    /// Record every node with the flight recorder, a new segment (and checkpoint) every N inputs; the live
    /// node continues from each checkpoint decoded, and every segment is replayed at the end and checked
    /// step by step (a difference is a violation). The trace hash must equal the run's without it.
    #[arg(long, value_name = "N")]
    pub record: Option<u64>,
    /// With `--record`: the recorders redact znode data and credentials (`rzk.recordRedact`), and the replay
    /// checks steps by shape.
    #[arg(long, requires = "record")]
    pub record_redacted: bool,
}

pub fn run_cmd(args: SimArgs) -> Result<()> {
    let mut plant = Vec::new();
    for name in &args.plant {
        match rzk_core::planted::PlantedBug::from_name(name) {
            Some(b) => plant.push(b),
            None => bail!("unknown planted bug '{name}'"),
        }
    }
    if !plant.is_empty() {
        rzk_core::planted::Planted::new(&plant)
            .map_err(|e| anyhow::anyhow!("{e}; build rzk with --features planted-bugs"))?;
    }
    let opts = SimOptions {
        nodes: args.nodes,
        faults: args.faults,
        fault_ms: args.fault_ms,
        trace: args.trace,
        plant,
        max_clients: args.clients,
        record: args.record,
        record_redacted: args.record_redacted,
    };
    if let Some(seed) = args.seed {
        let started = Instant::now();
        let (r, facts) = rzk_sim::run_with_facts(seed, &opts);
        print_report(&r, started.elapsed().as_secs_f64());
        if let Some(path) = &args.history {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            rzk_check::write_history(
                &facts,
                "sim",
                Some(seed),
                &mut std::io::BufWriter::new(file),
            )
            .with_context(|| format!("cannot write {}", path.display()))?;
            println!("history written to {}", path.display());
        }
        if !r.violations.is_empty() && args.shrink {
            if let Some((small, report)) = rzk_sim::shrink(seed, &opts) {
                println!(
                    "\nshrunk to: {} node(s), {} clients, faults: {}, fault phase {} ms, {} ops",
                    report.nodes, report.clients, report.faults, small.fault_ms, report.ops
                );
                for v in report.violations.iter().take(5) {
                    println!("  {v}");
                }
                println!("  replay: {}", report.replay_command(&small));
            }
        }
        if !r.violations.is_empty() {
            bail!("seed {seed} failed {} check(s)", r.violations.len());
        }
        return Ok(());
    }
    let count = args.seeds.unwrap_or(100);
    let start = args.start.unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        t.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16
    });
    eprintln!(
        "rzk sim: seeds {start}..{} ({} jobs)",
        start + count,
        args.jobs
    );
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let results: Arc<Mutex<Vec<RunReport>>> = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..args.jobs.max(1))
        .map(|_| {
            let (next, results, opts) = (next.clone(), results.clone(), opts.clone());
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let r = run(start + i, &opts);
                let mut all = results.lock().unwrap_or_else(|e| e.into_inner());
                all.push(r);
                let failed = all.iter().filter(|r| !r.violations.is_empty()).count();
                let done = all.len() as u64;
                if std::io::stderr().is_terminal() {
                    eprint!("\r  {done}/{count} seeds, {failed} failed");
                    let _ = std::io::stderr().flush();
                } else if done.is_multiple_of((count / 10).max(1)) {
                    eprintln!("  {done}/{count} seeds, {failed} failed");
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    eprintln!();
    let wall = started.elapsed().as_secs_f64();
    let mut all = results.lock().unwrap_or_else(|e| e.into_inner()).clone();
    all.sort_by_key(|r| r.seed);
    if let Some(path) = &args.hashes {
        let lines: String = all
            .iter()
            .map(|r| format!("{} {:016x}\n", r.seed, r.trace_hash))
            .collect();
        std::fs::write(path, lines)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    let failed: Vec<&RunReport> = all.iter().filter(|r| !r.violations.is_empty()).collect();
    let sim_ms: u64 = all.iter().map(|r| r.simulated_ms).sum();
    let ops: usize = all.iter().map(|r| r.ops).sum();
    let violations: usize = all.iter().map(|r| r.violations.len()).sum();
    println!("seeds:              {}", all.len());
    if opts.record.is_some() {
        let segments: u64 = all.iter().map(|r| r.replayed.0).sum();
        let inputs: u64 = all.iter().map(|r| r.replayed.1).sum();
        println!("replayed:           {segments} recorded segments, {inputs} inputs");
    }
    println!("simulated time:     {:.0} s", sim_ms as f64 / 1000.0);
    println!("operations checked: {ops}");
    println!(
        "violations:         {violations} in {} seed(s)",
        failed.len()
    );
    println!(
        "speed:              {:.0} simulated s per wall s ({:.1} s wall)",
        sim_ms as f64 / 1000.0 / wall,
        wall
    );
    for r in &failed {
        println!("\nFAILED seed {} ({}):", r.seed, r.faults);
        for v in r.violations.iter().take(5) {
            println!("  {v}");
        }
        println!("  replay: {}", r.replay_command(&opts));
    }
    if !failed.is_empty() {
        bail!("{} of {} seeds failed", failed.len(), all.len());
    }
    Ok(())
}

fn print_report(r: &RunReport, wall: f64) {
    println!(
        "seed {}: {} node(s){}, {} clients, faults: {}",
        r.seed,
        r.nodes,
        if r.observers > 0 {
            format!(" ({} observer)", r.observers)
        } else {
            String::new()
        },
        r.clients,
        r.faults
    );
    println!(
        "  simulated {:.1} s in {:.3} s wall, {} events, {} ops ({} completed), {} txns committed, {} fsyncs",
        r.simulated_ms as f64 / 1000.0,
        wall,
        r.events,
        r.ops,
        r.ops_ok,
        r.committed,
        r.fsyncs
    );
    println!("  trace hash {:016x}", r.trace_hash);
    if r.replayed.0 > 0 {
        println!(
            "  replayed {} recorded segments, {} inputs",
            r.replayed.0, r.replayed.1
        );
    }
    if r.violations.is_empty() {
        println!("  all checks passed");
    }
    for v in &r.violations {
        println!("  VIOLATION: {v}");
    }
}
