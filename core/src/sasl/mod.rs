//! SASL for client connections: the server side of DIGEST-MD5, as ZooKeeper 3.8 runs it.
//!
//! ZooKeeper builds its SASL server with `Sasl.createSaslServer("DIGEST-MD5", "zookeeper", "zk-sasl-md5", null,
//! handler)` (`util/SecurityUtils.createSaslServer`, called from `server/ZooKeeperSaslServer`), so the JDK's
//! `com.sun.security.sasl.digest.DigestMD5Server` does the work with its defaults: realm = the server name
//! `zk-sasl-md5`, qop `auth` only (and no `qop` directive in the challenge), `charset=utf-8`. The callback handler
//! (`server/auth/SaslServerCallbackHandler`) looks passwords up in the `user_<name>` options of the JAAS section
//! (`Server` unless `zookeeper.sasl.serverconfig` says otherwise; see [`crate::config::jaas`]).
//!
//! [`DigestMd5Server`] is that exchange as a pure state machine: the nonce comes in from outside, passwords come
//! from a lookup closure, and every rejection is a [`SaslError`] whose text is the message the JDK puts in its
//! `SaslException` (ZooKeeper logs it as `Client <addr> failed to SASL authenticate: <exception>`).

pub mod digest_md5;
pub mod digest_md5_client;

pub use digest_md5::{DigestMd5Server, MAX_RESPONSE_LEN, NONCE_LEN, PROTOCOL, SERVER_NAME};

/// What one SASL step produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslStep {
    /// Send this token to the client (`SetSASLResponse`) and wait for its next one.
    Challenge(Vec<u8>),
    /// The client is authenticated. Send `token` (`rspauth=...`) as the reply to this step; the connection gets
    /// the ACL id `sasl:<authorization_id>`.
    Complete {
        /// The identity ZooKeeper adds as `Id("sasl", authorization_id)`: the authenticated user name, whatever
        /// `authzid` the client asked for (see [`DigestMd5Server`] for why).
        authorization_id: String,
        /// The `authzid` directive the client sent, if any (ZooKeeper logs it; it takes part in the digest but
        /// not in the identity). The Java client sends its user name here; kazoo sends none.
        requested_authzid: Option<String>,
        /// The final server token, `rspauth=<32 lowercase hex digits>`.
        token: Vec<u8>,
    },
}

/// Why a SASL step was refused. The `Display` text is the JDK's `SaslException` message for the same case (quirks
/// such as doubled spaces included), so logs read like ZooKeeper's.
///
/// ZooKeeper (`ZooKeeperServer.processSasl`) answers any `SaslException` with a reply header carrying
/// `AUTHFAILED` (-115), or `SESSIONCLOSEDREQUIRESASLAUTH` (-124) when SASL is required, and closes the connection
/// (unless `zookeeper.allowSaslFailedClients=true` and SASL is not required). The few cases where the JDK throws
/// an unchecked exception instead are flagged by [`SaslError::is_unchecked_in_java`]: there ZooKeeper sends no
/// reply at all and just drops the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    /// Any token over 4096 bytes, at any step (the state is left as it was).
    #[error("DIGEST-MD5: Invalid digest response length. Got:  {len} Expected < {max}", max = MAX_RESPONSE_LEN)]
    ResponseTooLong { len: usize },
    /// The response is not a list of `key=value` directives; the text is the JDK parser's.
    #[error("{0}")]
    Malformed(String),
    /// A known directive appeared twice.
    #[error("DIGEST-MD5: peer sent more than one {key} directive: {value}")]
    DuplicateDirective { key: String, value: String },
    /// `charset` present but not exactly `utf-8`.
    #[error("DIGEST-MD5: digest response format violation. Incompatible charset value: {0}")]
    IncompatibleCharset(String),
    /// `maxbuf` is not a decimal `int` (Java: `NumberFormatException`, unchecked).
    #[error("java.lang.NumberFormatException: For input string: \"{0}\"")]
    InvalidMaxbuf(String),
    #[error("DIGEST-MD5: digest response format violation. Missing username.")]
    MissingUsername,
    /// `realm` missing (taken as empty) or not the server's realm (`zk-sasl-md5`), compared case-sensitively.
    #[error("DIGEST-MD5: digest response format violation. Nonexistent realm: {0}")]
    NonexistentRealm(String),
    #[error("DIGEST-MD5: digest response format violation. Missing nonce.")]
    MissingNonce,
    /// The `nonce` is not the one this server sent (a replay, or a response meant for another connection).
    #[error("DIGEST-MD5: digest response format violation. Mismatched nonce.")]
    MismatchedNonce,
    #[error("DIGEST-MD5: digest response format violation. Missing cnonce.")]
    MissingCnonce,
    /// `nonce-count` is not a hexadecimal `int` (Java: `NumberFormatException`, unchecked).
    #[error("java.lang.NumberFormatException: For input string: \"{0}\" under radix 16")]
    InvalidNonceCount(String),
    /// `nonce-count` is not 1.
    #[error("DIGEST-MD5: digest response format violation. Nonce count does not match: {0}")]
    NonceCountMismatch(String),
    /// `qop` is none of `auth`, `auth-int`, `auth-conf`.
    #[error("DIGEST-MD5: digest response format violation. Invalid QOP: {0}")]
    InvalidQop(String),
    /// `qop` is `auth-int` or `auth-conf`: ZooKeeper offers `auth` only.
    #[error("DIGEST-MD5: server does not support  qop: {0}")]
    UnsupportedQop(String),
    /// `digest-uri` missing or not `zookeeper/zk-sasl-md5` (compared ignoring case).
    #[error(
        "DIGEST-MD5: digest response format violation. Mismatched URI: {}; expecting: {expected}",
        got.as_deref().unwrap_or("null")
    )]
    MismatchedUri {
        got: Option<String>,
        expected: String,
    },
    #[error("DIGEST-MD5: digest response format  violation. Missing response.")]
    MissingResponse,
    /// No password for this user (not in the JAAS section).
    #[error("DIGEST-MD5: cannot acquire password for {username} in realm : {realm}")]
    UnknownUser { username: String, realm: String },
    /// The digest does not match: a wrong password (or a client that hashed something else).
    #[error("DIGEST-MD5: digest response format violation. Mismatched response.")]
    MismatchedResponse,
    /// A step after the exchange completed or failed.
    #[error("DIGEST-MD5: Server at illegal state")]
    IllegalState,
}

impl SaslError {
    /// True where the JDK throws an unchecked exception (`NumberFormatException`) rather than a `SaslException`:
    /// ZooKeeper's `processSasl` does not catch it, the connection's worker logs "Unexpected exception" and closes
    /// the connection without sending any reply.
    pub fn is_unchecked_in_java(&self) -> bool {
        matches!(
            self,
            SaslError::InvalidMaxbuf(_) | SaslError::InvalidNonceCount(_)
        )
    }
}
