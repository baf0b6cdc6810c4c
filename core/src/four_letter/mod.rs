//! The four-letter words answered on the client port (ruok, stat, srvr, conf, cons, ...), in ZooKeeper's
//! output formats. The node gathers a [`ServerReport`]; this module only formats it.

use crate::config::ServerConfig;

/// A four-letter word command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FourLetterWord {
    Conf,
    Cons,
    Crst,
    Dirs,
    Dump,
    Envi,
    Gtmk,
    Hash,
    Isro,
    Mntr,
    Ruok,
    Srst,
    Srvr,
    Stat,
    Stmk,
    Wchc,
    Wchp,
    Wchs,
}

impl FourLetterWord {
    /// Recognizes the first four bytes of a connection as a command.
    pub fn from_bytes(bytes: &[u8]) -> Option<FourLetterWord> {
        let _ = bytes;
        todo!()
    }

    pub fn name(self) -> &'static str {
        todo!()
    }

    /// Whether `4lw.commands.whitelist` allows this word (`isro` is always allowed in read-only mode).
    pub fn is_allowed(self, config: &ServerConfig, read_only: bool) -> bool {
        let _ = (config, read_only);
        todo!()
    }
}

/// Per-connection figures for `cons` and `stat`.
#[derive(Debug, Clone, Default)]
pub struct ConnectionReport {
    /// "/127.0.0.1:54321"
    pub remote: String,
    pub queued: u64,
    pub received: u64,
    pub sent: u64,
    pub session_id: i64,
    /// Last operation's short name ("PING", "GETD", ...).
    pub last_op: String,
    pub last_cxid: i64,
    pub last_zxid: i64,
    pub timeout: i32,
    pub last_latency: u64,
    pub min_latency: u64,
    pub avg_latency: u64,
    pub max_latency: u64,
    /// Milliseconds since the epoch.
    pub established: i64,
    pub last_response: i64,
}

/// Everything the four-letter words print, gathered by the node at the moment of the request.
#[derive(Debug, Clone, Default)]
pub struct ServerReport {
    /// "3.8.0-rzk-0.1.0, built on ..." style version line.
    pub version: String,
    /// "standalone", "leader", "follower", "observer", or "read-only".
    pub mode: String,
    pub zxid: i64,
    pub node_count: u64,
    pub approximate_data_size: u64,
    pub min_latency: u64,
    pub avg_latency: f64,
    pub max_latency: u64,
    pub received: u64,
    pub sent: u64,
    pub outstanding: u64,
    pub connections: Vec<ConnectionReport>,
    /// session id -> watched paths (wchc).
    pub watches_by_session: Vec<(i64, Vec<String>)>,
    /// path -> watching session ids (wchp).
    pub watches_by_path: Vec<(String, Vec<i64>)>,
    pub watch_count: u64,
    pub watched_paths: u64,
    /// session id -> ephemeral paths (dump).
    pub ephemerals: Vec<(i64, Vec<String>)>,
    /// (session id, timeout ms) of live sessions (dump, "Sessions with Ephemerals" and expiry info).
    pub sessions: Vec<(i64, i32)>,
    pub ephemerals_count: u64,
    /// Environment lines for `envi` ("host.name", "os.name", "user.dir", ...), supplied by the driver.
    pub environment: Vec<(String, String)>,
    pub open_file_descriptors: Option<u64>,
    pub max_file_descriptors: Option<u64>,
    pub server_id: u64,
    pub read_only: bool,
}

/// Renders a word's reply exactly as ZooKeeper formats it. For words not allowed by the whitelist the
/// reply is ZooKeeper's "<word> is not executed because it is not in the whitelist." line.
pub fn render(word: FourLetterWord, report: &ServerReport, config: &ServerConfig) -> String {
    let _ = (word, report, config);
    todo!()
}
