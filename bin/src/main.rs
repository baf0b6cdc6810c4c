//! `rzk`: the command-line entry point. Subcommands live in their own modules; this file only parses
//! arguments, sets up logging and turns errors into a message and a non-zero exit.

mod bench;
mod chaos;
mod check_cmd;
mod cli;
mod environment;
mod export_cmd;
mod four_letter_cmd;
mod jaas_file;
mod myid;
mod replay_cmd;
mod sd_notify;
mod server_cmd;
mod service;
mod sim_cmd;
mod status_cmd;
mod storage_cmd;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// rzk: a ZooKeeper-compatible coordination service.
#[derive(Debug, Parser)]
#[command(name = "rzk", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a server from a zoo.cfg (without one: standalone on 127.0.0.1:2181, dataDir ./data).
    Server(server_cmd::ServerArgs),
    /// Send a four-letter word (ruok, stat, srvr, mntr, ...) and print the reply, like `echo stat | nc`.
    #[command(name = "4lw")]
    FourLetterWord(four_letter_cmd::FourLetterArgs),
    /// Run the deterministic simulator: one seed (`--seed S [--trace]`) or many (`--seeds N`).
    Sim(sim_cmd::SimArgs),
    /// Check a run's history file (`rzk sim --seed S --history FILE`, or a run of real processes).
    Check(check_cmd::CheckArgs),
    /// Re-run a server from its flight recording (rzk.recordDir), checking every step's outputs against
    /// the recording; stop at an input, zxid or time and print the tree, a session or a four-letter report.
    Replay(replay_cmd::ReplayArgs),
    /// Run an ensemble of real `rzk server` processes under recording clients and check the run like a
    /// simulated one (issue 16; no nemesis yet).
    Chaos(chaos::ChaosArgs),
    /// Txn log tools: `log dump <file>`, `log verify <dir>`.
    Log(storage_cmd::LogArgs),
    /// Snapshot tools: `snapshot dump <file>`.
    Snapshot(storage_cmd::SnapshotArgs),
    /// Write this server's data as an Apache ZooKeeper 3.8 data directory: `export --zookeeper DIR [zoo.cfg]`.
    Export(export_cmd::ExportArgs),
    /// Load generator: `bench <create|set|get|children|mixed|watch|churn> --server host:port`, or
    /// `bench ready` to time a server's start until `ruok` answers `imok`.
    Bench(bench::BenchArgs),
    /// An interactive shell like zkCli.sh: `cli -server host:port[,...] [cmd args]`.
    Cli(cli::CliArgs),
    /// The mode of each local server of a zoo.cfg, like `zkServer.sh status`.
    Status(status_cmd::StatusArgs),
    /// Start the server in the background, like `zkServer.sh start`; returns once it serves (or says why not).
    Start(service::ServiceArgs),
    /// Run the server in the foreground, like `zkServer.sh start-foreground`.
    StartForeground(service::ServiceArgs),
    /// Stop the server `start` started (its pid file), and wait until it has stopped.
    Stop(service::ServiceArgs),
    /// `stop`, then `start`.
    Restart(service::ServiceArgs),
    /// The version, like `zkServer.sh version`.
    Version,
}

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Tools that print results log only warnings and errors unless RUST_LOG asks for more.
    let logging = match &cli.command {
        Command::Sim(args) => init_sim_logging(args.trace),
        Command::Replay(args) => init_sim_logging(args.trace),
        Command::Server(args) => init_logging("info", args.log_dir.as_deref()),
        Command::StartForeground(_) => {
            let log_dir = std::env::var_os("ZOO_LOG_DIR").filter(|d| !d.is_empty());
            init_logging("info", log_dir.as_deref().map(std::path::Path::new))
        }
        Command::Bench(_)
        | Command::Cli(_)
        | Command::Status(_)
        | Command::Start(_)
        | Command::Stop(_)
        | Command::Restart(_)
        | Command::Export(_)
        | Command::Check(_)
        | Command::Chaos(_)
        | Command::Version => init_logging("warn", None),
        _ => init_logging("info", None),
    };
    if let Err(e) = logging {
        eprintln!("rzk: {e:#}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Cli(args) => return exit_on_error(cli::run(args)),
        Command::Status(args) => return exit_on_error(status_cmd::run(args)),
        Command::Start(args) => return exit_on_error(service::run_start(&args)),
        Command::Stop(args) => return exit_on_error(service::run_stop(&args)),
        Command::Restart(args) => return exit_on_error(service::run_restart(&args)),
        Command::Version => {
            println!("{}", service::version());
            Ok(())
        }
        Command::StartForeground(args) => service::foreground_config(&args).and_then(|config| {
            server_cmd::run(server_cmd::ServerArgs {
                config,
                seed: None,
                pid_file: None,
                log_dir: None,
            })
        }),
        Command::Server(args) => server_cmd::run(args),
        Command::FourLetterWord(args) => four_letter_cmd::run(args),
        Command::Sim(args) => sim_cmd::run_cmd(args),
        Command::Check(args) => check_cmd::run(args),
        Command::Replay(args) => replay_cmd::run(args),
        Command::Chaos(args) => chaos::run(args),
        Command::Log(args) => storage_cmd::run_log(args),
        Command::Snapshot(args) => storage_cmd::run_snapshot(args),
        Command::Export(args) => export_cmd::run(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rzk: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Commands that choose their own exit code (scripts test it) still report errors the same way.
fn exit_on_error(result: anyhow::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|e| {
        eprintln!("rzk: {e:#}");
        ExitCode::FAILURE
    })
}

/// The simulated servers' log lines go in the trace of a replayed seed, without wall-clock times (they mean
/// nothing there); a batch of seeds is silent.
fn init_sim_logging(trace: bool) -> anyhow::Result<()> {
    let level = if trace { "info" } else { "off" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .with_writer(std::io::stdout)
        .init();
    Ok(())
}

/// Logs to stdout (where service managers collect it), or appends to `<log_dir>/rzk-server.log`; filtered
/// by RUST_LOG, `default` otherwise; colours only on a terminal.
fn init_logging(default: &str, log_dir: Option<&std::path::Path>) -> anyhow::Result<()> {
    use anyhow::Context;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match log_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the log dir {}", dir.display()))?;
            let path = dir.join("rzk-server.log");
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .with_context(|| format!("cannot open the log file {}", path.display()))?;
            builder
                .with_writer(std::sync::Mutex::new(file))
                .with_ansi(false)
                .init();
        }
        None => builder
            .with_writer(std::io::stdout)
            .with_ansi(std::io::stdout().is_terminal())
            .init(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn server_takes_an_optional_config_and_seed() {
        let cli = Cli::try_parse_from(["rzk", "server"]).unwrap();
        let Command::Server(args) = cli.command else {
            panic!("not server");
        };
        assert_eq!(args.config, None);
        assert_eq!(args.seed, None);

        let cli = Cli::try_parse_from(["rzk", "server", "conf/zoo.cfg", "--seed", "42"]).unwrap();
        let Command::Server(args) = cli.command else {
            panic!("not server");
        };
        assert_eq!(
            args.config.as_deref(),
            Some(std::path::Path::new("conf/zoo.cfg"))
        );
        assert_eq!(args.seed, Some(42));
    }

    #[test]
    fn four_letter_word_defaults_to_the_local_client_port() {
        let cli = Cli::try_parse_from(["rzk", "4lw", "stat"]).unwrap();
        let Command::FourLetterWord(args) = cli.command else {
            panic!("not 4lw");
        };
        assert_eq!(args.word, "stat");
        assert_eq!(args.server, "127.0.0.1:2181");
    }

    #[test]
    fn bench_takes_a_workload_and_load_shape() {
        let cli = Cli::try_parse_from([
            "rzk",
            "bench",
            "mixed",
            "--server",
            "127.0.0.1:2",
            "--sessions",
            "4",
            "--depth",
            "8",
        ])
        .unwrap();
        let Command::Bench(args) = cli.command else {
            panic!("not bench");
        };
        assert_eq!(args.workload, bench::Workload::Mixed);
        assert_eq!((args.sessions, args.depth, args.seed), (4, 8, 1));
        assert!(Cli::try_parse_from(["rzk", "bench", "nosuch"]).is_err());
        let cli =
            Cli::try_parse_from(["rzk", "bench", "ready", "--", "rzk", "server", "x.cfg"]).unwrap();
        let Command::Bench(args) = cli.command else {
            panic!("not bench");
        };
        assert_eq!(args.launch, ["rzk", "server", "x.cfg"]);
    }

    #[test]
    fn unknown_subcommands_are_rejected() {
        assert!(Cli::try_parse_from(["rzk", "bnech"]).is_err());
        assert!(Cli::try_parse_from(["rzk"]).is_err());
    }
}
