use super::*;
use crate::proto::FourLetterWord;
use proptest::prelude::*;

fn parse(text: &str) -> ServerConfig {
    match ServerConfig::parse(text) {
        Ok(c) => c,
        Err(e) => panic!("{e}\n{text}"),
    }
}

fn parse_err(text: &str) -> ConfigError {
    match ServerConfig::parse(text) {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => e,
    }
}

const MINIMAL: &str = "dataDir=/var/lib/zk\nclientPort=2181\n";

#[test]
fn sample_cfg_is_the_default_standalone_config() {
    assert_eq!(
        parse(include_str!("../../../conf/zoo_sample.cfg")),
        ServerConfig::default_standalone()
    );
}

#[test]
fn three_node_examples_form_one_ensemble_on_loopback() {
    let files = [
        include_str!("../../../conf/zoo-3node/zoo1.cfg"),
        include_str!("../../../conf/zoo-3node/zoo2.cfg"),
        include_str!("../../../conf/zoo-3node/zoo3.cfg"),
    ];
    let configs: Vec<ServerConfig> = files.iter().map(|f| parse(f)).collect();
    for (i, c) in configs.iter().enumerate() {
        let id = i as u64 + 1;
        assert!(c.is_distributed());
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(c.servers, configs[0].servers, "server lines must agree");
        assert_eq!(c.client_port_for(id), Some(2180 + id as u16));
        assert_eq!(c.data_dir, PathBuf::from(format!("./data/zk{id}")));
        assert_eq!(c.client_port_address, Some(IpAddr::from([127, 0, 0, 1])));
    }
    let ports: Vec<(u16, u16)> = configs[0]
        .servers
        .iter()
        .map(|s| (s.quorum_port, s.election_port))
        .collect();
    assert_eq!(ports, vec![(2888, 3888), (2889, 3889), (2890, 3890)]);
    assert!(configs[0].servers.iter().all(|s| s.host == "127.0.0.1"));
}

#[test]
fn unset_keys_take_zookeepers_defaults() {
    let c = parse(MINIMAL);
    let expected = ServerConfig {
        client_port: Some(2181),
        ..ServerConfig::zookeeper_defaults(PathBuf::from("/var/lib/zk"))
    };
    assert_eq!(c, expected);
    assert_eq!(c.tick_time, 2000);
    assert_eq!(c.max_client_cnxns, 60);
    assert_eq!(
        (c.min_session_timeout, c.max_session_timeout),
        (4000, 40_000)
    );
    assert_eq!(c.snap_count, 100_000);
    assert_eq!(c.pre_alloc_size_kb, 65_536);
    assert_eq!(
        (c.autopurge_snap_retain_count, c.autopurge_purge_interval),
        (3, 0)
    );
    assert_eq!(
        c.four_letter_whitelist,
        FourLetterWhitelist::Only(vec![FourLetterWord::Srvr])
    );
    assert!(
        c.standalone_enabled
            && !c.reconfig_enabled
            && !c.extended_types_enabled
            && !c.read_only_mode_enabled
    );
    assert_eq!(
        (c.global_outstanding_limit, c.jute_max_buffer),
        (1000, 0xfffff)
    );
    assert!(c.admin_enable_server);
    assert_eq!(
        (c.admin_server_address.as_str(), c.admin_server_port),
        ("0.0.0.0", 8080)
    );
    assert_eq!(
        (
            c.election_alg,
            c.leader_serves,
            c.cnx_timeout,
            c.quorum_listen_on_all_ips
        ),
        (3, true, 5000, false)
    );
    assert_eq!(c.data_log_dir, PathBuf::from("/var/lib/zk"));
    assert_eq!(c.container_check_interval_ms, 60_000);
    assert_eq!(
        (c.peer_type, c.super_digest.clone(), c.client_port_address),
        (PeerType::Participant, None, None)
    );
}

#[test]
fn every_supported_key_is_read() {
    let c = parse(
        "tickTime=1000\ninitLimit=7\nsyncLimit=3\ndataDir=/d\ndataLogDir=/l\nclientPort=2999\nclientPortAddress=::1\n\
         maxClientCnxns=0\nminSessionTimeout=1500\nmaxSessionTimeout=90000\nsnapCount=5000\npreAllocSize=1024\n\
         autopurge.snapRetainCount=5\nautopurge.purgeInterval=24\n4lw.commands.whitelist=ruok,mntr\n\
         peerType=observer\nstandaloneEnabled=false\nreconfigEnabled=TRUE\nextendedTypesEnabled=true\n\
         readonlymode.enabled=true\nglobalOutstandingLimit=50\njute.maxbuffer=0x400000\nadmin.enableServer=false\n\
         admin.serverAddress=127.0.0.1\nadmin.serverPort=9090\nelectionAlg=3\nleaderServes=no\ncnxTimeout=900\n\
         quorumListenOnAllIPs=true\nsuperDigest=super:abc=\nznode.container.checkIntervalMs=500\n\
         server.1=h1:2888:3888\n",
    );
    assert_eq!((c.tick_time, c.init_limit, c.sync_limit), (1000, 7, 3));
    assert_eq!(
        (&c.data_dir, &c.data_log_dir),
        (&PathBuf::from("/d"), &PathBuf::from("/l"))
    );
    assert_eq!(
        (c.client_port, c.client_port_address),
        (Some(2999), Some("::1".parse().unwrap()))
    );
    assert_eq!(
        (
            c.max_client_cnxns,
            c.min_session_timeout,
            c.max_session_timeout
        ),
        (0, 1500, 90_000)
    );
    assert_eq!((c.snap_count, c.pre_alloc_size_kb), (5000, 1024));
    assert_eq!(
        (c.autopurge_snap_retain_count, c.autopurge_purge_interval),
        (5, 24)
    );
    assert_eq!(
        c.four_letter_whitelist,
        FourLetterWhitelist::Only(vec![FourLetterWord::Ruok, FourLetterWord::Mntr])
    );
    assert_eq!(c.peer_type, PeerType::Observer);
    assert!(
        !c.standalone_enabled
            && c.reconfig_enabled
            && c.extended_types_enabled
            && c.read_only_mode_enabled
    );
    assert_eq!(
        (c.global_outstanding_limit, c.jute_max_buffer),
        (50, 0x400000)
    );
    assert!(!c.admin_enable_server);
    assert_eq!(
        (c.admin_server_address.as_str(), c.admin_server_port),
        ("127.0.0.1", 9090)
    );
    assert_eq!(
        (
            c.election_alg,
            c.leader_serves,
            c.cnx_timeout,
            c.quorum_listen_on_all_ips
        ),
        (3, false, 900, true)
    );
    assert_eq!(c.super_digest.as_deref(), Some("super:abc="));
    assert_eq!(c.container_check_interval_ms, 500);
    assert_eq!(c.servers.len(), 1);
    assert!(
        c.is_distributed(),
        "standaloneEnabled=false makes even one server an ensemble"
    );
}

#[test]
fn session_timeouts_follow_tick_time_unless_set() {
    let c = parse(&format!("{MINIMAL}tickTime=3000\n"));
    assert_eq!(
        (c.min_session_timeout, c.max_session_timeout),
        (6000, 60_000)
    );
    let c = parse(&format!("{MINIMAL}tickTime=3000\nmaxSessionTimeout=7000\n"));
    assert_eq!((c.min_session_timeout, c.max_session_timeout), (6000, 7000));
}

#[test]
fn min_session_timeout_above_max_is_an_error_at_its_line() {
    let e = parse_err(&format!(
        "{MINIMAL}minSessionTimeout=50000\nmaxSessionTimeout=40000\n"
    ));
    assert_eq!((e.line, e.key.as_str()), (3, "minSessionTimeout"));
    assert!(
        e.message
            .contains("must not be larger than maxSessionTimeout"),
        "{e}"
    );
    // A max below the tickTime-derived min is reported at the max's line.
    let e = parse_err(&format!("{MINIMAL}maxSessionTimeout=1000\n"));
    assert_eq!((e.line, e.key.as_str()), (3, "minSessionTimeout"));
}

#[test]
fn later_keys_override_earlier_ones() {
    let c = parse("dataDir=/a\nclientPort=1\ntickTime=100\ndataDir=/b\nclientPort=2\n");
    assert_eq!((c.data_dir, c.client_port), (PathBuf::from("/b"), Some(2)));
    // An earlier bad value that is overridden does not matter, as in java.util.Properties.
    assert_eq!(
        parse("tickTime=x\ntickTime=10\ndataDir=/a\nclientPort=1\n").tick_time,
        10
    );
}

#[test]
fn aliases_of_one_setting_override_each_other_in_file_order() {
    let c = parse(&format!("{MINIMAL}zookeeper.snapCount=10\nsnapCount=20\n"));
    assert_eq!(c.snap_count, 20);
    let c = parse(&format!(
        "{MINIMAL}superDigest=a:b\nzookeeper.DigestAuthenticationProvider.superDigest=super:x\n"
    ));
    assert_eq!(c.super_digest.as_deref(), Some("super:x"));
    let c = parse(&format!(
        "{MINIMAL}DigestAuthenticationProvider.superDigest=super:y\n"
    ));
    assert_eq!(c.super_digest.as_deref(), Some("super:y"));
    let c = parse(&format!(
        "{MINIMAL}zookeeper.4lw.commands.whitelist=*\nzookeeper.extendedTypesEnabled=true\n"
    ));
    assert_eq!(c.four_letter_whitelist, FourLetterWhitelist::All);
    assert!(c.extended_types_enabled);
}

#[test]
fn properties_syntax_variants_are_accepted() {
    let c = parse("# comment\n! another\n  dataDir : /x \nclientPort 2182\ntickTime\t=\t500\n");
    assert_eq!(
        (c.data_dir, c.client_port, c.tick_time),
        (PathBuf::from("/x"), Some(2182), 500)
    );
}

#[test]
fn data_log_dir_defaults_to_data_dir() {
    assert_eq!(parse(MINIMAL).data_log_dir, PathBuf::from("/var/lib/zk"));
    assert_eq!(
        parse(&format!("{MINIMAL}dataLogDir=/fast\n")).data_log_dir,
        PathBuf::from("/fast")
    );
}

#[test]
fn data_dir_is_required() {
    let e = parse_err("clientPort=2181\n");
    assert_eq!(
        (e.line, e.key.as_str(), e.message.as_str()),
        (0, "dataDir", "dataDir is not set")
    );
    assert_eq!(e.to_string(), "zoo.cfg: dataDir: dataDir is not set");
    let e = parse_err("dataDir=\nclientPort=2181\n");
    assert_eq!((e.line, e.key.as_str()), (1, "dataDir"));
}

#[test]
fn client_port_is_required_unless_a_server_line_has_one() {
    let e = parse_err("dataDir=/d\n");
    assert_eq!(e.key, "clientPort");
    let c = parse("dataDir=/d\ninitLimit=5\nsyncLimit=2\nserver.1=a:1:2;2181\nserver.2=b:1:2;2181\nserver.3=c:1:2;2181\n");
    assert_eq!(c.client_port, None);
    assert_eq!(c.client_port_for(2), Some(2181));
}

#[test]
fn client_port_address_needs_client_port() {
    let c = parse_err("dataDir=/d\nclientPortAddress=127.0.0.1\nserver.1=a:1:2;5\n");
    assert_eq!((c.line, c.key.as_str()), (2, "clientPortAddress"));
    assert!(c.message.contains("clientPort is not set"));
}

#[test]
fn bad_listen_addresses_are_errors() {
    let e = parse_err(&format!("{MINIMAL}clientPortAddress=zk.example\n"));
    assert_eq!((e.line, e.key.as_str()), (3, "clientPortAddress"));
    assert_eq!(
        parse(&format!("{MINIMAL}clientPortAddress=localhost\n")).client_port_address,
        Some([127, 0, 0, 1].into())
    );
}

#[test]
fn non_numeric_values_are_errors_naming_key_and_line() {
    let e = parse_err(&format!("{MINIMAL}\n\ntickTime=fast\n"));
    assert_eq!((e.line, e.key.as_str()), (5, "tickTime"));
    assert!(e.message.contains("'fast' is not a number"), "{e}");
    assert_eq!(
        e.to_string(),
        "zoo.cfg line 5: tickTime: 'fast' is not a number"
    );
}

#[test]
fn negative_values_are_errors() {
    for key in [
        "maxClientCnxns",
        "minSessionTimeout",
        "snapCount",
        "autopurge.purgeInterval",
        "initLimit",
    ] {
        let e = parse_err(&format!("{MINIMAL}{key}=-5\n"));
        assert_eq!((e.line, e.key.as_str()), (3, key));
        assert!(e.message.contains("must not be negative"), "{key}: {e}");
    }
}

#[test]
fn out_of_range_values_are_errors() {
    for (text, key) in [
        ("tickTime=0", "tickTime"),
        ("clientPort=70000", "clientPort"),
        ("clientPort=0", "clientPort"),
        ("maxClientCnxns=99999999999", "maxClientCnxns"),
        ("globalOutstandingLimit=0", "globalOutstandingLimit"),
        ("preAllocSize=0", "preAllocSize"),
        ("jute.maxbuffer=0x100000000", "jute.maxbuffer"),
        ("admin.serverPort=65536", "admin.serverPort"),
        ("cnxTimeout=0", "cnxTimeout"),
    ] {
        let e = parse_err(&format!("dataDir=/d\nclientPort=1\n{text}\n"));
        assert_eq!((e.line, e.key.as_str()), (3, key), "{text}: {e}");
    }
}

#[test]
fn booleans_must_be_true_or_false() {
    let e = parse_err(&format!("{MINIMAL}standaloneEnabled=yes\n"));
    assert_eq!((e.line, e.key.as_str()), (3, "standaloneEnabled"));
    assert!(e.message.contains("choose 'true' or 'false'"));
    let e = parse_err(&format!("{MINIMAL}leaderServes=maybe\n"));
    assert_eq!(e.key, "leaderServes");
    assert!(parse(&format!("{MINIMAL}leaderServes=YES\n")).leader_serves);
}

#[test]
fn only_election_algorithm_3_exists() {
    let e = parse_err(&format!("{MINIMAL}electionAlg=0\n"));
    assert_eq!((e.line, e.key.as_str()), (3, "electionAlg"));
    assert!(e.message.contains("only 3 is supported"));
}

#[test]
fn whitelist_is_a_comma_list_of_words_or_star() {
    let c = parse(&format!(
        "{MINIMAL}4lw.commands.whitelist= stat , ruok,,stat \n"
    ));
    assert_eq!(
        c.four_letter_whitelist,
        FourLetterWhitelist::Only(vec![FourLetterWord::Stat, FourLetterWord::Ruok])
    );
    let c = parse(&format!("{MINIMAL}4lw.commands.whitelist=stat, *\n"));
    assert_eq!(c.four_letter_whitelist, FourLetterWhitelist::All);
    let c = parse(&format!("{MINIMAL}4lw.commands.whitelist=\n"));
    assert_eq!(c.four_letter_whitelist, FourLetterWhitelist::Only(vec![]));
}

#[test]
fn unknown_whitelist_entries_are_errors() {
    let e = parse_err(&format!("{MINIMAL}4lw.commands.whitelist=stat,stats\n"));
    assert_eq!((e.line, e.key.as_str()), (3, "4lw.commands.whitelist"));
    assert!(e.message.contains("'stats'"), "{e}");
}

#[test]
fn unknown_keys_are_warnings_not_errors() {
    let c = parse(&format!("{MINIMAL}tikcTime=1000\n"));
    assert_eq!(
        c.warnings,
        vec!["zoo.cfg line 3: unknown key 'tikcTime' (ignored)".to_string()]
    );
    assert_eq!(c.tick_time, 2000);
}

#[test]
fn zookeeper_keys_rzk_ignores_are_warnings_saying_ignored() {
    let c = parse(&format!(
        "{MINIMAL}metricsProvider.className=x.Y\nsslQuorum=false\nlocalSessionsEnabled=true\n"
    ));
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    assert!(
        c.warnings.iter().all(|w| w.contains("ignored")),
        "{:?}",
        c.warnings
    );
    assert!(c.warnings[0].starts_with("zoo.cfg line 3: metricsProvider.className"));
}

#[test]
fn security_keys_asking_for_protection_stop_startup_at_their_line() {
    let e = parse_err(&format!(
        "{MINIMAL}tickTime=2000\nquorum.auth.enableSasl=true\n"
    ));
    assert_eq!((e.line, e.key.as_str()), (4, "quorum.auth.enableSasl"));
    assert!(e.message.contains("asks for protection"), "{e}");
    let e = parse_err(&format!("{MINIMAL}secureClientPort=2281\nssl.crl=true\n"));
    assert_eq!((e.line, e.key.as_str()), (4, "ssl.crl"));
    let e = parse_err(&format!(
        "{MINIMAL}zookeeper.authProvider.1=org.example.KerberosOnlyProvider\n"
    ));
    assert_eq!(e.key, "zookeeper.authProvider.1");
    // A bad port is still reported as a bad port.
    assert!(parse_err(&format!("{MINIMAL}secureClientPort=x\n"))
        .message
        .contains("x"));
}

#[test]
fn security_keys_asking_for_nothing_start_quietly() {
    let c = parse(&format!(
        "{MINIMAL}sslQuorum=false\nquorum.auth.enableSasl=false\nssl.keyStore.location=/k.jks\n\
         authProvider.1=org.apache.zookeeper.server.auth.DigestAuthenticationProvider\n"
    ));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn client_tls_keys_are_read_with_zookeepers_defaults() {
    use crate::config::tls::{ClientAuth, StoreType};
    let c = parse(&format!(
        "{MINIMAL}secureClientPort=2281\nsecureClientPortAddress=127.0.0.1\n\
         zookeeper.ssl.keyStore.location=/etc/zk/server.pem\nssl.keyStore.password=kp\n\
         ssl.trustStore.location=/etc/zk/ca.p12\nssl.trustStore.type=pkcs12\n\
         ssl.trustStore.passwordPath=/etc/zk/tp\n\
         zookeeper.authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider\n\
         zookeeper.X509AuthenticationProvider.superUser=CN=admin\nclient.certReload=true\n"
    ));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.secure_client_port, Some(2281));
    assert_eq!(c.secure_client_port_address, Some([127, 0, 0, 1].into()));
    assert!(c.client_tls_enabled() && c.x509_auth && c.client_cert_reload);
    assert_eq!(c.x509_super_user.as_deref(), Some("CN=admin"));
    let t = &c.client_tls;
    let ks = t.key_store.as_ref().unwrap();
    assert_eq!(ks.location, std::path::PathBuf::from("/etc/zk/server.pem"));
    assert_eq!(ks.password.as_deref(), Some("kp"));
    let ts = t.trust_store.as_ref().unwrap();
    assert_eq!(ts.store_type, Some(StoreType::Pkcs12));
    assert_eq!(
        ts.password_path,
        Some(std::path::PathBuf::from("/etc/zk/tp"))
    );
    // ZooKeeper's defaults: clientAuth need, TLSv1.2 only, hostname verification on.
    assert_eq!(t.client_auth, ClientAuth::Need);
    assert_eq!(t.protocols(), vec!["TLSv1.2".to_string()]);
    assert!(t.hostname_verification);

    let c = parse(&format!(
        "{MINIMAL}client.portUnification=true\nssl.keyStore.location=/k.pem\nssl.clientAuth=none\n\
         ssl.enabledProtocols=TLSv1.3, TLSv1.2\nssl.ciphersuites=TLS_AES_128_GCM_SHA256\n"
    ));
    assert!(c.client_tls_enabled() && c.secure_client_port.is_none());
    assert_eq!(c.client_tls.client_auth, ClientAuth::None);
    assert_eq!(c.client_tls.protocols(), vec!["TLSv1.3", "TLSv1.2"]);
    assert_eq!(
        c.client_tls.cipher_suites,
        Some(vec!["TLS_AES_128_GCM_SHA256".to_string()])
    );
}

#[test]
fn quorum_tls_keys_are_read_and_need_both_stores() {
    let ensemble = "tickTime=2000\ninitLimit=5\nsyncLimit=2\ndataDir=/tmp/x\nclientPort=2181\n\
        server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\nserver.3=127.0.0.1:2890:3890\n";
    let c = parse(&format!(
        "{ensemble}sslQuorum=true\nportUnification=true\nsslQuorumReloadCertFiles=true\n\
         ssl.quorum.keyStore.location=/q.pem\nzookeeper.ssl.quorum.trustStore.location=/ca.pem\n\
         ssl.quorum.hostnameVerification=false\nssl.quorum.protocol=TLSv1.3\n"
    ));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert!(c.ssl_quorum && c.quorum_port_unification && c.quorum_cert_reload);
    assert!(c.quorum_tls_enabled() && !c.client_tls_enabled());
    assert!(!c.quorum_tls.hostname_verification);
    assert_eq!(c.quorum_tls.protocols(), vec!["TLSv1.3"]);
    assert_eq!(
        c.quorum_tls
            .trust_store
            .as_ref()
            .map(|s| s.location.clone()),
        Some(std::path::PathBuf::from("/ca.pem"))
    );
    // The client listener's settings are apart.
    assert!(c.client_tls.key_store.is_none());
    let e = ServerConfig::parse(&format!(
        "{ensemble}sslQuorum=true\nssl.quorum.keyStore.location=/q.pem\n"
    ))
    .unwrap_err();
    assert_eq!(e.key, "ssl.quorum.trustStore.location");
    let e = ServerConfig::parse(&format!("{ensemble}portUnification=true\n")).unwrap_err();
    assert_eq!(e.key, "ssl.quorum.keyStore.location");
}

#[test]
fn sasl_keys_are_read_and_required_schemes_need_their_provider() {
    let c = parse(&format!(
        "{MINIMAL}authProvider.sasl=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n\
         sessionRequireClientSASLAuth=true\nzookeeper.superUser=admin\nsuperUser.ops=root\n\
         SASLAuthenticationProvider.superPassword=pw\nallowSaslFailedClients=true\n\
         letAnySaslUserDoX=anyone\nsasl.serverconfig=ZkServer\nrzk.jaasConfigFile=/etc/zk/jaas.conf\n"
    ));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert!(c.sasl_auth && c.allow_sasl_failed_clients);
    assert_eq!(c.enforce_auth_schemes, vec!["sasl"]);
    assert_eq!(c.super_users, vec!["admin", "root"]);
    assert_eq!(c.sasl_super_password.as_deref(), Some("pw"));
    assert_eq!(c.let_any_sasl_user_do_x.as_deref(), Some("anyone"));
    assert_eq!(c.sasl_server_section, "ZkServer");
    assert_eq!(
        c.jaas_config_file,
        Some(std::path::PathBuf::from("/etc/zk/jaas.conf"))
    );
    // enforce.auth.* (sessionRequireClientSASLAuth wins when both are set).
    let c = parse(&format!(
        "{MINIMAL}enforce.auth.enabled=true\nenforce.auth.schemes=digest, ip\n"
    ));
    assert_eq!(c.enforce_auth_schemes, vec!["digest", "ip"]);
    let e = parse_err(&format!("{MINIMAL}enforce.auth.enabled=true\n"));
    assert!(e.message.contains("enforce.auth.schemes"), "{e}");
    let e = parse_err(&format!("{MINIMAL}sessionRequireClientSASLAuth=true\n"));
    assert!(e.message.contains("SASLAuthenticationProvider"), "{e}");
    let e = parse_err(&format!(
        "{MINIMAL}enforce.auth.enabled=true\nenforce.auth.schemes=x509\n"
    ));
    assert!(e.message.contains("'x509'"), "{e}");
    assert!(parse(&format!("{MINIMAL}enforce.auth.enabled=false\n"))
        .enforce_auth_schemes
        .is_empty());
}

#[test]
fn a_tls_listener_without_its_stores_is_refused() {
    let e = parse_err(&format!("{MINIMAL}secureClientPort=2281\n"));
    assert_eq!(e.key, "ssl.keyStore.location");
    let e = parse_err(&format!(
        "{MINIMAL}secureClientPort=2281\nssl.keyStore.location=/k.pem\n"
    ));
    assert_eq!(e.key, "ssl.trustStore.location");
    assert!(e.message.contains("ssl.clientAuth=none"), "{e}");
    let e = parse_err(&format!(
        "{MINIMAL}secureClientPort=2281\nssl.keyStore.location=/k.pem\nssl.clientAuth=maybe\n"
    ));
    assert_eq!(e.key, "ssl.clientAuth");
    // Without a TLS listener the stores are not needed.
    parse(&format!("{MINIMAL}ssl.clientAuth=need\n"));
}

#[test]
fn admin_server_keys_are_read_without_warnings() {
    let c = parse(&format!(
        "{MINIMAL}admin.serverPort=9999\nadmin.serverAddress=127.0.0.1\nadmin.enableServer=false\n"
    ));
    assert_eq!(c.admin_server_port, 9999);
    assert_eq!(c.admin_server_address, "127.0.0.1");
    assert!(!c.admin_enable_server);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn small_retain_and_snap_counts_are_raised_like_zookeeper_with_a_warning() {
    let c = parse(&format!(
        "{MINIMAL}autopurge.snapRetainCount=1\nsnapCount=1\n"
    ));
    assert_eq!((c.autopurge_snap_retain_count, c.snap_count), (3, 2));
    assert_eq!(c.warnings.len(), 2);
}

#[test]
fn super_digest_needs_user_and_digest() {
    let e = parse_err(&format!("{MINIMAL}superDigest=nocolon\n"));
    assert_eq!((e.line, e.key.as_str()), (3, "superDigest"));
}

#[test]
fn server_lines_are_parsed_and_sorted_by_id() {
    let c = parse(
        "dataDir=/d\nclientPort=2181\ninitLimit=5\nsyncLimit=2\nserver.3=c:2888:3888:observer\n\
         server.1=a:2888:3888;2181\nserver.2=b:2888:3888:participant;0.0.0.0:2182\n",
    );
    let ids: Vec<u64> = c.servers.iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![1, 2, 3]);
    assert_eq!(c.servers[2].peer_type, PeerType::Observer);
    assert_eq!(c.voting_members(), 2);
    assert_eq!(
        c.server(2)
            .and_then(|s| s.client_address.clone())
            .as_deref(),
        Some("0.0.0.0")
    );
    assert_eq!(c.client_port_for(3), Some(2181), "falls back to clientPort");
    assert!(c
        .warnings
        .iter()
        .any(|w| w.contains("no server failure will be tolerated")));
}

#[test]
fn bad_server_lines_are_errors_at_their_line() {
    let e = parse_err(&format!("{MINIMAL}server.1=a:2888\n"));
    assert_eq!((e.line, e.key.as_str()), (3, "server.1"));
    let e = parse_err(&format!("{MINIMAL}server.one=a:1:2\n"));
    assert_eq!((e.line, e.key.as_str()), (3, "server.one"));
    let e = parse_err(&format!("{MINIMAL}server.1=a:2888:2888\n"));
    assert!(e.message.contains("must be different"), "{e}");
}

#[test]
fn peer_type_must_be_participant_or_observer() {
    let e = parse_err(&format!("{MINIMAL}peerType=voter\n"));
    assert_eq!((e.line, e.key.as_str()), (3, "peerType"));
}

#[test]
fn an_ensemble_needs_init_and_sync_limits() {
    let servers = "server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\n";
    assert_eq!(
        parse_err(&format!("{MINIMAL}syncLimit=2\n{servers}")).key,
        "initLimit"
    );
    assert_eq!(
        parse_err(&format!("{MINIMAL}initLimit=5\n{servers}")).key,
        "syncLimit"
    );
    assert!(parse(&format!("{MINIMAL}initLimit=5\nsyncLimit=2\n{servers}")).is_distributed());
}

#[test]
fn a_single_server_line_still_runs_standalone() {
    let c = parse(&format!("{MINIMAL}server.1=a:1:2\n"));
    assert!(!c.is_distributed());
    assert!(c.warnings.iter().any(|w| w.contains("standalone")));
}

#[test]
fn observers_need_participants() {
    assert_eq!(
        parse_err(&format!("{MINIMAL}server.1=a:1:2:observer\n")).key,
        "server.N"
    );
    assert_eq!(
        parse_err(&format!(
            "{MINIMAL}server.1=a:1:2\nserver.2=b:1:2:observer\n"
        ))
        .key,
        "server.N"
    );
}

#[test]
fn standalone_disabled_needs_a_participant() {
    assert_eq!(
        parse_err(&format!("{MINIMAL}standaloneEnabled=false\n")).key,
        "standaloneEnabled"
    );
}

#[test]
fn even_ensembles_get_a_warning() {
    let c = parse(&format!("{MINIMAL}initLimit=5\nsyncLimit=2\nserver.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\nserver.4=d:1:2\n"));
    assert!(
        c.warnings.iter().any(|w| w.contains("odd number")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn unsupported_quorum_features_are_errors() {
    assert_eq!(
        parse_err(&format!("{MINIMAL}dynamicConfigFile=/x\n")).key,
        "dynamicConfigFile"
    );
    assert_eq!(
        parse_err(&format!("{MINIMAL}group.1=1:2:3\n")).key,
        "group.1"
    );
}

proptest! {
    #[test]
    fn parse_never_panics(text in "[ -~\\n\\\\=:#!]{0,200}") {
        let _ = ServerConfig::parse(&text);
    }

    #[test]
    fn parse_never_panics_on_config_like_lines(
        lines in proptest::collection::vec(
            (prop::sample::select(vec!["tickTime", "dataDir", "clientPort", "server.1", "server.2",
                "4lw.commands.whitelist", "minSessionTimeout", "jute.maxbuffer", "peerType", "initLimit"]),
             "[ -~]{0,30}"),
            0..12)
    ) {
        let text: String = lines.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        let _ = ServerConfig::parse(&text);
    }
}

#[test]
fn poll_spin_is_an_rzk_setting_with_a_bounded_range() {
    assert_eq!(
        parse(MINIMAL).poll_spin_micros,
        super::DEFAULT_POLL_SPIN_MICROS
    );
    let c = parse(&format!("{MINIMAL}rzk.pollSpinMicros=0\n"));
    assert_eq!(c.poll_spin_micros, 0);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(
        parse(&format!("{MINIMAL}rzk.pollSpinMicros=250\n")).poll_spin_micros,
        250
    );
    let e = parse_err(&format!("{MINIMAL}rzk.pollSpinMicros=20000\n"));
    assert_eq!(e.key, "rzk.pollSpinMicros");
    let e = parse_err(&format!("{MINIMAL}rzk.pollSpinMicros=soon\n"));
    assert_eq!((e.line, e.key.as_str()), (3, "rzk.pollSpinMicros"));
}

#[test]
fn the_recorder_is_off_unless_a_directory_is_set() {
    let c = parse(MINIMAL);
    assert_eq!(c.record, super::RecordSettings::default());
    assert_eq!(c.record.dir, None);
    let c = parse(&format!(
        "{MINIMAL}rzk.recordDir=/var/lib/rzk/rec\nrzk.recordMaxMB=200\nrzk.recordMaxAgeHours=48\n\
         rzk.recordSegmentMB=16\nrzk.recordQueueMB=8\nrzk.recordRedact=true\n"
    ));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(
        c.record,
        super::RecordSettings {
            dir: Some("/var/lib/rzk/rec".into()),
            max_mb: 200,
            max_age_hours: 48,
            segment_mb: 16,
            queue_mb: 8,
            redact: true,
        }
    );
    for bad in [
        "rzk.recordDir=",
        "rzk.recordMaxMB=0",
        "rzk.recordSegmentMB=lots",
        "rzk.recordQueueMB=-1",
        "rzk.recordRedact=perhaps",
    ] {
        let e = parse_err(&format!("{MINIMAL}{bad}\n"));
        assert_eq!(e.line, 3, "{bad}: {e}");
    }
}
