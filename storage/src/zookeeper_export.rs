//! rzk's tree written as an Apache ZooKeeper 3.8 snapshot (`dataDir/version-2/snapshot.<zxid hex>`, plain),
//! which ZooKeeper starts from with no txn log: the way back for an operator who rolls back from rzk.
//!
//! The layout is the one [`crate::zookeeper_snapshot`] reads: header ZKSN/2/-1; the sessions (sorted by id);
//! the ACL cache; the nodes in sorted path order (a parent's path is a prefix of its children's, so it comes
//! first, which is all ZooKeeper's reader needs; the root is written as ""); the "/" marker; seal 1; the
//! digest trailer (last zxid, 2, [`data_tree_digest`]), or ZooKeeper's empty (0, 2, 0) at zxid 0; seal 2.
//! Output is deterministic: a fresh tree gives the very bytes ZooKeeper 3.8.0 writes for an empty database.
//!
//! ACL keys are numbered 1, 2, ... in order of first use, except that "/", "/zookeeper" and
//! "/zookeeper/quota" carry ZooKeeper's unstored key -1 when their ACL is world:anyone with all permissions,
//! as in a ZooKeeper tree (a user node with that ACL gets a numbered key, as ZooKeeper gives it).
//!
//! Refused, as errors: a tree ZooKeeper could not load with default settings (a path, data or ACL field over
//! jute.maxbuffer + its extra, 2 * 0xfffff bytes; a missing "/zookeeper", "/zookeeper/quota" or
//! "/zookeeper/config", which ZooKeeper does not recreate), and a `version-2` directory that already holds
//! ZooKeeper files (an operator's data is never overwritten).

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rzk_core::proto::records::Acl;
use rzk_core::tree::{DataTree, CONFIG_PATH, QUOTA_PATH, ZOOKEEPER_PATH};

use crate::dir::{sync_dir, Dir, FsDir};
use crate::epochs::{write_epoch_file, Epochs, ACCEPTED_EPOCH_FILE, CURRENT_EPOCH_FILE};
use crate::zookeeper_digest::{data_tree_digest, ZK_DIGEST_VERSION};
use crate::zookeeper_snapshot::{OPEN_ACL_KEY, ZK_SNAP_MAGIC};
use crate::ZOOKEEPER_DIR;

/// The longest path, data or ACL string ZooKeeper reads by default: jute.maxbuffer (0xfffff) plus
/// zookeeper.jute.maxbuffer.extrasize (by default as much again).
pub const ZK_MAX_FIELD: usize = 2 * 0xfffff;
/// FileSnap.VERSION.
const ZK_SNAP_VERSION: i32 = 2;
/// FileSnap's constant dbid.
const ZK_DBID: i64 = -1;
/// The temporary name the snapshot is written under: not `snapshot.*`, so ZooKeeper never looks at it.
const TEMP_NAME: &str = ".rzk-zookeeper-export.tmp";

/// Why a tree cannot be exported, or the export not written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "node {path}: its {what} is {len} bytes, more than ZooKeeper reads with default settings \
         ({ZK_MAX_FIELD} bytes: jute.maxbuffer + zookeeper.jute.maxbuffer.extrasize), so ZooKeeper could \
         not load the snapshot"
    )]
    TooLong {
        path: String,
        what: &'static str,
        len: usize,
    },
    #[error("the tree has no {0} node, which ZooKeeper needs in a snapshot and does not recreate")]
    MissingNode(&'static str),
    #[error("too many {0} for a ZooKeeper snapshot")]
    TooMany(&'static str),
    #[error(
        "{} already holds ZooKeeper data ({}): export into a directory without snapshots, logs or epoch \
         files, so that no existing data is overwritten or mixed with the export",
        dir.display(),
        found.join(", ")
    )]
    NotEmpty { dir: PathBuf, found: Vec<String> },
    #[error(
        "epochs accepted {accepted}, current {current} do not fit a snapshot at zxid {zxid:#x}: ZooKeeper \
         needs acceptedEpoch >= currentEpoch >= {min_current} (the zxid's epoch)"
    )]
    BadEpochs {
        accepted: u32,
        current: u32,
        zxid: i64,
        min_current: u32,
    },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// `snapshot.<zxid in lowercase hex>`, no padding, as ZooKeeper names them (Long.toHexString).
pub fn zookeeper_snapshot_name(zxid: i64) -> String {
    format!("snapshot.{:x}", zxid as u64)
}

/// Big-endian jute output.
struct Jute(Vec<u8>);

impl Jute {
    fn int(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn long(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    /// A buffer or ustring whose length was checked against [`ZK_MAX_FIELD`] (so it fits an int).
    fn buffer(&mut self, bytes: Option<&[u8]>) {
        match bytes {
            None => self.int(-1),
            Some(b) => {
                self.int(b.len() as i32);
                self.0.extend_from_slice(b);
            }
        }
    }
    fn string(&mut self, s: &str) {
        self.buffer(Some(s.as_bytes()));
    }
    fn count(&mut self, n: usize, what: &'static str) -> Result<(), ExportError> {
        self.int(i32::try_from(n).map_err(|_| ExportError::TooMany(what))?);
        Ok(())
    }
    /// SnapStream.sealStream: the Adler-32 of everything so far, as a long, then "/".
    fn seal(&mut self) {
        let adler = adler2::adler32_slice(&self.0);
        self.long(i64::from(adler));
        self.string("/");
    }
}

fn check_len(path: &str, what: &'static str, len: usize) -> Result<(), ExportError> {
    if len > ZK_MAX_FIELD {
        return Err(ExportError::TooLong {
            path: path.to_owned(),
            what,
            len,
        });
    }
    Ok(())
}

/// world:anyone with all permissions.
fn is_open_acl(acl: &[Acl]) -> bool {
    matches!(acl, [a] if a.perms == 31 && a.id.scheme == "world" && a.id.id == "anyone")
}

/// Encodes `tree` as a ZooKeeper 3.8 snapshot (uncompressed) for zxid `tree.last_zxid()`.
pub fn encode_zookeeper_snapshot(tree: &DataTree) -> Result<Vec<u8>, ExportError> {
    for required in ["/", ZOOKEEPER_PATH, QUOTA_PATH, CONFIG_PATH] {
        if tree.get(required).is_none() {
            return Err(ExportError::MissingNode(required));
        }
    }
    // ACL keys, in node order; every field checked before anything is written.
    let mut keys: HashMap<&[Acl], i64> = HashMap::new();
    let mut cache: Vec<&[Acl]> = Vec::new();
    let mut node_keys = Vec::with_capacity(tree.node_count());
    for (path, node) in tree.nodes() {
        check_len(path, "path", path.len())?;
        check_len(path, "data", node.data().len())?;
        let acl = node.acl();
        for a in acl {
            check_len(path, "ACL scheme", a.id.scheme.len())?;
            check_len(path, "ACL id", a.id.id.len())?;
        }
        let builtin = path == "/" || path == ZOOKEEPER_PATH || path == QUOTA_PATH;
        let key = if builtin && is_open_acl(acl) {
            OPEN_ACL_KEY
        } else {
            *keys.entry(acl).or_insert_with(|| {
                cache.push(acl);
                cache.len() as i64
            })
        };
        node_keys.push(key);
    }

    let mut out = Jute(Vec::new());
    out.0.extend_from_slice(&ZK_SNAP_MAGIC);
    out.int(ZK_SNAP_VERSION);
    out.long(ZK_DBID);

    // The tree's session map is sorted by id.
    let sessions = tree.sessions();
    out.count(sessions.len(), "sessions")?;
    for (&id, &timeout) in sessions {
        out.long(id);
        out.int(timeout);
    }

    out.count(cache.len(), "ACL lists")?;
    for (i, acl) in cache.iter().enumerate() {
        out.long(i as i64 + 1);
        out.count(acl.len(), "ACL entries")?;
        for a in acl.iter() {
            out.int(a.perms);
            out.string(&a.id.scheme);
            out.string(&a.id.id);
        }
    }

    for ((path, node), key) in tree.nodes().zip(node_keys) {
        out.string(if path == "/" { "" } else { path });
        out.buffer(node.data().as_option().map(|b| b.as_ref()));
        out.long(key);
        let s = node.persisted_stat();
        out.long(s.czxid);
        out.long(s.mzxid);
        out.long(s.ctime);
        out.long(s.mtime);
        out.int(s.version);
        out.int(s.cversion);
        out.int(s.aversion);
        out.long(s.ephemeral_owner);
        out.long(s.pzxid);
    }
    out.string("/");
    out.seal();

    // ZooKeeper's trailer is (zxid of the last applied txn, 2, digest), or (0, 2, 0) when none was applied.
    let zxid = tree.last_zxid();
    out.long(zxid);
    out.int(ZK_DIGEST_VERSION);
    out.long(if zxid == 0 { 0 } else { data_tree_digest(tree) });
    out.seal();
    Ok(out.0)
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ExportError {
    let path = path.to_owned();
    move |source| ExportError::Io {
        action,
        path,
        source,
    }
}

/// Whether ZooKeeper would read a file of this name in `version-2` (a snapshot, a txn log, an epoch file or
/// its temporary).
fn is_zookeeper_file(name: &str) -> bool {
    name.starts_with("snapshot.")
        || name.starts_with("log.")
        || name.starts_with(ACCEPTED_EPOCH_FILE)
        || name.starts_with(CURRENT_EPOCH_FILE)
}

/// Writes `tree` as `data_dir/version-2/snapshot.<last zxid hex>` for ZooKeeper 3.8, and the epoch files if
/// `epochs` are given (ZooKeeper uses them only in quorum mode and derives them from the zxid when absent).
/// Returns the snapshot's path.
///
/// `version-2` is created if needed and must not already hold snapshots, logs or epoch files. Each file goes
/// through a temporary file, fsync, rename and a directory fsync. The epoch files are written first and the
/// snapshot last, so a snapshot in place means a complete export.
pub fn write_zookeeper_export(
    data_dir: &Path,
    tree: &DataTree,
    epochs: Option<Epochs>,
) -> Result<PathBuf, ExportError> {
    let zxid = tree.last_zxid();
    if let Some(Epochs { accepted, current }) = epochs {
        let min_current = rzk_core::zxid::epoch(zxid);
        if current < min_current || accepted < current {
            return Err(ExportError::BadEpochs {
                accepted,
                current,
                zxid,
                min_current,
            });
        }
    }
    let bytes = encode_zookeeper_snapshot(tree)?;

    let dir_path = data_dir.join(ZOOKEEPER_DIR);
    if !dir_path.is_dir() {
        let data_dir_existed = data_dir.is_dir();
        fs::create_dir_all(&dir_path).map_err(io_err("create", &dir_path))?;
        sync_dir(data_dir).map_err(io_err("sync", data_dir))?;
        if !data_dir_existed {
            if let Some(parent) = data_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(parent).map_err(io_err("sync", parent))?;
            }
        }
    }
    let dir = FsDir::new(&dir_path);
    let mut found: Vec<String> = dir
        .list()
        .map_err(io_err("list", &dir_path))?
        .into_iter()
        .filter(|name| is_zookeeper_file(name))
        .collect();
    if !found.is_empty() {
        found.sort();
        return Err(ExportError::NotEmpty {
            dir: dir_path,
            found,
        });
    }

    if let Some(e) = epochs {
        for (name, value) in [
            (ACCEPTED_EPOCH_FILE, e.accepted),
            (CURRENT_EPOCH_FILE, e.current),
        ] {
            write_epoch_file(&dir, name, value).map_err(io_err("write", &dir_path.join(name)))?;
        }
    }

    let name = zookeeper_snapshot_name(zxid);
    let final_path = dir_path.join(&name);
    let written = dir
        .write_synced(TEMP_NAME, &bytes)
        .and_then(|()| dir.rename(TEMP_NAME, &name));
    if let Err(source) = written {
        let _ = fs::remove_file(dir_path.join(TEMP_NAME));
        return Err(ExportError::Io {
            action: "write",
            path: final_path,
            source,
        });
    }
    dir.sync_dir().map_err(io_err("sync", &dir_path))?;
    Ok(final_path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zookeeper_digest::snapshot_digest;
    use crate::zookeeper_snapshot::{decompress, parse, ZkDigest, ZkSnapshot};
    use rzk_core::proto::records::Id;
    use rzk_core::tree::{NodeKind, PersistedStat, TreeBuilder, CONTAINER_OWNER};
    use rzk_core::txn::{Txn, TxnHeader};
    use rzk_core::Data;

    const SESSION: i64 = 0x0100_0000_0000_0001;
    const OTHER: i64 = 0x0100_0000_0000_0007;

    fn fixture(name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/zookeeper")
            .join(name);
        decompress(name, &fs::read(path).unwrap()).unwrap().to_vec()
    }

    fn acl(perms: i32, scheme: &str, id: &str) -> Vec<Acl> {
        vec![Acl {
            perms,
            id: Id {
                scheme: scheme.into(),
                id: id.into(),
            },
        }]
    }

    fn open() -> Vec<Acl> {
        acl(31, "world", "anyone")
    }

    fn create(path: &str, data: Data, acl: Vec<Acl>, owner: i64) -> Txn {
        Txn::Create {
            path: path.into(),
            data,
            acl,
            ephemeral_owner: owner,
            parent_cversion: -1,
        }
    }

    /// Applies `txns` at zxids from `first_zxid` on, each from `SESSION` (a `CreateSession` from `session`).
    fn apply_all(tree: &mut DataTree, first_zxid: i64, txns: Vec<(i64, Txn)>) {
        for (i, (session, txn)) in txns.into_iter().enumerate() {
            let header = TxnHeader {
                session_id: session,
                cxid: i as i32,
                zxid: first_zxid + i as i64,
                time: 1_700_000_000_000 + i as i64,
            };
            let outcome = tree.apply(&header, &txn);
            assert_eq!(outcome.err, None, "{txn:?}");
        }
    }

    /// A tree with every kind of node, built by applying txns.
    fn applied_tree() -> DataTree {
        let mut tree = DataTree::new();
        let digest_acl = acl(31, "digest", "user:2Om+GBbT2q/tS6pdvACZbbm7/1A=");
        let mut both = digest_acl.clone();
        both.extend(acl(1, "world", "anyone"));
        let txns = vec![
            (SESSION, Txn::CreateSession { timeout: 30_000 }),
            (OTHER, Txn::CreateSession { timeout: 4_000 }),
            (SESSION, create("/a", Data::from_static(b"a"), open(), 0)),
            (SESSION, create("/a-b", Data::from_static(b"ab"), open(), 0)),
            (SESSION, create("/a/c", Data::null(), open(), 0)),
            (
                SESSION,
                create("/a/seq-0000000001", Data::default(), open(), 0),
            ),
            (
                SESSION,
                create("/a-b/eph", Data::from_static(b"e"), open(), SESSION),
            ),
            (
                OTHER,
                create("/other-eph", Data::from_static(b"o"), open(), OTHER),
            ),
            (
                SESSION,
                create("/container", Data::default(), open(), CONTAINER_OWNER),
            ),
            (SESSION, create("/container/x", Data::default(), open(), 0)),
            (
                SESSION,
                create(
                    "/ttl",
                    Data::from_static(b"t"),
                    open(),
                    NodeKind::Ttl(3_600_000).to_owner(),
                ),
            ),
            (
                SESSION,
                create("/big", Data::from(vec![7u8; 1 << 20]), open(), 0),
            ),
            (
                SESSION,
                create("/secret", Data::from_static(b"s"), digest_acl, 0),
            ),
            (SESSION, create("/both", Data::null(), both, 0)),
            (
                SESSION,
                create("/ro", Data::default(), acl(1, "world", "anyone"), 0),
            ),
            (
                SESSION,
                Txn::SetData {
                    path: "/a".into(),
                    data: Data::from_static(b"a2"),
                    version: 1,
                },
            ),
            (
                SESSION,
                Txn::SetAcl {
                    path: "/a-b".into(),
                    acl: acl(3, "ip", "10.0.0.1"),
                    version: 1,
                },
            ),
            (SESSION, create("/gone", Data::default(), open(), 0)),
            (
                SESSION,
                Txn::Delete {
                    path: "/gone".into(),
                },
            ),
            (
                SESSION,
                create("/\u{e9}t\u{e9}", Data::from_static(b"u"), open(), 0),
            ),
        ];
        apply_all(&mut tree, 0x1_0000_0001, txns);
        tree
    }

    /// Asserts that a parsed snapshot holds exactly the tree's nodes, ACLs, sessions and digest.
    fn assert_holds(snapshot: &ZkSnapshot, tree: &DataTree) {
        let nodes: Vec<_> = tree.nodes().collect();
        assert_eq!(snapshot.nodes.len(), nodes.len());
        for (n, (path, node)) in snapshot.nodes.iter().zip(nodes) {
            assert_eq!(n.path, path);
            assert_eq!(
                n.data.as_deref(),
                node.data().as_option().map(|b| b.as_ref()),
                "{path}"
            );
            assert_eq!(&n.stat, node.persisted_stat(), "{path}");
            assert_eq!(
                snapshot.acl(n.acl_key).as_deref(),
                Some(node.acl()),
                "{path}"
            );
        }
        let sessions: Vec<(i64, i32)> = tree.sessions().iter().map(|(&s, &t)| (s, t)).collect();
        assert_eq!(snapshot.sessions, sessions);
        assert_eq!((snapshot.version, snapshot.dbid), (2, -1));
        let trailer = snapshot.digest.unwrap();
        assert_eq!(trailer.zxid, tree.last_zxid());
        assert_eq!(trailer.version, 2);
        if tree.last_zxid() != 0 {
            assert_eq!(trailer.digest, snapshot_digest(snapshot));
            assert_eq!(trailer.digest, data_tree_digest(tree));
        }
    }

    #[test]
    fn a_fresh_tree_is_byte_identical_to_zookeepers_empty_snapshot() {
        let golden = fixture("snapshot.0");
        assert_eq!(golden.len(), 457);
        let ours = encode_zookeeper_snapshot(&DataTree::new()).unwrap();
        assert_eq!(ours, golden);
    }

    #[test]
    fn every_node_acl_and_session_round_trips() {
        let tree = applied_tree();
        let snapshot = parse(&encode_zookeeper_snapshot(&tree).unwrap()).unwrap();
        assert_holds(&snapshot, &tree);

        // Built-in nodes with the open ACL use ZooKeeper's -1; user nodes with it get a numbered key.
        let key = |p: &str| snapshot.nodes.iter().find(|n| n.path == p).unwrap().acl_key;
        for p in ["/", ZOOKEEPER_PATH, QUOTA_PATH] {
            assert_eq!(key(p), OPEN_ACL_KEY, "{p}");
        }
        assert!(key("/a") > 0);
        assert!(key(CONFIG_PATH) > 0);
        // One numbered entry per distinct list, 1..=n in order of first use (sorted path order).
        assert_eq!(
            snapshot.acls.keys().copied().collect::<Vec<_>>(),
            (1..=snapshot.acls.len() as i64).collect::<Vec<_>>()
        );
        let mut distinct: Vec<&[Acl]> = Vec::new();
        for (p, n) in tree.nodes() {
            let builtin = ["/", ZOOKEEPER_PATH, QUOTA_PATH].contains(&p);
            let unstored = builtin && n.acl() == open().as_slice();
            if !unstored && !distinct.contains(&n.acl()) {
                distinct.push(n.acl());
            }
        }
        assert_eq!(snapshot.acls.len(), distinct.len());
        for (i, a) in distinct.iter().enumerate() {
            assert_eq!(snapshot.acls[&(i as i64 + 1)].as_slice(), *a);
        }

        // Byte order puts "/a-b" between "/a" and its children, still parent-first.
        let paths: Vec<&str> = snapshot.nodes.iter().map(|n| n.path.as_str()).collect();
        let at = |p: &str| paths.iter().position(|q| *q == p).unwrap();
        assert!(
            at("/a") < at("/a-b") && at("/a-b") < at("/a-b/eph") && at("/a-b/eph") < at("/a/c")
        );

        // Deterministic.
        assert_eq!(
            encode_zookeeper_snapshot(&tree).unwrap(),
            encode_zookeeper_snapshot(&tree.clone()).unwrap()
        );
    }

    /// Restores the fixture's nodes and sessions into a DataTree, as rzk does when it takes over.
    fn tree_of(snapshot: &ZkSnapshot, zxid: i64) -> DataTree {
        let mut nodes: Vec<_> = snapshot.nodes.iter().collect();
        nodes.sort_by(|a, b| a.path.cmp(&b.path));
        let mut b = TreeBuilder::new();
        for n in nodes {
            let data = n
                .data
                .as_deref()
                .map_or(Data::null(), Data::copy_from_slice);
            b.node(&n.path, data, &snapshot.acl(n.acl_key).unwrap(), n.stat)
                .unwrap();
        }
        for &(s, t) in &snapshot.sessions {
            b.session(s, t).unwrap();
        }
        b.finish(zxid).unwrap()
    }

    #[test]
    fn zookeepers_own_snapshot_survives_the_trip_through_rzk() {
        let original = parse(&fixture("snapshot.20")).unwrap();
        let tree = tree_of(&original, 0x20);
        let exported = parse(&encode_zookeeper_snapshot(&tree).unwrap()).unwrap();
        assert_holds(&exported, &tree);

        let contents = |s: &ZkSnapshot| {
            let mut nodes: Vec<_> = s
                .nodes
                .iter()
                .map(|n| (n.path.clone(), n.data.clone(), n.stat, s.acl(n.acl_key)))
                .collect();
            nodes.sort_by(|a, b| a.0.cmp(&b.0));
            let mut sessions = s.sessions.clone();
            sessions.sort();
            (nodes, sessions)
        };
        assert_eq!(contents(&exported), contents(&original));
        // ZooKeeper's trailer was for this very zxid: ours is the same.
        assert_eq!(exported.digest, original.digest);
        assert_eq!(
            exported.digest,
            Some(ZkDigest {
                zxid: 0x20,
                version: 2,
                digest: 20_619_959_942
            })
        );
    }

    #[test]
    fn trees_zookeeper_could_not_load_are_refused() {
        let mut tree = DataTree::new();
        let txns = vec![(
            SESSION,
            create("/huge", Data::from(vec![0u8; ZK_MAX_FIELD + 1]), open(), 0),
        )];
        apply_all(&mut tree, 1, txns);
        let err = encode_zookeeper_snapshot(&tree).unwrap_err();
        assert!(
            matches!(&err, ExportError::TooLong { path, what: "data", .. } if path == "/huge"),
            "{err}"
        );
        assert!(err.to_string().contains("/huge"), "{err}");

        // Exactly the limit is fine.
        let mut tree = DataTree::new();
        let txns = vec![(
            SESSION,
            create("/max", Data::from(vec![0u8; ZK_MAX_FIELD]), open(), 0),
        )];
        apply_all(&mut tree, 1, txns);
        parse(&encode_zookeeper_snapshot(&tree).unwrap()).unwrap();

        let mut b = TreeBuilder::new();
        b.node("/", Data::default(), &open(), PersistedStat::default())
            .unwrap();
        b.node(
            ZOOKEEPER_PATH,
            Data::default(),
            &open(),
            PersistedStat::default(),
        )
        .unwrap();
        let tree = b.finish(5).unwrap();
        assert!(matches!(
            encode_zookeeper_snapshot(&tree),
            Err(ExportError::MissingNode(QUOTA_PATH))
        ));
    }

    #[test]
    fn snapshot_names_are_lowercase_hex_without_padding() {
        assert_eq!(zookeeper_snapshot_name(0), "snapshot.0");
        assert_eq!(zookeeper_snapshot_name(0x20), "snapshot.20");
        assert_eq!(zookeeper_snapshot_name(0x1_0000_000a), "snapshot.10000000a");
    }

    #[test]
    fn the_export_lands_in_version_2_and_never_overwrites() {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        let tree = applied_tree();
        let epochs = Epochs {
            accepted: 2,
            current: 1,
        };
        let path = write_zookeeper_export(&data_dir, &tree, Some(epochs)).unwrap();
        let v2 = data_dir.join("version-2");
        assert_eq!(path, v2.join(zookeeper_snapshot_name(tree.last_zxid())));
        let bytes = fs::read(&path).unwrap();
        assert_eq!(bytes, encode_zookeeper_snapshot(&tree).unwrap());
        assert_eq!(fs::read_to_string(v2.join("acceptedEpoch")).unwrap(), "2");
        assert_eq!(fs::read_to_string(v2.join("currentEpoch")).unwrap(), "1");
        let mut names: Vec<_> = fs::read_dir(&v2)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["acceptedEpoch", "currentEpoch", "snapshot.100000014"]
        );

        // A second export, even of another tree, is refused and changes nothing.
        let err = write_zookeeper_export(&data_dir, &DataTree::new(), None).unwrap_err();
        assert!(
            matches!(&err, ExportError::NotEmpty { found, .. } if found.len() == 3),
            "{err}"
        );
        assert!(err.to_string().contains("snapshot.100000014"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), bytes);

        // A txn log alone is enough to refuse.
        let other = tmp.path().join("other");
        fs::create_dir_all(other.join("version-2")).unwrap();
        fs::write(other.join("version-2/log.1"), b"x").unwrap();
        assert!(matches!(
            write_zookeeper_export(&other, &tree, None),
            Err(ExportError::NotEmpty { .. })
        ));
        assert!(!other.join("version-2/snapshot.100000014").exists());

        // Without epochs only the snapshot is written.
        let plain = tmp.path().join("plain");
        write_zookeeper_export(&plain, &DataTree::new(), None).unwrap();
        let names: Vec<_> = fs::read_dir(plain.join("version-2"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["snapshot.0"]);
    }

    #[test]
    fn epochs_zookeeper_would_reject_are_refused_before_writing() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = applied_tree(); // zxids in epoch 1
        for (accepted, current) in [(1, 0), (1, 2), (0, 0)] {
            let err = write_zookeeper_export(tmp.path(), &tree, Some(Epochs { accepted, current }))
                .unwrap_err();
            assert!(matches!(err, ExportError::BadEpochs { .. }), "{err}");
        }
        assert!(!tmp.path().join("version-2").exists());
    }
}
