//! The identifiers every part of the core passes around, in a module that depends on nothing (so that
//! `election`, `peer`, `watch` and `node` need not import each other for a type alias).

/// A server's `myid` (0 for a standalone server).
pub type ServerId = u64;

/// A client connection, numbered by the driver. Never reused within one node's lifetime.
pub type ConnId = u64;

/// A ZooKeeper transaction id: the leader epoch in the high 32 bits, a counter in the low 32 (see
/// [`crate::zxid`]). Kept as `i64` because that is how it travels on the wire.
pub type Zxid = i64;
