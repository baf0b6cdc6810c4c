//! TLS settings as zoo.cfg gives them (ZooKeeper's `ssl.*` keys for the client port; `ssl.quorum.*` for the
//! quorum later). Plain data: the driver reads the stores and builds the TLS configuration.

use std::path::PathBuf;

/// How a key or trust store file is encoded (`ssl.keyStore.type`, `ssl.trustStore.type`).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreType {
    Pem,
    Pkcs12,
    /// Java KeyStore: recognised so that it gets an error saying how to convert it.
    Jks,
    /// BouncyCastle FIPS KeyStore: recognised for the same reason.
    Bcfks,
}

impl StoreType {
    /// ZooKeeper's `KeyStoreFileType` names, without case.
    pub fn parse(s: &str) -> Option<StoreType> {
        match s.to_ascii_uppercase().as_str() {
            "PEM" => Some(StoreType::Pem),
            "PKCS12" => Some(StoreType::Pkcs12),
            "JKS" => Some(StoreType::Jks),
            "BCFKS" => Some(StoreType::Bcfks),
            _ => None,
        }
    }
}

/// One store: where it is, its password, its type (None: from the file name, then the contents).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    pub location: PathBuf,
    #[serde(serialize_with = "crate::redact::secret")]
    pub password: Option<String>,
    /// `*.passwordPath`: a file holding the password; wins over `password`, as in ZooKeeper (the driver
    /// reads it).
    pub password_path: Option<PathBuf>,
    pub store_type: Option<StoreType>,
}

/// `ssl.clientAuth`: whether clients must present a certificate.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// A certificate is required (ZooKeeper's default).
    Need,
    /// A certificate is asked for; a client without one is let in.
    Want,
    /// No certificate is asked for.
    None,
}

impl ClientAuth {
    pub fn parse(s: &str) -> Option<ClientAuth> {
        match s.to_ascii_lowercase().as_str() {
            "need" | "required" => Some(ClientAuth::Need),
            "want" => Some(ClientAuth::Want),
            "none" => Some(ClientAuth::None),
            _ => None,
        }
    }
}

/// The `ssl.*` (or `ssl.quorum.*`) settings of one listener.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub key_store: Option<StoreConfig>,
    pub trust_store: Option<StoreConfig>,
    pub client_auth: ClientAuth,
    /// `ssl.protocol` (default TLSv1.2, X509Util.DEFAULT_PROTOCOL); with `enabled_protocols` unset it is the
    /// only protocol enabled.
    pub protocol: String,
    /// `ssl.enabledProtocols`, as written (`TLSv1.2`, `TLSv1.3`).
    pub enabled_protocols: Option<Vec<String>>,
    /// `ssl.ciphersuites`, as written (IANA names, which Java uses too). None: ZooKeeper's default list.
    pub cipher_suites: Option<Vec<String>>,
    pub hostname_verification: bool,
    /// `ssl.handshakeDetectionTimeoutMillis`: how long a unified port waits for a connection's first bytes
    /// before it decides.
    pub handshake_detection_timeout_ms: u32,
}

impl Default for TlsSettings {
    fn default() -> TlsSettings {
        TlsSettings {
            key_store: None,
            trust_store: None,
            client_auth: ClientAuth::Need,
            protocol: "TLSv1.2".to_string(),
            enabled_protocols: None,
            cipher_suites: None,
            hostname_verification: true,
            handshake_detection_timeout_ms: 5000,
        }
    }
}

impl TlsSettings {
    /// The protocols to enable: `ssl.enabledProtocols`, else `ssl.protocol` alone (SSLContextAndOptions).
    pub fn protocols(&self) -> Vec<String> {
        match &self.enabled_protocols {
            Some(p) => p.clone(),
            None => vec![self.protocol.clone()],
        }
    }
}

/// A comma-separated list, trimmed, empty items dropped.
pub fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// ZooKeeper's default cipher suites on Java 9+ (X509Util.DEFAULT_CIPHERS_JAVA9), in its order.
pub const DEFAULT_CIPHER_SUITES: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
];
