//! `rzk bench`: a load generator speaking the client protocol with rzk's own codec. Many sessions, many
//! requests in flight per session, seeded key choice, time-bounded (or `--count`-bounded); prints
//! throughput, latency percentiles and a final JSON line.

mod conn;
mod engine;
pub(crate) mod ready;
mod report;
mod setup;
mod tls;
mod workload;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;

use engine::Plan;
use report::{Summary, Tally};
pub use workload::Workload;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// What to run.
    #[arg(value_enum)]
    pub workload: Workload,
    /// The server's client port.
    #[arg(long, default_value = "127.0.0.1:2181")]
    pub server: String,
    /// Client sessions (for `watch`: the watchers; for `churn`: concurrent connect/close cycles).
    #[arg(long, default_value_t = 16)]
    pub sessions: usize,
    /// Requests in flight per session.
    #[arg(long, default_value_t = 32)]
    pub depth: usize,
    /// Seed of the key choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Measured seconds (after the warmup).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Pre-created keys for set, get, mixed (and parents for children).
    #[arg(long, default_value_t = 1000)]
    pub keys: usize,
    /// Bytes per value.
    #[arg(long, default_value_t = 100)]
    pub value_size: usize,
    /// Stop after this many operations in total instead of after --duration (no warmup).
    #[arg(long)]
    pub count: Option<u64>,
    /// Afterwards (outside the measurement), delete every node the run created, so the server is left
    /// with the tree it had: rounds of `create` then do not make later runs work on an ever larger tree.
    #[arg(long)]
    pub cleanup: bool,
    /// Load threads (default: one per core, at most one per session).
    #[arg(long)]
    pub threads: Option<usize>,
    /// `ready`: give up after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// `ready`: where the launched server's output goes.
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// `ready`: the server command line to launch and time (after `--`).
    #[arg(last = true)]
    pub launch: Vec<String>,
    /// `ready`: also wait until the server grants a client session (ZooKeeper answers `ruok` while it is
    /// still loading its data).
    #[arg(long)]
    pub session: bool,
    #[command(flatten)]
    pub tls: tls::TlsArgs,
}

pub fn run(args: BenchArgs) -> Result<()> {
    let addr = resolve(&args.server)?;
    if args.workload == Workload::Ready {
        return ready::run(
            addr,
            Duration::from_secs(args.timeout),
            &args.launch,
            args.log.as_deref(),
            args.session,
        );
    }
    if args.sessions == 0 || args.depth == 0 {
        bail!("--sessions and --depth must be at least 1");
    }
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let layout = workload::Layout {
        dir: format!(
            "/rzkbench/{}-{:x}-{:x}",
            args.workload.name(),
            args.seed,
            nonce
        ),
        keys: args.keys.max(1),
        value: Bytes::from(vec![b'x'; args.value_size]),
    };
    let tls = tls::client_config(&args.tls).context("--tls")?;
    setup::prepare(addr, args.workload, &layout, args.sessions, tls.as_ref())
        .context("creating the benchmark's nodes")?;

    let start = Instant::now();
    let (measure_from, end) = match args.count {
        Some(_) => (start, start + Duration::from_secs(24 * 3600)),
        None => {
            let from = start + secs(args.warmup)?;
            (from, from + secs(args.duration)?)
        }
    };
    let plan = Plan {
        addr,
        tls,
        workload: args.workload,
        layout,
        depth: args.depth,
        seed: args.seed,
        measure_from,
        end,
        budget: args.count.map(|n| 0..n),
        sessions: args.sessions,
    };
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let threads = args.threads.unwrap_or(cores).clamp(1, args.sessions);
    let (tally, threads) = if args.workload == Workload::Watch {
        let (tally, writes) = engine::run_watch(&plan, args.sessions)?;
        println!(
            "watch: {writes} writes fanned out to {} watchers",
            args.sessions
        );
        (tally, 1)
    } else {
        let tally = run_threads(&plan, threads)?;
        (tally, threads)
    };
    let window = match args.count {
        Some(_) => start.elapsed(),
        None => end.saturating_duration_since(measure_from),
    };
    if args.cleanup {
        let started = Instant::now();
        let deleted = setup::teardown(
            addr,
            args.workload,
            &plan.layout,
            args.sessions,
            plan.tls.as_ref(),
        )
        .context("deleting the benchmark's nodes")?;
        println!(
            "cleanup: deleted {deleted} nodes in {:.2} s",
            started.elapsed().as_secs_f64()
        );
    }
    let summary = Summary {
        workload: args.workload.name(),
        server: &args.server,
        sessions: args.sessions,
        depth: if matches!(args.workload, Workload::Watch | Workload::Churn) {
            1
        } else {
            args.depth
        },
        threads,
        seed: args.seed,
        window,
        tally: &tally,
    };
    summary.print();
    Ok(())
}

fn run_threads(plan: &Plan, threads: usize) -> Result<Tally> {
    let per = plan.sessions.div_ceil(threads);
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let range = (t * per).min(plan.sessions)..((t + 1) * per).min(plan.sessions);
                scope.spawn(move || engine::run_thread(plan, range))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow!("a load thread panicked")))
            .collect::<Vec<_>>()
    });
    let mut total = Tally::new();
    for r in results {
        total.merge(r??);
    }
    Ok(total)
}

fn secs(s: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(s).map_err(|_| anyhow!("{s} is not a number of seconds"))
}

fn resolve(server: &str) -> Result<SocketAddr> {
    server
        .to_socket_addrs()
        .with_context(|| format!("{server:?} is not a HOST:PORT address"))?
        .next()
        .ok_or_else(|| anyhow!("{server:?} resolves to no address"))
}
