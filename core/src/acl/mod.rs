//! Access control: permission bits, identities, ZooKeeper's digest scheme, and the permission check.

mod digest;
mod ip;

pub use digest::digest_id;
pub use ip::ip_matches;

use crate::proto::records::{Acl, Id};

/// Permission bits (ZooDefs.Perms).
pub mod perms {
    pub const READ: i32 = 1;
    pub const WRITE: i32 = 2;
    pub const CREATE: i32 = 4;
    pub const DELETE: i32 = 8;
    pub const ADMIN: i32 = 16;
    pub const ALL: i32 = READ | WRITE | CREATE | DELETE | ADMIN;
}

/// world:anyone with every permission: the ACL of an unprotected node (ZooDefs.Ids.OPEN_ACL_UNSAFE).
pub fn open_acl_unsafe() -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

/// Whether a client holding `auth` ids may do `perm` on a node with `acl` (ZooKeeperServer.checkACL).
/// An empty ACL allows everything; `super` ids pass every check. An entry whose scheme has no provider
/// configured (x509, sasl) matches nobody, as ZooKeeper finds no provider to ask.
pub fn check(acl: &[Acl], perm: i32, auth: &[Id], providers: &Providers) -> bool {
    if acl.is_empty() || auth.iter().any(|id| id.scheme == "super") {
        return true;
    }
    acl.iter().filter(|a| a.perms & perm != 0).any(|a| {
        let id = &a.id;
        match id.scheme.as_str() {
            "world" => id.id == "anyone",
            "ip" => auth
                .iter()
                .any(|c| c.scheme == "ip" && ip_matches(&id.id, &c.id)),
            "x509" if !providers.x509 => false,
            // SASLAuthenticationProvider.matches: the SASL user `super` matches every sasl entry, and every
            // SASL user matches `sasl:<letAnySaslUserDoX>`.
            "sasl" if !providers.sasl => false,
            "sasl" => auth.iter().any(|c| {
                c.scheme == "sasl"
                    && (c.id == id.id
                        || c.id == "super"
                        || providers.let_any_sasl_user_do_x.as_deref() == Some(id.id.as_str()))
            }),
            scheme => auth.iter().any(|c| c.scheme == scheme && c.id == id.id),
        }
    })
}

/// Why an ACL list given by a client is refused (clients get `InvalidAcl`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ACL: {0}")]
pub struct InvalidAcl(pub String);

/// The authentication providers configured beyond the built-in digest and ip: an ACL may name their
/// schemes only when they are (ZooKeeper's ProviderRegistry lookup in fixupACL).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Providers {
    pub x509: bool,
    pub sasl: bool,
    /// `letAnySaslUserDoX`: every SASL user matches the ACL id `sasl:<this>`.
    pub let_any_sasl_user_do_x: Option<String>,
}

/// Validates a client's ACL list and expands the `auth` scheme into the client's own ids
/// (PrepRequestProcessor.fixupACL). Duplicates are removed, keeping first occurrences.
pub fn fixup(acl: &[Acl], auth: &[Id], providers: &Providers) -> Result<Vec<Acl>, InvalidAcl> {
    if acl.is_empty() {
        return Err(InvalidAcl("empty ACL".into()));
    }
    let mut out: Vec<Acl> = Vec::with_capacity(acl.len());
    let mut push = |a: Acl| {
        if !out.contains(&a) {
            out.push(a);
        }
    };
    for a in acl {
        // Permission bits outside ALL are stored as given, as ZooKeeper does.
        match a.id.scheme.as_str() {
            "world" if a.id.id == "anyone" => push(a.clone()),
            "world" => {
                return Err(InvalidAcl(format!(
                    "world id must be anyone, not {}",
                    a.id.id
                )))
            }
            "auth" => {
                // Expands to every authenticated id of the client that is not an ip or super id.
                let mut any = false;
                for c in auth
                    .iter()
                    .filter(|c| c.scheme != "ip" && c.scheme != "super")
                {
                    any = true;
                    push(Acl {
                        perms: a.perms,
                        id: c.clone(),
                    });
                }
                if !any {
                    return Err(InvalidAcl(
                        "auth scheme used without any authenticated id".into(),
                    ));
                }
            }
            "digest" if a.id.id.contains(':') => push(a.clone()),
            "digest" => {
                return Err(InvalidAcl(format!(
                    "digest id must be user:digest, not {}",
                    a.id.id
                )))
            }
            "ip" if ip::is_valid(&a.id.id) => push(a.clone()),
            "ip" => return Err(InvalidAcl(format!("bad ip id {}", a.id.id))),
            "super" => push(a.clone()),
            "x509" if providers.x509 && is_distinguished_name(&a.id.id) => push(a.clone()),
            "x509" if providers.x509 => return Err(InvalidAcl(format!("bad x509 id {}", a.id.id))),
            "sasl" if providers.sasl && is_kerberos_name(&a.id.id) => push(a.clone()),
            "sasl" if providers.sasl => return Err(InvalidAcl(format!("bad sasl id {}", a.id.id))),
            other => return Err(InvalidAcl(format!("unknown scheme {other}"))),
        }
    }
    Ok(out)
}

/// Whether an x509 id looks like a distinguished name (X509AuthenticationProvider.isValid parses it as an
/// X500Principal): `type=value` attributes separated by unescaped commas (or `+` within an RDN).
fn is_distinguished_name(id: &str) -> bool {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in id.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            current.push(c);
            escaped = true;
        } else if c == ',' || c == '+' || c == ';' {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    !id.trim().is_empty()
        && parts.iter().all(|p| {
            p.split_once('=')
                .is_some_and(|(k, _)| !k.trim().is_empty() && !k.contains('\\'))
        })
}

/// SASLAuthenticationProvider.isValid: a name KerberosName parses: `name`, or `name[/host]@REALM`.
fn is_kerberos_name(id: &str) -> bool {
    if id.is_empty() {
        return false;
    }
    match id.split_once('@') {
        None => true,
        Some((principal, realm)) => {
            !realm.contains('@')
                && !realm.contains('/')
                && principal.split('/').count() <= 2
                && !principal.is_empty()
        }
    }
}

/// The ACL as shown to a client without ADMIN permission: digest ids lose their hash ("user:x").
pub fn redact(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|a| {
            let mut a = a.clone();
            if a.id.scheme == "digest" {
                if let Some((user, _)) = a.id.id.split_once(':') {
                    a.id.id = format!("{user}:x");
                }
            }
            a
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Providers = Providers {
        x509: false,
        sasl: false,
        let_any_sasl_user_do_x: None,
    };

    fn id(scheme: &str, id: &str) -> Id {
        Id {
            scheme: scheme.into(),
            id: id.into(),
        }
    }

    fn acl(perms: i32, scheme: &str, i: &str) -> Acl {
        Acl {
            perms,
            id: id(scheme, i),
        }
    }

    #[test]
    fn world_anyone_allows_everybody_only_the_granted_perms() {
        let a = vec![acl(perms::READ, "world", "anyone")];
        assert!(check(&a, perms::READ, &[], &P));
        assert!(!check(&a, perms::WRITE, &[], &P));
    }

    #[test]
    fn digest_needs_matching_auth_and_super_bypasses() {
        let d = digest_id("alice:secret");
        let a = vec![acl(perms::ALL, "digest", &d)];
        assert!(!check(&a, perms::READ, &[id("ip", "127.0.0.1")], &P));
        assert!(check(&a, perms::READ, &[id("digest", &d)], &P));
        assert!(!check(
            &a,
            perms::READ,
            &[id("digest", &digest_id("alice:wrong"))],
            &P
        ));
        assert!(check(&a, perms::READ, &[id("super", "")], &P));
    }

    #[test]
    fn ip_acl_matches_cidr() {
        let a = vec![acl(perms::READ, "ip", "127.0.0.0/8")];
        assert!(check(&a, perms::READ, &[id("ip", "127.0.0.1")], &P));
        assert!(!check(&a, perms::READ, &[id("ip", "10.0.0.1")], &P));
    }

    #[test]
    fn fixup_expands_auth_and_rejects_bad_lists() {
        let none = Providers::default();
        let d = digest_id("bob:pw");
        let fixed = fixup(
            &[acl(perms::ALL, "auth", "")],
            &[id("ip", "127.0.0.1"), id("digest", &d)],
            &none,
        )
        .unwrap();
        assert_eq!(fixed, vec![acl(perms::ALL, "digest", &d)]);
        assert!(fixup(
            &[acl(perms::ALL, "auth", "")],
            &[id("ip", "127.0.0.1")],
            &none
        )
        .is_err());
        assert!(fixup(&[], &[], &none).is_err());
        assert!(fixup(&[acl(perms::ALL, "world", "someone")], &[], &none).is_err());
        assert!(fixup(&[acl(perms::ALL, "digest", "nocolon")], &[], &none).is_err());
        assert!(fixup(&[acl(perms::ALL, "ip", "300.1.1.1")], &[], &none).is_err());
        assert!(fixup(&[acl(perms::ALL, "martian", "x")], &[], &none).is_err());
    }

    #[test]
    fn x509_ids_need_the_provider_and_a_distinguished_name() {
        let x509 = Providers {
            x509: true,
            ..Providers::default()
        };
        let dn = acl(perms::ALL, "x509", "CN=app,OU=ops\\,east,O=Example+UID=7");
        assert!(fixup(std::slice::from_ref(&dn), &[], &Providers::default()).is_err());
        assert_eq!(
            fixup(std::slice::from_ref(&dn), &[], &x509).unwrap(),
            vec![dn.clone()]
        );
        for bad in ["", "app", "CN=app,nothing", "=x"] {
            assert!(
                fixup(&[acl(perms::ALL, "x509", bad)], &[], &x509).is_err(),
                "{bad}"
            );
        }
        // The auth scheme expands to the client's x509 id.
        let me = id("x509", "CN=app");
        let fixed = fixup(
            &[acl(perms::READ, "auth", "")],
            std::slice::from_ref(&me),
            &x509,
        )
        .unwrap();
        assert_eq!(fixed, vec![acl(perms::READ, "x509", "CN=app")]);
        assert!(check(&fixed, perms::READ, std::slice::from_ref(&me), &x509));
        assert!(!check(
            &fixed,
            perms::READ,
            &[id("x509", "CN=other")],
            &x509
        ));
        // Without the provider an x509 entry matches nobody.
        assert!(!check(&fixed, perms::READ, &[me], &P));
    }

    #[test]
    fn sasl_ids_match_as_sasl_authentication_provider_matches() {
        let sasl = Providers {
            sasl: true,
            let_any_sasl_user_do_x: Some("anyone_sasl".into()),
            ..Providers::default()
        };
        let bob = [acl(perms::READ, "sasl", "bob")];
        assert!(check(&bob, perms::READ, &[id("sasl", "bob")], &sasl));
        assert!(!check(&bob, perms::READ, &[id("sasl", "eve")], &sasl));
        // The SASL user `super` matches every sasl entry (not other schemes).
        assert!(check(&bob, perms::READ, &[id("sasl", "super")], &sasl));
        let digest = [acl(perms::READ, "digest", "bob:x")];
        assert!(!check(&digest, perms::READ, &[id("sasl", "super")], &sasl));
        // letAnySaslUserDoX: any SASL user matches sasl:<that id>.
        let any = [acl(perms::READ, "sasl", "anyone_sasl")];
        assert!(check(&any, perms::READ, &[id("sasl", "eve")], &sasl));
        // Without the provider, sasl entries are invalid and match nobody.
        assert!(!check(&bob, perms::READ, &[id("sasl", "bob")], &P));
        assert!(fixup(&bob, &[], &P).is_err());
        assert_eq!(fixup(&bob, &[], &sasl).unwrap(), bob.to_vec());
        for bad in ["", "a@b@c", "a/b/c@R", "a@R/x"] {
            assert!(
                fixup(&[acl(perms::READ, "sasl", bad)], &[], &sasl).is_err(),
                "{bad}"
            );
        }
        assert!(fixup(
            &[acl(perms::READ, "sasl", "zk/host@EXAMPLE.COM")],
            &[],
            &sasl
        )
        .is_ok());
    }

    #[test]
    fn redact_hides_digest_hashes() {
        let r = redact(&[acl(perms::ALL, "digest", "carol:abc=")]);
        assert_eq!(r[0].id.id, "carol:x");
    }
}
