//! ZooKeeper 3.6+'s tree digest (its DigestCalculator, digest version 2): the value a snapshot's digest
//! trailer and a txn log's TxnDigest carry. rzk needs it to write snapshots ZooKeeper accepts without a
//! "Digests are not matching" warning, and to check the trailers of ZooKeeper's own files.
//!
//! The digest is the wrapping 64-bit sum, over every node, of the CRC-32 (java.util.zip.CRC32) of: the path
//! (the root's as ""), the data if not null (so null and empty data hash alike), then 60 big-endian bytes:
//! czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner (not StatPersisted's field
//! order). Nodes under "/zookeeper/" count as 0; "/zookeeper" itself counts. This is not rzk's own tree
//! digest ([`DataTree::digest`]), which also covers ACLs and sessions.

use rzk_core::tree::{DataTree, PersistedStat};

use crate::zookeeper_snapshot::ZkSnapshot;

/// The digest version ZooKeeper 3.6+ writes (DigestCalculator.DIGEST_VERSION).
pub const ZK_DIGEST_VERSION: i32 = 2;

/// Nodes whose path starts with this are left out of the digest.
const EXCLUDED_PREFIX: &str = "/zookeeper/";

/// One node's term of the digest: 0 for the nodes ZooKeeper leaves out (under "/zookeeper/"), else the
/// CRC-32 of its path, data and stat. `path` is the full path ("/" for the root).
pub fn node_digest(path: &str, data: Option<&[u8]>, stat: &PersistedStat) -> u64 {
    if path.starts_with(EXCLUDED_PREFIX) {
        return 0;
    }
    let path = if path == "/" { "" } else { path };
    let mut crc = crc32fast::Hasher::new();
    crc.update(path.as_bytes());
    if let Some(data) = data {
        crc.update(data);
    }
    let mut blob = [0u8; 60];
    let longs = [stat.czxid, stat.mzxid, stat.pzxid, stat.ctime, stat.mtime];
    for (i, v) in longs.iter().enumerate() {
        blob[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
    }
    let ints = [stat.version, stat.cversion, stat.aversion];
    for (i, v) in ints.iter().enumerate() {
        blob[40 + i * 4..44 + i * 4].copy_from_slice(&v.to_be_bytes());
    }
    blob[52..60].copy_from_slice(&stat.ephemeral_owner.to_be_bytes());
    crc.update(&blob);
    u64::from(crc.finalize())
}

/// The digest of a set of nodes (path, data or `None` for null, persisted stat), in any order: the wrapping
/// sum of their [`node_digest`]s, as the Java long ZooKeeper stores.
pub fn tree_digest<'a>(
    nodes: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>, &'a PersistedStat)>,
) -> i64 {
    nodes.into_iter().fold(0u64, |sum, (path, data, stat)| {
        sum.wrapping_add(node_digest(path, data, stat))
    }) as i64
}

/// The ZooKeeper digest of rzk's tree.
pub fn data_tree_digest(tree: &DataTree) -> i64 {
    tree_digest(tree.nodes().map(|(path, node)| {
        (
            path,
            node.data().as_option().map(|b| b.as_ref()),
            node.persisted_stat(),
        )
    }))
}

/// The digest recomputed from a parsed ZooKeeper snapshot's nodes (to compare with its trailer).
pub fn snapshot_digest(snapshot: &ZkSnapshot) -> i64 {
    tree_digest(
        snapshot
            .nodes
            .iter()
            .map(|n| (n.path.as_str(), n.data.as_deref(), &n.stat)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zookeeper_snapshot::{decompress, parse};

    /// ZooKeeper's digest of its empty database: CRC("" root) + CRC("/zookeeper").
    const EMPTY_DIGEST: i64 = 1_371_985_504;

    fn fixture(name: &str) -> ZkSnapshot {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/zookeeper")
            .join(name);
        parse(&decompress(name, &std::fs::read(path).unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn the_empty_database_digest() {
        let empty = fixture("snapshot.0");
        assert_eq!(snapshot_digest(&empty), EMPTY_DIGEST);
        // No txn applied: ZooKeeper wrote its "empty" trailer, not the digest.
        let trailer = empty.digest.unwrap();
        assert_eq!((trailer.zxid, trailer.version, trailer.digest), (0, 2, 0));
        assert_eq!(data_tree_digest(&DataTree::new()), EMPTY_DIGEST);
    }

    /// Every fixture whose trailer is for the file's own zxid carries exactly the recomputed digest.
    #[test]
    fn trailers_match_the_recomputed_digest() {
        let mut checked = 0;
        for name in [
            "snapshot.0",
            "snapshot.20",
            "snapshot.23.gz",
            "snapshot.23.snappy",
        ] {
            let file_zxid = i64::from_str_radix(name.split('.').nth(1).unwrap(), 16).unwrap();
            let snapshot = fixture(name);
            let trailer = snapshot.digest.unwrap();
            if trailer.zxid == 0 || trailer.zxid != file_zxid {
                continue;
            }
            assert_eq!(trailer.version, ZK_DIGEST_VERSION, "{name}");
            assert_eq!(trailer.digest, snapshot_digest(&snapshot), "{name}");
            checked += 1;
        }
        assert_eq!(checked, 3);
    }

    #[test]
    fn only_nodes_under_slash_zookeeper_slash_are_left_out() {
        let stat = PersistedStat::default();
        assert_eq!(node_digest("/zookeeper/quota", None, &stat), 0);
        assert_eq!(node_digest("/zookeeper/config", Some(b"x"), &stat), 0);
        assert_ne!(node_digest("/zookeeper", None, &stat), 0);
        assert_ne!(node_digest("/zookeeperx", None, &stat), 0);
        // Null and empty data hash alike; the root hashes as "".
        assert_eq!(
            node_digest("/a", None, &stat),
            node_digest("/a", Some(b""), &stat)
        );
        let root = node_digest("/", None, &stat);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&[0u8; 60]);
        assert_eq!(root, u64::from(crc.finalize()));
    }

    #[test]
    fn pzxid_comes_third_and_the_owner_last() {
        let stat = PersistedStat {
            czxid: 1,
            mzxid: 2,
            ctime: 3,
            mtime: 4,
            version: 5,
            cversion: 6,
            aversion: 7,
            ephemeral_owner: 8,
            pzxid: 9,
        };
        let mut blob = Vec::new();
        for v in [1i64, 2, 9, 3, 4] {
            blob.extend_from_slice(&v.to_be_bytes());
        }
        for v in [5i32, 6, 7] {
            blob.extend_from_slice(&v.to_be_bytes());
        }
        blob.extend_from_slice(&8i64.to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(b"/n");
        crc.update(b"data");
        crc.update(&blob);
        assert_eq!(
            node_digest("/n", Some(b"data"), &stat),
            u64::from(crc.finalize())
        );
    }
}
