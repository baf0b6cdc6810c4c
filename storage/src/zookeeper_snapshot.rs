//! Apache ZooKeeper 3.8's snapshot files (`snapshot.<zxid hex>`, plain, `.gz` or `.snappy`), read as
//! ZooKeeper's FileSnap writes them: the first step of starting rzk on a ZooKeeper data directory (issue 17),
//! and what `rzk snapshot dump` shows of one.
//!
//! Layout (big-endian jute): file header (magic "ZKSN", int version, long dbid); the sessions (int count, then
//! long id + int timeout each); the ACL cache (int count, then long key + vector of ACLs each; key -1, never
//! stored, means world:anyone with all permissions); the nodes in pre-order, each a path (the root's is
//! empty), a buffer of data (-1 = null), a long ACL key and the nine StatPersisted fields; the path "/" as the
//! end marker; seal 1 (a long holding the Adler-32 of every byte so far, then the path "/"); then, in 3.6+, the
//! digest trailer (long zxid, int version, long digest) and seal 2 (the Adler-32 from the start, again "/").
//! Checksums are over the uncompressed stream. The snapshot's zxid is only in its file name.
//! docs/file-formats.md has the details and where they were checked.

use std::collections::BTreeMap;
use std::io::Read;

use rzk_core::proto::records::{Acl, Id};
use rzk_core::tree::PersistedStat;

/// "ZKSN"
pub const ZK_SNAP_MAGIC: [u8; 4] = *b"ZKSN";
/// The ACL key ZooKeeper never stores: world:anyone, all permissions.
pub const OPEN_ACL_KEY: i64 = -1;
/// snappy-java's stream header (SnappyOutputStream): magic, then int version 1, int compatible version 1.
const SNAPPY_JAVA_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// The largest buffer or string ZooKeeper's reader accepts by default (jute.maxbuffer 0xfffff + as much again).
const MAX_FIELD: usize = 2 * 0xfffff;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkNode {
    /// "/" for the root (the file writes it as "").
    pub path: String,
    /// None: null data.
    pub data: Option<Vec<u8>>,
    pub acl_key: i64,
    /// The file's StatPersisted, field for field the tree's own persisted stat.
    pub stat: PersistedStat,
}

/// The digest trailer of a 3.6+ snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZkDigest {
    pub zxid: i64,
    pub version: i32,
    pub digest: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkSnapshot {
    pub version: i32,
    pub dbid: i64,
    /// (session id, timeout ms), in file order.
    pub sessions: Vec<(i64, i32)>,
    pub acls: BTreeMap<i64, Vec<Acl>>,
    /// Parents before children, in file order.
    pub nodes: Vec<ZkNode>,
    pub digest: Option<ZkDigest>,
}

impl ZkSnapshot {
    /// The ACL a node's key stands for.
    pub fn acl(&self, key: i64) -> Option<Vec<Acl>> {
        if key == OPEN_ACL_KEY {
            return Some(open_acl());
        }
        self.acls.get(&key).cloned()
    }
}

/// What ACL key -1 stands for: world:anyone with all permissions (ZooKeeper's OPEN_ACL_UNSAFE).
pub fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: 31,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ZkSnapshotError {
    #[error("not a ZooKeeper snapshot (magic {0:02x?}, expected \"ZKSN\")")]
    BadMagic(Vec<u8>),
    #[error("truncated at byte {0}")]
    Truncated(usize),
    #[error("unreasonable length {len} at byte {at}")]
    BadLength { len: i32, at: usize },
    #[error("a path at byte {0} is not UTF-8")]
    BadUtf8(usize),
    #[error("node {path} comes before its parent (at byte {at})")]
    Orphan { path: String, at: usize },
    #[error("node {path} references ACL {key}, which the ACL cache does not hold")]
    UnknownAcl { path: String, key: i64 },
    #[error("{which} checksum mismatch: the file says {stored:#x}, the bytes give {computed:#x}")]
    Checksum {
        which: &'static str,
        stored: i64,
        computed: u32,
    },
    #[error("expected the \"/\" marker at byte {0}")]
    MissingMarker(usize),
    #[error("cannot decompress: {0}")]
    Decompress(String),
    #[error("node at byte {at}: {reason}")]
    Rejected { at: usize, reason: String },
}

/// Undoes the compression the file name says (`.gz`, `.snappy`, or none: then the bytes as they are).
pub fn decompress<'a>(
    name: &str,
    bytes: &'a [u8],
) -> Result<std::borrow::Cow<'a, [u8]>, ZkSnapshotError> {
    if name.ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| ZkSnapshotError::Decompress(e.to_string()))?;
        Ok(out.into())
    } else if name.ends_with(".snappy") {
        snappy_java(bytes).map(Into::into)
    } else {
        Ok(bytes.into())
    }
}

/// snappy-java's own stream (not the official framing format): its 16-byte header, then chunks of a
/// big-endian length and one raw snappy block.
fn snappy_java(bytes: &[u8]) -> Result<Vec<u8>, ZkSnapshotError> {
    let err = |m: &str| ZkSnapshotError::Decompress(m.to_string());
    if bytes.len() < 16 || bytes[..8] != SNAPPY_JAVA_MAGIC {
        return Err(err("not a snappy-java stream"));
    }
    let mut out = Vec::new();
    let mut at = 16;
    while at < bytes.len() {
        let len_bytes: [u8; 4] = bytes
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| err("truncated chunk length"))?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let chunk = bytes
            .get(at + 4..at + 4 + len)
            .ok_or_else(|| err("truncated chunk"))?;
        let n = snap::raw::decompress_len(chunk).map_err(|e| err(&e.to_string()))?;
        if out.len() + n > (1 << 34) {
            return Err(err("decompresses to more than 16 GiB"));
        }
        let start = out.len();
        out.resize(start + n, 0);
        snap::raw::Decoder::new()
            .decompress(chunk, &mut out[start..])
            .map_err(|e| err(&e.to_string()))?;
        at += 4 + len;
    }
    Ok(out)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ZkSnapshotError> {
        let b = self
            .bytes
            .get(self.at..self.at.saturating_add(n))
            .ok_or(ZkSnapshotError::Truncated(self.at))?;
        self.at += n;
        Ok(b)
    }
    fn int(&mut self) -> Result<i32, ZkSnapshotError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn long(&mut self) -> Result<i64, ZkSnapshotError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }
    /// A buffer (None when its length is -1).
    fn buffer(&mut self) -> Result<Option<&'a [u8]>, ZkSnapshotError> {
        let at = self.at;
        let len = self.int()?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 || len as usize > MAX_FIELD {
            return Err(ZkSnapshotError::BadLength { len, at });
        }
        Ok(Some(self.take(len as usize)?))
    }
    fn string(&mut self) -> Result<String, ZkSnapshotError> {
        self.str().map(str::to_owned)
    }
    /// A string, borrowed (null reads as empty).
    fn str(&mut self) -> Result<&'a str, ZkSnapshotError> {
        let at = self.at;
        let b = self.buffer()?.unwrap_or_default();
        std::str::from_utf8(b).map_err(|_| ZkSnapshotError::BadUtf8(at))
    }
    /// A count of records, bounded by what the remaining bytes could hold (`min` bytes each).
    fn count(&mut self, min: usize) -> Result<usize, ZkSnapshotError> {
        let at = self.at;
        let n = self.int()?;
        if n < 0 || (n as usize).saturating_mul(min) > self.bytes.len() - self.at {
            return Err(ZkSnapshotError::BadLength { len: n, at });
        }
        Ok(n as usize)
    }
    fn seal(&mut self, which: &'static str) -> Result<(), ZkSnapshotError> {
        let computed = adler2::adler32_slice(&self.bytes[..self.at]);
        let stored = self.long()?;
        if stored != i64::from(computed) {
            return Err(ZkSnapshotError::Checksum {
                which,
                stored,
                computed,
            });
        }
        let at = self.at;
        if self.string()? != "/" {
            return Err(ZkSnapshotError::MissingMarker(at));
        }
        Ok(())
    }
}

/// A node as [`parse_with`] hands it over: borrowed from the file's bytes.
#[derive(Debug, Clone, Copy)]
pub struct ZkNodeRef<'a> {
    /// "/" for the root (the file writes it as "").
    pub path: &'a str,
    pub data: Option<&'a [u8]>,
    pub acl_key: i64,
    pub stat: PersistedStat,
}

/// What comes before the nodes, and the digest trailer after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkSnapshotParts {
    pub version: i32,
    pub dbid: i64,
    pub sessions: Vec<(i64, i32)>,
    pub acls: BTreeMap<i64, Vec<Acl>>,
    pub digest: Option<ZkDigest>,
}

/// Parses an uncompressed snapshot, checking both seals and that every node's parent and ACL exist.
pub fn parse(bytes: &[u8]) -> Result<ZkSnapshot, ZkSnapshotError> {
    let mut nodes: Vec<ZkNode> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let parts = parse_with(bytes, |_, node, at| {
        let path = node.path;
        if path != "/" {
            let parent = match path.rfind('/') {
                Some(0) | None => "/",
                Some(i) => &path[..i],
            };
            if !seen.contains(parent) {
                return Err(ZkSnapshotError::Orphan {
                    path: path.to_owned(),
                    at,
                });
            }
        }
        seen.insert(path.to_owned());
        nodes.push(ZkNode {
            path: path.to_owned(),
            data: node.data.map(<[u8]>::to_vec),
            acl_key: node.acl_key,
            stat: node.stat,
        });
        Ok(())
    })?;
    Ok(ZkSnapshot {
        version: parts.version,
        dbid: parts.dbid,
        sessions: parts.sessions,
        acls: parts.acls,
        nodes,
        digest: parts.digest,
    })
}

/// Parses an uncompressed snapshot, handing each node (in file order: parents before children) to `on_node`
/// with the parts read before the nodes and the node's byte offset, without copying it. Checks both seals,
/// that every path starts with "/" and that every ACL key is in the ACL cache; the parent check is the
/// caller's (the tree it builds has the paths already).
pub fn parse_with<'a>(
    bytes: &'a [u8],
    mut on_node: impl FnMut(&ZkSnapshotParts, ZkNodeRef<'a>, usize) -> Result<(), ZkSnapshotError>,
) -> Result<ZkSnapshotParts, ZkSnapshotError> {
    if bytes.len() < 4 || bytes[..4] != ZK_SNAP_MAGIC {
        return Err(ZkSnapshotError::BadMagic(
            bytes[..bytes.len().min(4)].to_vec(),
        ));
    }
    let mut r = Reader { bytes, at: 4 };
    let version = r.int()?;
    let dbid = r.long()?;
    let n = r.count(12)?;
    let mut sessions = Vec::with_capacity(n);
    for _ in 0..n {
        sessions.push((r.long()?, r.int()?));
    }
    let n = r.count(12)?;
    let mut acls = BTreeMap::new();
    for _ in 0..n {
        let key = r.long()?;
        let m = r.count(12)?;
        let mut list = Vec::with_capacity(m);
        for _ in 0..m {
            let perms = r.int()?;
            let scheme = r.string()?;
            let id = r.string()?;
            list.push(Acl {
                perms,
                id: Id { scheme, id },
            });
        }
        acls.insert(key, list);
    }
    let mut parts = ZkSnapshotParts {
        version,
        dbid,
        sessions,
        acls,
        digest: None,
    };
    loop {
        let at = r.at;
        let path = r.str()?;
        if path == "/" {
            break;
        }
        let data = r.buffer()?;
        let acl_key = r.long()?;
        let stat = PersistedStat {
            czxid: r.long()?,
            mzxid: r.long()?,
            ctime: r.long()?,
            mtime: r.long()?,
            version: r.int()?,
            cversion: r.int()?,
            aversion: r.int()?,
            ephemeral_owner: r.long()?,
            pzxid: r.long()?,
        };
        let path = if path.is_empty() { "/" } else { path };
        if !path.starts_with('/') {
            return Err(ZkSnapshotError::Orphan {
                path: path.to_owned(),
                at,
            });
        }
        if acl_key != OPEN_ACL_KEY && !parts.acls.contains_key(&acl_key) {
            return Err(ZkSnapshotError::UnknownAcl {
                path: path.to_owned(),
                key: acl_key,
            });
        }
        on_node(
            &parts,
            ZkNodeRef {
                path,
                data,
                acl_key,
                stat,
            },
            at,
        )?;
    }
    r.seal("snapshot")?;
    if r.at < bytes.len() {
        let d = ZkDigest {
            zxid: r.long()?,
            version: r.int()?,
            digest: r.long()?,
        };
        r.seal("digest")?;
        parts.digest = Some(d);
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/zookeeper")
            .join(name);
        decompress(name, &std::fs::read(path).unwrap())
            .unwrap()
            .to_vec()
    }

    /// Written by Debian's ZooKeeper 3.8.0 on an empty database.
    #[test]
    fn an_empty_database() {
        let s = parse(&fixture("snapshot.0")).unwrap();
        let mut paths: Vec<&str> = s.nodes.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(paths[0], "/");
        paths.sort();
        assert_eq!(
            paths,
            ["/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"]
        );
        assert_eq!((s.version, s.dbid), (2, -1));
        assert!(s.sessions.is_empty());
        assert!(s.digest.is_some());
    }

    /// A 17-node database written by ZooKeeper 3.8.0 (persistent, ephemeral, sequential, TTL, container,
    /// digest ACL, quota, null data, a multi), against ZooKeeper's own SnapshotFormatter dump of it.
    #[test]
    fn every_node_and_session_as_snapshot_formatter_shows_them() {
        let s = parse(&fixture("snapshot.20")).unwrap();
        let dump = include_str!("../tests/fixtures/zookeeper/snapshot.20.SnapshotFormatter.txt");
        // SnapshotFormatter counts the root twice ("" and "/").
        assert!(dump.starts_with(&format!("ZNode Details (count={}):", s.nodes.len() + 1)));
        for n in &s.nodes {
            let block = format!("----\n{}\n  cZxid = 0x{:014x}\n", n.path, n.stat.czxid);
            assert!(dump.contains(&block), "{} missing from the dump", n.path);
            let version = format!(
                "  dataVersion = {}\n  aclVersion = {}\n",
                n.stat.version, n.stat.aversion
            );
            assert!(dump.contains(&version), "{}", n.path);
        }
        for (id, timeout) in &s.sessions {
            assert!(
                dump.contains(&format!("0x{id:x}, {timeout},")),
                "session {id:x}"
            );
        }
        assert!(s.nodes.iter().any(|n| n.data.is_none()), "a null-data node");
        assert!(
            s.nodes.iter().any(|n| n.stat.ephemeral_owner == i64::MIN),
            "a container"
        );
        for n in &s.nodes {
            assert!(s.acl(n.acl_key).is_some());
        }
    }

    #[test]
    fn gzip_and_snappy_java_compression() {
        let gz = parse(&fixture("snapshot.23.gz")).unwrap();
        let snappy = parse(&fixture("snapshot.23.snappy")).unwrap();
        assert_eq!(gz.nodes, snappy.nodes);
        assert!(gz.nodes.len() > 4);
    }

    #[test]
    fn damage_is_reported_not_panicked_on() {
        let good = fixture("snapshot.20");
        for cut in [0, 3, 4, 20, good.len() / 2, good.len() - 1] {
            assert!(parse(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = good.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x40;
        assert!(parse(&flipped).is_err());
        assert!(matches!(
            parse(b"ZKLGxxxxxxxxxxxx"),
            Err(ZkSnapshotError::BadMagic(_))
        ));
        assert!(decompress("snapshot.1.snappy", b"junk").is_err());
        assert!(decompress("snapshot.1.gz", b"junk").is_err());
    }
}
