//! rzk-io-mio: the production driver. It runs a [`Machine`] (in production an `rzk_core::Node`) on a mio
//! event loop: it moves bytes between client sockets and the machine, feeds it time, and decides nothing.
//!
//! ```no_run
//! # fn node() -> rzk_core::Node { unimplemented!() }
//! use rzk_io_mio::{Server, ServerOptions};
//! let server = Server::bind("127.0.0.1:2181".parse().unwrap(), ServerOptions::default())?;
//! let shutdown = server.shutdown_handle(); // call shutdown.shutdown() from a signal thread
//! server.run(node())?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod admin;
mod client_limit;
mod clock;
mod connection;
mod host;
mod journal;
mod log_writer;
mod machine;
pub mod peer;
mod server;
mod shutdown;
mod snapshot_thread;
mod test_faults;
pub mod tls;
/// The on-disk formats and recovery live in `rzk-storage`, shared with the simulator.
pub use rzk_storage as storage;

/// The admin server's HTTP request parsing, for the fuzz targets.
#[doc(hidden)]
pub use admin::http as admin_http;
pub use clock::Clock;
pub use host::{max_fds, open_fds, raise_fd_limit};
pub use journal::{monotonic_micros, JOURNAL_ENV};
pub use machine::Machine;
pub use peer::{EnsembleOptions, PeerAddress, PeerLimits};
pub use server::{ClientTls, RecordOptions, Server, ServerOptions};
pub use shutdown::Shutdown;
pub use test_faults::{start_from_env as start_test_faults, FAULTS_ENV};
