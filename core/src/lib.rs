//! rzk-core: the whole rzk server as a pure, deterministic state machine.
//!
//! Nothing in this crate touches a socket, a file, a thread or a clock. Time arrives as the `now` argument of
//! [`Node::step`], randomness from a seeded RNG, and every effect leaves as an [`Output`] for a driver
//! (the mio server in `rzk-io-mio`, or the simulator in `rzk-sim`) to carry out.

pub mod acl;
pub mod admin;
pub mod config;
pub mod data;
pub mod election;
pub mod four_letter;
pub mod ids;
pub mod node;
pub mod peer;
pub mod planted;
pub mod proto;
pub mod redact;
pub mod report;
pub mod sasl;
pub mod session;
pub mod tree;
pub mod txn;
pub mod watch;
pub mod zab;
pub mod zxid;

pub use data::Data;
pub use node::{ClientAddr, ConnId, Input, Node, NodeConfig, Output, Recovered, ServerMode};
pub use zxid::Zxid;
