//! TLS for client connections: building rustls's server configuration from zoo.cfg's `ssl.*` settings,
//! reloading it when the store files change, and naming a client's certificate as ZooKeeper does.
//!
//! TLS is transport: the core sees plaintext bytes and, as an input, the subject of a verified client
//! certificate. rustls is used because it is a state machine without I/O of its own (bytes in, records
//! out), which the mio loop drives like any socket, with no second runtime and no OpenSSL.

mod config;
pub mod stores;
mod subject;

pub use config::{build_server_config, TlsSetupError};
pub use subject::subject_rfc2253;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use rzk_core::config::tls::TlsSettings;
use tracing::{info, warn};

/// The TLS configuration new client connections get; with reloading on, rebuilt when a store file
/// changes (connections already open keep the configuration they started with).
#[derive(Clone)]
pub struct TlsAcceptor {
    settings: TlsSettings,
    current: Arc<rustls::ServerConfig>,
    reload: bool,
    /// The store files and what they looked like when last read.
    watched: Vec<(PathBuf, Option<FileStamp>)>,
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

impl TlsAcceptor {
    /// Reads the stores and builds the configuration; an error names the store and what is wrong.
    pub fn new(settings: &TlsSettings, reload: bool) -> Result<TlsAcceptor, TlsSetupError> {
        let watched: Vec<(PathBuf, Option<FileStamp>)> =
            [&settings.key_store, &settings.trust_store]
                .into_iter()
                .flatten()
                .flat_map(|s| [Some(s.location.clone()), s.password_path.clone()])
                .flatten()
                .map(|p| {
                    let s = stamp(&p);
                    (p, s)
                })
                .collect();
        let current = Arc::new(build_server_config(settings)?);
        Ok(TlsAcceptor {
            settings: settings.clone(),
            current,
            reload,
            watched,
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
        if !self.reload {
            return false;
        }
        let mut changed = false;
        for (path, seen) in &mut self.watched {
            let now = stamp(path);
            if now != *seen {
                *seen = now;
                changed = true;
            }
        }
        if !changed {
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
