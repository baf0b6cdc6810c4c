//! zoo.cfg: ZooKeeper's configuration keys, defaults and validation (QuorumPeerConfig), parsed from text.
//!
//! Parsing is pure: the binary reads the file (and `myid`) and hands the text here. Unknown keys become
//! warnings; invalid values are errors naming the key and the line.

pub mod jaas;
mod known_keys;
mod parse;
mod properties;
mod record;
pub mod security;
mod server_line;
pub mod tls;

use std::net::IpAddr;

use crate::proto::FourLetterWord;
use std::path::PathBuf;

pub use properties::{parse_properties, Entry};
pub use record::RecordSettings;

/// `rzk.pollSpinMicros` unless set: long enough to catch the next request of a client that sends one as
/// soon as it has a reply (a loopback round trip plus the client's work), short enough that a spin that
/// catches nothing costs little. The loop spins only while events keep arriving that soon.
pub const DEFAULT_POLL_SPIN_MICROS: u32 = 50;
/// Beyond this a spin costs more than the wake-up it saves.
pub const MAX_POLL_SPIN_MICROS: u32 = 10_000;

/// Which four-letter words may be run (`4lw.commands.whitelist`).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum FourLetterWhitelist {
    All,
    Only(Vec<FourLetterWord>),
}

/// A voting participant or an observer.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerType {
    Participant,
    Observer,
}

/// One `server.N=host:quorumPort:electionPort[:participant|:observer][;[clientAddress:]clientPort]` line.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    pub id: u64,
    pub host: String,
    pub quorum_port: u16,
    pub election_port: u16,
    pub peer_type: PeerType,
    pub client_address: Option<String>,
    pub client_port: Option<u16>,
}

/// A parsed zoo.cfg with ZooKeeper's defaults filled in.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub tick_time: u32,
    pub init_limit: u32,
    pub sync_limit: u32,
    pub data_dir: PathBuf,
    pub data_log_dir: PathBuf,
    pub client_port: Option<u16>,
    pub client_port_address: Option<IpAddr>,
    /// `secureClientPort`: the TLS client port.
    pub secure_client_port: Option<u16>,
    /// `secureClientPortAddress` (default: clientPortAddress's rule, all addresses).
    pub secure_client_port_address: Option<IpAddr>,
    /// `client.portUnification`: the plaintext client port also accepts TLS (told apart by the first byte).
    pub client_port_unification: bool,
    /// `client.certReload`: re-read the client port's key and trust stores when their files change.
    pub client_cert_reload: bool,
    /// The `ssl.*` settings of the client listener(s).
    pub client_tls: tls::TlsSettings,
    /// `sslQuorum`: quorum and election connections speak TLS (mutual, with `quorum_tls`).
    pub ssl_quorum: bool,
    /// `portUnification`: the quorum and election ports accept TLS and plaintext peers alike.
    pub quorum_port_unification: bool,
    /// `sslQuorumReloadCertFiles`: re-read the quorum stores when their files change.
    pub quorum_cert_reload: bool,
    /// The `ssl.quorum.*` settings.
    pub quorum_tls: tls::TlsSettings,
    /// `authProvider.N=...SASLAuthenticationProvider`: `sasl` ids may appear in ACLs.
    pub sasl_auth: bool,
    /// `sasl.serverconfig`: the JAAS section holding the DIGEST-MD5 users (default `Server`).
    pub sasl_server_section: String,
    /// `rzk.jaasConfigFile`: the JAAS file, for units that set no JVM flags (docs/operations.md says the
    /// order in which the binary looks for one).
    pub jaas_config_file: Option<PathBuf>,
    /// The DIGEST-MD5 users (name → password) of the JAAS section, filled in by the binary after it read the
    /// file; None: no SASL server (a SASL packet is answered with a null token, as ZooKeeper does then).
    #[serde(serialize_with = "crate::redact::secret_map")]
    pub sasl_users: Option<std::collections::BTreeMap<String, String>>,
    /// `superUser` and `superUser.<suffix>`: SASL ids that are also super.
    pub super_users: Vec<String>,
    /// `SASLAuthenticationProvider.superPassword`: the password of the SASL user `super`.
    #[serde(serialize_with = "crate::redact::secret")]
    pub sasl_super_password: Option<String>,
    /// `allowSaslFailedClients`: a failed SASL exchange leaves the connection open (unless SASL is required).
    pub allow_sasl_failed_clients: bool,
    /// `letAnySaslUserDoX`: the `sasl` ACL id every SASL user matches.
    pub let_any_sasl_user_do_x: Option<String>,
    /// The schemes a client must hold an id of before any request (`enforce.auth.*`, or `sasl` with
    /// `sessionRequireClientSASLAuth`); empty: not enforced.
    pub enforce_auth_schemes: Vec<String>,
    /// `authProvider.N=...X509AuthenticationProvider`: TLS clients with a certificate get an `x509` id.
    pub x509_auth: bool,
    /// `X509AuthenticationProvider.superUser`: the x509 id that is also super.
    pub x509_super_user: Option<String>,
    pub max_client_cnxns: u32,
    pub min_session_timeout: u32,
    pub max_session_timeout: u32,
    pub snap_count: u64,
    /// preAllocSize in KB.
    pub pre_alloc_size_kb: u64,
    pub autopurge_snap_retain_count: u32,
    /// Hours; 0 disables purging.
    pub autopurge_purge_interval: u32,
    pub four_letter_whitelist: FourLetterWhitelist,
    pub servers: Vec<ServerSpec>,
    pub peer_type: PeerType,
    pub standalone_enabled: bool,
    pub reconfig_enabled: bool,
    pub extended_types_enabled: bool,
    /// enforceQuota (ZooKeeper's `zookeeper.enforceQuota`): refuse writes past a quota's hard limit.
    pub enforce_quota: bool,
    pub read_only_mode_enabled: bool,
    pub global_outstanding_limit: u32,
    pub jute_max_buffer: usize,
    pub admin_enable_server: bool,
    pub admin_server_address: String,
    pub admin_server_port: u16,
    pub election_alg: u32,
    pub leader_serves: bool,
    pub cnx_timeout: u32,
    pub quorum_listen_on_all_ips: bool,
    /// `superDigest` (ZooKeeper's zookeeper.DigestAuthenticationProvider.superDigest): "super:<base64 sha1>".
    #[serde(serialize_with = "crate::redact::secret")]
    pub super_digest: Option<String>,
    /// How often the container/TTL reaper runs (znode.container.checkIntervalMs).
    pub container_check_interval_ms: u32,
    /// `nio.sessionlessCnxnTimeout` (ms): a connection that has not completed its handshake this long after it
    /// opened is closed.
    pub sessionless_cnxn_timeout: u32,
    /// `rzk.pollSpinMicros`: how long the event loop polls without sleeping before it blocks (0: never).
    pub poll_spin_micros: u32,
    /// The flight recorder (`rzk.record*`).
    pub record: RecordSettings,
    /// Non-fatal findings (unknown keys, ignored keys), one human-readable line each.
    pub warnings: Vec<String>,
}

/// A zoo.cfg value that cannot be used. `line` is 1-based; 0 means the problem is a missing key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub line: usize,
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "zoo.cfg: {}: {}", self.key, self.message)
        } else {
            write!(
                f,
                "zoo.cfg line {}: {}: {}",
                self.line, self.key, self.message
            )
        }
    }
}

impl ServerConfig {
    /// Parses zoo.cfg text (Java properties syntax as ZooKeeper uses it).
    pub fn parse(text: &str) -> Result<ServerConfig, ConfigError> {
        parse::parse(text)
    }

    /// The embedded default config: standalone, clientPort 2181 on 127.0.0.1, dataDir ./data, and every
    /// four-letter word enabled (ZooKeeper enables only `srvr` by default). `conf/zoo_sample.cfg` parses to this.
    pub fn default_standalone() -> ServerConfig {
        ServerConfig {
            init_limit: 10,
            sync_limit: 5,
            data_dir: PathBuf::from("./data"),
            data_log_dir: PathBuf::from("./data"),
            client_port: Some(2181),
            client_port_address: Some(IpAddr::from([127, 0, 0, 1])),
            four_letter_whitelist: FourLetterWhitelist::All,
            ..ServerConfig::zookeeper_defaults(PathBuf::from("./data"))
        }
    }

    /// ZooKeeper's defaults for every key, with the given dataDir (which ZooKeeper requires).
    pub fn zookeeper_defaults(data_dir: PathBuf) -> ServerConfig {
        let tick_time = 2000;
        ServerConfig {
            tick_time,
            init_limit: 0,
            sync_limit: 0,
            data_log_dir: data_dir.clone(),
            data_dir,
            client_port: None,
            client_port_address: None,
            secure_client_port: None,
            secure_client_port_address: None,
            client_port_unification: false,
            client_cert_reload: false,
            client_tls: tls::TlsSettings::default(),
            ssl_quorum: false,
            quorum_port_unification: false,
            quorum_cert_reload: false,
            quorum_tls: tls::TlsSettings::default(),
            x509_auth: false,
            sasl_auth: false,
            sasl_server_section: "Server".to_string(),
            jaas_config_file: None,
            sasl_users: None,
            super_users: Vec::new(),
            sasl_super_password: None,
            allow_sasl_failed_clients: false,
            let_any_sasl_user_do_x: None,
            enforce_auth_schemes: Vec::new(),
            x509_super_user: None,
            max_client_cnxns: 60,
            min_session_timeout: 2 * tick_time,
            max_session_timeout: 20 * tick_time,
            snap_count: 100_000,
            pre_alloc_size_kb: 65_536,
            autopurge_snap_retain_count: 3,
            autopurge_purge_interval: 0,
            four_letter_whitelist: FourLetterWhitelist::Only(vec![FourLetterWord::Srvr]),
            servers: Vec::new(),
            peer_type: PeerType::Participant,
            standalone_enabled: true,
            reconfig_enabled: false,
            extended_types_enabled: false,
            enforce_quota: false,
            read_only_mode_enabled: false,
            global_outstanding_limit: 1000,
            jute_max_buffer: 0xfffff,
            admin_enable_server: true,
            admin_server_address: "0.0.0.0".to_string(),
            admin_server_port: 8080,
            election_alg: 3,
            leader_serves: true,
            cnx_timeout: 5000,
            quorum_listen_on_all_ips: false,
            super_digest: None,
            container_check_interval_ms: 60_000,
            sessionless_cnxn_timeout: 10_000,
            poll_spin_micros: DEFAULT_POLL_SPIN_MICROS,
            record: RecordSettings::default(),
            warnings: Vec::new(),
        }
    }

    /// Whether any client listener speaks TLS (secureClientPort, or client.portUnification).
    pub fn client_tls_enabled(&self) -> bool {
        self.secure_client_port.is_some() || self.client_port_unification
    }

    /// Whether the quorum and election ports speak TLS at all (sslQuorum, or portUnification).
    pub fn quorum_tls_enabled(&self) -> bool {
        self.ssl_quorum || self.quorum_port_unification
    }

    /// Whether this is an ensemble (ZooKeeper's isDistributed): more than one voting server, or standalone
    /// mode disabled.
    pub fn is_distributed(&self) -> bool {
        !self.standalone_enabled || self.voting_members() > 1
    }

    /// Number of `server.N` lines that are participants.
    pub fn voting_members(&self) -> usize {
        self.servers
            .iter()
            .filter(|s| s.peer_type == PeerType::Participant)
            .count()
    }

    /// The `server.N` line for `id`, if any.
    pub fn server(&self, id: u64) -> Option<&ServerSpec> {
        self.servers.iter().find(|s| s.id == id)
    }

    /// The client port server `id` listens on: its server line's client port, else `clientPort`.
    pub fn client_port_for(&self, id: u64) -> Option<u16> {
        self.server(id)
            .and_then(|s| s.client_port)
            .or(self.client_port)
    }
}

#[cfg(test)]
mod tests;
