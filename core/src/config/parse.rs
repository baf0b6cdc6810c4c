//! From properties entries to a checked [`ServerConfig`], key by key, following QuorumPeerConfig.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use super::known_keys::{canonical_key, ignored_reason};
use super::properties::{parse_properties, Entry};
use super::security::{verdict, Verdict};
use super::server_line::{parse_peer_type, parse_port, parse_server_id, parse_server_spec};
use super::tls::{self, ClientAuth, StoreConfig, StoreType, TlsSettings};
use super::{ConfigError, FourLetterWhitelist, ServerConfig, MAX_POLL_SPIN_MICROS};
use crate::proto::FourLetterWord;

/// ZooKeeper silently raises a smaller snapRetainCount to this (PurgeTxnLog keeps at least 3 snapshots).
const MIN_SNAP_RETAIN_COUNT: u32 = 3;
/// ZooKeeper raises a smaller snapCount to 2 (SyncRequestProcessor).
const MIN_SNAP_COUNT: u64 = 2;

fn err(entry: &Entry, message: impl Into<String>) -> ConfigError {
    ConfigError {
        line: entry.line,
        key: entry.key.clone(),
        message: message.into(),
    }
}

fn missing(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        line: 0,
        key: key.to_string(),
        message: message.into(),
    }
}

/// An integer in `[min, max]`; `0x` hex is accepted too (Java's Integer.decode, used for system properties).
fn number<T>(entry: &Entry, min: T, max: T) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + Copy + std::fmt::Display + TryFrom<u64>,
{
    let v = entry.value.as_str();
    let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16)
            .ok()
            .and_then(|n| T::try_from(n).ok()),
        None => v.parse::<T>().ok(),
    };
    let looks_negative =
        v.starts_with('-') && v[1..].chars().all(|c| c.is_ascii_digit()) && v.len() > 1;
    match parsed {
        Some(n) if n >= min && n <= max => Ok(n),
        Some(n) if n < min => Err(err(entry, format!("must be at least {min} (got {n})"))),
        Some(n) => Err(err(entry, format!("must be at most {max} (got {n})"))),
        None if looks_negative => Err(err(entry, format!("must not be negative (got {v})"))),
        None if v.chars().all(|c| c.is_ascii_digit()) && !v.is_empty() => {
            Err(err(entry, format!("must be at most {max} (got {v})")))
        }
        None => Err(err(entry, format!("'{v}' is not a number"))),
    }
}

/// `true`/`false` in any case, as QuorumPeerConfig.parseBoolean.
fn boolean(entry: &Entry) -> Result<bool, ConfigError> {
    match entry.value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(err(
            entry,
            format!("invalid option '{}'; choose 'true' or 'false'", entry.value),
        )),
    }
}

fn non_empty(entry: &Entry) -> Result<String, ConfigError> {
    if entry.value.is_empty() {
        Err(err(entry, "must not be empty"))
    } else {
        Ok(entry.value.clone())
    }
}

fn ip_address(entry: &Entry) -> Result<IpAddr, ConfigError> {
    let v = entry.value.trim_start_matches('[').trim_end_matches(']');
    if v.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::from([127, 0, 0, 1]));
    }
    v.parse::<IpAddr>().map_err(|_| {
        err(
            entry,
            format!(
                "'{}' is not an IP address (rzk does not resolve host names for listen addresses)",
                entry.value
            ),
        )
    })
}

fn whitelist(entry: &Entry) -> Result<FourLetterWhitelist, ConfigError> {
    let mut words: Vec<FourLetterWord> = Vec::new();
    for item in entry
        .value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if item == "*" {
            return Ok(FourLetterWhitelist::All);
        }
        let Some(word) = FourLetterWord::from_bytes(item.as_bytes()) else {
            return Err(err(
                entry,
                format!("'{item}' is not a four-letter word command (or '*')"),
            ));
        };
        if !words.contains(&word) {
            words.push(word);
        }
    }
    Ok(FourLetterWhitelist::Only(words))
}

/// Keeps the last entry of each setting (Properties semantics: later keys win), in file order.
fn last_entries(entries: Vec<Entry>) -> Vec<Entry> {
    let mut last: BTreeMap<String, usize> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        last.insert(canonical_key(&e.key).to_string(), i);
    }
    entries
        .into_iter()
        .enumerate()
        .filter(|(i, e)| last.get(canonical_key(&e.key)) == Some(i))
        .map(|(_, e)| e)
        .collect()
}

/// What the file said about settings whose defaults depend on other keys.
#[derive(Default)]
struct Explicit {
    data_dir: Option<Entry>,
    data_log_dir: Option<Entry>,
    min_session_timeout: Option<Entry>,
    max_session_timeout: Option<Entry>,
    client_port_address: Option<Entry>,
}

/// The keys that decide which auth schemes are enforced (AuthenticationHelper reads them together).
#[derive(Default)]
struct Enforce {
    require_sasl: Option<(bool, Entry)>,
    enabled: Option<(bool, Entry)>,
    schemes: Option<Entry>,
}

pub fn parse(text: &str) -> Result<ServerConfig, ConfigError> {
    let mut c = ServerConfig::zookeeper_defaults(PathBuf::new());
    let mut explicit = Explicit::default();
    let mut enforce = Enforce::default();
    let mut warnings = Vec::new();

    for e in last_entries(parse_properties(text)) {
        let key = canonical_key(&e.key).to_string();
        match key.as_str() {
            "tickTime" => c.tick_time = number(&e, 1, i32::MAX as u32)?,
            "initLimit" => c.init_limit = number(&e, 0, i32::MAX as u32)?,
            "syncLimit" => c.sync_limit = number(&e, 0, i32::MAX as u32)?,
            "dataDir" => {
                c.data_dir = PathBuf::from(non_empty(&e)?);
                explicit.data_dir = Some(e);
            }
            "dataLogDir" => {
                c.data_log_dir = PathBuf::from(non_empty(&e)?);
                explicit.data_log_dir = Some(e);
            }
            "clientPort" => c.client_port = Some(parse_port(&e.value).map_err(|m| err(&e, m))?),
            "clientPortAddress" => {
                c.client_port_address = Some(ip_address(&e)?);
                explicit.client_port_address = Some(e);
            }
            "secureClientPort" => {
                c.secure_client_port = Some(parse_port(&e.value).map_err(|m| err(&e, m))?)
            }
            "secureClientPortAddress" => c.secure_client_port_address = Some(ip_address(&e)?),
            "client.portUnification" => c.client_port_unification = boolean(&e)?,
            "client.certReload" => c.client_cert_reload = boolean(&e)?,
            "X509AuthenticationProvider.superUser" => c.x509_super_user = Some(non_empty(&e)?),
            "sslQuorum" => c.ssl_quorum = boolean(&e)?,
            "portUnification" => c.quorum_port_unification = boolean(&e)?,
            "sslQuorumReloadCertFiles" => c.quorum_cert_reload = boolean(&e)?,
            k if k.starts_with("ssl.quorum.") => {
                if let Verdict::Refused(why) = verdict(k, &e.value) {
                    return Err(err(&e, why));
                }
                tls_key(
                    &mut c.quorum_tls,
                    &k["ssl.quorum.".len()..],
                    &e,
                    &mut warnings,
                )?;
            }
            k if k.starts_with("ssl.") => {
                if let Verdict::Refused(why) = verdict(k, &e.value) {
                    return Err(err(&e, why));
                }
                tls_key(&mut c.client_tls, &k["ssl.".len()..], &e, &mut warnings)?;
            }
            k if k.starts_with("authProvider.") => {
                if let Verdict::Refused(why) = verdict(k, &e.value) {
                    return Err(err(&e, why));
                }
                match e.value.trim() {
                    X509_PROVIDER => c.x509_auth = true,
                    SASL_PROVIDER => c.sasl_auth = true,
                    _ => {}
                }
            }
            "sasl.serverconfig" => c.sasl_server_section = non_empty(&e)?,
            "rzk.jaasConfigFile" => c.jaas_config_file = Some(PathBuf::from(non_empty(&e)?)),
            k if k == "superUser" || k.starts_with("superUser.") => {
                c.super_users.push(non_empty(&e)?)
            }
            "SASLAuthenticationProvider.superPassword" => {
                c.sasl_super_password = Some(e.value.clone())
            }
            "allowSaslFailedClients" => c.allow_sasl_failed_clients = boolean(&e)?,
            "letAnySaslUserDoX" => c.let_any_sasl_user_do_x = Some(non_empty(&e)?),
            "sessionRequireClientSASLAuth" => enforce.require_sasl = Some((boolean(&e)?, e)),
            "enforce.auth.enabled" => enforce.enabled = Some((boolean(&e)?, e)),
            "enforce.auth.schemes" => enforce.schemes = Some(e),
            "maxClientCnxns" => c.max_client_cnxns = number(&e, 0, i32::MAX as u32)?,
            "minSessionTimeout" => {
                c.min_session_timeout = number(&e, 0, i32::MAX as u32)?;
                explicit.min_session_timeout = Some(e);
            }
            "maxSessionTimeout" => {
                c.max_session_timeout = number(&e, 0, i32::MAX as u32)?;
                explicit.max_session_timeout = Some(e);
            }
            "snapCount" => {
                c.snap_count = number(&e, 0, i64::MAX as u64)?;
                if c.snap_count < MIN_SNAP_COUNT {
                    warnings.push(format!(
                        "zoo.cfg line {}: snapCount {} is too small; using {MIN_SNAP_COUNT} as ZooKeeper does",
                        e.line, c.snap_count
                    ));
                    c.snap_count = MIN_SNAP_COUNT;
                }
            }
            "preAllocSize" => c.pre_alloc_size_kb = number(&e, 1, i64::MAX as u64 / 1024)?,
            "autopurge.snapRetainCount" => {
                c.autopurge_snap_retain_count = number(&e, 0, i32::MAX as u32)?;
                if c.autopurge_snap_retain_count < MIN_SNAP_RETAIN_COUNT {
                    warnings.push(format!(
                        "zoo.cfg line {}: autopurge.snapRetainCount {} is below the minimum; using \
                         {MIN_SNAP_RETAIN_COUNT} as ZooKeeper does",
                        e.line, c.autopurge_snap_retain_count
                    ));
                    c.autopurge_snap_retain_count = MIN_SNAP_RETAIN_COUNT;
                }
            }
            "autopurge.purgeInterval" => {
                c.autopurge_purge_interval = number(&e, 0, i32::MAX as u32)?
            }
            "4lw.commands.whitelist" => c.four_letter_whitelist = whitelist(&e)?,
            "peerType" => c.peer_type = parse_peer_type(&e.value).map_err(|m| err(&e, m))?,
            "standaloneEnabled" => c.standalone_enabled = boolean(&e)?,
            "reconfigEnabled" => c.reconfig_enabled = boolean(&e)?,
            "extendedTypesEnabled" => c.extended_types_enabled = boolean(&e)?,
            "enforceQuota" => c.enforce_quota = boolean(&e)?,
            "readonlymode.enabled" => c.read_only_mode_enabled = boolean(&e)?,
            "globalOutstandingLimit" => {
                c.global_outstanding_limit = number(&e, 1, i32::MAX as u32)?
            }
            "jute.maxbuffer" => c.jute_max_buffer = number(&e, 1, i32::MAX as usize)?,
            "admin.enableServer" => c.admin_enable_server = boolean(&e)?,
            "admin.serverAddress" => c.admin_server_address = ip_address(&e)?.to_string(),
            "admin.serverPort" => {
                c.admin_server_port = parse_port(&e.value).map_err(|m| err(&e, m))?
            }
            "electionAlg" => {
                c.election_alg = number(&e, 0, u32::MAX)?;
                if c.election_alg != 3 {
                    return Err(err(&e, "invalid electionAlg value; only 3 is supported"));
                }
            }
            "leaderServes" => {
                c.leader_serves = match e.value.to_ascii_lowercase().as_str() {
                    "yes" | "true" => true,
                    "no" | "false" => false,
                    _ => {
                        return Err(err(
                            &e,
                            format!("invalid option '{}'; choose 'yes' or 'no'", e.value),
                        ))
                    }
                }
            }
            "cnxTimeout" => c.cnx_timeout = number(&e, 1, i32::MAX as u32)?,
            "quorumListenOnAllIPs" => c.quorum_listen_on_all_ips = boolean(&e)?,
            "superDigest" => {
                let v = non_empty(&e)?;
                if !v.contains(':') || v.starts_with(':') || v.ends_with(':') {
                    return Err(err(
                        &e,
                        "must have the form user:base64(sha1(user:password))",
                    ));
                }
                c.super_digest = Some(v);
            }
            "znode.container.checkIntervalMs" => {
                c.container_check_interval_ms = number(&e, 1, i32::MAX as u32)?
            }
            "nio.sessionlessCnxnTimeout" => {
                c.sessionless_cnxn_timeout = number(&e, 1, i32::MAX as u32)?
            }
            "rzk.pollSpinMicros" => c.poll_spin_micros = number(&e, 0, MAX_POLL_SPIN_MICROS)?,
            "rzk.recordDir" => c.record.dir = Some(PathBuf::from(non_empty(&e)?)),
            "rzk.recordMaxMB" => c.record.max_mb = number(&e, 1, 1 << 30)?,
            "rzk.recordMaxAgeHours" => c.record.max_age_hours = number(&e, 0, 1 << 20)?,
            "rzk.recordSegmentMB" => c.record.segment_mb = number(&e, 1, 1 << 20)?,
            "rzk.recordQueueMB" => c.record.queue_mb = number(&e, 1, 1 << 20)?,
            "rzk.recordRedact" => c.record.redact = boolean(&e)?,
            "dynamicConfigFile" => {
                return Err(err(
                    &e,
                    "dynamic config files are not supported; put server.N lines in zoo.cfg",
                ))
            }
            k if k.starts_with("server.") => {
                let id = parse_server_id(k).map_err(|m| err(&e, m))?;
                c.servers
                    .push(parse_server_spec(id, &e.value).map_err(|m| err(&e, m))?);
            }
            k if k.starts_with("group.") || k.starts_with("weight.") => {
                return Err(err(
                    &e,
                    "hierarchical quorums (group.N / weight.N) are not supported",
                ))
            }
            k => match (verdict(k, &e.value), ignored_reason(k)) {
                (Verdict::Refused(why), _) => return Err(err(&e, why)),
                (Verdict::Accepted, _) => {}
                (Verdict::NotSecurity, Some(reason)) => warnings.push(ignored_warning(&e, reason)),
                (Verdict::NotSecurity, None) => warnings.push(format!(
                    "zoo.cfg line {}: unknown key '{}' (ignored)",
                    e.line, e.key
                )),
            },
        }
    }
    c.servers.sort_by_key(|s| s.id);

    // Cross-key rules, in QuorumPeerConfig's order.
    match &explicit.data_dir {
        None => return Err(missing("dataDir", "dataDir is not set")),
        Some(_) if explicit.data_log_dir.is_none() => c.data_log_dir = c.data_dir.clone(),
        Some(_) => {}
    }
    if let (Some(a), None) = (&explicit.client_port_address, c.client_port) {
        return Err(err(a, "clientPortAddress is set but clientPort is not set"));
    }
    if explicit.min_session_timeout.is_none() {
        c.min_session_timeout = c.tick_time.saturating_mul(2);
    }
    if explicit.max_session_timeout.is_none() {
        c.max_session_timeout = c.tick_time.saturating_mul(20);
    }
    if c.min_session_timeout > c.max_session_timeout {
        let at = explicit
            .min_session_timeout
            .as_ref()
            .or(explicit.max_session_timeout.as_ref());
        let message = format!(
            "minSessionTimeout ({}) must not be larger than maxSessionTimeout ({})",
            c.min_session_timeout, c.max_session_timeout
        );
        return Err(match at {
            Some(e) => ConfigError {
                line: e.line,
                key: "minSessionTimeout".into(),
                message,
            },
            None => missing("minSessionTimeout", message),
        });
    }
    check_quorum(&mut c, &mut warnings)?;
    check_client_tls(&mut c)?;
    check_quorum_tls(&c)?;
    check_enforce_auth(&mut c, enforce)?;
    c.warnings = warnings;
    Ok(c)
}

const X509_PROVIDER: &str = "org.apache.zookeeper.server.auth.X509AuthenticationProvider";
const SASL_PROVIDER: &str = "org.apache.zookeeper.server.auth.SASLAuthenticationProvider";

/// AuthenticationHelper: `sessionRequireClientSASLAuth=true` means `sasl` is required (and the enforce.auth
/// keys are not read); else `enforce.auth.enabled=true` requires one of `enforce.auth.schemes`. Each scheme
/// needs its provider, or startup stops, as in ZooKeeper.
fn check_enforce_auth(c: &mut ServerConfig, enforce: Enforce) -> Result<(), ConfigError> {
    let (schemes, at) = match (&enforce.require_sasl, &enforce.enabled) {
        (Some((true, e)), _) => (vec!["sasl".to_string()], e.clone()),
        (_, Some((true, e))) => {
            let listed = enforce
                .schemes
                .as_ref()
                .map(|s| tls::list(&s.value))
                .unwrap_or_default();
            if listed.is_empty() {
                return Err(err(
                    e,
                    "enforce.auth.enabled=true needs enforce.auth.schemes (e.g. sasl)",
                ));
            }
            (listed, enforce.schemes.clone().unwrap_or_else(|| e.clone()))
        }
        _ => return Ok(()),
    };
    for scheme in &schemes {
        let provided = match scheme.as_str() {
            "ip" | "digest" => true,
            "x509" => c.x509_auth,
            "sasl" => c.sasl_auth,
            _ => false,
        };
        if !provided {
            return Err(err(
                &at,
                format!(
                    "authentication scheme '{scheme}' is required but has no provider (add \
                     authProvider.N=org.apache.zookeeper.server.auth.{}AuthenticationProvider)",
                    match scheme.as_str() {
                        "sasl" => "SASL",
                        "x509" => "X509",
                        _ => "<Name>",
                    }
                ),
            ));
        }
    }
    c.enforce_auth_schemes = schemes;
    Ok(())
}

/// One `ssl.<name>` key of a listener's TLS settings.
fn tls_key(
    t: &mut TlsSettings,
    name: &str,
    e: &Entry,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let store = |s: &mut Option<StoreConfig>| {
        s.get_or_insert_with(|| StoreConfig {
            location: PathBuf::new(),
            password: None,
            password_path: None,
            store_type: None,
        })
        .clone()
    };
    match name {
        "keyStore.location" | "trustStore.location" => {
            let slot = if name.starts_with("key") {
                &mut t.key_store
            } else {
                &mut t.trust_store
            };
            let mut s = store(slot);
            s.location = PathBuf::from(non_empty(e)?);
            *slot = Some(s);
        }
        "keyStore.password" | "trustStore.password" => {
            let slot = if name.starts_with("key") {
                &mut t.key_store
            } else {
                &mut t.trust_store
            };
            let mut s = store(slot);
            s.password = Some(e.value.clone());
            *slot = Some(s);
        }
        "keyStore.passwordPath" | "trustStore.passwordPath" => {
            let slot = if name.starts_with("key") {
                &mut t.key_store
            } else {
                &mut t.trust_store
            };
            let mut s = store(slot);
            s.password_path = Some(PathBuf::from(non_empty(e)?));
            *slot = Some(s);
        }
        "keyStore.type" | "trustStore.type" => {
            let slot = if name.starts_with("key") {
                &mut t.key_store
            } else {
                &mut t.trust_store
            };
            let mut s = store(slot);
            s.store_type = Some(StoreType::parse(&e.value).ok_or_else(|| {
                err(
                    e,
                    format!(
                        "'{}' is not a store type (PEM, PKCS12, JKS or BCFKS)",
                        e.value
                    ),
                )
            })?);
            *slot = Some(s);
        }
        "clientAuth" => {
            t.client_auth = if e.value.is_empty() {
                ClientAuth::Need
            } else {
                ClientAuth::parse(&e.value).ok_or_else(|| {
                    err(e, format!("'{}' is not one of need, want, none", e.value))
                })?
            }
        }
        "protocol" => t.protocol = non_empty(e)?,
        "enabledProtocols" => t.enabled_protocols = Some(tls::list(&e.value)),
        "ciphersuites" => t.cipher_suites = Some(tls::list(&e.value)),
        "hostnameVerification" => t.hostname_verification = boolean(e)?,
        "handshakeDetectionTimeoutMillis" => {
            let ms: i64 = e
                .value
                .trim()
                .parse()
                .map_err(|_| err(e, format!("'{}' is not a number", e.value)))?;
            // As ZooKeeper: below 1 is replaced by the default, with a warning.
            if ms < 1 {
                warnings.push(format!(
                    "zoo.cfg line {}: {} {ms} is invalid; using the default {} ms as ZooKeeper does",
                    e.line,
                    e.key,
                    TlsSettings::default().handshake_detection_timeout_ms
                ));
            } else {
                t.handshake_detection_timeout_ms = u32::try_from(ms).unwrap_or(u32::MAX);
            }
        }
        // Refused unless false (the security table); false asks for nothing.
        "crl" | "ocsp" => {}
        "authProvider" => {}
        _ => warnings.push(format!(
            "zoo.cfg line {}: unknown TLS key '{}' (ignored)",
            e.line, e.key
        )),
    }
    Ok(())
}

/// Quorum TLS is mutual: each server shows its certificate and checks the other's, so both stores are
/// needed (ZooKeeper fails every quorum connection without them; rzk says so at startup).
fn check_quorum_tls(c: &ServerConfig) -> Result<(), ConfigError> {
    if !c.quorum_tls_enabled() || c.servers.is_empty() {
        return Ok(());
    }
    let wants = if c.ssl_quorum {
        "sslQuorum"
    } else {
        "portUnification"
    };
    let t = &c.quorum_tls;
    for (key, store) in [
        ("ssl.quorum.keyStore.location", &t.key_store),
        ("ssl.quorum.trustStore.location", &t.trust_store),
    ] {
        if store
            .as_ref()
            .is_none_or(|s| s.location.as_os_str().is_empty())
        {
            return Err(missing(
                key,
                format!("{wants}=true needs {key} (servers verify each other's certificates)"),
            ));
        }
    }
    Ok(())
}

/// A TLS client listener needs a key store (ZooKeeper fails its first handshake without one; rzk says so
/// at startup).
fn check_client_tls(c: &mut ServerConfig) -> Result<(), ConfigError> {
    if c.secure_client_port_address.is_some() && c.secure_client_port.is_none() {
        return Err(missing(
            "secureClientPortAddress",
            "secureClientPortAddress is set but secureClientPort is not set",
        ));
    }
    // QuorumPeerConfig.configureSSLAuth: a secure client port registers the x509 provider.
    if c.secure_client_port.is_some() {
        c.x509_auth = true;
    }
    if !c.client_tls_enabled() {
        return Ok(());
    }
    let wants = if c.secure_client_port.is_some() {
        "secureClientPort"
    } else {
        "client.portUnification"
    };
    if c.client_tls
        .key_store
        .as_ref()
        .is_none_or(|s| s.location.as_os_str().is_empty())
    {
        return Err(missing(
            "ssl.keyStore.location",
            format!("{wants} needs ssl.keyStore.location (the server's key and certificate)"),
        ));
    }
    if c.client_tls
        .trust_store
        .as_ref()
        .is_some_and(|s| s.location.as_os_str().is_empty())
    {
        return Err(missing(
            "ssl.trustStore.location",
            "ssl.trustStore.password or .type is set but ssl.trustStore.location is not",
        ));
    }
    if c.client_tls.client_auth != ClientAuth::None && c.client_tls.trust_store.is_none() {
        return Err(missing(
            "ssl.trustStore.location",
            format!(
                "{wants} with ssl.clientAuth={} needs ssl.trustStore.location to verify client \
                 certificates (ZooKeeper would fall back to the JDK's public CAs; rzk does not); set \
                 ssl.clientAuth=none to accept clients without certificates",
                match c.client_tls.client_auth {
                    ClientAuth::Need => "need (the default)",
                    _ => "want",
                }
            ),
        ));
    }
    Ok(())
}

/// QuorumPeerConfig.parseDynamicConfig and checkValidity: the server list must make sense.
fn check_quorum(c: &mut ServerConfig, warnings: &mut Vec<String>) -> Result<(), ConfigError> {
    let participants = c.voting_members();
    let observers = c.servers.len() - participants;
    if participants == 0 {
        if !c.standalone_enabled {
            return Err(missing(
                "standaloneEnabled",
                "standaloneEnabled=false needs at least one participant server",
            ));
        }
        if observers > 0 {
            return Err(missing(
                "server.N",
                "observers without participants is an invalid configuration",
            ));
        }
    } else if participants == 1 && c.standalone_enabled {
        if observers > 0 {
            return Err(missing(
                "server.N",
                "observers without a quorum is an invalid configuration",
            ));
        }
        warnings
            .push("zoo.cfg: only one server is listed, so this server runs standalone".to_string());
    } else if participants <= 2 {
        warnings.push(
            "zoo.cfg: no server failure will be tolerated; you need at least 3 servers".to_string(),
        );
    } else if participants & 1 == 0 {
        warnings.push(
            "zoo.cfg: non-optimal configuration, consider an odd number of servers".to_string(),
        );
    }
    if c.is_distributed() {
        if c.init_limit == 0 {
            return Err(missing("initLimit", "initLimit is not set"));
        }
        if c.sync_limit == 0 {
            return Err(missing("syncLimit", "syncLimit is not set"));
        }
    }
    // A TLS-only server (secureClientPort and no clientPort) is fine, as in ZooKeeper.
    let any_client_port = c.client_port.is_some()
        || c.secure_client_port.is_some()
        || c.servers.iter().any(|s| s.client_port.is_some());
    if !any_client_port {
        return Err(missing(
            "clientPort",
            "clientPort is not set (nor a client port on any server.N line)",
        ));
    }
    Ok(())
}

fn ignored_warning(e: &Entry, reason: &str) -> String {
    format!(
        "zoo.cfg line {}: {} is accepted for ZooKeeper compatibility but ignored: {reason}",
        e.line, e.key
    )
}
