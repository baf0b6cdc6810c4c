//! One function per word, each writing the reply the way the matching ZooKeeper command class prints it.
//! Lines end in "\n" (Java's `println` on Linux); some words (ruok, isro, gtmk, stmk) end without one.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::java_fmt::{date, double, hex, round4};
use super::{rzk_version, ConnectionReport, FourLetterWord, ServerReport, NOT_SERVING};
use crate::config::{PeerType, ServerConfig, ServerSpec};

/// Renders a word's reply exactly as ZooKeeper formats it. For words not allowed by the whitelist the
/// reply is ZooKeeper's "<word> is not executed because it is not in the whitelist." line.
pub fn render(word: FourLetterWord, report: &ServerReport, config: &ServerConfig) -> String {
    if !super::is_allowed(word, config, report.read_only) {
        return format!(
            "{} is not executed because it is not in the whitelist.\n",
            word.name()
        );
    }
    let mut out = String::new();
    let needs_serving = !matches!(
        word,
        FourLetterWord::Ruok | FourLetterWord::Envi | FourLetterWord::Gtmk | FourLetterWord::Stmk
    );
    if needs_serving && !report.serving {
        match word {
            FourLetterWord::Isro => out.push_str("null"),
            FourLetterWord::Hash => out.push_str(NOT_SERVING),
            _ => line(&mut out, NOT_SERVING),
        }
        return out;
    }
    match word {
        FourLetterWord::Ruok => out.push_str("imok"),
        FourLetterWord::Stat => stat(&mut out, report, true),
        FourLetterWord::Srvr => stat(&mut out, report, false),
        FourLetterWord::Cons => {
            for c in &report.connections {
                connection(&mut out, c, false);
                out.push('\n');
            }
            out.push('\n');
        }
        FourLetterWord::Conf => conf(&mut out, report, config),
        FourLetterWord::Crst => line(&mut out, "Connection stats reset."),
        FourLetterWord::Srst => line(&mut out, "Server stats reset."),
        FourLetterWord::Dump => dump(&mut out, report),
        FourLetterWord::Envi => envi(&mut out, report),
        FourLetterWord::Mntr => mntr(&mut out, report, config),
        FourLetterWord::Wchs => wchs(&mut out, report),
        FourLetterWord::Wchc => {
            for (session, paths) in &report.watches_by_session {
                line(&mut out, &format!("0x{}", hex(*session)));
                for p in paths {
                    line(&mut out, &format!("\t{p}"));
                }
            }
            out.push('\n');
        }
        FourLetterWord::Wchp => {
            for (path, sessions) in &report.watches_by_path {
                line(&mut out, path);
                for s in sessions {
                    line(&mut out, &format!("\t0x{}", hex(*s)));
                }
            }
            out.push('\n');
        }
        FourLetterWord::Isro => out.push_str(if report.read_only { "ro" } else { "rw" }),
        FourLetterWord::Dirs => {
            line(&mut out, &format!("datadir_size: {}", report.data_dir_size));
            line(&mut out, &format!("logdir_size: {}", report.log_dir_size));
        }
        FourLetterWord::Hash => {
            for (zxid, digest) in &report.digests {
                line(&mut out, &format!("{}: {}", hex(*zxid), digest));
            }
        }
        FourLetterWord::Gtmk | FourLetterWord::Stmk => {
            let _ = write!(out, "{}", report.trace_mask);
        }
    }
    out
}

fn line(out: &mut String, s: &str) {
    out.push_str(s);
    out.push('\n');
}

fn version(report: &ServerReport) -> String {
    if report.version.is_empty() {
        rzk_version("unknown")
    } else {
        report.version.clone()
    }
}

/// StatCommand: `stat` lists the clients, `srvr` does not.
fn stat(out: &mut String, r: &ServerReport, with_clients: bool) {
    line(out, &format!("Zookeeper version: {}", version(r)));
    if r.read_only {
        line(out, "READ-ONLY mode; serving only read-only clients");
    }
    if with_clients {
        line(out, "Clients:");
        for c in &r.connections {
            connection(out, c, true);
            out.push('\n');
        }
        out.push('\n');
    }
    // ServerStats.toString
    line(
        out,
        &format!(
            "Latency min/avg/max: {}/{}/{}",
            r.min_latency,
            double(round4(r.avg_latency)),
            r.max_latency
        ),
    );
    line(out, &format!("Received: {}", r.received));
    line(out, &format!("Sent: {}", r.sent));
    line(out, &format!("Connections: {}", r.connections.len()));
    line(out, &format!("Outstanding: {}", r.outstanding));
    line(out, &format!("Zxid: 0x{}", hex(r.zxid)));
    line(out, &format!("Mode: {}", r.mode));
    line(out, &format!("Node count: {}", r.node_count));
    if let (Some(l), "leader") = (&r.leader, r.mode.as_str()) {
        line(
            out,
            &format!(
                "Proposal sizes last/min/max: {}/{}/{}",
                l.last_proposal_size, l.min_proposal_size, l.max_proposal_size
            ),
        );
    }
}

/// ServerCnxn.dumpConnectionInfo: ` /ip:port[ops](queued=..,recved=..,sent=..[,sid=..,...])`, no newline.
fn connection(out: &mut String, c: &ConnectionReport, brief: bool) {
    let ops = if c.interest_ops == 0 {
        "0".to_string()
    } else {
        format!("{:x}", c.interest_ops)
    };
    let _ = write!(
        out,
        " {}[{}](queued={},recved={},sent={}",
        c.remote, ops, c.queued, c.received, c.sent
    );
    if !brief && c.session_id != 0 {
        let _ = write!(
            out,
            ",sid=0x{},lop={},est={},to={}",
            hex(c.session_id),
            c.last_op,
            c.established,
            c.timeout
        );
        if c.last_cxid >= 0 {
            let _ = write!(out, ",lcxid=0x{}", hex(c.last_cxid));
        }
        let _ = write!(
            out,
            ",lzxid=0x{},lresp={},llat={},minlat={},avglat={},maxlat={}",
            hex(c.last_zxid),
            c.last_response,
            c.last_latency,
            c.min_latency,
            c.avg_latency,
            c.max_latency
        );
    }
    out.push(')');
}

fn is_quorum_mode(r: &ServerReport) -> bool {
    matches!(r.mode.as_str(), "leader" | "follower" | "observer")
}

/// ZooKeeperServer.dumpConf, plus QuorumZooKeeperServer's ensemble part in quorum mode.
fn conf(out: &mut String, r: &ServerReport, c: &ServerConfig) {
    let client_port = c.client_port_for(r.server_id).map_or(-1, i32::from);
    line(out, &format!("clientPort={client_port}"));
    let secure_port = c.secure_client_port.map_or(-1, i32::from);
    line(out, &format!("secureClientPort={secure_port}"));
    line(
        out,
        &format!("dataDir={}", c.data_dir.join("rzk").display()),
    );
    line(out, &format!("dataDirSize={}", r.data_dir_size));
    line(
        out,
        &format!("dataLogDir={}", c.data_log_dir.join("rzk").display()),
    );
    line(out, &format!("dataLogSize={}", r.log_dir_size));
    line(out, &format!("tickTime={}", c.tick_time));
    line(out, &format!("maxClientCnxns={}", c.max_client_cnxns));
    line(out, &format!("minSessionTimeout={}", c.min_session_timeout));
    line(out, &format!("maxSessionTimeout={}", c.max_session_timeout));
    line(out, "clientPortListenBacklog=-1");
    line(out, &format!("serverId={}", r.server_id));
    if !is_quorum_mode(r) {
        return;
    }
    let me = c.server(r.server_id);
    line(out, &format!("initLimit={}", c.init_limit));
    line(out, &format!("syncLimit={}", c.sync_limit));
    line(out, &format!("electionAlg={}", c.election_alg));
    line(
        out,
        &format!(
            "electionPort={}",
            me.map_or(-1, |s| i32::from(s.election_port))
        ),
    );
    line(
        out,
        &format!("quorumPort={}", me.map_or(-1, |s| i32::from(s.quorum_port))),
    );
    // LearnerType ordinal: PARTICIPANT 0, OBSERVER 1.
    let peer_type = me.map_or(c.peer_type, |s| s.peer_type);
    line(
        out,
        &format!(
            "peerType={}",
            if peer_type == PeerType::Observer {
                1
            } else {
                0
            }
        ),
    );
    line(out, "membership: ");
    for s in &c.servers {
        line(out, &format!("server.{}={}", s.id, member(s)));
    }
    // QuorumMaj.toString ends without a newline.
    let _ = write!(out, "version={}", hex(r.config_version));
}

/// QuorumServer.toString: `host:quorum:election:type[;clientHost:clientPort]`.
fn member(s: &ServerSpec) -> String {
    let bracket = |h: &str| {
        if h.contains(':') {
            format!("[{h}]")
        } else {
            h.to_string()
        }
    };
    let kind = if s.peer_type == PeerType::Observer {
        "observer"
    } else {
        "participant"
    };
    let mut m = format!(
        "{}:{}:{}:{kind}",
        bracket(&s.host),
        s.quorum_port,
        s.election_port
    );
    if let Some(port) = s.client_port {
        let _ = write!(
            m,
            ";{}:{port}",
            bracket(s.client_address.as_deref().unwrap_or("0.0.0.0"))
        );
    }
    m
}

/// DumpCommand: sessions by expiry (leader/standalone) or with timeouts (learners), ephemerals,
/// connections by expiry.
fn dump(out: &mut String, r: &ServerReport) {
    line(out, "SessionTracker dump:");
    if matches!(r.mode.as_str(), "follower" | "observer") {
        // LearnerSessionTracker
        let mut sessions: Vec<(i64, i32)> = r.sessions.clone();
        sessions.sort_unstable();
        line(out, &format!("Global Sessions({}):", sessions.len()));
        for (id, timeout) in sessions {
            line(out, &format!("0x{}\t{timeout}ms", hex(id)));
        }
    } else {
        let items = r
            .session_expiry
            .iter()
            .map(|(id, at)| (*at, format!("0x{}", hex(*id))));
        expiry_sets(out, "Session", items);
    }
    line(out, "ephemeral nodes dump:");
    line(
        out,
        &format!("Sessions with Ephemerals ({}):", r.ephemerals.len()),
    );
    for (id, paths) in &r.ephemerals {
        line(out, &format!("0x{}:", hex(*id)));
        for p in paths {
            line(out, &format!("\t{p}"));
        }
    }
    line(out, "Connections dump:");
    let items = r.connections.iter().map(|c| {
        (
            c.expires_at,
            format!("ip: {} sessionId: 0x{}", c.remote, hex(c.session_id)),
        )
    });
    expiry_sets(out, "Connections", items);
}

/// ExpiryQueue.dump: `<what> Sets (<buckets>)/(<items>):` then each deadline, earliest first.
fn expiry_sets(out: &mut String, what: &str, items: impl Iterator<Item = (i64, String)>) {
    let mut buckets: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut total = 0;
    for (at, item) in items {
        buckets.entry(at).or_default().push(item);
        total += 1;
    }
    line(out, &format!("{what} Sets ({})/({total}):", buckets.len()));
    for (at, items) in buckets {
        line(out, &format!("{} expire at {}:", items.len(), date(at)));
        for i in items {
            line(out, &format!("\t{i}"));
        }
    }
}

/// EnvCommand: `Environment:` then `key=value` lines, zookeeper.version first.
fn envi(out: &mut String, r: &ServerReport) {
    line(out, "Environment:");
    line(out, &format!("zookeeper.version={}", version(r)));
    for (k, v) in r
        .environment
        .iter()
        .filter(|(k, _)| k != "zookeeper.version")
    {
        line(out, &format!("{k}={v}"));
    }
}

/// WatchManager.toString (data watches), then WatchCommand's newline.
fn wchs(out: &mut String, r: &ServerReport) {
    let total: usize = r.watches_by_session.iter().map(|(_, p)| p.len()).sum();
    line(
        out,
        &format!(
            "{} connections watching {} paths",
            r.watches_by_session.len(),
            r.watches_by_path.len()
        ),
    );
    line(out, &format!("Total watches:{total}"));
}

/// MonitorCommand: `zk_<key>\t<value>` lines. The gauges come in the order ZooKeeper 3.8 printed them (its
/// metrics map's iteration order, captured from a live leader); quorum-only and leader-only keys appear
/// only in those modes, as there. Counters and latency summaries that rzk does not track are left out
/// rather than printed as made-up zeros; see docs/config.md.
fn mntr(out: &mut String, r: &ServerReport, c: &ServerConfig) {
    let quorum = is_quorum_mode(r);
    let leader = r.leader.as_ref().filter(|_| r.mode == "leader");
    let fd = |v: Option<u64>| v.map(|n| n.to_string());
    let lead = |f: fn(&super::LeaderReport) -> i64| leader.map(|l| f(l).to_string());
    let gauges: Vec<(&str, Option<String>)> = vec![
        ("version", Some(version(r))),
        ("server_state", Some(r.mode.clone())),
        ("peer_state", r.peer_state.clone().filter(|_| quorum)),
        ("ephemerals_count", Some(r.ephemerals_count.to_string())),
        (
            "num_alive_connections",
            Some(r.connections.len().to_string()),
        ),
        ("avg_latency", Some(double(round4(r.avg_latency)))),
        ("min_proposal_size", lead(|l| l.min_proposal_size)),
        ("outstanding_requests", Some(r.outstanding.to_string())),
        ("znode_count", Some(r.node_count.to_string())),
        ("global_sessions", Some(r.sessions.len().to_string())),
        // Counts connections refused for lacking mutual TLS; rzk has no TLS, so none.
        ("non_mtls_remote_conn_count", Some("0".into())),
        (
            "last_client_response_size",
            Some(r.last_client_response_size.to_string()),
        ),
        ("packets_sent", Some(r.sent.to_string())),
        ("packets_received", Some(r.received.to_string())),
        ("max_proposal_size", lead(|l| l.max_proposal_size)),
        (
            "max_client_response_size",
            Some(r.max_client_response_size.to_string()),
        ),
        ("synced_followers", lead(|l| saturate(l.synced_followers))),
        // rzk never drops connections at random under load.
        ("connection_drop_probability", Some("0.0".into())),
        ("watch_count", Some(r.watch_count.to_string())),
        (
            "synced_non_voting_followers",
            lead(|l| saturate(l.synced_non_voting_followers)),
        ),
        ("synced_observers", lead(|l| saturate(l.synced_observers))),
        ("auth_failed_count", Some(r.auth_failed_count.to_string())),
        ("min_latency", Some(r.min_latency.to_string())),
        ("max_file_descriptor_count", fd(r.max_file_descriptors)),
        (
            "approximate_data_size",
            Some(r.approximate_data_size.to_string()),
        ),
        ("open_file_descriptor_count", fd(r.open_file_descriptors)),
        ("last_proposal_size", lead(|l| l.last_proposal_size)),
        ("pending_syncs", lead(|l| saturate(l.pending_syncs))),
        ("leader_uptime", lead(|l| saturate(l.leader_uptime_ms))),
        // rzk has no local sessions.
        ("local_sessions", Some("0".into())),
        ("uptime", Some(r.uptime_ms.to_string())),
        ("max_latency", Some(r.max_latency.to_string())),
        // No TLS, so no handshakes in flight.
        ("outstanding_tls_handshake", Some("0".into())),
        ("learners", lead(|l| saturate(l.learners))),
        (
            "min_client_response_size",
            Some(r.min_client_response_size.to_string()),
        ),
        ("non_mtls_local_conn_count", Some("0".into())),
        (
            "quorum_size",
            quorum.then(|| c.voting_members().to_string()),
        ),
    ];
    for (key, value) in gauges {
        if let Some(v) = value {
            line(out, &format!("zk_{key}\t{v}"));
        }
    }
    for (key, value) in &r.extra_metrics {
        line(out, &format!("zk_{key}\t{value}"));
    }
}

fn saturate(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
