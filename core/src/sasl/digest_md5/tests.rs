use std::collections::BTreeMap;

use md5::{Digest as _, Md5};
use proptest::prelude::*;

use super::java_oracle::{Java, JAVA_ORACLE, ORACLE_JAAS, ORACLE_NONCE};
use super::*;
use crate::config::jaas;

/// The oracle's nonce as sent.
const NONCE_TEXT: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e";
/// What `DigestMd5Server::new(ORACLE_NONCE)` sends first; the JDK's challenge with the same nonce is identical
/// (checked by running `Sasl.createSaslServer("DIGEST-MD5", "zookeeper", "zk-sasl-md5", null, handler)` and
/// setting its nonce).
const CHALLENGE: &[u8] =
    b"realm=\"zk-sasl-md5\",nonce=\"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e\",charset=utf-8,algorithm=md5-sess";

fn users() -> BTreeMap<String, String> {
    jaas::parse(ORACLE_JAAS)
        .unwrap()
        .digest_users("Server")
        .unwrap()
}

/// A server past its challenge, and the user table.
fn challenged() -> (DigestMd5Server, BTreeMap<String, String>) {
    let users = users();
    let mut s = DigestMd5Server::new(ORACLE_NONCE);
    let first = s.step(b"", &|u| users.get(u).cloned()).unwrap();
    assert_eq!(first, SaslStep::Challenge(CHALLENGE.to_vec()));
    (s, users)
}

fn answer(response: &[u8]) -> Result<SaslStep, SaslError> {
    let (mut s, users) = challenged();
    s.step(response, &|u| users.get(u).cloned())
}

fn complete(authz: &str, authzid: Option<&str>, rspauth: &str) -> SaslStep {
    SaslStep::Complete {
        authorization_id: authz.to_string(),
        requested_authzid: authzid.map(str::to_string),
        token: format!("rspauth={rspauth}").into_bytes(),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// A client written for the tests, independently of the server code: RFC 2831 2.1.2.1 as written.

struct TestClient<'a> {
    user: &'a str,
    password: &'a str,
    cnonce: &'a str,
    authzid: Option<&'a str>,
    /// Send `charset=utf-8` and hash ISO-8859-1 when every character fits (as the JDK client does).
    latin1: bool,
}

fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn directive<'c>(challenge: &'c str, key: &str) -> &'c str {
    challenge
        .split(',')
        .find_map(|d| d.strip_prefix(&format!("{key}=")))
        .map(|v| v.trim_matches('"'))
        .unwrap_or_else(|| panic!("no {key} in {challenge}"))
}

impl TestClient<'_> {
    fn encode(&self, s: &str) -> Vec<u8> {
        if self.latin1 && s.chars().all(|c| (c as u32) < 256) {
            s.chars().map(|c| c as u8).collect()
        } else {
            s.as_bytes().to_vec()
        }
    }

    /// RFC 2831 `response-value` with `method` (`AUTHENTICATE`, or empty for `rspauth`).
    fn digest(&self, method: &str, realm: &str, nonce: &str, uri: &str) -> String {
        let mut secret = self.encode(self.user);
        secret.push(b':');
        secret.extend(self.encode(realm));
        secret.push(b':');
        secret.extend(self.encode(self.password));
        let mut a1 = Md5::digest(&secret).to_vec();
        a1.extend(format!(":{nonce}:{}", self.cnonce).bytes());
        if let Some(z) = self.authzid {
            a1.extend(format!(":{z}").bytes());
        }
        let kd = format!(
            "{}:{nonce}:00000001:{}:auth:{}",
            md5_hex(&a1),
            self.cnonce,
            md5_hex(format!("{method}:{uri}").as_bytes())
        );
        md5_hex(kd.as_bytes())
    }

    /// The digest-response to `challenge`, and the `rspauth` token the client will expect back.
    fn respond(&self, challenge: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let challenge = std::str::from_utf8(challenge).unwrap();
        let realm = directive(challenge, "realm");
        let nonce = directive(challenge, "nonce");
        let uri = format!("{PROTOCOL}/{SERVER_NAME}");
        let mut r = String::new();
        if self.latin1 {
            r.push_str("charset=utf-8,");
        }
        r.push_str(&format!(
            "username=\"{}\",realm=\"{realm}\",nonce=\"{nonce}\",nc=00000001,cnonce=\"{}\",digest-uri=\"{uri}\",\
             maxbuf=65536,response={},qop=auth",
            self.user,
            self.cnonce,
            self.digest("AUTHENTICATE", realm, nonce, &uri)
        ));
        if let Some(z) = self.authzid {
            r.push_str(&format!(",authzid=\"{z}\""));
        }
        let rspauth = format!("rspauth={}", self.digest("", realm, nonce, &uri));
        (r.into_bytes(), rspauth.into_bytes())
    }
}

fn bob() -> TestClient<'static> {
    TestClient {
        user: "bob",
        password: "bobsecret",
        cnonce: "Y25vbmNlLWZvci10ZXN0cw",
        authzid: None,
        latin1: true,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The challenge.

#[test]
fn challenge_is_the_jdks() {
    let (s, _) = challenged();
    assert_eq!(s.nonce(), NONCE_TEXT.as_bytes());
    assert!(!s.is_complete());
}

#[test]
fn nonce_is_forty_base64_characters() {
    for bytes in [[0u8; NONCE_LEN], [0xFF; NONCE_LEN], [0xFB; NONCE_LEN]] {
        let s = DigestMd5Server::new(bytes);
        assert_eq!(s.nonce().len(), 40);
        assert!(s
            .nonce()
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/'));
    }
    assert_eq!(DigestMd5Server::new([0xFF; NONCE_LEN]).nonce(), &[b'/'; 40]);
}

#[test]
fn initial_token_is_ignored() {
    // The JDK logs "Ignoring initial response" and challenges anyway.
    let mut s = DigestMd5Server::new(ORACLE_NONCE);
    assert_eq!(
        s.step(b"hello", &|_| None).unwrap(),
        SaslStep::Challenge(CHALLENGE.to_vec())
    );
}

#[test]
fn realm_is_quoted_as_the_jdk_quotes_it() {
    let mut s = DigestMd5Server::with_encoded_nonce("p", "a\"b\\c\u{1}", b"n".to_vec());
    let SaslStep::Challenge(c) = s.step(b"", &|_| None).unwrap() else {
        panic!()
    };
    assert_eq!(
        c,
        b"realm=\"a\\\"b\\\\c\\\x01\",nonce=\"n\",charset=utf-8,algorithm=md5-sess"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// RFC 2831 section 4: both examples, as known answers of the digest and as a whole exchange.

fn rfc_secret<'a>(nonce: &'a [u8], cnonce: &'a [u8]) -> Secret<'a> {
    Secret {
        username: "chris",
        realm: "elwood.innosoft.com",
        password: "secret",
        nonce,
        cnonce,
        authzid: None,
    }
}

#[test]
fn rfc2831_imap_example_digests() {
    let s = rfc_secret(b"OA6MG9tEQGm2hh", b"OA6MHXh6VqTrRk");
    let uri = b"imap/elwood.innosoft.com";
    assert_eq!(
        &response_value(b"AUTHENTICATE", uri, &s),
        b"d388dad90d4bbd760a152321f2143af7"
    );
    assert_eq!(
        &response_value(b"", uri, &s),
        b"ea40f60335c427b5527b84dbabcdfffd"
    );
}

#[test]
fn rfc2831_acap_example_digests() {
    let s = rfc_secret(b"OA9BSXrbuRhWay", b"OA9BSuZWMSpW8m");
    let uri = b"acap/elwood.innosoft.com";
    assert_eq!(
        &response_value(b"AUTHENTICATE", uri, &s),
        b"6084c6db3fede7352c551284490fd0fc"
    );
    assert_eq!(
        &response_value(b"", uri, &s),
        b"2f0b3d7c3c2e486600ef710726aa2eae"
    );
}

#[test]
fn rfc2831_imap_example_exchange() {
    let mut s = DigestMd5Server::with_encoded_nonce(
        "imap",
        "elwood.innosoft.com",
        b"OA6MG9tEQGm2hh".to_vec(),
    );
    let creds = |u: &str| (u == "chris").then(|| "secret".to_string());
    let SaslStep::Challenge(c) = s.step(b"", &creds).unwrap() else {
        panic!()
    };
    // The RFC's challenge also offers qop and names no charset; the JDK's (ZooKeeper's) names charset and no qop.
    assert_eq!(
        c,
        b"realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",charset=utf-8,algorithm=md5-sess"
    );
    let response =
        b"charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",\
nc=00000001,cnonce=\"OA6MHXh6VqTrRk\",digest-uri=\"imap/elwood.innosoft.com\",\
response=d388dad90d4bbd760a152321f2143af7,qop=auth";
    assert_eq!(
        s.step(response, &creds).unwrap(),
        complete("chris", None, "ea40f60335c427b5527b84dbabcdfffd")
    );
    assert!(s.is_complete());
}

// ---------------------------------------------------------------------------------------------------------------
// Interop, pinned: real clients' answers to CHALLENGE.

/// `javax.security.sasl.Sasl.createSaslClient({"DIGEST-MD5"}, user, "zookeeper", "zk-sasl-md5", null, handler)`
/// (ZooKeeper 3.8's `SecurityUtils.createSaslClient`; OpenJDK 17.0.15) given CHALLENGE. Its `rspauth` came from
/// the JDK server with the same nonce, and the JDK client accepted it (`isComplete() == true`).
/// The Java client sends its user name as `authzid` too, and `hasInitialResponse()` is false (so ZooKeeper's
/// client sends an empty first token).
const JAVA_CLIENT: &[(&str, &[u8], &str)] = &[
    (
        "bob",
        b"charset=utf-8,username=\"bob\",realm=\"zk-sasl-md5\",nonce=\"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e\",\
nc=00000001,cnonce=\"hD+hRxrmS/VeE7UmhFVzpUUIkn7qTVt8OoLx8PqV\",digest-uri=\"zookeeper/zk-sasl-md5\",maxbuf=65536,\
response=bd63adb6dfc7e94e2f14118d8834a8cc,qop=auth,authzid=\"bob\"",
        "e25b7ea724ebc9e2c13785c2488685f7",
    ),
    (
        "bøb",
        "charset=utf-8,username=\"bøb\",realm=\"zk-sasl-md5\",nonce=\"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e\",\
nc=00000001,cnonce=\"Q+sdWRPOlo7IwAuIdOfg+OPonWOUWoishylkYJ+O\",digest-uri=\"zookeeper/zk-sasl-md5\",maxbuf=65536,\
response=f1048e8a6af61fc3648074d88b1d2c31,qop=auth,authzid=\"bøb\""
            .as_bytes(),
        "26130ae576ddaf4e39ed5411d3279686",
    ),
    (
        "пользователь",
        "charset=utf-8,username=\"пользователь\",realm=\"zk-sasl-md5\",nonce=\"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e\",\
nc=00000001,cnonce=\"NJUYPGOOPbrPHEh1y+JFl0bu48z6+8D1qklSGnJF\",digest-uri=\"zookeeper/zk-sasl-md5\",maxbuf=65536,\
response=5067b217961a175855667f7759a5cb2e,qop=auth,authzid=\"пользователь\""
            .as_bytes(),
        "31119483f56a0733798f8ba1e4cfe378",
    ),
];

#[test]
fn java_client_vectors() {
    for (user, response, rspauth) in JAVA_CLIENT {
        assert_eq!(
            answer(response).unwrap(),
            complete(user, Some(user), rspauth),
            "{user}"
        );
    }
}

/// pure-sasl 0.6.2 (what kazoo 2.11 uses), driven as kazoo drives it:
/// `SASLClient(host="zk-sasl-md5", service="zookeeper", mechanism="DIGEST-MD5", username=..., password=...)`,
/// `process(None)` (returns None: kazoo sends an empty first token), then `process(CHALLENGE)`; `random.seed(n)`
/// first, since its cnonce is `str(random.random())[2:]`. The JDK server (same nonce) accepted the first two and
/// pure-sasl accepted its `rspauth`; it refused the other two, as must we.
const PURE_SASL: &[(&str, &[u8], Option<&str>)] = &[
    (
        "bob",
        b"qop=auth,realm=\"zk-sasl-md5\",username=\"bob\",nonce=\"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e\",\
cnonce=\"13436424411240122\",nc=00000001,digest-uri=\"zookeeper/zk-sasl-md5\",response=bfac64633193881515bf9923ba424ab7",
        Some("03d46567116c5f9085c829bbe94025c3"),
    ),
    (
        "пользователь",
        "qop=auth,realm=\"zk-sasl-md5\",username=\"пользователь\",nonce=\"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e\",\
cnonce=\"9560342718892494\",nc=00000001,digest-uri=\"zookeeper/zk-sasl-md5\",response=2e6d2682e59f29d08491d8de058c0058"
            .as_bytes(),
        Some("dda2e51486cfffc7032d04a96d6dd9ad"),
    ),
    // pure-sasl hashes the UTF-8 bytes of a Latin-1 name; the JDK (RFC 2831) hashes ISO-8859-1: refused.
    (
        "bøb",
        "qop=auth,realm=\"zk-sasl-md5\",username=\"bøb\",nonce=\"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e\",\
cnonce=\"23796462709189137\",nc=00000001,digest-uri=\"zookeeper/zk-sasl-md5\",response=7171af1fb1afbf86c0ced156919ddd23"
            .as_bytes(),
        None,
    ),
    // Password "wrong".
    (
        "bob",
        b"qop=auth,realm=\"zk-sasl-md5\",username=\"bob\",nonce=\"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0e\",\
cnonce=\"23604808973743452\",nc=00000001,digest-uri=\"zookeeper/zk-sasl-md5\",response=bc6adfae35a21cbb7fc51828f417119a",
        None,
    ),
];

#[test]
fn pure_sasl_vectors() {
    for (user, response, rspauth) in PURE_SASL {
        match rspauth {
            Some(r) => assert_eq!(answer(response).unwrap(), complete(user, None, r), "{user}"),
            None => assert_eq!(
                answer(response),
                Err(SaslError::MismatchedResponse),
                "{user}"
            ),
        }
    }
}

/// Every response the JDK server was given (java_oracle.rs) gets the JDK's answer, error messages included.
#[test]
fn java_server_oracle() {
    for (name, response, java) in JAVA_ORACLE {
        let got = answer(response);
        match (java, &got) {
            (
                Java::Ok(authz, token),
                Ok(SaslStep::Complete {
                    authorization_id,
                    token: t,
                    ..
                }),
            ) => {
                assert_eq!(
                    (authorization_id.as_str(), t.as_slice()),
                    (*authz, token.as_bytes()),
                    "{name}"
                );
            }
            (Java::Refused(msg), Err(e)) => {
                assert!(!e.is_unchecked_in_java(), "{name}: {e:?}");
                assert_eq!(e.to_string(), *msg, "{name}");
            }
            (Java::Unchecked(msg), Err(e)) => {
                assert!(e.is_unchecked_in_java(), "{name}: {e:?}");
                assert_eq!(e.to_string(), *msg, "{name}");
            }
            _ => panic!("{name}: got {got:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Whole exchanges with the test client.

#[test]
fn full_exchange() {
    let (mut s, users) = challenged();
    let (response, rspauth) = bob().respond(CHALLENGE);
    let done = s.step(&response, &|u| users.get(u).cloned()).unwrap();
    let SaslStep::Complete {
        authorization_id,
        requested_authzid,
        token,
    } = done
    else {
        panic!("{done:?}")
    };
    assert_eq!(
        (authorization_id.as_str(), requested_authzid, token),
        ("bob", None, rspauth)
    );
    assert!(s.is_complete());
}

#[test]
fn exchange_with_a_random_nonce() {
    let users = users();
    let creds = |u: &str| users.get(u).cloned();
    for seed in 0..20u8 {
        let nonce: [u8; NONCE_LEN] =
            std::array::from_fn(|i| (i as u8).wrapping_mul(seed).wrapping_add(seed ^ 0x5A));
        let mut s = DigestMd5Server::new(nonce);
        let SaslStep::Challenge(c) = s.step(b"", &creds).unwrap() else {
            panic!()
        };
        let client = TestClient {
            authzid: Some("bob"),
            ..bob()
        };
        let (response, rspauth) = client.respond(&c);
        let done = s.step(&response, &creds).unwrap();
        let want = SaslStep::Complete {
            authorization_id: "bob".into(),
            requested_authzid: Some("bob".into()),
            token: rspauth,
        };
        assert_eq!(done, want);
    }
}

#[test]
fn the_identity_is_the_user_not_the_authzid() {
    // ZooKeeper's AuthorizeCallback replaces the authzid by the authenticated name: bob asking to be "super" is
    // still sasl:bob (the authzid is in the digest, so the client cannot drop it afterwards).
    let client = TestClient {
        authzid: Some("super"),
        ..bob()
    };
    let (response, _) = client.respond(CHALLENGE);
    let Ok(SaslStep::Complete {
        authorization_id,
        requested_authzid,
        ..
    }) = answer(&response)
    else {
        panic!()
    };
    assert_eq!(authorization_id, "bob");
    assert_eq!(requested_authzid.as_deref(), Some("super"));
}

#[test]
fn bad_password() {
    let client = TestClient {
        password: "bobsecreT",
        ..bob()
    };
    let (response, _) = client.respond(CHALLENGE);
    let err = answer(&response).unwrap_err();
    assert_eq!(err, SaslError::MismatchedResponse);
    assert_eq!(
        err.to_string(),
        "DIGEST-MD5: digest response format violation. Mismatched response."
    );
}

#[test]
fn unknown_user() {
    let client = TestClient {
        user: "eve",
        ..bob()
    };
    let (response, _) = client.respond(CHALLENGE);
    let err = answer(&response).unwrap_err();
    assert_eq!(
        err,
        SaslError::UnknownUser {
            username: "eve".into(),
            realm: SERVER_NAME.into()
        }
    );
    assert_eq!(
        err.to_string(),
        "DIGEST-MD5: cannot acquire password for eve in realm : zk-sasl-md5"
    );
}

#[test]
fn empty_user_name_and_password() {
    // `user_=""`-style entries: an empty name and an empty password still work, as in ZooKeeper.
    let client = TestClient {
        user: "",
        password: "",
        ..bob()
    };
    let (response, rspauth) = client.respond(CHALLENGE);
    let (mut s, _) = challenged();
    let done = s
        .step(&response, &|u| u.is_empty().then(String::new))
        .unwrap();
    assert_eq!(
        done,
        SaslStep::Complete {
            authorization_id: String::new(),
            requested_authzid: None,
            token: rspauth
        }
    );
}

#[test]
fn wrong_nonce_and_replay_to_another_connection() {
    // A response that authenticated on one connection is refused on the next (its nonce differs).
    let (response, _) = bob().respond(CHALLENGE);
    let users = users();
    let mut other = DigestMd5Server::new([7; NONCE_LEN]);
    other.step(b"", &|u| users.get(u).cloned()).unwrap();
    assert_eq!(
        other.step(&response, &|u| users.get(u).cloned()),
        Err(SaslError::MismatchedNonce)
    );
}

#[test]
fn no_step_after_completion_or_failure() {
    let (response, _) = bob().respond(CHALLENGE);
    let (mut s, users) = challenged();
    let creds = |u: &str| users.get(u).cloned();
    assert!(s.step(&response, &creds).is_ok());
    assert_eq!(s.step(&response, &creds), Err(SaslError::IllegalState));
    assert_eq!(s.step(b"", &creds), Err(SaslError::IllegalState));
    assert!(s.is_complete());

    let (mut s, _) = challenged();
    assert_eq!(
        s.step(b"garbage=\"", &creds).unwrap_err().to_string(),
        "Unmatched quote found for directive: garbage with value: "
    );
    assert_eq!(s.step(&response, &creds), Err(SaslError::IllegalState));
    assert_eq!(
        SaslError::IllegalState.to_string(),
        "DIGEST-MD5: Server at illegal state"
    );
    assert!(!s.is_complete());
}

#[test]
fn length_limit_keeps_the_state() {
    let (response, _) = bob().respond(CHALLENGE);
    let (mut s, users) = challenged();
    let creds = |u: &str| users.get(u).cloned();
    let long = vec![b'a'; MAX_RESPONSE_LEN + 1];
    let err = s.step(&long, &creds).unwrap_err();
    assert_eq!(
        err.to_string(),
        "DIGEST-MD5: Invalid digest response length. Got:  4097 Expected < 4096"
    );
    // As in the JDK (the check comes before the state machine), the exchange can go on.
    assert!(matches!(
        s.step(&response, &creds),
        Ok(SaslStep::Complete { .. })
    ));

    let mut s = DigestMd5Server::new(ORACLE_NONCE);
    assert_eq!(
        s.step(&long, &creds),
        Err(SaslError::ResponseTooLong { len: 4097 })
    );
    assert_eq!(
        s.step(b"", &creds),
        Ok(SaslStep::Challenge(CHALLENGE.to_vec()))
    );
    // Exactly 4096 bytes is allowed (and here is just an unknown directive).
    assert_eq!(
        s.step(&[b'a'; MAX_RESPONSE_LEN], &creds),
        Err(SaslError::MissingUsername)
    );
}

#[test]
fn truncated_responses_never_panic_and_never_pass_wrongly() {
    let (response, rspauth) = bob().respond(CHALLENGE);
    let qop_at = response.windows(9).position(|w| w == b",qop=auth").unwrap();
    for cut in 0..response.len() {
        match answer(&response[..cut]) {
            // Only cuts that leave nothing of `qop=auth` but `,`, `,q` or `,qo` still work: qop defaults to auth
            // and the unknown directives `q`, `qo` are ignored.
            Ok(done) => {
                assert!((qop_at..=qop_at + 3).contains(&cut), "{cut}");
                assert_eq!(
                    done,
                    SaslStep::Complete {
                        authorization_id: "bob".into(),
                        requested_authzid: None,
                        token: rspauth.clone()
                    }
                );
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Directive rules.

fn with_bob(edit: impl Fn(String) -> String) -> Result<SaslStep, SaslError> {
    let (response, _) = bob().respond(CHALLENGE);
    answer(edit(String::from_utf8(response).unwrap()).as_bytes())
}

#[test]
fn missing_directives() {
    let drop = |key: &'static str| {
        move |r: String| {
            r.split(',')
                .filter(|d| !d.starts_with(&format!("{key}=")))
                .collect::<Vec<_>>()
                .join(",")
        }
    };
    assert_eq!(with_bob(drop("username")), Err(SaslError::MissingUsername));
    assert_eq!(
        with_bob(drop("realm")),
        Err(SaslError::NonexistentRealm(String::new()))
    );
    assert_eq!(with_bob(drop("nonce")), Err(SaslError::MissingNonce));
    assert_eq!(with_bob(drop("cnonce")), Err(SaslError::MissingCnonce));
    assert_eq!(
        with_bob(drop("digest-uri")),
        Err(SaslError::MismatchedUri {
            got: None,
            expected: "zookeeper/zk-sasl-md5".into()
        })
    );
    assert_eq!(with_bob(drop("response")), Err(SaslError::MissingResponse));
    // Optional ones.
    for key in ["charset", "nc", "maxbuf", "qop"] {
        assert!(
            matches!(with_bob(drop(key)), Ok(SaslStep::Complete { .. })),
            "{key}"
        );
    }
}

#[test]
fn error_messages_are_the_jdks() {
    let cases: &[(SaslError, &str)] = &[
        (SaslError::MissingUsername, "DIGEST-MD5: digest response format violation. Missing username."),
        (SaslError::NonexistentRealm("x".into()), "DIGEST-MD5: digest response format violation. Nonexistent realm: x"),
        (SaslError::MissingNonce, "DIGEST-MD5: digest response format violation. Missing nonce."),
        (SaslError::MismatchedNonce, "DIGEST-MD5: digest response format violation. Mismatched nonce."),
        (SaslError::MissingCnonce, "DIGEST-MD5: digest response format violation. Missing cnonce."),
        (SaslError::MissingResponse, "DIGEST-MD5: digest response format  violation. Missing response."),
        (
            SaslError::MismatchedUri { got: None, expected: "zookeeper/zk-sasl-md5".into() },
            "DIGEST-MD5: digest response format violation. Mismatched URI: null; expecting: zookeeper/zk-sasl-md5",
        ),
        (SaslError::UnsupportedQop("auth-int".into()), "DIGEST-MD5: server does not support  qop: auth-int"),
        (SaslError::InvalidQop("x".into()), "DIGEST-MD5: digest response format violation. Invalid QOP: x"),
        (
            SaslError::IncompatibleCharset("UTF-8".into()),
            "DIGEST-MD5: digest response format violation. Incompatible charset value: UTF-8",
        ),
        (
            SaslError::DuplicateDirective { key: "username".into(), value: "bob".into() },
            "DIGEST-MD5: peer sent more than one username directive: bob",
        ),
        (
            SaslError::NonceCountMismatch("00000002".into()),
            "DIGEST-MD5: digest response format violation. Nonce count does not match: 00000002",
        ),
        (SaslError::InvalidMaxbuf("x".into()), "java.lang.NumberFormatException: For input string: \"x\""),
        (
            SaslError::InvalidNonceCount("x".into()),
            "java.lang.NumberFormatException: For input string: \"x\" under radix 16",
        ),
    ];
    for (e, msg) in cases {
        assert_eq!(e.to_string(), *msg);
    }
    assert!(SaslError::InvalidMaxbuf(String::new()).is_unchecked_in_java());
    assert!(!SaslError::MismatchedResponse.is_unchecked_in_java());
}

#[test]
fn syntax_errors() {
    let cases: &[(&[u8], &str)] = &[
        (b"=abc", "Empty directive key"),
        (b"abc,def", "Directive key contains a ',':abc"),
        (b"username=", "Valueless directive found: username"),
        (b"user name=bob", "'=' expected after key: user"),
        (b"username ", "'=' expected after key: username"),
        (
            b"username=\"bob",
            "Unmatched quote found for directive: username with value: bob",
        ),
        (
            b"username=\"bob\\",
            "Unmatched quote found for directive: username with value: bob",
        ),
        (
            b"username=\"bob\"x",
            "Expecting comma or linear whitespace after quoted string: \"bob\"",
        ),
        (
            b"username=\"a\",Username=\"b\"",
            "DIGEST-MD5: peer sent more than one Username directive: b",
        ),
    ];
    for (input, msg) in cases {
        assert_eq!(
            answer(input).unwrap_err().to_string(),
            *msg,
            "{}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn separators_and_quoting() {
    // Whitespace (SP, HT, CR, LF) works as a separator, around `=` too; empty elements are skipped.
    assert!(matches!(
        with_bob(|r| r.replace(',', " \t\r\n")),
        Ok(SaslStep::Complete { .. })
    ));
    assert!(matches!(
        with_bob(|r| r.replace("username=", "username \t= ")),
        Ok(SaslStep::Complete { .. })
    ));
    assert!(matches!(
        with_bob(|r| format!(" ,, {r} ,, ")),
        Ok(SaslStep::Complete { .. })
    ));
    // Quoted-pairs stand for the next byte; bare values work as well; keys ignore case.
    assert!(matches!(
        with_bob(|r| r.replace("\"bob\"", "\"\\b\\o\\b\"")),
        Ok(SaslStep::Complete { .. })
    ));
    assert!(matches!(
        with_bob(|r| r.replace("\"bob\"", "bob")),
        Ok(SaslStep::Complete { .. })
    ));
    assert!(matches!(
        with_bob(|r| r.replace("qop=auth", "qop=\"auth\"")),
        Ok(SaslStep::Complete { .. })
    ));
    assert!(matches!(
        with_bob(|r| r.replace("username=", "USERNAME=")),
        Ok(SaslStep::Complete { .. })
    ));
    // Unknown directives are ignored, `nc` among them (the JDK server only knows `nonce-count`).
    assert!(matches!(
        with_bob(|r| format!("{r},foo=\"bar\",nc=00000001,nc=zz")),
        Ok(SaslStep::Complete { .. })
    ));
}

#[test]
fn directive_values() {
    let ok = |r: Result<SaslStep, SaslError>| matches!(r, Ok(SaslStep::Complete { .. }));
    assert!(ok(with_bob(|r| format!("{r},nonce-count=+1"))));
    assert_eq!(
        with_bob(|r| format!("{r},nonce-count=2")),
        Err(SaslError::NonceCountMismatch("2".into()))
    );
    assert_eq!(
        with_bob(|r| format!("{r},nonce-count=zz")),
        Err(SaslError::InvalidNonceCount("zz".into()))
    );
    assert_eq!(
        with_bob(|r| r.replace("maxbuf=65536", "maxbuf=6e4")),
        Err(SaslError::InvalidMaxbuf("6e4".into()))
    );
    assert!(ok(with_bob(
        |r| r.replace("maxbuf=65536", "maxbuf=-2147483648")
    )));
    assert_eq!(
        with_bob(|r| r.replace("maxbuf=65536", "maxbuf=2147483648")),
        Err(SaslError::InvalidMaxbuf("2147483648".into()))
    );
    assert_eq!(
        with_bob(|r| r.replace("charset=utf-8", "charset=UTF-8")),
        Err(SaslError::IncompatibleCharset("UTF-8".into()))
    );
    assert!(ok(with_bob(
        |r| r.replace("charset=utf-8", "charset=\"utf-8\"")
    )));
    assert_eq!(
        with_bob(|r| r.replace("qop=auth", "qop=auth-conf")),
        Err(SaslError::UnsupportedQop("auth-conf".into()))
    );
    assert_eq!(
        with_bob(|r| r.replace("qop=auth", "qop=AUTH")),
        Err(SaslError::InvalidQop("AUTH".into()))
    );
    assert_eq!(
        with_bob(|r| r.replace("\"zk-sasl-md5\"", "\"ZK-SASL-MD5\"")),
        Err(SaslError::NonexistentRealm("ZK-SASL-MD5".into()))
    );
    // The digest is compared with lowercase hex only.
    assert_eq!(
        with_bob(|r| {
            let at = r.find("response=").unwrap() + 9;
            format!(
                "{}{}{}",
                &r[..at],
                r[at..at + 32].to_uppercase(),
                &r[at + 32..]
            )
        }),
        Err(SaslError::MismatchedResponse)
    );
}

#[test]
fn digest_uri_ignores_case_as_java_does() {
    // The client's spelling of the URI is what goes into the digest, so the test client must use it too.
    for uri in [
        "ZOOKEEPER/ZK-SASL-MD5",
        "zoo\u{212A}eeper/zk-\u{17F}asl-md5",
    ] {
        let client = bob();
        let realm = SERVER_NAME;
        let digest = client.digest("AUTHENTICATE", realm, NONCE_TEXT, uri);
        let response = format!(
            "username=\"bob\",realm=\"{realm}\",nonce=\"{NONCE_TEXT}\",cnonce=\"{}\",digest-uri=\"{uri}\",response={digest}",
            client.cnonce
        );
        let expected = client.digest("", realm, NONCE_TEXT, uri);
        assert_eq!(
            answer(response.as_bytes()).unwrap(),
            complete("bob", None, &expected),
            "{uri}"
        );
    }
    for uri in [
        "zookeeper/localhost",
        "zookeeper/zk-sasl-md5/zk-sasl-md5",
        "zookeeper/zk-\u{131}a\u{131}l-md5",
        "",
    ] {
        let r = with_bob(|r| r.replace("zookeeper/zk-sasl-md5", uri));
        assert_eq!(
            r,
            Err(SaslError::MismatchedUri {
                got: Some(uri.into()),
                expected: "zookeeper/zk-sasl-md5".into()
            })
        );
    }
}

#[test]
fn java_equals_ignore_case_table() {
    assert!(java_equals_ignore_case("username", "UserName"));
    assert!(java_equals_ignore_case("username", "u\u{17F}ername"));
    assert!(java_equals_ignore_case("authzid", "authz\u{131}d"));
    assert!(java_equals_ignore_case("digest-uri", "d\u{130}gest-uri"));
    assert!(java_equals_ignore_case("k", "\u{212A}"));
    assert!(!java_equals_ignore_case("username", "usernam"));
    assert!(!java_equals_ignore_case("username", "usernamee"));
    assert!(!java_equals_ignore_case("realm", "r\u{E9}alm"));
    assert!(!java_equals_ignore_case("a", "\u{1F600}"));
}

#[test]
fn java_int_parsing() {
    assert_eq!(parse_java_int("65536", 10), Some(65536));
    assert_eq!(parse_java_int("+1", 10), Some(1));
    assert_eq!(parse_java_int("-2147483648", 10), Some(i32::MIN));
    assert_eq!(parse_java_int("2147483647", 10), Some(i32::MAX));
    assert_eq!(parse_java_int("2147483648", 10), None);
    assert_eq!(parse_java_int("-2147483649", 10), None);
    assert_eq!(parse_java_int("99999999999999999999999", 10), None);
    assert_eq!(parse_java_int("00000001", 16), Some(1));
    assert_eq!(parse_java_int("7fffffff", 16), Some(i32::MAX));
    assert_eq!(parse_java_int("ffffffff", 16), None);
    for bad in ["", "-", "+", "1 ", " 1", "1e3", "0x1", "\u{0661}"] {
        assert_eq!(parse_java_int(bad, 10), None, "{bad:?}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Character sets (RFC 2831 2.1.2.1; JDK `stringToByte_8859_1`).

#[test]
fn latin1_names_hash_as_iso_8859_1() {
    let users = users();
    let client = TestClient {
        user: "bøb",
        password: "pässwörd",
        ..bob()
    };
    let (response, rspauth) = client.respond(CHALLENGE);
    let (mut s, _) = challenged();
    assert_eq!(
        s.step(&response, &|u| users.get(u).cloned()).unwrap(),
        SaslStep::Complete {
            authorization_id: "bøb".into(),
            requested_authzid: None,
            token: rspauth
        }
    );
    // The same name hashed as UTF-8 (what pure-sasl does) is refused.
    let client = TestClient {
        latin1: false,
        ..client
    };
    let (response, _) = client.respond(CHALLENGE);
    assert_eq!(answer(&response), Err(SaslError::MismatchedResponse));
}

#[test]
fn wider_names_hash_as_utf8_with_or_without_charset() {
    for latin1 in [true, false] {
        let client = TestClient {
            user: "пользователь",
            password: "пароль",
            latin1,
            ..bob()
        };
        let (response, rspauth) = client.respond(CHALLENGE);
        assert_eq!(
            answer(&response).unwrap(),
            SaslStep::Complete {
                authorization_id: "пользователь".into(),
                requested_authzid: None,
                token: rspauth
            }
        );
    }
    // A password mixing both ranges is all UTF-8, the name (pure Latin-1) stays ISO-8859-1.
    let client = TestClient {
        user: "bøb",
        password: "pä€",
        ..bob()
    };
    let (response, rspauth) = client.respond(CHALLENGE);
    let (mut s, _) = challenged();
    let done = s
        .step(&response, &|u| (u == "bøb").then(|| "pä€".to_string()))
        .unwrap();
    assert_eq!(
        done,
        SaslStep::Complete {
            authorization_id: "bøb".into(),
            requested_authzid: None,
            token: rspauth
        }
    );
}

#[test]
fn invalid_utf8_is_replaced_as_java_does() {
    let r = with_bob(|r| r.replace("\"bob\"", "\"b\u{0}b\""));
    assert!(matches!(r, Err(SaslError::UnknownUser { .. })));
    let (response, _) = bob().respond(CHALLENGE);
    let mut bad = response.clone();
    let at = response.windows(5).position(|w| w == b"\"bob\"").unwrap();
    bad[at + 2] = 0xFF;
    assert_eq!(
        answer(&bad),
        Err(SaslError::UnknownUser {
            username: "b\u{FFFD}b".into(),
            realm: SERVER_NAME.into()
        })
    );
}

#[test]
fn rfc2831_bytes_rule() {
    assert_eq!(rfc2831_bytes("abc"), b"abc");
    assert_eq!(rfc2831_bytes("bøb"), b"b\xf8b");
    assert_eq!(rfc2831_bytes("\u{FF}"), b"\xff");
    assert_eq!(rfc2831_bytes("ø€"), "ø€".as_bytes());
    assert_eq!(rfc2831_bytes(""), b"");
}

// ---------------------------------------------------------------------------------------------------------------
// Robustness.

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(tokens in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..5)) {
        let users = users();
        let creds = |u: &str| users.get(u).cloned();
        let mut s = DigestMd5Server::new(ORACLE_NONCE);
        let mut completed = 0;
        for t in &tokens {
            if let Ok(SaslStep::Complete { .. }) = s.step(t, &creds) {
                completed += 1;
            }
        }
        prop_assert!(completed <= 1);
    }

    #[test]
    fn mutated_responses_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec![
            b',', b'=', b'"', b'\\', b' ', b'\t', b'a', b'Z', 0xC3, 0xFF, b'0', b'-', 0, b'\n',
        ]), 0..3u8), 1..6),
    ) {
        let (response, rspauth) = bob().respond(CHALLENGE);
        let mut r = response.clone();
        for (at, byte, op) in edits {
            let i = at.index(r.len() + 1);
            match op {
                0 => r.insert(i, byte),
                1 if i < r.len() => { r.remove(i); }
                _ if i < r.len() => r[i] = byte,
                _ => {}
            }
        }
        if let Ok(SaslStep::Complete { authorization_id, token, .. }) = answer(&r) {
            // Whatever still authenticates, authenticates bob (the user name is in the digest).
            prop_assert_eq!(authorization_id, "bob");
            prop_assert_eq!(token.len(), rspauth.len());
        }
    }

    #[test]
    fn any_credentials_round_trip(user in "\\PC{0,12}", password in "\\PC{0,12}", cnonce in "[A-Za-z0-9+/]{1,40}") {
        // Quotes and backslashes would need quoting in the test client's response: keep them out of the name.
        prop_assume!(!user.contains(['"', '\\']));
        let client = TestClient { user: &user, password: &password, cnonce: &cnonce, authzid: None, latin1: true };
        let (response, rspauth) = client.respond(CHALLENGE);
        prop_assume!(response.len() <= MAX_RESPONSE_LEN);
        let mut s = DigestMd5Server::new(ORACLE_NONCE);
        let creds = |u: &str| (u == user).then(|| password.clone());
        s.step(b"", &creds).unwrap();
        prop_assert_eq!(
            s.step(&response, &creds).unwrap(),
            SaslStep::Complete { authorization_id: user.clone(), requested_authzid: None, token: rspauth }
        );
    }
}
