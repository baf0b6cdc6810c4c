//! `/metrics`: the `mntr` figures in Prometheus text exposition format (version 0.0.4), plus the request
//! latency histogram. Names are `zookeeper_<mntr key>` as ZooKeeper's Prometheus provider names them;
//! text-valued figures (version, server_state) become labels of an info gauge.

use std::fmt::Write;

use super::json::mntr_pairs;
use super::{LatencyHistogram, LATENCY_BUCKETS_MS};
use crate::config::ServerConfig;
use crate::report::ServerReport;

/// mntr keys that only ever grow (counters); the rest are gauges.
const COUNTERS: &[&str] = &[
    "packets_received",
    "packets_sent",
    "auth_failed_count",
    "connection_rejected",
    "connection_drop_count",
];

pub fn render_metrics(
    report: &ServerReport,
    config: &ServerConfig,
    latency: &LatencyHistogram,
) -> String {
    let mut out = String::new();
    let mut labels = Vec::new();
    for (key, value) in mntr_pairs(report, config) {
        let name = format!("zookeeper_{}", sanitize(&key));
        match value.parse::<f64>() {
            Ok(v) if v.is_finite() => {
                let kind = if COUNTERS.contains(&key.as_str()) {
                    "counter"
                } else {
                    "gauge"
                };
                let _ = writeln!(out, "# TYPE {name} {kind}\n{name} {v}");
            }
            _ => labels.push((sanitize(&key), value)),
        }
    }
    if !labels.is_empty() {
        let text: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let _ = writeln!(
            out,
            "# TYPE zookeeper_info gauge\nzookeeper_info{{{}}} 1",
            text.join(",")
        );
    }
    let name = "zookeeper_request_latency_ms";
    let _ = writeln!(
        out,
        "# HELP {name} Client request latency in milliseconds, from receipt to reply.\n# TYPE {name} histogram"
    );
    let mut cumulative = 0;
    for (i, bound) in LATENCY_BUCKETS_MS.iter().enumerate() {
        cumulative += latency.counts[i];
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
    }
    cumulative += latency.counts[LATENCY_BUCKETS_MS.len()];
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
    let _ = writeln!(
        out,
        "{name}_sum {}\n{name}_count {}",
        latency.sum_ms, latency.count
    );
    out
}

/// Metric and label names allow [a-zA-Z0-9_:] only.
fn sanitize(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_line_is_name_then_value() {
        let report = ServerReport {
            node_count: 4,
            ..ServerReport::default()
        };
        let mut h = LatencyHistogram::default();
        h.record(3);
        h.record(7000);
        let text = render_metrics(&report, &ServerConfig::default_standalone(), &h);
        assert!(text.contains("zookeeper_znode_count 4\n"), "{text}");
        assert!(text.contains("# TYPE zookeeper_packets_received counter\n"));
        assert!(text.contains("zookeeper_info{"));
        assert!(text.contains("server_state=\"standalone\""));
        assert!(text.contains("zookeeper_request_latency_ms_bucket{le=\"2\"} 0\n"));
        assert!(text.contains("zookeeper_request_latency_ms_bucket{le=\"5\"} 1\n"));
        assert!(text.contains("zookeeper_request_latency_ms_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("zookeeper_request_latency_ms_count 2\n"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(!name.is_empty());
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
