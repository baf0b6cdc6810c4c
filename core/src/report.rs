//! What the node tells about itself: a snapshot of its state that the four-letter words (`crate::four_letter`)
//! and the admin server (`crate::admin`) render in their formats. The node fills it in; neither renderer
//! reads the node.

/// ZooKeeper's default text trace mask (ZooTrace), what `gtmk` prints until `stmk` changes it.
pub const DEFAULT_TRACE_MASK: i64 = 306;

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
