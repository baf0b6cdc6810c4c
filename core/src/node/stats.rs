//! Server and connection counters for the four-letter words.

/// Request latency and packet counters (ZooKeeper's ServerStats).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Default)]
pub struct ServerStats {
    pub received: u64,
    pub sent: u64,
    pub latency: Latency,
    pub response_size: ResponseSize,
    pub auth_failed: u64,
    /// Connections closed for sending no handshake in time (ZooKeeper's sessionless_connections_expired).
    pub sessionless_closed: u64,
}

/// Sizes of replies in bytes; -1 before the first.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct ResponseSize {
    pub last: i64,
    pub min: i64,
    pub max: i64,
}

impl Default for ResponseSize {
    fn default() -> Self {
        ResponseSize {
            last: -1,
            min: -1,
            max: -1,
        }
    }
}

impl ResponseSize {
    pub fn record(&mut self, size: i64) {
        self.last = size;
        self.min = if self.min < 0 {
            size
        } else {
            self.min.min(size)
        };
        self.max = self.max.max(size);
    }
}

/// min/avg/max latency in ms over answered requests.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Default)]
pub struct Latency {
    pub count: u64,
    pub total: u64,
    pub min: u64,
    pub max: u64,
    pub last: u64,
    /// Counts per latency bucket, for the admin server's `/metrics` histogram.
    pub histogram: crate::admin::LatencyHistogram,
}

impl Latency {
    pub fn record(&mut self, ms: u64) {
        self.histogram.record(ms);
        if self.count == 0 || ms < self.min {
            self.min = ms;
        }
        self.max = self.max.max(ms);
        self.total += ms;
        self.count += 1;
        self.last = ms;
    }

    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.total as f64 / self.count as f64
        }
    }
}

/// Per-connection counters (`cons`).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Default)]
pub struct ConnStats {
    pub established: u64,
    pub received: u64,
    pub sent: u64,
    /// The last request's op (`cons` prints its short name, "NA" before any).
    pub last_op: Option<crate::proto::opcode::OpCode>,
    pub last_cxid: i64,
    pub last_zxid: i64,
    pub last_response: u64,
    pub latency: Latency,
}

impl ConnStats {
    pub fn new(now: u64) -> ConnStats {
        ConnStats {
            established: now,
            last_cxid: -1,
            last_zxid: -1,
            ..ConnStats::default()
        }
    }

    pub fn reset(&mut self) {
        let established = self.established;
        *self = ConnStats::new(established);
    }
}
