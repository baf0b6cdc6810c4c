//! The four-letter words answered on the client port (ruok, stat, srvr, conf, cons, ...), in ZooKeeper's
//! output formats. The node gathers a [`ServerReport`]; this module only formats it.
//!
//! Formats were taken from ZooKeeper 3.8's `server/command/*.java` and checked against a running 3.8.0
//! server; its raw replies are kept in `fixtures/` and the tests compare our output with them line by line.

mod java_fmt;

pub use java_fmt::civil_from_days;
mod render;

use crate::config::{FourLetterWhitelist, ServerConfig};

pub use render::render;

/// What a not-yet-serving server (e.g. during leader election) answers to most words.
pub const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";

/// ZooKeeper's default text trace mask (ZooTrace), what `gtmk` prints until `stmk` changes it.
pub const DEFAULT_TRACE_MASK: i64 = 306;

/// The version rzk reports: ZooKeeper's `<version>-<revision>, built on <date>` shape with a 3.8.0 version
/// number first, so tools that parse the leading `x.y.z` see the protocol level rzk speaks.
pub fn rzk_version(built_on: &str) -> String {
    format!(
        "3.8.0-rzk-{}, built on {built_on}",
        env!("CARGO_PKG_VERSION")
    )
}

/// A four-letter word command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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
    /// Every word, in alphabetical order.
    pub const ALL: [FourLetterWord; 18] = [
        FourLetterWord::Conf,
        FourLetterWord::Cons,
        FourLetterWord::Crst,
        FourLetterWord::Dirs,
        FourLetterWord::Dump,
        FourLetterWord::Envi,
        FourLetterWord::Gtmk,
        FourLetterWord::Hash,
        FourLetterWord::Isro,
        FourLetterWord::Mntr,
        FourLetterWord::Ruok,
        FourLetterWord::Srst,
        FourLetterWord::Srvr,
        FourLetterWord::Stat,
        FourLetterWord::Stmk,
        FourLetterWord::Wchc,
        FourLetterWord::Wchp,
        FourLetterWord::Wchs,
    ];

    /// Recognizes a command: exactly four bytes spelling a word (lower case, as ZooKeeper compares the
    /// bytes as an int). Use it on the first four bytes of a new connection.
    pub fn from_bytes(bytes: &[u8]) -> Option<FourLetterWord> {
        if bytes.len() != 4 {
            return None;
        }
        FourLetterWord::ALL
            .into_iter()
            .find(|w| w.name().as_bytes() == bytes)
    }

    pub fn name(self) -> &'static str {
        match self {
            FourLetterWord::Conf => "conf",
            FourLetterWord::Cons => "cons",
            FourLetterWord::Crst => "crst",
            FourLetterWord::Dirs => "dirs",
            FourLetterWord::Dump => "dump",
            FourLetterWord::Envi => "envi",
            FourLetterWord::Gtmk => "gtmk",
            FourLetterWord::Hash => "hash",
            FourLetterWord::Isro => "isro",
            FourLetterWord::Mntr => "mntr",
            FourLetterWord::Ruok => "ruok",
            FourLetterWord::Srst => "srst",
            FourLetterWord::Srvr => "srvr",
            FourLetterWord::Stat => "stat",
            FourLetterWord::Stmk => "stmk",
            FourLetterWord::Wchc => "wchc",
            FourLetterWord::Wchp => "wchp",
            FourLetterWord::Wchs => "wchs",
        }
    }

    /// Bytes ZooKeeper reads after the word before answering: `stmk` is followed by the new trace mask as
    /// an 8-byte big-endian long (and it is read only if `stmk` is allowed).
    pub fn argument_len(self) -> usize {
        if self == FourLetterWord::Stmk {
            8
        } else {
            0
        }
    }

    /// Whether `4lw.commands.whitelist` allows this word. As in ZooKeeper (FourLetterCommands.isEnabled),
    /// `srvr` is always allowed (zkServer.sh needs it) and `isro` is allowed whenever read-only mode is
    /// enabled (`readonlymode.enabled`) or the server is read-only now.
    pub fn is_allowed(self, config: &ServerConfig, read_only: bool) -> bool {
        if self == FourLetterWord::Srvr {
            return true;
        }
        if self == FourLetterWord::Isro && (config.read_only_mode_enabled || read_only) {
            return true;
        }
        match &config.four_letter_whitelist {
            FourLetterWhitelist::All => true,
            FourLetterWhitelist::Only(words) => words.iter().any(|w| w == self.name()),
        }
    }
}

/// Per-connection figures for `cons`, `stat` and `dump`.
#[derive(Debug, Clone)]
pub struct ConnectionReport {
    /// "/127.0.0.1:54321" (Java's InetSocketAddress form, leading slash included).
    pub remote: String,
    /// Selector interest: 0 none (e.g. the connection asking for this report), 1 read, 4 write, 5 both.
    pub interest_ops: u32,
    pub queued: u64,
    pub received: u64,
    pub sent: u64,
    /// 0 until a session is established; `cons` prints the long form only for connections with a session.
    pub session_id: i64,
    /// Last operation's short name ("PING", "GETD", ...); "NA" after a reset.
    pub last_op: String,
    /// -1 when none (then `cons` omits lcxid).
    pub last_cxid: i64,
    pub last_zxid: i64,
    pub timeout: i32,
    pub last_latency: u64,
    pub min_latency: u64,
    /// Integer average, as ZooKeeper computes it per connection.
    pub avg_latency: u64,
    pub max_latency: u64,
    /// Milliseconds since the epoch.
    pub established: i64,
    /// ZooKeeper prints its monotonic clock here (ms); rzk prints the node's `now` of the last response.
    pub last_response: i64,
    /// When the connection expires unless it hears from its client, in ms since the epoch (`dump`).
    pub expires_at: i64,
}

impl Default for ConnectionReport {
    /// ZooKeeper's values for a fresh (or freshly reset) connection.
    fn default() -> Self {
        ConnectionReport {
            remote: String::new(),
            interest_ops: 1,
            queued: 0,
            received: 0,
            sent: 0,
            session_id: 0,
            last_op: "NA".to_string(),
            last_cxid: -1,
            last_zxid: -1,
            timeout: 0,
            last_latency: 0,
            min_latency: 0,
            avg_latency: 0,
            max_latency: 0,
            established: 0,
            last_response: 0,
            expires_at: 0,
        }
    }
}

/// Figures only a leader has (`stat` proposal sizes, `mntr` leader gauges).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderReport {
    pub learners: u64,
    pub synced_followers: u64,
    pub synced_non_voting_followers: u64,
    pub synced_observers: u64,
    pub pending_syncs: u64,
    pub leader_uptime_ms: u64,
    /// Serialized proposal sizes in bytes; -1 until the first proposal (ZooKeeper's BufferStats).
    pub last_proposal_size: i64,
    pub min_proposal_size: i64,
    pub max_proposal_size: i64,
}

impl Default for LeaderReport {
    fn default() -> Self {
        LeaderReport {
            learners: 0,
            synced_followers: 0,
            synced_non_voting_followers: 0,
            synced_observers: 0,
            pending_syncs: 0,
            leader_uptime_ms: 0,
            last_proposal_size: -1,
            min_proposal_size: -1,
            max_proposal_size: -1,
        }
    }
}

/// Everything the four-letter words print, gathered by the node at the moment of the request.
///
/// Times called "ms since the epoch" are wall-clock readings the driver supplies with the request; the
/// core never reads a clock.
#[derive(Debug, Clone)]
pub struct ServerReport {
    /// Full version line, normally [`rzk_version`]; empty means `rzk_version("unknown")`.
    pub version: String,
    /// "standalone", "leader", "follower", "observer", or "read-only".
    pub mode: String,
    /// False while the server cannot serve (e.g. electing a leader): most words then answer [`NOT_SERVING`].
    pub serving: bool,
    /// Quorum peer state for `mntr` (`zk_peer_state`), e.g. "leading - broadcast", "following - broadcast";
    /// `None` in standalone mode (ZooKeeper prints the key only in quorum mode).
    pub peer_state: Option<String>,
    /// Last applied zxid.
    pub zxid: i64,
    pub node_count: u64,
    /// Sum of path lengths and data sizes (DataTree.approximateDataSize).
    pub approximate_data_size: u64,
    /// Request latency statistics in ms since start or the last `srst`.
    pub min_latency: u64,
    pub avg_latency: f64,
    pub max_latency: u64,
    /// Packets received from / sent to clients since start or the last `srst`.
    pub received: u64,
    pub sent: u64,
    /// Requests received but not yet answered.
    pub outstanding: u64,
    /// Every client connection, including the one asking (which has no session and interest_ops 0).
    pub connections: Vec<ConnectionReport>,
    /// Session id -> paths with a data watch (including persistent ones), as ZooKeeper's wchc/wchs show
    /// only the data-watch table. Sessions in id order, paths sorted, for deterministic output.
    pub watches_by_session: Vec<(i64, Vec<String>)>,
    /// Path -> session ids with a data watch on it (wchp), paths sorted.
    pub watches_by_path: Vec<(String, Vec<i64>)>,
    /// All watches, data plus child (DataTree.getWatchCount), for `mntr` zk_watch_count.
    pub watch_count: u64,
    /// Number of distinct watched paths (informational; `wchs` counts from `watches_by_path`).
    pub watched_paths: u64,
    /// Session id -> ephemeral paths (dump).
    pub ephemerals: Vec<(i64, Vec<String>)>,
    /// (session id, timeout ms) of live sessions: `dump` on followers/observers, `mntr` zk_global_sessions.
    pub sessions: Vec<(i64, i32)>,
    /// (session id, expiry deadline in ms since the epoch): `dump` on a leader or standalone server, which
    /// prints sessions grouped by deadline.
    pub session_expiry: Vec<(i64, i64)>,
    pub ephemerals_count: u64,
    /// Environment lines for `envi` ("host.name", "os.name", "user.dir", ...), supplied by the driver;
    /// `zookeeper.version` is printed first from `version`.
    pub environment: Vec<(String, String)>,
    pub open_file_descriptors: Option<u64>,
    pub max_file_descriptors: Option<u64>,
    /// This server's id (myid); 0 in standalone mode.
    pub server_id: u64,
    pub read_only: bool,
    /// Milliseconds since the server started (`mntr` zk_uptime).
    pub uptime_ms: u64,
    /// Size in bytes of the last / smallest / largest reply to a client; -1 before the first.
    pub last_client_response_size: i64,
    pub min_client_response_size: i64,
    pub max_client_response_size: i64,
    /// Failed authentications (`mntr` zk_auth_failed_count).
    pub auth_failed_count: u64,
    /// Bytes under dataDir/version-2 and dataLogDir/version-2 (`conf`, `dirs`), measured by the driver.
    pub data_dir_size: u64,
    pub log_dir_size: u64,
    /// Version of the ensemble membership (`conf` "version=", hex); 0 for a static zoo.cfg.
    pub config_version: i64,
    /// The text trace mask (`gtmk`; for `stmk`, the mask just set).
    pub trace_mask: i64,
    /// (zxid, tree digest) pairs kept for `hash`, oldest first.
    pub digests: Vec<(i64, u64)>,
    /// Present when this server leads.
    pub leader: Option<LeaderReport>,
    /// Further metrics the node tracks, appended to `mntr` as `zk_<key>\t<value>`.
    pub extra_metrics: Vec<(String, String)>,
}

impl Default for ServerReport {
    fn default() -> Self {
        ServerReport {
            version: String::new(),
            mode: "standalone".to_string(),
            serving: true,
            peer_state: None,
            zxid: 0,
            node_count: 0,
            approximate_data_size: 0,
            min_latency: 0,
            avg_latency: 0.0,
            max_latency: 0,
            received: 0,
            sent: 0,
            outstanding: 0,
            connections: Vec::new(),
            watches_by_session: Vec::new(),
            watches_by_path: Vec::new(),
            watch_count: 0,
            watched_paths: 0,
            ephemerals: Vec::new(),
            sessions: Vec::new(),
            session_expiry: Vec::new(),
            ephemerals_count: 0,
            environment: Vec::new(),
            open_file_descriptors: None,
            max_file_descriptors: None,
            server_id: 0,
            read_only: false,
            uptime_ms: 0,
            last_client_response_size: -1,
            min_client_response_size: -1,
            max_client_response_size: -1,
            auth_failed_count: 0,
            data_dir_size: 0,
            log_dir_size: 0,
            config_version: 0,
            trace_mask: DEFAULT_TRACE_MASK,
            digests: Vec::new(),
            leader: None,
            extra_metrics: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_bytes_takes_exactly_four_bytes_of_a_known_word() {
        assert_eq!(
            FourLetterWord::from_bytes(b"ruok"),
            Some(FourLetterWord::Ruok)
        );
        assert_eq!(
            FourLetterWord::from_bytes(b"mntr"),
            Some(FourLetterWord::Mntr)
        );
        assert_eq!(FourLetterWord::from_bytes(b"RUOK"), None);
        assert_eq!(FourLetterWord::from_bytes(b"ruo"), None);
        assert_eq!(FourLetterWord::from_bytes(b"ruok\n"), None);
        assert_eq!(FourLetterWord::from_bytes(b"abcd"), None);
        assert_eq!(FourLetterWord::from_bytes(&[0, 0, 0, 44]), None);
        assert_eq!(FourLetterWord::from_bytes(&[0xff, 0xf4, 0xff, 0xfd]), None);
    }

    #[test]
    fn names_round_trip() {
        for w in FourLetterWord::ALL {
            assert_eq!(FourLetterWord::from_bytes(w.name().as_bytes()), Some(w));
        }
    }

    #[test]
    fn only_stmk_takes_an_argument() {
        for w in FourLetterWord::ALL {
            assert_eq!(
                w.argument_len(),
                if w == FourLetterWord::Stmk { 8 } else { 0 }
            );
        }
    }

    fn config_with(whitelist: FourLetterWhitelist, read_only_enabled: bool) -> ServerConfig {
        ServerConfig {
            four_letter_whitelist: whitelist,
            read_only_mode_enabled: read_only_enabled,
            ..ServerConfig::default_standalone()
        }
    }

    #[test]
    fn zookeeper_default_whitelist_allows_only_srvr() {
        let c = config_with(FourLetterWhitelist::Only(vec!["srvr".into()]), false);
        for w in FourLetterWord::ALL {
            assert_eq!(
                w.is_allowed(&c, false),
                w == FourLetterWord::Srvr,
                "{}",
                w.name()
            );
        }
    }

    #[test]
    fn star_allows_everything() {
        let c = config_with(FourLetterWhitelist::All, false);
        assert!(FourLetterWord::ALL.iter().all(|w| w.is_allowed(&c, false)));
    }

    #[test]
    fn srvr_is_allowed_even_with_an_empty_whitelist() {
        let c = config_with(FourLetterWhitelist::Only(vec![]), false);
        assert!(FourLetterWord::Srvr.is_allowed(&c, false));
        assert!(!FourLetterWord::Ruok.is_allowed(&c, false));
    }

    #[test]
    fn listed_words_are_allowed() {
        let c = config_with(
            FourLetterWhitelist::Only(vec!["ruok".into(), "mntr".into()]),
            false,
        );
        assert!(FourLetterWord::Ruok.is_allowed(&c, false));
        assert!(FourLetterWord::Mntr.is_allowed(&c, false));
        assert!(!FourLetterWord::Stat.is_allowed(&c, false));
    }

    #[test]
    fn isro_is_allowed_when_read_only_mode_is_enabled_or_active() {
        let off = config_with(FourLetterWhitelist::Only(vec![]), false);
        let on = config_with(FourLetterWhitelist::Only(vec![]), true);
        assert!(!FourLetterWord::Isro.is_allowed(&off, false));
        assert!(FourLetterWord::Isro.is_allowed(&off, true));
        assert!(FourLetterWord::Isro.is_allowed(&on, false));
    }

    #[test]
    fn version_keeps_a_3_8_0_prefix() {
        let v = rzk_version("2026-01-01 00:00 UTC");
        assert!(v.starts_with("3.8.0-rzk-"), "{v}");
        assert!(v.ends_with(", built on 2026-01-01 00:00 UTC"), "{v}");
    }
}
