//! What the HTTP admin server answers (ZooKeeper's AdminServer): `GET /commands` lists the commands,
//! `GET /commands/<name>` renders one as JSON, `GET /metrics` renders Prometheus text. The node gathers a
//! [`ServerReport`] and its latency histogram; this module only routes and formats. The HTTP itself lives
//! in the driver (`rzk-io-mio`).

mod json;
mod prometheus;

use crate::config::ServerConfig;
use crate::report::ServerReport;

pub use json::{command_names, render_command, resolve};
pub use prometheus::render_metrics;

/// Upper bounds (ms, inclusive) of the request latency histogram buckets; a last `+Inf` bucket follows.
pub const LATENCY_BUCKETS_MS: [u64; 12] = [0, 1, 2, 5, 10, 20, 50, 100, 250, 500, 1000, 5000];

/// Request latencies counted per bucket of [`LATENCY_BUCKETS_MS`] (cumulative counts are computed when
/// rendering), with their sum and count.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct LatencyHistogram {
    /// One count per bound of [`LATENCY_BUCKETS_MS`], then one for latencies above the last bound.
    pub counts: [u64; LATENCY_BUCKETS_MS.len() + 1],
    pub sum_ms: u64,
    pub count: u64,
}

impl LatencyHistogram {
    pub fn record(&mut self, ms: u64) {
        let i = LATENCY_BUCKETS_MS
            .iter()
            .position(|&bound| ms <= bound)
            .unwrap_or(LATENCY_BUCKETS_MS.len());
        self.counts[i] += 1;
        self.sum_ms += ms;
        self.count += 1;
    }
}

/// An admin answer: HTTP status, content type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

/// What a command may change besides answering (the node carries it out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminEffect {
    None,
    /// stat_reset (srst): clear the server's counters.
    ResetServerStats,
    /// connection_stat_reset (crst): clear every connection's counters.
    ResetConnectionStats,
}

/// The effect of the request for `target` (a path such as `/commands/srst`), before it is rendered.
pub fn effect_of(target: &str) -> AdminEffect {
    match target.strip_prefix("/commands/").map(resolve) {
        Some(Some("stat_reset")) => AdminEffect::ResetServerStats,
        Some(Some("connection_stat_reset")) => AdminEffect::ResetConnectionStats,
        _ => AdminEffect::None,
    }
}

/// Whether the answer to `target` shows the tree's digest (`hash`): it depends on the znodes' data, which a
/// redacted flight recording does not have.
pub fn shows_tree_digest(target: &str) -> bool {
    let path = target.split('?').next().unwrap_or("").trim_end_matches('/');
    path.strip_prefix("/commands/").and_then(resolve) == Some("hash")
}

/// Answers a GET of `target` (the request path; a query string is ignored).
pub fn answer(
    target: &str,
    report: &ServerReport,
    config: &ServerConfig,
    latency: &LatencyHistogram,
) -> AdminResponse {
    let path = target.split('?').next().unwrap_or("");
    let path = path.trim_end_matches('/');
    let json = "application/json";
    if path == "/commands" || path.is_empty() {
        let links: String = command_names()
            .iter()
            .map(|n| format!("<a href=\"/commands/{n}\">{n}</a>\n<br/>\n"))
            .collect();
        return AdminResponse {
            status: 200,
            content_type: "text/html",
            body: links,
        };
    }
    if path == "/metrics" {
        return AdminResponse {
            status: 200,
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            body: render_metrics(report, config, latency),
        };
    }
    if let Some(name) = path.strip_prefix("/commands/") {
        // Unknown commands are a 200 with an "error" field, as ZooKeeper's AdminServer answers them.
        return AdminResponse {
            status: 200,
            content_type: json,
            body: render_command(name, report, config),
        };
    }
    AdminResponse {
        status: 404,
        content_type: "text/plain",
        body: format!("Not found: {path}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_fall_in_the_first_bucket_that_holds_them() {
        let mut h = LatencyHistogram::default();
        for ms in [0, 1, 3, 5, 6, 1_000_000] {
            h.record(ms);
        }
        assert_eq!(h.counts[0], 1); // <= 0
        assert_eq!(h.counts[1], 1); // <= 1
        assert_eq!(h.counts[3], 2); // <= 5
        assert_eq!(h.counts[4], 1); // <= 10
        assert_eq!(h.counts[LATENCY_BUCKETS_MS.len()], 1); // +Inf
        assert_eq!(h.count, 6);
        assert_eq!(h.sum_ms, 1_000_015);
    }

    #[test]
    fn routes_commands_metrics_and_unknown_paths() {
        let r = ServerReport::default();
        let c = ServerConfig::default_standalone();
        let h = LatencyHistogram::default();
        let list = answer("/commands", &r, &c, &h);
        assert!(list.body.contains("/commands/monitor"));
        let ruok = answer("/commands/ruok?x=1", &r, &c, &h);
        assert_eq!(ruok.status, 200);
        assert_eq!(ruok.content_type, "application/json");
        assert!(answer("/metrics", &r, &c, &h).body.contains("# TYPE"));
        assert_eq!(answer("/nope", &r, &c, &h).status, 404);
    }

    #[test]
    fn resets_are_recognised_by_name_and_alias() {
        assert_eq!(effect_of("/commands/srst"), AdminEffect::ResetServerStats);
        assert_eq!(
            effect_of("/commands/connection_stat_reset"),
            AdminEffect::ResetConnectionStats
        );
        assert_eq!(effect_of("/commands/stats"), AdminEffect::None);
        assert_eq!(effect_of("/metrics"), AdminEffect::None);
    }
}
