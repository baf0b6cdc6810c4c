//! The server side of SASL DIGEST-MD5 (RFC 2831), behaving as the JDK's
//! `com.sun.security.sasl.digest.DigestMD5Server` does when ZooKeeper 3.8 creates it.
//!
//! # The exchange
//! 1. The client sends an initial token. ZooKeeper's Java client sends an empty one (`ZooKeeperSaslClient.initialize`:
//!    DIGEST-MD5 has no initial response); kazoo (pure-sasl) sends an empty one too. The JDK ignores a non-empty
//!    one, and so does [`DigestMd5Server::step`]. The server answers with the challenge, always exactly
//!    `realm="zk-sasl-md5",nonce="<40 base64 characters>",charset=utf-8,algorithm=md5-sess` (no `qop`
//!    directive: ZooKeeper passes no properties, so the JDK offers its default `auth` without naming it).
//! 2. The client sends its digest-response; the server checks it and answers `rspauth=<hex>`. The exchange is
//!    complete and the connection is authenticated as the user name.
//!
//! Any further step is refused ([`SaslError::IllegalState`]), as is any step after a failure: the JDK marks
//! the server unusable once the response has been looked at, whatever the outcome.
//!
//! # What is checked, in the JDK's order (the first failure wins)
//! Token length (at most 4096 bytes, checked before anything else and at every step); directive syntax and
//! duplicates; `charset` (must be exactly `utf-8` if present); `maxbuf` (a decimal int if present); `username`
//! (required); `realm` (must be `zk-sasl-md5`; missing counts as empty, so it is refused); `nonce` (required, the
//! bytes this server sent); `cnonce` (required); `nonce-count` (a hex int equal to 1, if present); `qop` (`auth`
//! if absent; `auth-int`/`auth-conf` refused); `digest-uri` (required, `zookeeper/zk-sasl-md5` ignoring case);
//! `response` (required); the password lookup; the digest itself.
//!
//! JDK quirks kept on purpose, so that what ZooKeeper accepts rzk accepts and what it refuses rzk refuses:
//! - Directive names are matched ignoring case, with Java's `String.equalsIgnoreCase` (so `U+017F` matches `s`,
//!   `U+212A` matches `k`, `U+0130`/`U+0131` match `i`); unknown directives are ignored.
//! - The JDK's server table names the nonce count `nonce-count`, not `nc`: the `nc=00000001` every client sends is
//!   ignored as an unknown directive, and the digest is always computed with `00000001`.
//! - Values are decoded as UTF-8 whether or not the client sent `charset=utf-8` (the server's own setting decides;
//!   invalid sequences become U+FFFD, as Java's decoder does). For the digest the user name, realm and password are
//!   each encoded back to ISO-8859-1 when every character fits (U+0000..U+00FF), else to UTF-8 (RFC 2831 2.1.2.1).
//!   So a client that hashes the raw UTF-8 of a Latin-1 name such as `bøb` (pure-sasl does) is refused, as by
//!   ZooKeeper; names and passwords with a character above U+00FF work with both.
//! - `nonce`, `cnonce` and `authzid` go into the digest as the raw bytes received; the client's own spelling of
//!   `digest-uri` (its case) goes into the digest.
//! - The response digest is compared byte for byte with the lowercase hex: uppercase hex is refused.
//!
//! # The identity
//! ZooKeeper's `SaslServerCallbackHandler.handleAuthorizeCallback` always authorizes, and replaces the client's
//! `authzid` by the Kerberos short name of the *authentication* id (the user name). For a name without `@` that
//! short name is the name itself, so the ACL id is `sasl:<username>` whatever `authzid` the client sent; the
//! `authzid` still takes part in the digest. (For a name with `@` ZooKeeper applies `auth_to_local` rules and can
//! fall back to the client's `authzid`, or fail with an unchecked exception; rzk always uses the user name.)
//!
//! # Deviations from ZooKeeper, on purpose
//! - ZooKeeper's callback handler keeps the last looked-up user name in one field shared by every connection: an
//!   unknown user is checked against the password of the previous known user. rzk refuses an unknown user
//!   ([`SaslError::UnknownUser`], the JDK's message when no password is found).
//! - `maxbuf`/`nonce-count` numbers are parsed with ASCII digits only (Java also takes other Unicode digits).

use base64::Engine as _;
use md5::{Digest as _, Md5};

use super::{SaslError, SaslStep};

/// The protocol ZooKeeper gives `Sasl.createSaslServer` (and its clients give `createSaslClient`).
pub const PROTOCOL: &str = "zookeeper";
/// The server name ZooKeeper uses for DIGEST-MD5 (hard-coded on both sides); the JDK makes it the realm too.
pub const SERVER_NAME: &str = "zk-sasl-md5";
/// Random bytes in a nonce: the JDK draws 30 and sends them base64-encoded (40 characters, no padding).
pub const NONCE_LEN: usize = 30;
/// The JDK refuses any token longer than this (`MAX_RESPONSE_LENGTH`).
pub const MAX_RESPONSE_LEN: usize = 4096;

/// The only nonce count the JDK server accepts, and the one it hashes.
const NONCE_COUNT: &[u8] = b"00000001";

/// The directives the JDK server knows (`DigestMD5Server.DIRECTIVE_KEY`), in its order.
const KEYS: [&str; 13] = [
    "username",
    "realm",
    "nonce",
    "cnonce",
    "nonce-count",
    "qop",
    "digest-uri",
    "response",
    "maxbuf",
    "charset",
    "cipher",
    "authzid",
    "auth-param",
];
const USERNAME: usize = 0;
const REALM: usize = 1;
const NONCE: usize = 2;
const CNONCE: usize = 3;
const NONCE_COUNT_KEY: usize = 4;
const QOP: usize = 5;
const DIGEST_URI: usize = 6;
const RESPONSE: usize = 7;
const MAXBUF: usize = 8;
const CHARSET: usize = 9;
const AUTHZID: usize = 11;

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the client's initial (empty) token.
    Initial,
    /// The challenge went out; waiting for the digest-response.
    Challenged,
    /// Authenticated.
    Complete,
    /// The response was refused.
    Failed,
}

/// One connection's DIGEST-MD5 exchange (server side). See the module documentation.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct DigestMd5Server {
    /// `protocol/server-name`.
    digest_uri: String,
    realm: String,
    /// The nonce as sent (base64 text).
    nonce: Vec<u8>,
    state: State,
}

impl DigestMd5Server {
    /// A server for ZooKeeper's DIGEST-MD5 (`zookeeper`, `zk-sasl-md5`) whose nonce is `nonce` (OS entropy in
    /// production, seeded bytes in the simulator), sent base64-encoded like the JDK's.
    pub fn new(nonce: [u8; NONCE_LEN]) -> DigestMd5Server {
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(nonce)
            .into_bytes();
        DigestMd5Server::with_encoded_nonce(PROTOCOL, SERVER_NAME, encoded)
    }

    /// Any protocol and server name (the realm is the server name, as in the JDK), with the nonce text given as
    /// sent. Used by the tests to replay RFC 2831's example.
    pub(crate) fn with_encoded_nonce(
        protocol: &str,
        server_name: &str,
        nonce: Vec<u8>,
    ) -> DigestMd5Server {
        DigestMd5Server {
            digest_uri: format!("{protocol}/{server_name}"),
            realm: server_name.to_string(),
            nonce,
            state: State::Initial,
        }
    }

    /// The nonce text this server sends in its challenge.
    pub fn nonce(&self) -> &[u8] {
        &self.nonce
    }

    /// True once a response has been accepted.
    pub fn is_complete(&self) -> bool {
        self.state == State::Complete
    }

    /// Feeds the client's next token. The first call (with the client's initial token, empty for every known
    /// client) returns the challenge; the second checks the digest-response, looking the user's password up
    /// with `credentials`, and completes. Any later call fails with [`SaslError::IllegalState`].
    pub fn step(
        &mut self,
        response: &[u8],
        credentials: &dyn Fn(&str) -> Option<String>,
    ) -> Result<SaslStep, SaslError> {
        if response.len() > MAX_RESPONSE_LEN {
            return Err(SaslError::ResponseTooLong {
                len: response.len(),
            });
        }
        match self.state {
            State::Initial => {
                // A non-empty initial response ("subsequent authentication") is ignored, as by the JDK.
                self.state = State::Challenged;
                Ok(SaslStep::Challenge(self.challenge()))
            }
            State::Challenged => {
                self.state = State::Failed;
                let done = self.validate(response, credentials)?;
                self.state = State::Complete;
                Ok(done)
            }
            State::Complete | State::Failed => Err(SaslError::IllegalState),
        }
    }

    /// `realm="...",nonce="...",charset=utf-8,algorithm=md5-sess`: the JDK's directives in the JDK's order.
    fn challenge(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        out.extend_from_slice(b"realm=\"");
        write_quoted(&mut out, self.realm.as_bytes());
        out.extend_from_slice(b"\",nonce=\"");
        write_quoted(&mut out, &self.nonce);
        out.extend_from_slice(b"\",charset=utf-8,algorithm=md5-sess");
        out
    }

    fn validate(
        &self,
        response: &[u8],
        credentials: &dyn Fn(&str) -> Option<String>,
    ) -> Result<SaslStep, SaslError> {
        let d = parse_directives(response)?;

        if let Some(charset) = &d[CHARSET] {
            if charset.as_slice() != b"utf-8" {
                return Err(SaslError::IncompatibleCharset(text(charset)));
            }
        }
        if let Some(maxbuf) = &d[MAXBUF] {
            let value = text(maxbuf);
            if parse_java_int(&value, 10).is_none() {
                return Err(SaslError::InvalidMaxbuf(value));
            }
        }
        let username = match &d[USERNAME] {
            Some(u) => text(u),
            None => return Err(SaslError::MissingUsername),
        };
        let realm = d[REALM].as_deref().map(text).unwrap_or_default();
        if realm != self.realm {
            return Err(SaslError::NonexistentRealm(realm));
        }
        match &d[NONCE] {
            None => return Err(SaslError::MissingNonce),
            Some(n) if *n != self.nonce => return Err(SaslError::MismatchedNonce),
            Some(_) => {}
        }
        let Some(cnonce) = &d[CNONCE] else {
            return Err(SaslError::MissingCnonce);
        };
        if let Some(nc) = &d[NONCE_COUNT_KEY] {
            let value = text(nc);
            match parse_java_int(&value, 16) {
                None => return Err(SaslError::InvalidNonceCount(value)),
                Some(1) => {}
                Some(_) => return Err(SaslError::NonceCountMismatch(value)),
            }
        }
        let qop = d[QOP]
            .as_deref()
            .map(text)
            .unwrap_or_else(|| "auth".to_string());
        match qop.as_str() {
            "auth" => {}
            "auth-int" | "auth-conf" => return Err(SaslError::UnsupportedQop(qop)),
            _ => return Err(SaslError::InvalidQop(qop)),
        }
        let uri = d[DIGEST_URI].as_deref().map(text);
        let uri = match uri {
            Some(u) if java_equals_ignore_case(&self.digest_uri, &u) => u,
            got => {
                return Err(SaslError::MismatchedUri {
                    got,
                    expected: self.digest_uri.clone(),
                });
            }
        };
        let Some(client_digest) = &d[RESPONSE] else {
            return Err(SaslError::MissingResponse);
        };
        let authzid = d[AUTHZID].as_deref();

        let Some(password) = credentials(&username) else {
            return Err(SaslError::UnknownUser { username, realm });
        };
        let secret = Secret {
            username: &username,
            realm: &realm,
            password: &password,
            nonce: &self.nonce,
            cnonce,
            authzid,
        };
        let expected = response_value(b"AUTHENTICATE", uri.as_bytes(), &secret);
        if client_digest.as_slice() != expected.as_slice() {
            return Err(SaslError::MismatchedResponse);
        }
        let mut token = b"rspauth=".to_vec();
        token.extend_from_slice(&response_value(b"", uri.as_bytes(), &secret));
        Ok(SaslStep::Complete {
            authorization_id: username.clone(),
            requested_authzid: authzid.map(text),
            token,
        })
    }
}

/// What goes into the digest besides the method and URI.
struct Secret<'a> {
    username: &'a str,
    realm: &'a str,
    password: &'a str,
    nonce: &'a [u8],
    cnonce: &'a [u8],
    authzid: Option<&'a [u8]>,
}

/// RFC 2831 2.1.2.1 `response-value` for qop `auth` and nonce count 1, hex-encoded (lowercase). `method` is
/// `AUTHENTICATE` for the client's response and empty for `rspauth`.
fn response_value(method: &[u8], digest_uri: &[u8], s: &Secret<'_>) -> [u8; 32] {
    let mut inner = Md5::new();
    inner.update(rfc2831_bytes(s.username));
    inner.update(b":");
    inner.update(rfc2831_bytes(s.realm));
    inner.update(b":");
    inner.update(rfc2831_bytes(s.password));
    let mut a1 = Md5::new();
    a1.update(inner.finalize());
    a1.update(b":");
    a1.update(s.nonce);
    a1.update(b":");
    a1.update(s.cnonce);
    if let Some(authzid) = s.authzid {
        a1.update(b":");
        a1.update(authzid);
    }
    let ha1 = hex(&a1.finalize().into());

    let mut a2 = Md5::new();
    a2.update(method);
    a2.update(b":");
    a2.update(digest_uri);
    let ha2 = hex(&a2.finalize().into());

    let mut kd = Md5::new();
    kd.update(ha1);
    kd.update(b":");
    kd.update(s.nonce);
    kd.update(b":");
    kd.update(NONCE_COUNT);
    kd.update(b":");
    kd.update(s.cnonce);
    kd.update(b":auth:");
    kd.update(ha2);
    hex(&kd.finalize().into())
}

/// ISO-8859-1 if every character fits, else UTF-8 (the JDK's `stringToByte_8859_1` with UTF-8 on).
fn rfc2831_bytes(s: &str) -> Vec<u8> {
    if s.chars().all(|c| u32::from(c) <= 0xFF) {
        s.chars().map(|c| u32::from(c) as u8).collect()
    } else {
        s.as_bytes().to_vec()
    }
}

fn hex(digest: &[u8; 16]) -> [u8; 32] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 32];
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0x0F)];
    }
    out
}

/// A directive value as the JDK server reads it: UTF-8, invalid sequences replaced by U+FFFD.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Java's `Integer.parseInt(s, radix)` for ASCII digits: an optional sign, at least one digit, within `i32`.
fn parse_java_int(s: &str, radix: u32) -> Option<i32> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for c in digits.chars() {
        value = value * i64::from(radix) + i64::from(c.to_digit(radix)?);
        if value > i64::from(i32::MAX) + 1 {
            return None;
        }
    }
    let value = if negative { -value } else { value };
    i32::try_from(value).ok()
}

/// Java's `ascii.equalsIgnoreCase(other)` where `ascii` is all ASCII: per UTF-16 unit, equal, or equal after
/// `Character.toUpperCase`, or after `toLowerCase` of that. Beyond ASCII letters' own cases, only four BMP
/// characters fold onto ASCII that way (found by running Java 17 over every `char`): U+0130 and U+0131 onto `i`,
/// U+017F onto `s`, U+212A onto `k`.
fn java_equals_ignore_case(ascii: &str, other: &str) -> bool {
    let mut theirs = other.chars();
    for mine in ascii.bytes() {
        let Some(c) = theirs.next() else {
            return false;
        };
        let folds = match c {
            '\u{0130}' | '\u{0131}' => mine.eq_ignore_ascii_case(&b'i'),
            '\u{017F}' => mine.eq_ignore_ascii_case(&b's'),
            '\u{212A}' => mine.eq_ignore_ascii_case(&b'k'),
            _ => c.is_ascii() && (c as u8).eq_ignore_ascii_case(&mine),
        };
        if !folds {
            return false;
        }
    }
    theirs.next().is_none()
}

/// Writes a quoted-string body, escaping `"`, `\`, DEL and control characters other than CR, LF and HT.
fn write_quoted(out: &mut Vec<u8>, value: &[u8]) {
    for &b in value {
        if b == b'"'
            || b == b'\\'
            || b == 0x7F
            || (b < 0x20 && b != b'\r' && b != b'\n' && b != b'\t')
        {
            out.push(b'\\');
        }
        out.push(b);
    }
}

type Directives = [Option<Vec<u8>>; KEYS.len()];

fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn skip_lws(buf: &[u8], mut i: usize) -> usize {
    while i < buf.len() && is_lws(buf[i]) {
        i += 1;
    }
    i
}

/// The JDK's directive parser (`DigestMD5Base.parseDirectives`): comma- or whitespace-separated `key=value`
/// pairs, values bare or quoted (with `\` escaping the next byte), empty elements allowed, unknown keys ignored,
/// a known key twice refused. Error texts are the JDK's.
fn parse_directives(buf: &[u8]) -> Result<Directives, SaslError> {
    let mut found: Directives = Default::default();
    let mut key: Vec<u8> = Vec::new();
    let mut value: Vec<u8> = Vec::new();
    let mut getting_key = true;
    let mut quoted = false;
    let mut expect_separator = false;
    let mut i = skip_lws(buf, 0);
    while i < buf.len() {
        let b = buf[i];
        if getting_key {
            if b == b',' {
                if !key.is_empty() {
                    return Err(SaslError::Malformed(format!(
                        "Directive key contains a ',':{}",
                        text(&key)
                    )));
                }
                i = skip_lws(buf, i + 1);
            } else if b == b'=' {
                if key.is_empty() {
                    return Err(SaslError::Malformed("Empty directive key".to_string()));
                }
                getting_key = false;
                i = skip_lws(buf, i + 1);
                if i < buf.len() {
                    if buf[i] == b'"' {
                        quoted = true;
                        i += 1;
                    }
                } else {
                    return Err(SaslError::Malformed(format!(
                        "Valueless directive found: {}",
                        text(&key)
                    )));
                }
            } else if is_lws(b) {
                i = skip_lws(buf, i + 1);
                if i >= buf.len() || buf[i] != b'=' {
                    return Err(SaslError::Malformed(format!(
                        "'=' expected after key: {}",
                        text(&key)
                    )));
                }
            } else {
                key.push(b);
                i += 1;
            }
        } else if quoted {
            if b == b'\\' {
                i += 1;
                match buf.get(i) {
                    Some(&escaped) => {
                        value.push(escaped);
                        i += 1;
                    }
                    None => return Err(unmatched_quote(&key, &value)),
                }
            } else if b == b'"' {
                i += 1;
                quoted = false;
                expect_separator = true;
            } else {
                value.push(b);
                i += 1;
            }
        } else if is_lws(b) || b == b',' {
            store(&mut found, &key, std::mem::take(&mut value))?;
            key.clear();
            getting_key = true;
            expect_separator = false;
            i = skip_lws(buf, i + 1);
        } else if expect_separator {
            return Err(SaslError::Malformed(format!(
                "Expecting comma or linear whitespace after quoted string: \"{}\"",
                text(&value)
            )));
        } else {
            value.push(b);
            i += 1;
        }
    }
    if quoted {
        return Err(unmatched_quote(&key, &value));
    }
    if !key.is_empty() {
        store(&mut found, &key, value)?;
    }
    Ok(found)
}

fn unmatched_quote(key: &[u8], value: &[u8]) -> SaslError {
    SaslError::Malformed(format!(
        "Unmatched quote found for directive: {} with value: {}",
        text(key),
        text(value)
    ))
}

fn store(found: &mut Directives, key: &[u8], value: Vec<u8>) -> Result<(), SaslError> {
    let key = text(key);
    let Some(index) = KEYS.iter().position(|k| java_equals_ignore_case(k, &key)) else {
        return Ok(()); // unknown directives (`nc` among them) are ignored
    };
    if found[index].is_some() {
        return Err(SaslError::DuplicateDirective {
            key,
            value: text(&value),
        });
    }
    found[index] = Some(value);
    Ok(())
}

#[cfg(test)]
mod java_oracle;
#[cfg(test)]
mod tests;
