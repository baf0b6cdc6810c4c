//! The client side of DIGEST-MD5 as kazoo's pure-sasl runs it against ZooKeeper (service `zookeeper`, host
//! `zk-sasl-md5`, qop `auth`, no authzid): for the simulator's clients and for tests. Never panics: a
//! challenge it cannot read gives None.

use md5::{Digest as _, Md5};

use super::{PROTOCOL, SERVER_NAME};

pub struct DigestMd5Client<'a> {
    pub user: &'a str,
    pub password: &'a str,
    /// The client nonce (any printable token).
    pub cnonce: &'a str,
}

fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn directive<'c>(challenge: &'c str, key: &str) -> Option<&'c str> {
    challenge.split(',').find_map(|d| {
        let (k, v) = d.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"'))
    })
}

impl DigestMd5Client<'_> {
    /// RFC 2831's response-value for `method` (`AUTHENTICATE`; empty for the server's `rspauth`).
    fn digest(&self, method: &str, realm: &str, nonce: &str, uri: &str) -> String {
        let secret = format!("{}:{realm}:{}", self.user, self.password);
        let mut a1 = Md5::digest(secret.as_bytes()).to_vec();
        a1.extend(format!(":{nonce}:{}", self.cnonce).bytes());
        let kd = format!(
            "{}:{nonce}:00000001:{}:auth:{}",
            md5_hex(&a1),
            self.cnonce,
            md5_hex(format!("{method}:{uri}").as_bytes())
        );
        md5_hex(kd.as_bytes())
    }

    /// The digest-response to the server's challenge, and the `rspauth=...` token a server that knows the
    /// password answers with.
    pub fn respond(&self, challenge: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        let challenge = std::str::from_utf8(challenge).ok()?;
        let realm = directive(challenge, "realm")?;
        let nonce = directive(challenge, "nonce")?;
        let uri = format!("{PROTOCOL}/{SERVER_NAME}");
        let response = format!(
            "username=\"{}\",realm=\"{realm}\",nonce=\"{nonce}\",nc=00000001,cnonce=\"{}\",\
             digest-uri=\"{uri}\",maxbuf=65536,response={},qop=auth",
            self.user,
            self.cnonce,
            self.digest("AUTHENTICATE", realm, nonce, &uri)
        );
        let rspauth = format!("rspauth={}", self.digest("", realm, nonce, &uri));
        Some((response.into_bytes(), rspauth.into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::{DigestMd5Server, SaslStep};

    #[test]
    fn a_whole_exchange_with_the_server() {
        let users = |u: &str| (u == "bob").then(|| "bobsecret".to_string());
        let mut server = DigestMd5Server::new([7; crate::sasl::NONCE_LEN]);
        let Ok(SaslStep::Challenge(challenge)) = server.step(b"", &users) else {
            panic!("a challenge first");
        };
        let client = DigestMd5Client {
            user: "bob",
            password: "bobsecret",
            cnonce: "abc",
        };
        let (response, rspauth) = client.respond(&challenge).unwrap();
        match server.step(&response, &users) {
            Ok(SaslStep::Complete {
                authorization_id,
                token,
                ..
            }) => {
                assert_eq!(authorization_id, "bob");
                assert_eq!(token, rspauth);
            }
            other => panic!("{other:?}"),
        }
        let mut server = DigestMd5Server::new([8; crate::sasl::NONCE_LEN]);
        let Ok(SaslStep::Challenge(challenge)) = server.step(b"", &users) else {
            panic!("a challenge first");
        };
        let wrong = DigestMd5Client {
            user: "bob",
            password: "nope",
            cnonce: "abc",
        };
        let (response, _) = wrong.respond(&challenge).unwrap();
        assert!(server.step(&response, &users).is_err());
        assert!(wrong.respond(b"garbage").is_none());
    }
}
