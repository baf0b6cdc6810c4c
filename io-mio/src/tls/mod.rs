//! TLS for client connections and between servers: building rustls's configurations from zoo.cfg's
//! `ssl.*` / `ssl.quorum.*` settings, reloading them when the store files change, and naming a peer's
//! certificate as ZooKeeper does.
//!
//! TLS is transport: the core sees plaintext bytes and, as an input, the subject of a verified client
//! certificate. rustls is used because it is a state machine without I/O of its own (bytes in, records
//! out), which the mio loop drives like any socket, with no second runtime and no OpenSSL.

mod config;
mod names;
pub mod stores;
mod subject;

pub use config::{build_client_config, build_server_config, TlsSetupError};
pub use names::certificate_names;
pub use subject::subject_rfc2253;

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use rzk_core::config::tls::TlsSettings;
use tracing::{info, warn};

/// Feeds bytes read from a socket to a TLS session (client or peer) and appends the plaintext they carried
/// to `plaintext`. An error is fatal for the connection (rustls may have queued an alert saying why).
pub fn receive(
    session: &mut rustls::Connection,
    data: &[u8],
    plaintext: &mut Vec<u8>,
) -> Result<(), rustls::Error> {
    let io = |e: std::io::Error| rustls::Error::General(e.to_string());
    let mut rest = data;
    while !rest.is_empty() {
        session.read_tls(&mut rest).map_err(io)?;
        let state = session.process_new_packets()?;
        let n = state.plaintext_bytes_to_read();
        if n > 0 {
            let start = plaintext.len();
            plaintext.resize(start + n, 0);
            session
                .reader()
                .read_exact(&mut plaintext[start..])
                .map_err(io)?;
        }
    }
    Ok(())
}

/// A server-side session for an accepted connection, with no plaintext bound of rustls's own (the node's
/// backpressure bounds what is queued).
pub fn server_session(
    config: Arc<rustls::ServerConfig>,
) -> Result<rustls::Connection, rustls::Error> {
    let mut session = rustls::ServerConnection::new(config)?;
    session.set_buffer_limit(None);
    Ok(session.into())
}

/// The store files of a listener and what they looked like when last read.
#[derive(Clone)]
struct StoreWatch {
    files: Vec<(PathBuf, Option<FileStamp>)>,
}

/// What tells a changed file apart: its modification time and length.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

fn stamp(path: &PathBuf) -> Option<FileStamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        modified: meta.modified().ok(),
        len: meta.len(),
    })
}

impl StoreWatch {
    fn new(settings: &TlsSettings) -> StoreWatch {
        let files = [&settings.key_store, &settings.trust_store]
            .into_iter()
            .flatten()
            .flat_map(|s| [Some(s.location.clone()), s.password_path.clone()])
            .flatten()
            .map(|p| {
                let s = stamp(&p);
                (p, s)
            })
            .collect();
        StoreWatch { files }
    }

    /// Whether a file changed since the last call (or since `new`).
    fn changed(&mut self) -> bool {
        let mut changed = false;
        for (path, seen) in &mut self.files {
            let now = stamp(path);
            if now != *seen {
                *seen = now;
                changed = true;
            }
        }
        changed
    }
}

/// The TLS configuration new client connections get; with reloading on, rebuilt when a store file
/// changes (connections already open keep the configuration they started with).
#[derive(Clone)]
pub struct TlsAcceptor {
    settings: TlsSettings,
    current: Arc<rustls::ServerConfig>,
    watch: Option<StoreWatch>,
}

impl TlsAcceptor {
    /// Reads the stores and builds the configuration; an error names the store and what is wrong.
    pub fn new(settings: &TlsSettings, reload: bool) -> Result<TlsAcceptor, TlsSetupError> {
        let watch = reload.then(|| StoreWatch::new(settings));
        let current = Arc::new(build_server_config(settings)?);
        Ok(TlsAcceptor {
            settings: settings.clone(),
            current,
            watch,
        })
    }

    /// The configuration for a connection accepted now.
    pub fn config(&self) -> Arc<rustls::ServerConfig> {
        Arc::clone(&self.current)
    }

    /// With reloading on: if a store file changed since it was read, builds a new configuration for the
    /// connections accepted from now on. A store that cannot be used (say, half written) keeps the old
    /// configuration and is tried again at the next change. Returns whether it reloaded.
    pub fn reload_if_changed(&mut self) -> bool {
        if !self.watch.as_mut().is_some_and(StoreWatch::changed) {
            return false;
        }
        match build_server_config(&self.settings) {
            Ok(config) => {
                self.current = Arc::new(config);
                info!("reloaded the client TLS key and trust stores");
                true
            }
            Err(e) => {
                warn!(error = %e, "a changed TLS store cannot be used; keeping the previous certificates");
                false
            }
        }
    }
}

/// TLS between servers (sslQuorum, portUnification): how peers are dialed and accepted.
#[derive(Clone)]
pub struct QuorumTls {
    settings: TlsSettings,
    /// For accepted connections.
    pub server: Arc<rustls::ServerConfig>,
    /// For dialed connections.
    pub client: Arc<rustls::ClientConfig>,
    /// sslQuorum: dial with TLS (and, without port unification, accept only TLS).
    pub dial_tls: bool,
    /// portUnification: accept TLS and plaintext alike.
    pub unified: bool,
    /// ssl.quorum.hostnameVerification: an accepted peer's certificate must name its address.
    pub verify_hostname: bool,
    watch: Option<StoreWatch>,
}

impl std::fmt::Debug for QuorumTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuorumTls")
            .field("dial_tls", &self.dial_tls)
            .field("unified", &self.unified)
            .field("verify_hostname", &self.verify_hostname)
            .finish_non_exhaustive()
    }
}

impl QuorumTls {
    pub fn new(
        settings: &TlsSettings,
        ssl_quorum: bool,
        port_unification: bool,
        reload: bool,
    ) -> Result<QuorumTls, TlsSetupError> {
        Ok(QuorumTls {
            settings: settings.clone(),
            server: Arc::new(build_server_config(settings)?),
            client: Arc::new(build_client_config(settings)?),
            dial_tls: ssl_quorum,
            unified: port_unification,
            verify_hostname: settings.hostname_verification,
            watch: reload.then(|| StoreWatch::new(settings)),
        })
    }

    /// sslQuorumReloadCertFiles: rebuilds both configurations when a store file changed; connections
    /// already open keep theirs.
    pub fn reload_if_changed(&mut self) -> bool {
        if !self.watch.as_mut().is_some_and(StoreWatch::changed) {
            return false;
        }
        match (
            build_server_config(&self.settings),
            build_client_config(&self.settings),
        ) {
            (Ok(server), Ok(client)) => {
                self.server = Arc::new(server);
                self.client = Arc::new(client);
                info!("reloaded the quorum TLS key and trust stores");
                true
            }
            (Err(e), _) | (_, Err(e)) => {
                warn!(error = %e, "a changed quorum TLS store cannot be used; keeping the previous certificates");
                false
            }
        }
    }
}
