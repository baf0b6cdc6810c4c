//! `bench --tls`: the load generator's client side of TLS (rustls, as the server), so a run measures what
//! TLS costs a server: handshakes (churn) and encrypted records (every other workload).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use rustls::pki_types::ServerName;
use rzk_core::config::tls::StoreConfig;
use rzk_io_mio::tls::stores;

/// Where the client's trust anchors and (optional) certificate come from.
#[derive(Debug, Clone, clap::Args)]
pub struct TlsArgs {
    /// Speak TLS to the server (its secureClientPort, or a port with client.portUnification).
    #[arg(long)]
    pub tls: bool,
    /// The CA the server's certificate is checked against (PEM or PKCS#12).
    #[arg(long, requires = "tls")]
    pub tls_ca: Option<PathBuf>,
    /// The client's key and certificate chain (PEM with both, or PKCS#12), for servers that ask for one.
    #[arg(long, requires = "tls")]
    pub tls_cert: Option<PathBuf>,
    /// The password of `--tls-cert` (PKCS#12 or an encrypted PEM key).
    #[arg(long, requires = "tls")]
    pub tls_password: Option<String>,
}

fn store(path: &Path, password: Option<&str>) -> StoreConfig {
    StoreConfig {
        location: path.to_path_buf(),
        password: password.map(str::to_string),
        password_path: None,
        store_type: None,
    }
}

/// The client configuration `--tls` asks for; None without `--tls`.
pub fn client_config(args: &TlsArgs) -> Result<Option<Arc<rustls::ClientConfig>>> {
    if !args.tls {
        return Ok(None);
    }
    let ca = args
        .tls_ca
        .as_deref()
        .context("--tls needs --tls-ca (the CA that signed the server's certificate)")?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in stores::load_trust_store(&store(ca, None))? {
        roots
            .add(cert)
            .context("a --tls-ca certificate cannot be a trust anchor")?;
    }
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let config = match &args.tls_cert {
        Some(path) => {
            let identity = stores::load_key_store(&store(path, args.tls_password.as_deref()))?;
            builder.with_client_auth_cert(identity.chain, identity.key)?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Some(Arc::new(config)))
}

/// The name the server's certificate must carry: its IP address (the bench dials an address).
pub fn server_name(addr: SocketAddr) -> ServerName<'static> {
    ServerName::IpAddress(addr.ip().into())
}
