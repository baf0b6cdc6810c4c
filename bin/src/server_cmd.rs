//! `rzk server [ZOO_CFG]`: reads the config (and myid), binds the client port and runs a Node on the mio
//! driver until SIGTERM or SIGINT.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::Args;
use rzk_core::config::{ServerConfig, ServerSpec};
use rzk_core::node::NodeConfig;
use rzk_core::{Node, Recovered};
use rzk_io_mio::storage::{StorageOptions, UnwrittenSnapshot};
use rzk_io_mio::tls::{QuorumTls, TlsAcceptor};
use rzk_io_mio::{ClientTls, EnsembleOptions, Server, ServerOptions, Shutdown};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tracing::{info, warn};

use crate::{environment, myid};

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// zoo.cfg to read. Without it: the embedded standalone default (127.0.0.1:2181, dataDir ./data).
    pub config: Option<PathBuf>,
    /// Seed for the node's random choices (election jitter, ...). Default: taken from the clock at
    /// startup and logged, so a run's choices can be repeated.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write the server's process id to this file once it listens (removed on a clean stop).
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Log to `<DIR>/rzk-server.log` instead of stdout (default: $ZOO_LOG_DIR when set).
    #[arg(long, env = "ZOO_LOG_DIR")]
    pub log_dir: Option<PathBuf>,
}

pub fn run(args: ServerArgs) -> anyhow::Result<()> {
    let mut config = load_config(args.config.as_deref())?;
    crate::jaas_file::load(&mut config, args.config.as_deref())?;
    for warning in &config.warnings {
        warn!("{warning}");
    }
    prepare_data_dirs(&config)?;
    let server_id = if config.servers.is_empty() {
        0
    } else {
        myid::read(&config.data_dir)?
    };
    let own_spec = config.servers.iter().find(|s| s.id == server_id);
    if server_id != 0 && own_spec.is_none() {
        warn!(server_id, "myid names no server.N line in the config");
    }
    // TLS only (secureClientPort without clientPort): the main port is the TLS one.
    let tls_only = config.client_port.is_none()
        && own_spec.is_none_or(|s| s.client_port.is_none())
        && config.secure_client_port.is_some();
    let addr = match (tls_only, config.secure_client_port) {
        (true, Some(port)) => SocketAddr::new(
            config
                .secure_client_port_address
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            port,
        ),
        _ => client_bind_addr(config.client_port, config.client_port_address, own_spec)?,
    };
    // Before any thread starts: gathering reads process-global user data.
    let environment = environment::gather();
    match rzk_io_mio::raise_fd_limit() {
        Ok(limit) => info!(limit, "file descriptor limit"),
        Err(e) => warn!(error = %e, "cannot raise the file descriptor limit"),
    }
    // server.N lines make an ensemble: listen on this server's quorum and election ports, dial the others.
    let ensemble = if config.servers.is_empty() {
        None
    } else {
        let mut e = EnsembleOptions::from_config(&config, server_id)
            .map_err(anyhow::Error::msg)
            .context("cannot set up the ensemble from the server.N lines")?;
        if config.quorum_tls_enabled() {
            e.tls = Some(
                QuorumTls::new(
                    &config.quorum_tls,
                    config.ssl_quorum,
                    config.quorum_port_unification,
                    config.quorum_cert_reload,
                )
                .context("cannot set up TLS between servers (ssl.quorum.*)")?,
            );
        }
        info!(
            server_id,
            quorum = %e.quorum_listen,
            election = %e.election_listen,
            peers = e.peers.len(),
            "ensemble member"
        );
        Some(e)
    };
    // A chaos run's injected clock and fsync faults (RZK_TEST_FAULTS; nothing when unset).
    rzk_io_mio::start_test_faults();
    let storage = storage_options(&config);
    let (recovered, unwritten_snapshot) = recover(&storage)?;
    let counters = Arc::clone(&storage.counters);
    let admin = admin_addr(&config)?;
    let tls = client_tls(&config, tls_only)?;
    let seed = args.seed.unwrap_or_else(seed_from_clock);
    let record = record_options(&config, server_id, seed);
    let options = ServerOptions {
        max_client_cnxns: config.max_client_cnxns,
        storage: Some(storage),
        unwritten_snapshot,
        journal: std::env::var_os(rzk_io_mio::JOURNAL_ENV).map(std::path::PathBuf::from),
        ensemble,
        admin,
        poll_spin: Duration::from_micros(u64::from(config.poll_spin_micros)),
        tls,
        record,
        ..ServerOptions::default()
    };
    let server = Server::bind(addr, options)
        .with_context(|| format!("cannot listen for clients on {addr} (or on secureClientPort)"))?;
    if let Some(admin) = server.admin_addr() {
        info!(%admin, "admin server enabled");
    }
    let _pid_file = args.pid_file.as_deref().map(PidFile::write).transpose()?;
    info!(
        seed,
        server_id, "starting node (repeat its random choices with --seed {seed})"
    );
    let node_config = NodeConfig {
        server: config,
        server_id,
        environment,
    };
    let mut node = Node::new(node_config, recovered, server.clock().now_ms(), seed);
    if let Some(names) = std::env::var_os(PLANT_ENV) {
        node.plant(planted_bugs(&names.to_string_lossy())?);
    }
    let signals = stop_on_signals(server.shutdown_handle())?;
    // Listening and recovered: connections are queued by the kernel until the loop picks them up.
    crate::sd_notify::notify_ready();
    let result = server.run(node);
    crate::sd_notify::notify("STOPPING=1");
    signals.close();
    info!(
        txns = counters.txns(),
        fsyncs = counters.fsyncs(),
        snapshots = counters.snapshots(),
        snapshots_skipped = counters.snapshots_skipped(),
        "txn log totals"
    );
    result.context("the server stopped on an error")?;
    info!("stopped");
    Ok(())
}

/// TLS for clients (secureClientPort, client.portUnification): the stores are read now, so that a bad one
/// stops startup with the reason (ZooKeeper starts and then fails every TLS handshake).
fn client_tls(config: &ServerConfig, tls_only: bool) -> anyhow::Result<Option<ClientTls>> {
    if !config.client_tls_enabled() {
        return Ok(None);
    }
    let acceptor = TlsAcceptor::new(&config.client_tls, config.client_cert_reload)
        .context("cannot set up TLS for clients")?;
    let secure_addr = config.secure_client_port.filter(|_| !tls_only).map(|port| {
        let ip = config
            .secure_client_port_address
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        SocketAddr::new(ip, port)
    });
    Ok(Some(ClientTls {
        acceptor,
        secure_addr,
        unify_plain_port: config.client_port_unification,
        tls_only,
    }))
}

/// admin.serverAddress:admin.serverPort when admin.enableServer is true.
fn admin_addr(config: &ServerConfig) -> anyhow::Result<Option<SocketAddr>> {
    if !config.admin_enable_server {
        return Ok(None);
    }
    let ip: IpAddr = config.admin_server_address.parse().with_context(|| {
        format!(
            "admin.serverAddress {} is not an IP address",
            config.admin_server_address
        )
    })?;
    Ok(Some(SocketAddr::new(ip, config.admin_server_port)))
}

/// The pid file; removed when dropped (a clean stop).
struct PidFile(PathBuf);

impl PidFile {
    fn write(path: &Path) -> anyhow::Result<PidFile> {
        std::fs::write(path, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write the pid file {}", path.display()))?;
        Ok(PidFile(path.to_path_buf()))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Test builds only: planted bugs (comma-separated names, core/src/planted.rs) switched on in this server, so
/// that `rzk chaos` can be shown to catch them in real processes as the simulator does.
const PLANT_ENV: &str = "RZK_TEST_PLANT";

fn planted_bugs(names: &str) -> anyhow::Result<rzk_core::planted::Planted> {
    let mut bugs = Vec::new();
    for name in names.split(',').filter(|n| !n.is_empty()) {
        match rzk_core::planted::PlantedBug::from_name(name) {
            Some(b) => bugs.push(b),
            None => bail!("{PLANT_ENV}: unknown planted bug '{name}'"),
        }
    }
    warn!(
        bugs = names,
        "{PLANT_ENV}: planted bugs are switched on: a test build, never for production"
    );
    rzk_core::planted::Planted::new(&bugs)
        .map_err(|e| anyhow::anyhow!("{PLANT_ENV}: {e}; build rzk with --features planted-bugs"))
}

fn storage_options(config: &ServerConfig) -> StorageOptions {
    let mut storage = StorageOptions::new(&config.data_dir, &config.data_log_dir);
    storage.pre_alloc_size_kb = config.pre_alloc_size_kb;
    storage.extended_types = config.extended_types_enabled;
    storage.snap_retain_count = config.autopurge_snap_retain_count;
    storage.purge_interval_hours = config.autopurge_purge_interval;
    storage
}

/// Loads the newest valid snapshot and the durable txns after it (repairing a torn log tail), or imports
/// ZooKeeper's data (whose snapshot the log writer then writes before anything else).
fn recover(storage: &StorageOptions) -> anyhow::Result<(Recovered, Option<UnwrittenSnapshot>)> {
    storage
        .create_dirs()
        .with_context(|| format!("cannot create {}", storage.log_dir().display()))?;
    let started = Instant::now();
    let mut recovery = storage
        .recover_deferring_import()
        .context("cannot recover from the data directories")?;
    let report = &recovery.report;
    if let Some(zk) = &report.zookeeper_import {
        info!(
            snapshot = zk.snapshot.as_ref().map_or("none", |(f, _)| f.as_str()),
            log_files = zk.log_files.len(),
            txns = zk.txns,
            nodes = zk.nodes,
            sessions = zk.sessions,
            dead_ephemerals = zk.dead_ephemerals,
            digest = match zk.digest_matches {
                Some(true) => "matches ZooKeeper's",
                Some(false) => "DIFFERS from ZooKeeper's",
                None => "not recorded",
            },
            "started from Apache ZooKeeper's data directory"
        );
    }
    info!(
        snapshot = report.snapshot.as_ref().map_or("none", |(f, _)| f.as_str()),
        log_files = report.log_files.len(),
        txns = report.txns,
        last_zxid = format_args!("0x{:x}", report.last_zxid),
        ms = started.elapsed().as_millis() as u64,
        "recovered"
    );
    let unwritten = recovery.unwritten.take();
    Ok((recovery.recovered, unwritten))
}

pub fn load_config(path: Option<&Path>) -> anyhow::Result<ServerConfig> {
    let Some(path) = path else {
        info!("no zoo.cfg given: using the embedded standalone default");
        return Ok(ServerConfig::default_standalone());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    info!(config = %path.display(), "read config");
    ServerConfig::parse(&text).with_context(|| format!("invalid config {}", path.display()))
}

/// Creates dataDir (and dataLogDir) if missing and says where they are.
fn prepare_data_dirs(config: &ServerConfig) -> anyhow::Result<()> {
    for (key, dir) in [
        ("dataDir", &config.data_dir),
        ("dataLogDir", &config.data_log_dir),
    ] {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create {key} {}", dir.display()))?;
        let shown = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
        info!("{key} is {}", shown.display());
    }
    Ok(())
}

/// Where to listen for clients: clientPortAddress:clientPort (all interfaces when no address is set, like
/// ZooKeeper), else the client part of this server's `server.N=...;[address:]port` line.
fn client_bind_addr(
    client_port: Option<u16>,
    client_port_address: Option<IpAddr>,
    own_spec: Option<&ServerSpec>,
) -> anyhow::Result<SocketAddr> {
    let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    if let Some(port) = client_port {
        return Ok(SocketAddr::new(client_port_address.unwrap_or(any), port));
    }
    let Some((address, port)) =
        own_spec.and_then(|s| s.client_port.map(|p| (&s.client_address, p)))
    else {
        bail!("zoo.cfg sets no client port: add clientPort=N (or ;N at the end of this server's server.N line)");
    };
    match address {
        None => Ok(SocketAddr::new(any, port)),
        Some(host) => (host.as_str(), port)
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve client address {host}"))?
            .next()
            .with_context(|| format!("client address {host} resolves to nothing")),
    }
}

/// The flight recorder's options from `rzk.record*` (none without `rzk.recordDir`).
fn record_options(
    config: &rzk_core::config::ServerConfig,
    server_id: u64,
    seed: u64,
) -> Option<rzk_io_mio::RecordOptions> {
    let r = &config.record;
    let dir = r.dir.clone()?;
    if (config.client_tls_enabled() || config.sasl_auth) && !r.redact {
        warn!(
            "rzk.recordDir is set: the recording holds what clients send in clear, TLS traffic and \
             credentials included; keep {} private (it is created owner-only), or set rzk.recordRedact=true",
            dir.display()
        );
    }
    const MB: u64 = 1 << 20;
    Some(rzk_io_mio::RecordOptions {
        writer: rzk_record::WriterOptions {
            dir,
            max_bytes: r.max_mb.saturating_mul(MB),
            max_age_secs: r.max_age_hours.saturating_mul(3600),
            segment_bytes: r.segment_mb.saturating_mul(MB),
            segment_secs: 3600,
            queue_bytes: usize::try_from(r.queue_mb.saturating_mul(MB)).unwrap_or(usize::MAX),
            // A killed server loses at most this much of its recording (a block per 10 ms is still
            // tens of KB under load; an idle server writes nothing).
            flush_interval: Duration::from_millis(10),
        },
        server_id,
        seed,
        redact: r.redact,
    })
}

fn seed_from_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// On SIGTERM or SIGINT, asks the server to stop. Close the returned handle once it has.
fn stop_on_signals(shutdown: Shutdown) -> anyhow::Result<signal_hook::iterator::Handle> {
    let mut signals = Signals::new([SIGTERM, SIGINT]).context("cannot install signal handlers")?;
    let handle = signals.handle();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                info!(signal, "shutting down");
                if let Err(e) = shutdown.shutdown() {
                    warn!(error = %e, "cannot wake the event loop to shut down");
                }
            }
        })
        .context("cannot start the signal thread")?;
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rzk_core::config::PeerType;

    fn spec(client_address: Option<&str>, client_port: Option<u16>) -> ServerSpec {
        ServerSpec {
            id: 1,
            host: "127.0.0.1".into(),
            quorum_port: 2888,
            election_port: 3888,
            peer_type: PeerType::Participant,
            client_address: client_address.map(str::to_string),
            client_port,
        }
    }

    #[test]
    fn client_port_binds_all_interfaces_unless_an_address_is_set() {
        assert_eq!(
            client_bind_addr(Some(2181), None, None).unwrap(),
            "0.0.0.0:2181".parse().unwrap()
        );
        assert_eq!(
            client_bind_addr(Some(2181), Some("127.0.0.1".parse().unwrap()), None).unwrap(),
            "127.0.0.1:2181".parse().unwrap()
        );
    }

    #[test]
    fn client_port_may_come_from_the_server_line() {
        let own = spec(Some("127.0.0.2"), Some(2182));
        assert_eq!(
            client_bind_addr(None, None, Some(&own)).unwrap(),
            "127.0.0.2:2182".parse().unwrap()
        );
        let own = spec(None, Some(2183));
        assert_eq!(
            client_bind_addr(None, None, Some(&own)).unwrap(),
            "0.0.0.0:2183".parse().unwrap()
        );
    }

    #[test]
    fn no_client_port_anywhere_is_an_error() {
        let err = client_bind_addr(None, None, Some(&spec(None, None))).unwrap_err();
        assert!(err.to_string().contains("clientPort"), "{err}");
        assert!(client_bind_addr(None, None, None).is_err());
    }

    #[test]
    fn admin_server_follows_the_admin_keys() {
        let mut c = ServerConfig::default_standalone();
        assert_eq!(
            admin_addr(&c).unwrap(),
            Some("0.0.0.0:8080".parse().unwrap())
        );
        c.admin_server_address = "127.0.0.1".into();
        c.admin_server_port = 9090;
        assert_eq!(
            admin_addr(&c).unwrap(),
            Some("127.0.0.1:9090".parse().unwrap())
        );
        c.admin_enable_server = false;
        assert_eq!(admin_addr(&c).unwrap(), None);
    }

    #[test]
    fn pid_file_holds_our_pid_and_goes_away_on_drop() {
        let path = std::env::temp_dir().join(format!("rzk-pid-test-{}", std::process::id()));
        let pid = PidFile::write(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().trim(),
            std::process::id().to_string()
        );
        drop(pid);
        assert!(!path.exists());
    }

    #[test]
    fn missing_config_file_error_names_the_file() {
        let path = Path::new("/nonexistent/rzk/zoo.cfg");
        let err = format!("{:#}", load_config(Some(path)).unwrap_err());
        assert!(err.contains("/nonexistent/rzk/zoo.cfg"), "{err}");
    }
}
