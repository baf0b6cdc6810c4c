//! Snapshot files: `snapshot.<zxid hex>`, a file header with the zxid the tree is exact at, one framed
//! record per znode in path order, one per session, and an end record with the counts and the tree digest.
//!
//! A snapshot is valid only if every record checks out, the end record is last and its counts and digest
//! match the rebuilt tree; anything else makes the whole file invalid (recovery then falls back to an older
//! one). Files are written under a temporary name, fsynced, renamed, and the directory fsynced, so a crash
//! never leaves a half-written file under a snapshot name.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rzk_core::proto::records::Acl;
use rzk_core::tree::{DataTree, PersistedStat, RestoreError, TreeBuilder};
use rzk_core::{Data, Zxid};
use serde::{Deserialize, Serialize};

use super::dir::{replace_atomically, sync_dir, Dir};
use super::format::{
    decode_file_header, decode_payload, encode_file_header, encode_record, read_frame, FormatError,
    Frame, FILE_HEADER_LEN, SNAPSHOT_MAGIC,
};
use super::format_v1::SnapshotRecordV1;
use super::paced_file::PacedFile;
use super::prefetch::{prefetch, Lookahead};
use super::txn_log::parse_hex_suffix;

const SNAPSHOT_PREFIX: &str = "snapshot.";
/// Suffix of a snapshot being written; such files are never read and are removed at startup.
pub const TEMP_SUFFIX: &str = ".tmp";

/// `snapshot.<zxid in lowercase hex>`, as ZooKeeper names them.
pub fn snapshot_name(zxid: Zxid) -> String {
    format!("{SNAPSHOT_PREFIX}{zxid:x}")
}

/// The zxid a snapshot file name stands for; `None` for other files (temporary ones included).
pub fn parse_snapshot_name(name: &str) -> Option<Zxid> {
    parse_hex_suffix(name, SNAPSHOT_PREFIX)
}

/// One record of a snapshot file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SnapshotRecord {
    Node {
        path: String,
        data: Data,
        acl: Vec<Acl>,
        stat: PersistedStat,
    },
    Session {
        id: i64,
        timeout: i32,
    },
    /// Last: the zxid again (the header is not checksummed), how many of each came before, and the digest
    /// the rebuilt tree must have.
    End {
        zxid: Zxid,
        nodes: u64,
        sessions: u64,
        digest: u64,
    },
}

/// A node record borrowed from the live tree: encodes exactly as [`SnapshotRecord::Node`] (same variant index,
/// same field types once serialized) without copying the path and ACL of every znode while writing.
#[derive(Serialize)]
enum NodeRecordRef<'a> {
    Node {
        path: &'a str,
        data: &'a Data,
        acl: &'a [Acl],
        stat: &'a PersistedStat,
    },
}

/// Why a snapshot file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("bad header: {0}")]
    Header(FormatError),
    #[error("at offset {offset}: {reason}")]
    Record { offset: usize, reason: String },
    #[error("records do not form a tree: {0}")]
    Tree(#[from] RestoreError),
    #[error("no end record (file cut short)")]
    NoEnd,
    #[error("end record says {expected}, the file holds {found}")]
    Mismatch { expected: String, found: String },
    #[error("cannot encode: {0}")]
    Encode(FormatError),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Bytes of records encoded before they are handed to the writer: large writes, no second buffer.
const WRITE_CHUNK: usize = 1 << 20;

/// Writes `tree` (exact at `zxid`) in snapshot format. Buffers by itself: `out` gets large writes.
pub fn write_snapshot<W: Write>(
    zxid: Zxid,
    tree: &DataTree,
    out: &mut W,
) -> Result<(), SnapshotError> {
    let mut buf = Vec::with_capacity(WRITE_CHUNK + (64 << 10));
    buf.extend_from_slice(&encode_file_header(SNAPSHOT_MAGIC, zxid));
    let mut nodes = 0u64;
    let walk = Lookahead::new(
        tree.nodes(),
        |(path, node)| {
            prefetch(path.as_ptr());
            prefetch(*node);
        },
        |(_, node)| prefetch(node.data().as_ptr()),
    );
    for (path, node) in walk {
        let record = NodeRecordRef::Node {
            path,
            data: node.data(),
            acl: node.acl(),
            stat: node.persisted_stat(),
        };
        encode_record(&record, &mut buf).map_err(SnapshotError::Encode)?;
        nodes += 1;
        if buf.len() >= WRITE_CHUNK {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    for (&id, &timeout) in tree.sessions() {
        encode_record(&SnapshotRecord::Session { id, timeout }, &mut buf)
            .map_err(SnapshotError::Encode)?;
    }
    let end = SnapshotRecord::End {
        zxid,
        nodes,
        sessions: tree.sessions().len() as u64,
        digest: tree.digest(),
    };
    encode_record(&end, &mut buf).map_err(SnapshotError::Encode)?;
    out.write_all(&buf)?;
    Ok(())
}

/// A snapshot file's bytes (for tests, tools and a simulated disk).
pub fn encode_snapshot(zxid: Zxid, tree: &DataTree) -> Result<Vec<u8>, SnapshotError> {
    let mut out = Vec::new();
    write_snapshot(zxid, tree, &mut out)?;
    Ok(out)
}

/// Writes `snapshot.<zxid>` into `dir` durably and atomically: temp file, fsync, rename, fsync dir.
pub fn write_snapshot_file(
    dir: &Path,
    zxid: Zxid,
    tree: &DataTree,
) -> Result<PathBuf, SnapshotError> {
    let name = snapshot_name(zxid);
    let final_path = dir.join(&name);
    let temp_path = dir.join(format!("{name}{TEMP_SUFFIX}"));
    let mut file = PacedFile::new(File::create(&temp_path)?);
    let written = write_snapshot(zxid, tree, &mut file).and_then(|()| Ok(file.sync_all()?));
    if let Err(e) = written {
        let _ = fs::remove_file(&temp_path);
        return Err(e);
    }
    fs::rename(&temp_path, &final_path)?;
    sync_dir(dir)?;
    Ok(final_path)
}

/// Writes `snapshot.<zxid>` into `dir` as [`write_snapshot_file`] does (temp file, sync, rename, directory
/// sync), from the encoded bytes: for any [`Dir`] (the simulator's disk).
pub fn write_snapshot_in(dir: &dyn Dir, zxid: Zxid, tree: &DataTree) -> Result<(), SnapshotError> {
    let bytes = encode_snapshot(zxid, tree)?;
    replace_atomically(dir, &snapshot_name(zxid), &bytes)?;
    Ok(())
}

/// Decodes one snapshot record of format `version`.
fn decode_record(version: u32, payload: &[u8]) -> Result<SnapshotRecord, FormatError> {
    if version == 1 {
        decode_payload::<SnapshotRecordV1>(payload).map(SnapshotRecord::from)
    } else {
        decode_payload(payload)
    }
}

/// Reads and checks a whole snapshot file: the zxid it is exact at and the tree.
pub fn read_snapshot(buf: &[u8]) -> Result<(Zxid, DataTree), SnapshotError> {
    let header = decode_file_header(buf, SNAPSHOT_MAGIC).map_err(SnapshotError::Header)?;
    let zxid = header.zxid;
    let mut builder = TreeBuilder::new();
    let (mut nodes, mut sessions) = (0u64, 0u64);
    let mut at = FILE_HEADER_LEN;
    loop {
        let (payload, next) = match read_frame(buf, at) {
            Frame::Record { payload, next } => (payload, next),
            Frame::End => return Err(SnapshotError::NoEnd),
            Frame::Bad(bad) => {
                return Err(SnapshotError::Record {
                    offset: at,
                    reason: bad.to_string(),
                })
            }
        };
        let record = decode_record(header.version, payload).map_err(|e| SnapshotError::Record {
            offset: at,
            reason: e.to_string(),
        })?;
        match record {
            SnapshotRecord::Node {
                path,
                data,
                acl,
                stat,
            } => {
                builder.node(&path, data, &acl, stat)?;
                nodes += 1;
            }
            SnapshotRecord::Session { id, timeout } => {
                builder.session(id, timeout)?;
                sessions += 1;
            }
            SnapshotRecord::End {
                zxid: end_zxid,
                nodes: n,
                sessions: s,
                digest,
            } => {
                if next != buf.len() {
                    return Err(SnapshotError::Record {
                        offset: next,
                        reason: "bytes after the end record".into(),
                    });
                }
                if end_zxid != zxid {
                    return Err(SnapshotError::Mismatch {
                        expected: format!("zxid 0x{end_zxid:x}"),
                        found: format!("zxid 0x{zxid:x} in the header"),
                    });
                }
                if (n, s) != (nodes, sessions) {
                    return Err(SnapshotError::Mismatch {
                        expected: format!("{n} nodes and {s} sessions"),
                        found: format!("{nodes} nodes and {sessions} sessions"),
                    });
                }
                let tree = builder.finish(zxid)?;
                if tree.digest() != digest {
                    return Err(SnapshotError::Mismatch {
                        expected: format!("digest {digest:016x}"),
                        found: format!("digest {:016x}", tree.digest()),
                    });
                }
                return Ok((zxid, tree));
            }
        }
        at = next;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rzk_core::proto::records::Id;
    use rzk_core::txn::{LoggedTxn, Txn, TxnHeader};

    #[test]
    fn a_borrowed_node_record_encodes_exactly_as_the_owned_one() {
        let (tree, _) = tree_after(9);
        for (path, node) in tree.nodes() {
            let (mut borrowed, mut owned) = (Vec::new(), Vec::new());
            let by_ref = NodeRecordRef::Node {
                path,
                data: node.data(),
                acl: node.acl(),
                stat: node.persisted_stat(),
            };
            encode_record(&by_ref, &mut borrowed).unwrap();
            let record = SnapshotRecord::Node {
                path: path.to_owned(),
                data: node.data().clone(),
                acl: node.acl().to_vec(),
                stat: *node.persisted_stat(),
            };
            encode_record(&record, &mut owned).unwrap();
            assert_eq!(borrowed, owned, "{path}");
        }
    }

    /// A tree after `n` txns: a session, its ephemeral, and some persistent nodes with data (null data for
    /// every fifth zxid).
    pub(crate) fn tree_after(n: Zxid) -> (DataTree, Vec<LoggedTxn>) {
        let mut tree = DataTree::new();
        let mut log = Vec::new();
        for zxid in 1..=n {
            let txn = match zxid {
                1 => Txn::CreateSession { timeout: 30_000 },
                2 => Txn::Create {
                    path: "/eph".into(),
                    data: Data::default(),
                    acl: acl(),
                    ephemeral_owner: 0x77,
                    parent_cversion: -1,
                },
                z if z % 2 == 1 => Txn::Create {
                    path: format!("/n{z}"),
                    data: if z % 5 == 0 {
                        Data::null()
                    } else {
                        Data::from(format!("v{z}"))
                    },
                    acl: acl(),
                    ephemeral_owner: 0,
                    parent_cversion: -1,
                },
                z => Txn::SetData {
                    path: format!("/n{}", z - 1),
                    data: if z % 5 == 0 {
                        Data::null()
                    } else {
                        Data::from(format!("w{z}"))
                    },
                    version: 1,
                },
            };
            let t = LoggedTxn {
                header: TxnHeader {
                    session_id: 0x77,
                    cxid: zxid as i32,
                    zxid,
                    time: 1000 + zxid,
                },
                txn,
            };
            assert_eq!(tree.apply(&t.header, &t.txn).err, None);
            log.push(t);
        }
        (tree, log)
    }

    fn acl() -> Vec<Acl> {
        vec![Acl {
            perms: 31,
            id: Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        }]
    }

    #[test]
    fn a_snapshot_round_trips_with_the_same_digest() {
        let (tree, _) = tree_after(41);
        let bytes = encode_snapshot(41, &tree).unwrap();
        let (zxid, back) = read_snapshot(&bytes).unwrap();
        assert_eq!(zxid, 41);
        assert_eq!(back.digest(), tree.digest());
        assert_eq!(back.sessions(), tree.sessions());
        back.check_invariants().unwrap();
        let nulls: Vec<&str> = back
            .nodes()
            .filter(|(_, n)| n.data().is_null())
            .map(|(p, _)| p)
            .collect();
        assert_eq!(
            nulls,
            ["/n19", "/n29", "/n39", "/n9"],
            "null data stays null"
        );
    }

    #[test]
    fn any_truncation_or_flipped_byte_invalidates_a_snapshot() {
        let (tree, _) = tree_after(9);
        let bytes = encode_snapshot(9, &tree).unwrap();
        for cut in 0..bytes.len() {
            assert!(read_snapshot(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x10;
            assert!(read_snapshot(&b).is_err(), "flip at {i}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(read_snapshot(&longer).is_err());
    }

    #[test]
    fn a_snapshot_file_is_written_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let (tree, _) = tree_after(5);
        let path = write_snapshot_file(dir.path(), 5, &tree).unwrap();
        assert_eq!(path.file_name().unwrap(), "snapshot.5");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temp file left behind");
        let (_, back) = read_snapshot(&fs::read(path).unwrap()).unwrap();
        assert_eq!(back.digest(), tree.digest());
    }

    #[test]
    fn names_are_zookeepers() {
        assert_eq!(snapshot_name(0x100000000), "snapshot.100000000");
        assert_eq!(parse_snapshot_name("snapshot.1f"), Some(0x1f));
        assert_eq!(parse_snapshot_name("snapshot.1f.tmp"), None);
    }
}
