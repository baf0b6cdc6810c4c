//! `rzk chaos`: the real binary under real faults, checked like the simulator (issue 16). It starts an
//! ensemble of `rzk server` processes of this binary, each in its own network namespace (`--net netns`,
//! root) or on loopback, each with a test journal; drives them with the simulator's recording clients over
//! real sockets while a nemesis drawn from the seed injects faults ([`nemesis`]); then stops them, gathers
//! the run's facts (the clients' history, the committed history from the journals, the faults, each
//! server's recovered tree) and holds them to every checker of `rzk-check`, writing the history file for
//! `rzk check` and the fault schedule beside it.

mod clients;
mod cluster;
mod nemesis;
mod netns;
mod proxy;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use rzk_check::{Facts, ServerEnd};
use rzk_sim::client::{SimClient, Workload};
use rzk_sim::rng::SimRng;

use clients::Clients;
use cluster::{Cluster, PEER_PORTS};
use nemesis::{Nemesis, Target};
use netns::Net;
use proxy::Proxy;
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
    /// Fault families: `all`, `none`, or some of kill,pause,partition,isolate,delay,clock,disk,fsync
    /// (partition, isolate, delay and disk need `--net netns`).
    #[arg(long, default_value = "all")]
    faults: String,
    /// The servers' network: `netns` (a namespace each, a bridge and a peer proxy; needs root), `loopback`,
    /// or `auto` (netns when it works here).
    #[arg(long, default_value = "auto")]
    net: String,
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
    let netns = match args.net.as_str() {
        "netns" => {
            if let Some(why) = Net::unavailable() {
                bail!("--net netns: {why}");
            }
            true
        }
        "loopback" => false,
        "auto" => match Net::unavailable() {
            None => true,
            Some(why) => {
                eprintln!("rzk chaos: on loopback ({why}): no network or disk faults");
                false
            }
        },
        other => bail!("--net takes auto, netns or loopback, not {other:?}"),
    };
    let families = nemesis::parse_families(&args.faults, netns, args.servers > 1)?;
    let net = if netns && args.servers > 0 {
        Some(Net::create(args.servers)?)
    } else {
        None
    };
    let proxy = match &net {
        Some(net) if args.servers > 1 => Some(Proxy::start(net, args.servers, &PEER_PORTS)?),
        _ => None,
    };
    let mut cluster = Cluster::start(args.servers, workdir, args.plant.as_deref(), net.as_ref())?;
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
    let fault_ms = args.duration * 1000;
    let load_ms = fault_ms + args.heal * 1000;
    let mut nemesis = Nemesis::new(args.seed, families, args.servers);
    let mut next_fault = if nemesis.idle() {
        u64::MAX
    } else {
        1_000 + nemesis.gap()
    };
    let mut next_progress = 5_000;
    while clients.now() < fault_ms {
        clients.run_until(next_fault.min(fault_ms).min(next_progress))?;
        let now = clients.now();
        if now >= next_progress {
            eprintln!(
                "rzk chaos: {} s, {} operations, {} faults",
                now / 1000,
                clients.history.ops.len(),
                nemesis.schedule.len()
            );
            cluster.purge();
            next_progress += 5_000;
        }
        if now < next_fault || now >= fault_ms {
            continue;
        }
        nemesis.fault(
            &mut Target {
                cluster: &mut cluster,
                clients: &mut clients,
                net: net.as_ref(),
                proxy: proxy.as_ref(),
            },
            fault_ms,
        )?;
        if let Some(last) = nemesis.schedule.last() {
            eprintln!("rzk chaos: {last}");
        }
        next_fault = clients.now() + nemesis.gap();
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
            cluster.purge();
            next_progress += 5_000;
        }
    }
    clients.quiesce();
    let end = load_ms + DRAIN_MS;
    clients.run_until(end).context("draining the clients")?;
    nemesis.check_crashes(&mut cluster, "the run")?;
    let client_count = clients.close_all();
    let stuck = cluster.stop_all();
    let proxy_failure = proxy.as_ref().and_then(Proxy::failure);
    drop(proxy);

    let rzk_check::Journals {
        committed,
        committed_at: at,
        leading,
        disagreements: violations,
    } = cluster.journals()?;
    let to_ms = |micros: u64| micros.saturating_sub(t0) / 1000;
    // Leadership as the journals saw it, and a killed leader's end (its journal cannot say so).
    let mut changes: Vec<(u64, usize, bool)> = leading
        .into_iter()
        .map(|(when, node, leads)| (to_ms(when), node, leads))
        .chain(
            nemesis
                .killed_at
                .iter()
                .map(|&(at, node)| (at, node, false)),
        )
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
    let fault_count = nemesis.schedule.len();
    let mut violations = violations;
    violations.extend(nemesis.crashes.iter().map(|c| format!("crash: {c}")));
    violations.extend(stuck);
    // Every server recorded its run (rzk.recordDir): the recordings must replay exactly, step by step, and
    // what the servers saw, replayed, must pass the server-side checkers and agree with the journals.
    let recordings = cluster.recordings();
    // The replayed cores log what the servers logged; the servers' own logs already hold that.
    let replayed =
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
            rzk_record::ensemble::replay_ensemble(&recordings, false)
        })
        .context("cannot read the servers' recordings")?;
    let mut replay_counts = (0u64, 0u64, 0u64);
    for (i, m) in replayed.members.iter().enumerate() {
        replay_counts.0 += m.segments;
        replay_counts.1 += m.inputs;
        replay_counts.2 += m.gaps;
        if m.inputs == 0 {
            violations.push(format!("replay: server {} recorded nothing", i + 1));
        }
        violations.extend(
            m.failures
                .iter()
                .map(|f| format!("replay: server {}: {f}", i + 1)),
        );
    }
    violations.extend(
        rzk_check::check_server_side(&replayed.facts)
            .into_iter()
            .map(|v| format!("replay: {v}")),
    );
    let (replay_committed, replay_ops) = (
        replayed.facts.committed.len(),
        replayed.facts.history.ops.len(),
    );
    let mut journal_only = 0usize;
    for (z, t) in &committed {
        match replayed.facts.committed.get(z) {
            Some(r) if r == t => {}
            Some(_) => violations.push(format!(
                "replay: the replayed txn at zxid 0x{z:x} differs from the journals'"
            )),
            None => journal_only += 1,
        }
    }
    // A killed server loses the last few ms of its recording (written every 10 ms, never fsynced), so a txn
    // may be in a journal and not in the replay; one in both must be the same txn.
    let facts = Facts {
        history: std::mem::take(&mut clients.history),
        committed_at: at.into_iter().map(|(z, t)| (z, to_ms(t))).collect(),
        committed,
        healed_at: if fault_count > 0 { healed_at } else { 0 },
        heal_ms: end.saturating_sub(healed_at),
        end,
        calm: fault_count == 0,
        clients: client_count,
        faults: std::mem::take(&mut nemesis.spans),
        leaders,
        conn_nodes: std::mem::take(&mut clients.conn_nodes),
        observers: Vec::new(),
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
    let mut found = rzk_check::check_all(&facts);
    let ok_ops = facts
        .history
        .ops
        .iter()
        .filter(|r| !matches!(r.outcome, rzk_check::history::Outcome::Lost))
        .count();
    if let Some(why) = proxy_failure {
        found.push(format!("harness: the peer proxy stopped relaying: {why}"));
    }
    if ok_ops == 0 || facts.committed.is_empty() {
        // Nothing to check is not a pass: the harness or the cluster did not work at all.
        found.push(format!(
            "harness: {ok_ops} operations answered and {} txns committed: the run checked nothing",
            facts.committed.len()
        ));
    }
    let families: Vec<String> = nemesis
        .counts
        .iter()
        .map(|(f, c)| format!("{} {c}", f.name()))
        .collect();
    println!(
        "rzk chaos: {} servers ({}), {} clients, {} s + {} s healed: {} operations ({ok_ops} answered), {} committed txns, {fault_count} faults ({}), {} violation(s)",
        args.servers,
        if net.is_some() { "netns" } else { "loopback" },
        client_count,
        args.duration,
        args.heal,
        facts.history.ops.len(),
        facts.committed.len(),
        if families.is_empty() { "none".to_string() } else { families.join(", ") },
        found.len()
    );
    println!(
        "  progress checked in {} stretches (a connected majority, written to, for over 12 s)",
        rzk_check::progress::stretches_checked(&facts)
    );
    println!(
        "  recordings replayed: {} segments, {} inputs, {} gaps; {} committed txns ({} journal txns not in them) and {} client ops rebuilt (rzk replay --check DIR/s*/rec)",
        replay_counts.0,
        replay_counts.1,
        replay_counts.2,
        replay_committed,
        journal_only,
        replay_ops
    );
    for v in found.iter().take(20) {
        println!("  {v}");
    }
    let schedule = history.with_extension("schedule.txt");
    std::fs::write(&schedule, nemesis.schedule.join("\n") + "\n")
        .with_context(|| format!("cannot write {}", schedule.display()))?;
    if !found.is_empty() {
        println!(
            "seed {}; the nemesis schedule ({}):",
            args.seed,
            schedule.display()
        );
        for line in &nemesis.schedule {
            println!("  {line}");
        }
        let dirs: Vec<String> = recordings.iter().map(|d| d.display().to_string()).collect();
        println!(
            "each server's flight recording replays its run exactly: rzk replay --check {} (or rzk replay DIR --trace for one)",
            dirs.join(" ")
        );
        cluster.keep_data();
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
