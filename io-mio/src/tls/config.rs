//! rustls's server configuration from a listener's `ssl.*` settings, as ZooKeeper's X509Util and
//! SSLContextAndOptions build their SSLContext: the key store's key and chain, the trust store's CAs for
//! client certificates (`ssl.clientAuth`), the enabled protocols and cipher suites.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, SupportedCipherSuite, SupportedProtocolVersion};
use rzk_core::config::tls::{ClientAuth, StoreConfig, TlsSettings, DEFAULT_CIPHER_SUITES};
use tracing::warn;

use super::stores::{self, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Settings(String),
    #[error("the TLS configuration is refused: {0}")]
    Rustls(#[from] rustls::Error),
}

fn settings_error(message: impl Into<String>) -> TlsSetupError {
    TlsSetupError::Settings(message.into())
}

/// The password of a store: the file named by `passwordPath` wins over `password`, as in ZooKeeper.
fn with_password(store: &StoreConfig) -> Result<StoreConfig, TlsSetupError> {
    let mut store = store.clone();
    if let Some(path) = &store.password_path {
        let text = std::fs::read_to_string(path).map_err(|e| {
            settings_error(format!(
                "cannot read the password file {}: {e}",
                path.display()
            ))
        })?;
        store.password = Some(text.trim_end_matches(['\n', '\r']).to_string());
    }
    Ok(store)
}

fn protocol_versions(
    settings: &TlsSettings,
) -> Result<Vec<&'static SupportedProtocolVersion>, TlsSetupError> {
    let mut versions = Vec::new();
    for name in settings.protocols() {
        let v = match name.as_str() {
            "TLSv1.3" => &rustls::version::TLS13,
            "TLSv1.2" => &rustls::version::TLS12,
            // Java's "TLS" means the newest it has.
            "TLS" => &rustls::version::TLS13,
            other => {
                warn!(
                    protocol = other,
                    "TLS protocol not supported by rzk (TLSv1.2 and TLSv1.3 are); skipping it"
                );
                continue;
            }
        };
        if !versions
            .iter()
            .any(|x: &&SupportedProtocolVersion| x.version == v.version)
        {
            versions.push(v);
        }
    }
    if versions.is_empty() {
        return Err(settings_error(format!(
            "none of the TLS protocols {:?} is supported (rzk speaks TLSv1.2 and TLSv1.3)",
            settings.protocols()
        )));
    }
    Ok(versions)
}

/// The cipher suites to offer: `ssl.ciphersuites`, else ZooKeeper's default list, by their IANA names, in
/// the given order; names rustls does not implement (the CBC suites) are skipped. TLS 1.3 suites are
/// added when TLS 1.3 is enabled and the list names none (ZooKeeper's default list names none: Java adds
/// its own).
fn cipher_suites(
    settings: &TlsSettings,
    provider: &CryptoProvider,
    versions: &[&'static SupportedProtocolVersion],
) -> Result<Vec<SupportedCipherSuite>, TlsSetupError> {
    let wanted: Vec<String> = match &settings.cipher_suites {
        Some(list) => list.clone(),
        None => DEFAULT_CIPHER_SUITES
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    let name = |s: &SupportedCipherSuite| s.suite().as_str().unwrap_or("").to_string();
    let mut chosen: Vec<SupportedCipherSuite> = Vec::new();
    let mut unknown = Vec::new();
    for w in &wanted {
        match provider.cipher_suites.iter().find(|s| name(s) == *w) {
            Some(s) => chosen.push(*s),
            None => unknown.push(w.clone()),
        }
    }
    if settings.cipher_suites.is_some() && !unknown.is_empty() {
        warn!(suites = ?unknown, "ssl.ciphersuites names suites rzk does not implement; skipping them");
    }
    let tls13 = versions
        .iter()
        .any(|v| v.version == rustls::ProtocolVersion::TLSv1_3);
    let has13 = chosen
        .iter()
        .any(|s| matches!(s, SupportedCipherSuite::Tls13(_)));
    if tls13 && !has13 {
        chosen.extend(
            provider
                .cipher_suites
                .iter()
                .filter(|s| matches!(s, SupportedCipherSuite::Tls13(_))),
        );
    }
    let usable = chosen
        .iter()
        .any(|s| versions.iter().any(|v| s.version().version == v.version));
    if !usable {
        return Err(settings_error(format!(
            "no usable cipher suite for {:?} among {wanted:?}",
            settings.protocols()
        )));
    }
    Ok(chosen)
}

/// The crypto provider (cipher suites as configured) and protocol versions of a listener's settings.
fn provider(
    settings: &TlsSettings,
) -> Result<(Arc<CryptoProvider>, Vec<&'static SupportedProtocolVersion>), TlsSetupError> {
    let versions = protocol_versions(settings)?;
    // ring rather than aws-lc-rs: it builds with the C compiler alone. rustls deprecates it for lacking
    // post-quantum key exchange, which no ZooKeeper 3.8 client offers either.
    #[allow(deprecated)]
    let base = rustls::crypto::ring::default_provider();
    let suites = cipher_suites(settings, &base, &versions)?;
    let provider = Arc::new(CryptoProvider {
        cipher_suites: suites,
        ..base
    });
    Ok((provider, versions))
}

fn roots(trust: &StoreConfig) -> Result<Arc<RootCertStore>, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    for cert in stores::load_trust_store(&with_password(trust)?)? {
        roots.add(cert).map_err(|e| {
            settings_error(format!(
                "trust store {}: a certificate cannot be used as a CA: {e}",
                trust.location.display()
            ))
        })?;
    }
    Ok(Arc::new(roots))
}

fn identity(settings: &TlsSettings, key: &str) -> Result<stores::KeyMaterial, TlsSetupError> {
    let key_store = settings
        .key_store
        .as_ref()
        .ok_or_else(|| settings_error(format!("{key} is not set")))?;
    Ok(stores::load_key_store(&with_password(key_store)?)?)
}

/// The configuration of a TLS listener: the key store's chain, client certificates checked against the trust
/// store as `clientAuth` says.
pub fn build_server_config(settings: &TlsSettings) -> Result<rustls::ServerConfig, TlsSetupError> {
    let identity = identity(settings, "ssl.keyStore.location")?;
    let (provider, versions) = provider(settings)?;
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)?;
    let builder = match (&settings.trust_store, settings.client_auth) {
        (_, ClientAuth::None) => builder.with_no_client_auth(),
        (None, _) => {
            return Err(settings_error(
                "ssl.trustStore.location is needed to verify client certificates",
            ))
        }
        (Some(trust), auth) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(roots(trust)?, provider);
            let verifier = if auth == ClientAuth::Want {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| settings_error(format!("cannot verify client certificates: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    Ok(builder.with_single_cert(identity.chain, identity.key)?)
}

/// The configuration of a TLS client: how a server dials its peers (sslQuorum) and how `rzk status` asks a
/// TLS-only server. Its own certificate for the other side to check; the other side's checked against the
/// trust store and, with `hostnameVerification`, against the name dialed (a server.N host).
pub fn build_client_config(settings: &TlsSettings) -> Result<rustls::ClientConfig, TlsSetupError> {
    let identity = identity(settings, "the key store (keyStore.location)")?;
    let trust = settings
        .trust_store
        .as_ref()
        .ok_or_else(|| settings_error("the trust store (trustStore.location) is not set"))?;
    let (provider, versions) = provider(settings)?;
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        roots(trust)?,
        Arc::clone(&provider),
    )
    .build()
    .map_err(|e| settings_error(format!("cannot verify server certificates: {e}")))?;
    let builder =
        rustls::ClientConfig::builder_with_provider(provider).with_protocol_versions(&versions)?;
    let builder = if settings.hostname_verification {
        builder.with_webpki_verifier(verifier)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyName(verifier)))
    };
    Ok(builder.with_client_auth_cert(identity.chain, identity.key)?)
}

/// `hostnameVerification=false`: the chain is checked as usual, the name is not.
#[derive(Debug)]
struct AnyName(Arc<rustls::client::WebPkiServerVerifier>);

impl rustls::client::danger::ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        use rustls::CertificateError::{NotValidForName, NotValidForNameContext};
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(NotValidForName))
            | Err(rustls::Error::InvalidCertificate(NotValidForNameContext { .. })) => {
                Ok(rustls::client::danger::ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
