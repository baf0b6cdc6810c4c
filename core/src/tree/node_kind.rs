//! Node kinds and their encoding in the raw ephemeralOwner field (ZooKeeper's EphemeralType).
//!
//! The raw owner is what the log, the snapshot and the digest carry:
//! - `0`: persistent;
//! - `0x8000_0000_0000_0000` (`i64::MIN`): container;
//! - top byte `0xFF` ("extended type"), next two bytes the feature (`0x0000` = TTL), low five bytes the
//!   feature's value: for TTL nodes the TTL in milliseconds, `1..=MAX_TTL`;
//! - anything else: an ephemeral owned by that session id.
//!
//! ZooKeeper only decodes the `0xFF` top byte when `zookeeper.extendedTypesEnabled` is set, and then refuses
//! server ids above 254 so that no session id starts with `0xFF`. The tree always decodes it; whether TTL
//! nodes may be created at all is the preprocessor's decision.

/// The top byte marking an extended ephemeralOwner.
const EXTENDED_MASK: u64 = 0xff00_0000_0000_0000;
/// The two bytes after the top byte: which extended feature (0 = TTL).
const FEATURE_MASK: u64 = 0x00ff_ff00_0000_0000;
/// The feature's value: the low five bytes.
const VALUE_MASK: u64 = !(EXTENDED_MASK | FEATURE_MASK);

/// The raw owner of a container node (ZooKeeper's `CONTAINER_EPHEMERAL_OWNER`, `Long.MIN_VALUE`).
pub const CONTAINER_OWNER: i64 = i64::MIN;

/// The largest TTL in ms a TTL node may have (2^40 - 1, about 34 years).
pub const MAX_TTL: i64 = VALUE_MASK as i64;

/// The largest server id whose session ids cannot collide with extended owners (ZooKeeper's
/// `MAX_EXTENDED_SERVER_ID`): session ids start with the server id in their top byte.
pub const MAX_EXTENDED_SERVER_ID: i64 = 0xfe;

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
    /// Whether `ttl` is a TTL ZooKeeper accepts (EphemeralType.TTL.toEphemeralOwner): `1..=MAX_TTL` ms.
    pub fn is_valid_ttl(ttl: i64) -> bool {
        (1..=MAX_TTL).contains(&ttl)
    }

    /// A TTL kind, or `None` if `ttl` is out of range.
    pub fn ttl(ttl: i64) -> Option<NodeKind> {
        NodeKind::is_valid_ttl(ttl).then_some(NodeKind::Ttl(ttl))
    }

    /// Decodes the raw ephemeralOwner value. An extended owner with an unknown feature (ZooKeeper rejects
    /// those) reads as an ephemeral of that raw id, as ZooKeeper reads it with extended types disabled.
    pub fn from_owner(owner: i64) -> NodeKind {
        let raw = owner as u64;
        if owner == 0 {
            NodeKind::Persistent
        } else if owner == CONTAINER_OWNER {
            NodeKind::Container
        } else if raw & EXTENDED_MASK == EXTENDED_MASK && raw & FEATURE_MASK == 0 {
            NodeKind::Ttl((raw & VALUE_MASK) as i64)
        } else {
            NodeKind::Ephemeral(owner)
        }
    }

    /// Encodes into the raw ephemeralOwner value stored in the tree and the log. Round-trips with
    /// [`NodeKind::from_owner`] for valid kinds: TTLs in `0..=MAX_TTL` (larger ones are masked to 40 bits) and
    /// session ids that are neither 0, `i64::MIN` nor extended.
    pub fn to_owner(self) -> i64 {
        match self {
            NodeKind::Persistent => 0,
            NodeKind::Ephemeral(session) => session,
            NodeKind::Container => CONTAINER_OWNER,
            NodeKind::Ttl(ttl) => (EXTENDED_MASK | (ttl as u64 & VALUE_MASK)) as i64,
        }
    }

    /// What clients see in Stat.ephemeralOwner: the session for ephemerals, otherwise 0.
    pub fn client_owner(self) -> i64 {
        match self {
            NodeKind::Ephemeral(s) => s,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persistent_and_container_owners_match_zookeeper() {
        assert_eq!(NodeKind::from_owner(0), NodeKind::Persistent);
        assert_eq!(NodeKind::Persistent.to_owner(), 0);
        assert_eq!(NodeKind::Container.to_owner() as u64, 0x8000_0000_0000_0000);
        assert_eq!(NodeKind::from_owner(i64::MIN), NodeKind::Container);
    }

    #[test]
    fn ttl_owner_layout_matches_zookeeper() {
        // EphemeralType's own example: a 1 ms TTL is 0xff00000000000001.
        assert_eq!(NodeKind::Ttl(1).to_owner() as u64, 0xff00_0000_0000_0001);
        assert_eq!(MAX_TTL, 1_099_511_627_775);
        assert_eq!(
            NodeKind::Ttl(MAX_TTL).to_owner() as u64,
            0xff00_00ff_ffff_ffff
        );
        assert_eq!(
            NodeKind::from_owner(0xff00_00ff_ffff_ffffu64 as i64),
            NodeKind::Ttl(MAX_TTL)
        );
    }

    #[test]
    fn ttl_validity() {
        assert!(!NodeKind::is_valid_ttl(0));
        assert!(!NodeKind::is_valid_ttl(-1));
        assert!(NodeKind::is_valid_ttl(1));
        assert!(NodeKind::is_valid_ttl(MAX_TTL));
        assert!(!NodeKind::is_valid_ttl(MAX_TTL + 1));
        assert_eq!(NodeKind::ttl(MAX_TTL + 1), None);
        assert_eq!(NodeKind::ttl(5), Some(NodeKind::Ttl(5)));
    }

    #[test]
    fn unknown_extended_feature_reads_as_ephemeral() {
        let owner = 0xff00_0100_0000_0005u64 as i64;
        assert_eq!(NodeKind::from_owner(owner), NodeKind::Ephemeral(owner));
    }

    #[test]
    fn session_owners_round_trip_and_only_ephemerals_show_to_clients() {
        let s = 0x0100_0000_0000_0042;
        assert_eq!(NodeKind::from_owner(s), NodeKind::Ephemeral(s));
        assert_eq!(NodeKind::Ephemeral(s).to_owner(), s);
        assert_eq!(NodeKind::Ephemeral(s).client_owner(), s);
        assert_eq!(NodeKind::Container.client_owner(), 0);
        assert_eq!(NodeKind::Ttl(10).client_owner(), 0);
        assert_eq!(NodeKind::Persistent.client_owner(), 0);
    }
}
