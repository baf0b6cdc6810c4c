//! Node kinds and their encoding in the raw ephemeralOwner field (ZooKeeper's EphemeralType).

/// What kind of znode this is, as encoded in the stored ephemeralOwner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Persistent,
    /// Owned by a session; deleted when the session ends.
    Ephemeral(i64),
    /// Deleted by the server once it has had children and has none left.
    Container,
    /// Deleted by the server once it has no children and was not modified for `ttl` ms.
    Ttl(i64),
}

impl NodeKind {
    /// Decodes the raw ephemeralOwner value.
    pub fn from_owner(owner: i64) -> NodeKind {
        let _ = owner;
        todo!()
    }

    /// Encodes into the raw ephemeralOwner value stored in the tree and the log.
    pub fn to_owner(self) -> i64 {
        todo!()
    }

    /// What clients see in Stat.ephemeralOwner: the session for ephemerals, otherwise 0.
    pub fn client_owner(self) -> i64 {
        match self {
            NodeKind::Ephemeral(s) => s,
            _ => 0,
        }
    }
}
