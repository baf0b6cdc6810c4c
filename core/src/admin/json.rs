//! `/commands/<name>`: JSON bodies with the names and fields of ZooKeeper 3.8's AdminServer commands
//! (server/admin/Commands.java, checked against a running 3.8.0). Every body ends with `"command"` and
//! `"error"` (null on success).

use serde_json::{json, Map, Value};

use crate::config::ServerConfig;
use crate::four_letter;
use crate::proto::FourLetterWord;
use crate::report::{ConnectionReport, ServerReport};

/// (primary name, aliases). Primary names first, as `/commands` lists them.
const COMMANDS: &[(&str, &[&str])] = &[
    ("configuration", &["conf", "config"]),
    ("connection_stat_reset", &["crst"]),
    ("connections", &["cons"]),
    ("dirs", &[]),
    ("dump", &[]),
    ("environment", &["env", "envi"]),
    ("get_trace_mask", &["gtmk"]),
    ("hash", &[]),
    ("is_read_only", &["isro"]),
    ("monitor", &["mntr"]),
    ("ruok", &[]),
    ("server_stats", &["srvr"]),
    ("stat_reset", &["srst"]),
    ("stats", &["stat"]),
    ("watch_summary", &["wchs"]),
    ("watches", &["wchc"]),
    ("watches_by_path", &["wchp"]),
];

/// The primary names of every command served.
pub fn command_names() -> Vec<&'static str> {
    COMMANDS.iter().map(|(n, _)| *n).collect()
}

/// The primary name of a command given by name or alias.
pub fn resolve(name: &str) -> Option<&'static str> {
    COMMANDS
        .iter()
        .find(|(n, aliases)| *n == name || aliases.contains(&name))
        .map(|(n, _)| *n)
}

/// The JSON body for command `name` (pretty-printed, as ZooKeeper's Jackson output).
pub fn render_command(name: &str, report: &ServerReport, config: &ServerConfig) -> String {
    let mut body = match resolve(name) {
        Some(primary) => {
            let mut m = fields(primary, report, config);
            m.insert("command".into(), json!(primary));
            m.insert("error".into(), Value::Null);
            m
        }
        None => {
            let mut m = Map::new();
            m.insert("command".into(), json!(name));
            m.insert("error".into(), json!(format!("Unknown command: {name}")));
            m
        }
    };
    if !report.serving
        && !matches!(
            resolve(name),
            Some("ruok" | "environment" | "configuration")
        )
    {
        body.insert("error".into(), json!(four_letter::NOT_SERVING));
    }
    serde_json::to_string_pretty(&Value::Object(body)).unwrap_or_default() + "\n"
}

fn fields(primary: &str, r: &ServerReport, config: &ServerConfig) -> Map<String, Value> {
    let value = match primary {
        "configuration" => json!({
            "client_port": config.client_port,
            "data_dir": config.data_dir.join("rzk"),
            "data_log_dir": config.data_log_dir.join("rzk"),
            "tick_time": config.tick_time,
            "max_client_cnxns": config.max_client_cnxns,
            "min_session_timeout": config.min_session_timeout,
            "max_session_timeout": config.max_session_timeout,
            "server_id": r.server_id,
            "client_port_listen_backlog": -1,
        }),
        "connections" => json!({
            "connections": r.connections.iter().map(connection).collect::<Vec<_>>(),
            "secure_connections": [],
        }),
        "dirs" => json!({"datadir_size": r.data_dir_size, "logdir_size": r.log_dir_size}),
        "dump" => {
            let mut expiry: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
            for (s, at) in &r.session_expiry {
                expiry.entry(*at).or_default().push(*s);
            }
            json!({
                "expiry_time_to_session_ids": expiry.into_iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<Map<_, _>>(),
                "session_id_to_ephemeral_paths": r.ephemerals.iter().map(|(s, p)| (s.to_string(), json!(p))).collect::<Map<_, _>>(),
            })
        }
        "environment" => {
            let mut m = Map::new();
            m.insert("zookeeper.version".into(), json!(version(r)));
            for (k, v) in &r.environment {
                m.insert(k.clone(), json!(v));
            }
            Value::Object(m)
        }
        "get_trace_mask" => json!({"tracemask": r.trace_mask}),
        "hash" => json!({
            "digests": r.digests.iter().map(|(z, d)| json!({"zxid": z, "digest": d})).collect::<Vec<_>>(),
        }),
        "is_read_only" => json!({"read_only": r.read_only}),
        "monitor" => Value::Object(monitor(r, config)),
        "ruok" | "connection_stat_reset" | "stat_reset" => json!({}),
        "server_stats" => Value::Object(server_stats(r)),
        "stats" => {
            let mut m = server_stats(r);
            m.insert(
                "connections".into(),
                json!(r.connections.iter().map(connection).collect::<Vec<_>>()),
            );
            m.insert("secure_connections".into(), json!([]));
            Value::Object(m)
        }
        "watch_summary" => json!({
            "num_connections": r.watches_by_session.len(),
            "num_paths": r.watches_by_path.len(),
            "num_total_watches": r.watches_by_path.iter().map(|(_, s)| s.len()).sum::<usize>(),
        }),
        "watches" => json!({
            "session_id_to_watched_paths": r.watches_by_session.iter().map(|(s, p)| (s.to_string(), json!(p))).collect::<Map<_, _>>(),
        }),
        "watches_by_path" => json!({
            "path_to_session_ids": r.watches_by_path.iter().map(|(p, s)| (p.clone(), json!(s))).collect::<Map<_, _>>(),
        }),
        _ => json!({}),
    };
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn version(r: &ServerReport) -> String {
    if r.version.is_empty() {
        four_letter::rzk_version("unknown")
    } else {
        r.version.clone()
    }
}

fn server_stats(r: &ServerReport) -> Map<String, Value> {
    let response = json!({
        "last_buffer_size": r.last_client_response_size,
        "min_buffer_size": r.min_client_response_size,
        "max_buffer_size": r.max_client_response_size,
    });
    let stats = json!({
        "packets_sent": r.sent,
        "packets_received": r.received,
        "fsync_threshold_exceed_count": 0,
        "client_response_stats": response,
        "data_dir_size": r.data_dir_size,
        "log_dir_size": r.log_dir_size,
        "provider_null": false,
        "server_state": r.mode,
        "last_processed_zxid": r.zxid,
        "outstanding_requests": r.outstanding,
        "avg_latency": r.avg_latency,
        "max_latency": r.max_latency,
        "min_latency": r.min_latency,
        "num_alive_client_connections": r.connections.len(),
        "auth_failed_count": r.auth_failed_count,
        "non_mtlsremote_conn_count": 0,
        "non_mtlslocal_conn_count": 0,
        "uptime": r.uptime_ms,
    });
    let mut m = Map::new();
    m.insert("version".into(), json!(version(r)));
    m.insert("read_only".into(), json!(r.read_only));
    m.insert("server_stats".into(), stats);
    m.insert("client_response".into(), response);
    m.insert("node_count".into(), json!(r.node_count));
    m
}

fn connection(c: &ConnectionReport) -> Value {
    json!({
        "remote_socket_address": c.remote.trim_start_matches('/'),
        "interest_ops": c.interest_ops,
        "outstanding_requests": c.queued,
        "packets_received": c.received,
        "packets_sent": c.sent,
        "session_id": c.session_id,
        "last_operation": c.last_op,
        "established": c.established,
        "session_timeout": c.timeout,
        "last_cxid": c.last_cxid,
        "last_zxid": c.last_zxid,
        "last_response_time": c.last_response,
        "last_latency": c.last_latency,
        "min_latency": c.min_latency,
        "avg_latency": c.avg_latency,
        "max_latency": c.max_latency,
    })
}

/// The `mntr` figures keyed without their `zk_` prefix, numbers as numbers.
pub(super) fn monitor(r: &ServerReport, config: &ServerConfig) -> Map<String, Value> {
    mntr_pairs(r, config)
        .into_iter()
        .map(|(k, v)| {
            let value = if let Ok(i) = v.parse::<i64>() {
                json!(i)
            } else if let Some(f) = v.parse::<f64>().ok().filter(|f| f.is_finite()) {
                json!(f)
            } else {
                json!(v)
            };
            (k, value)
        })
        .collect()
}

/// (key without `zk_`, value text) for every line of `mntr`.
pub(super) fn mntr_pairs(r: &ServerReport, config: &ServerConfig) -> Vec<(String, String)> {
    let mut serving = r.clone();
    // mntr's figures are wanted even when 4lw whitelisting would refuse the word on the client port.
    serving.serving = true;
    four_letter::render(FourLetterWord::Mntr, &serving, config)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| {
            (
                k.strip_prefix("zk_").unwrap_or(k).to_string(),
                v.to_string(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Value {
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn aliases_resolve_to_zookeeper_names() {
        assert_eq!(resolve("srvr"), Some("server_stats"));
        assert_eq!(resolve("mntr"), Some("monitor"));
        assert_eq!(resolve("wchp"), Some("watches_by_path"));
        assert_eq!(resolve("nope"), None);
    }

    #[test]
    fn unknown_commands_answer_an_error_field() {
        let v = parse(&render_command(
            "nope",
            &ServerReport::default(),
            &ServerConfig::default_standalone(),
        ));
        assert_eq!(v["command"], "nope");
        assert_eq!(v["error"], "Unknown command: nope");
    }

    #[test]
    fn server_stats_has_zookeepers_fields() {
        let report = ServerReport {
            node_count: 5,
            zxid: 0x12,
            ..ServerReport::default()
        };
        let v = parse(&render_command(
            "srvr",
            &report,
            &ServerConfig::default_standalone(),
        ));
        assert_eq!(v["command"], "server_stats");
        assert_eq!(v["error"], Value::Null);
        assert_eq!(v["node_count"], 5);
        assert_eq!(v["server_stats"]["server_state"], "standalone");
        assert_eq!(v["server_stats"]["last_processed_zxid"], 0x12);
        assert_eq!(v["client_response"]["last_buffer_size"], -1);
    }

    #[test]
    fn monitor_keys_drop_the_zk_prefix_and_keep_numbers_numeric() {
        let report = ServerReport {
            node_count: 7,
            ..ServerReport::default()
        };
        let v = parse(&render_command(
            "monitor",
            &report,
            &ServerConfig::default_standalone(),
        ));
        assert_eq!(v["znode_count"], 7);
        assert_eq!(v["server_state"], "standalone");
        assert!(v.get("zk_znode_count").is_none());
    }

    #[test]
    fn connections_drop_the_leading_slash_of_addresses() {
        let report = ServerReport {
            connections: vec![ConnectionReport {
                remote: "/127.0.0.1:4000".into(),
                session_id: 42,
                ..ConnectionReport::default()
            }],
            ..ServerReport::default()
        };
        let v = parse(&render_command(
            "cons",
            &report,
            &ServerConfig::default_standalone(),
        ));
        assert_eq!(
            v["connections"][0]["remote_socket_address"],
            "127.0.0.1:4000"
        );
        assert_eq!(v["connections"][0]["session_id"], 42);
    }
}
