//! zoo.cfg keys that ask for protection: each gets a verdict, never "accepted but ignored".
//!
//! An operator who moves a secured zoo.cfg to rzk must not get an open server and a log line. So a key whose
//! value asks for protection rzk does not provide stops startup (with the key and the line), and a value that
//! asks for nothing (`sslQuorum=false`, `ssl.*` with no TLS listener) is accepted so that common configs keep
//! starting. The table below is the single source: the parser consults it and docs/config.md prints it (a
//! test keeps the two equal).

/// Which values of a key are accepted; every other value stops startup.
#[derive(Debug, Clone, Copy)]
pub enum Accepts {
    /// Any value: the key asks for nothing by itself.
    Any,
    /// No value: the key always asks for something rzk does not do.
    Nothing,
    /// Only these values (compared without case).
    Only(&'static [&'static str]),
}

/// One row of the table: a key (or a family of keys, `prefix.*`), what it accepts, and why.
#[derive(Debug, Clone, Copy)]
pub struct SecurityKey {
    /// The key without ZooKeeper's `zookeeper.` system-property prefix; `x.*` matches every key under `x.`.
    pub key: &'static str,
    pub accepts: Accepts,
    /// Why values outside `accepts` are refused, or why accepted values are safe.
    pub why: &'static str,
}

const NO_KERBEROS: &str = "rzk has no Kerberos support";
const BUILT_IN_PROVIDERS: &[&str] = &[
    "org.apache.zookeeper.server.auth.DigestAuthenticationProvider",
    "org.apache.zookeeper.server.auth.IPAuthenticationProvider",
    "org.apache.zookeeper.server.auth.X509AuthenticationProvider",
    "org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
];

/// Every security key, more specific rows first (the first match decides).
pub const SECURITY_KEYS: &[SecurityKey] = &[
    SecurityKey {
        key: "secureClientPort",
        accepts: Accepts::Any,
        why: "the TLS client port, served with the ssl.* settings",
    },
    SecurityKey {
        key: "secureClientPortAddress",
        accepts: Accepts::Any,
        why: "where the TLS client port listens",
    },
    SecurityKey {
        key: "client.portUnification",
        accepts: Accepts::Any,
        why: "true: the plaintext client port also serves TLS clients, with the ssl.* settings",
    },
    SecurityKey {
        key: "sslQuorum",
        accepts: Accepts::Any,
        why: "true: quorum and election connections use TLS with the ssl.quorum.* settings",
    },
    SecurityKey {
        key: "portUnification",
        accepts: Accepts::Any,
        why: "true: the quorum and election ports accept TLS and plaintext peers (a rolling switch)",
    },
    SecurityKey {
        key: "sslQuorumReloadCertFiles",
        accepts: Accepts::Any,
        why: "true: the quorum key and trust stores are re-read when their files change",
    },
    SecurityKey {
        key: "client.certReload",
        accepts: Accepts::Any,
        why: "true: the client listener re-reads its key and trust stores when their files change",
    },
    SecurityKey {
        key: "serverCnxnFactory",
        accepts: Accepts::Only(&[
            "org.apache.zookeeper.server.NIOServerCnxnFactory",
            "org.apache.zookeeper.server.NettyServerCnxnFactory",
        ]),
        why: "names ZooKeeper's connection layer; rzk has its own, so only ZooKeeper's two are accepted",
    },
    SecurityKey {
        key: "client.secure",
        accepts: Accepts::Any,
        why: "a client-side setting; servers do not read it",
    },
    SecurityKey {
        key: "ssl.crl",
        accepts: Accepts::Only(&["false"]),
        why: "rzk does not check certificate revocation lists",
    },
    SecurityKey {
        key: "ssl.ocsp",
        accepts: Accepts::Only(&["false"]),
        why: "rzk does not check OCSP",
    },
    SecurityKey {
        key: "ssl.quorum.crl",
        accepts: Accepts::Only(&["false"]),
        why: "rzk does not check certificate revocation lists",
    },
    SecurityKey {
        key: "ssl.quorum.ocsp",
        accepts: Accepts::Only(&["false"]),
        why: "rzk does not check OCSP",
    },
    SecurityKey {
        key: "ssl.authProvider",
        accepts: Accepts::Only(&["x509"]),
        why: "TLS clients are authenticated by the x509 provider; rzk loads no other",
    },
    SecurityKey {
        key: "ssl.quorum.authProvider",
        accepts: Accepts::Only(&["x509"]),
        why: "servers are authenticated by their certificates; rzk loads no other provider",
    },
    SecurityKey {
        key: "ssl.quorum.*",
        accepts: Accepts::Any,
        why: "the quorum TLS settings (stores, clientAuth, protocols, cipher suites, hostnameVerification), all applied",
    },
    SecurityKey {
        key: "ssl.*",
        accepts: Accepts::Any,
        why: "the client TLS listener's settings (stores, clientAuth, protocols, cipher suites), all applied",
    },
    SecurityKey {
        key: "admin.forceHttps",
        accepts: Accepts::Only(&["false"]),
        why: "rzk's admin server speaks HTTP only",
    },
    SecurityKey {
        key: "admin.portUnification",
        accepts: Accepts::Only(&["false"]),
        why: "rzk's admin server speaks HTTP only",
    },
    SecurityKey {
        key: "quorum.auth.enableSasl",
        accepts: Accepts::Only(&["false"]),
        why: "rzk has no SASL between servers yet",
    },
    SecurityKey {
        key: "quorum.auth.learnerRequireSasl",
        accepts: Accepts::Only(&["false"]),
        why: "rzk has no SASL between servers yet",
    },
    SecurityKey {
        key: "quorum.auth.serverRequireSasl",
        accepts: Accepts::Only(&["false"]),
        why: "rzk has no SASL between servers yet",
    },
    SecurityKey {
        key: "quorum.auth.kerberos.servicePrincipal",
        accepts: Accepts::Nothing,
        why: NO_KERBEROS,
    },
    SecurityKey {
        key: "quorum.auth.*",
        accepts: Accepts::Any,
        why: "login context names, only read when quorum SASL is on, which is refused",
    },
    SecurityKey {
        key: "kerberos.*",
        accepts: Accepts::Nothing,
        why: NO_KERBEROS,
    },
    SecurityKey {
        key: "security.auth_to_local",
        accepts: Accepts::Nothing,
        why: NO_KERBEROS,
    },
    SecurityKey {
        key: "server.principal",
        accepts: Accepts::Nothing,
        why: NO_KERBEROS,
    },
    SecurityKey {
        key: "requireKerberosConfig",
        accepts: Accepts::Only(&["false"]),
        why: NO_KERBEROS,
    },
    SecurityKey {
        key: "authProvider.*",
        accepts: Accepts::Only(BUILT_IN_PROVIDERS),
        why: "digest and ip are built in (always on); x509 (TLS client certificates) and SASL (DIGEST-MD5) are implemented; rzk loads no other provider",
    },
    SecurityKey {
        key: "sessionRequireClientSASLAuth",
        accepts: Accepts::Any,
        why: "true: a client must authenticate with SASL before any request (enforce.auth.schemes=sasl)",
    },
    SecurityKey {
        key: "enforce.auth.enabled",
        accepts: Accepts::Any,
        why: "true: a client must hold an id of one of enforce.auth.schemes before any request",
    },
    SecurityKey {
        key: "enforce.auth.schemes",
        accepts: Accepts::Any,
        why: "the schemes enforce.auth.enabled accepts; each must have its provider, or startup stops",
    },
    SecurityKey {
        key: "DigestAuthenticationProvider.enabled",
        accepts: Accepts::Only(&["true"]),
        why: "rzk cannot switch digest authentication off yet",
    },
    SecurityKey {
        key: "DigestAuthenticationProvider.digestAlg",
        accepts: Accepts::Only(&["SHA1", "SHA-1"]),
        why: "rzk hashes digest ids with SHA1 only; another algorithm would match no stored ACL",
    },
    SecurityKey {
        key: "skipACL",
        accepts: Accepts::Only(&["no", "false"]),
        why: "rzk always checks ACLs",
    },
    SecurityKey {
        key: "superUser",
        accepts: Accepts::Any,
        why: "the SASL id that is also super, as in ZooKeeper",
    },
    SecurityKey {
        key: "X509AuthenticationProvider.superUser",
        accepts: Accepts::Any,
        why: "the x509 id (certificate subject) that is super, as in ZooKeeper",
    },
    SecurityKey {
        key: "SASLAuthenticationProvider.superPassword",
        accepts: Accepts::Any,
        why: "the password of the SASL user super, as in ZooKeeper",
    },
    SecurityKey {
        key: "allowSaslFailedClients",
        accepts: Accepts::Any,
        why: "true: a failed SASL exchange leaves the connection open, unauthenticated (unless SASL is required)",
    },
    SecurityKey {
        key: "letAnySaslUserDoX",
        accepts: Accepts::Any,
        why: "the sasl ACL id every SASL user matches, as in ZooKeeper",
    },
];

/// What the table says about one zoo.cfg entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not a security key.
    NotSecurity,
    /// A security key whose value asks for nothing rzk does not do.
    Accepted,
    /// A security key whose value asks for protection rzk does not provide: the reason.
    Refused(String),
}

/// The row for `key` (without or with the `zookeeper.` prefix), if it is a security key.
pub fn security_key(key: &str) -> Option<&'static SecurityKey> {
    let key = key.strip_prefix("zookeeper.").unwrap_or(key);
    SECURITY_KEYS
        .iter()
        .find(|row| match row.key.strip_suffix('*') {
            Some(prefix) => key.starts_with(prefix),
            None => key == row.key,
        })
}

/// The verdict on `key=value`.
pub fn verdict(key: &str, value: &str) -> Verdict {
    let Some(row) = security_key(key) else {
        return Verdict::NotSecurity;
    };
    let accepted = match row.accepts {
        Accepts::Any => true,
        Accepts::Nothing => false,
        Accepts::Only(values) => values.iter().any(|v| v.eq_ignore_ascii_case(value.trim())),
    };
    if accepted {
        Verdict::Accepted
    } else {
        let allowed = match row.accepts {
            Accepts::Only(values) => format!(" (rzk accepts only {})", values.join(" or ")),
            _ => " (rzk refuses this key whatever its value; remove it)".to_string(),
        };
        Verdict::Refused(format!(
            "'{value}' asks for protection rzk does not provide: {}{allowed}",
            row.why
        ))
    }
}

/// The table as docs/config.md prints it.
pub fn markdown_table() -> String {
    let mut out = String::from("| key | accepted | refused | why |\n| --- | --- | --- | --- |\n");
    for row in SECURITY_KEYS {
        let (accepted, refused) = match row.accepts {
            Accepts::Any => ("any value".to_string(), "—"),
            Accepts::Nothing => ("—".to_string(), "any value"),
            Accepts::Only(values) => (
                values
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                "any other value",
            ),
        };
        out.push_str(&format!(
            "| `{}` | {accepted} | {refused} | {} |\n",
            row.key, row.why
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_ask_for_protection_are_refused() {
        for (key, value) in [
            ("quorum.auth.enableSasl", "true"),
            ("quorum.auth.learnerRequireSasl", "true"),
            ("quorum.auth.serverRequireSasl", "true"),
            (
                "quorum.auth.kerberos.servicePrincipal",
                "zkquorum/localhost",
            ),
            ("kerberos.removeHostFromPrincipal", "true"),
            ("authProvider.1", "org.example.MyAuthenticationProvider"),
            ("ssl.authProvider", "myCustomScheme"),
            ("ssl.crl", "true"),
            ("ssl.ocsp", "true"),
            ("ssl.quorum.crl", "true"),
            ("skipACL", "yes"),
            ("DigestAuthenticationProvider.digestAlg", "SHA-256"),
            ("DigestAuthenticationProvider.enabled", "false"),
            ("admin.forceHttps", "true"),
        ] {
            assert!(
                matches!(verdict(key, value), Verdict::Refused(_)),
                "{key}={value} must be refused"
            );
        }
    }

    #[test]
    fn values_that_ask_for_nothing_are_accepted() {
        for (key, value) in [
            ("sslQuorum", "false"),
            ("sslQuorum", "true"),
            ("portUnification", "true"),
            ("quorum.auth.enableSasl", "false"),
            ("ssl.keyStore.location", "/etc/zk/keystore.jks"),
            ("ssl.quorum.trustStore.password", "secret"),
            ("ssl.clientAuth", "need"),
            ("ssl.crl", "false"),
            ("secureClientPort", "2281"),
            ("client.portUnification", "true"),
            (
                "zookeeper.authProvider.x509",
                "org.apache.zookeeper.server.auth.X509AuthenticationProvider",
            ),
            (
                "authProvider.1",
                "org.apache.zookeeper.server.auth.DigestAuthenticationProvider",
            ),
            (
                "serverCnxnFactory",
                "org.apache.zookeeper.server.NettyServerCnxnFactory",
            ),
            ("enforce.auth.enabled", "false"),
            ("enforce.auth.schemes", "sasl"),
            ("skipACL", "no"),
            ("DigestAuthenticationProvider.digestAlg", "SHA1"),
            ("quorum.auth.learner.saslLoginContext", "QuorumLearner"),
        ] {
            assert_eq!(verdict(key, value), Verdict::Accepted, "{key}={value}");
        }
        assert_eq!(verdict("tickTime", "2000"), Verdict::NotSecurity);
        assert_eq!(verdict("server.1", "a:1:2"), Verdict::NotSecurity);
    }

    #[test]
    fn specific_rows_come_before_their_families() {
        for (i, row) in SECURITY_KEYS.iter().enumerate() {
            let probe = row.key.trim_end_matches('*').to_string() + "x";
            let concrete = if row.key.ends_with('*') {
                probe.as_str()
            } else {
                row.key
            };
            let first = security_key(concrete).map(|r| r.key);
            assert_eq!(first, Some(row.key), "row {i} ({}) is shadowed", row.key);
        }
    }

    #[test]
    fn no_security_key_is_merely_ignored() {
        for row in SECURITY_KEYS {
            let concrete = row.key.replace('*', "x");
            assert_eq!(
                super::super::known_keys::ignored_reason(&concrete),
                None,
                "{} has a verdict; it must not also be an ignored key",
                row.key
            );
        }
    }

    #[test]
    fn docs_print_the_table() {
        let docs = include_str!("../../../docs/config.md");
        assert!(
            docs.contains(&markdown_table()),
            "docs/config.md must contain the security key table exactly as \
             config::security::markdown_table() renders it:\n{}",
            markdown_table()
        );
    }
}
