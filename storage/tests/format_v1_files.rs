//! Files of format version 1, written by the last build before null data (fixtures/v1: four logs and three
//! snapshots of a standalone server that ran a small workload, then stopped), are still read: recovery
//! rebuilds exactly the tree that build had, and a new snapshot of it (format 2) reads back the same.

use std::path::Path;

use rzk_core::tree::DataTree;
use rzk_core::Zxid;
use rzk_storage::{encode_snapshot, read_snapshot, recover, scan_log, FsDir, FORMAT_VERSION};

fn fixture_copy() -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1/version-2");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}

fn recovered_tree(dir: &Path) -> DataTree {
    let fs = FsDir::new(dir);
    let recovery = recover(&fs, &fs).expect("version 1 files recover");
    let mut tree = recovery.recovered.tree.expect("a snapshot was found");
    for t in &recovery.recovered.txns {
        tree.apply(&t.header, &t.txn);
    }
    tree
}

fn data(tree: &DataTree, path: &str) -> Vec<u8> {
    let node = tree
        .get(path)
        .unwrap_or_else(|| panic!("{path} is missing"));
    assert!(
        !node.data().is_null(),
        "{path}: version 1 data is never null"
    );
    node.data().to_vec()
}

#[test]
fn version_1_logs_and_snapshots_recover_the_tree_they_held() {
    let dir = fixture_copy();
    for name in ["snapshot.b", "snapshot.17", "snapshot.22"] {
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()), 1);
        read_snapshot(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let mut logged: Vec<Zxid> = Vec::new();
    for name in ["log.1", "log.c", "log.18", "log.23"] {
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        let scan = scan_log(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        logged.extend(scan.txns.iter().map(|t| t.header.zxid));
    }
    assert_eq!(
        logged,
        (1..=0x24).collect::<Vec<Zxid>>(),
        "every txn of the run is read"
    );

    let tree = recovered_tree(dir.path());
    assert_eq!(tree.last_zxid(), 0x24);
    assert_eq!(data(&tree, "/app"), b"root data");
    assert_eq!(data(&tree, "/app/empty"), b"");
    assert_eq!(data(&tree, "/app/n00"), b"value 0");
    assert_eq!(data(&tree, "/app/n03"), b"changed");
    assert!(tree.get("/app/n04").is_none(), "deleted");
    assert_eq!(data(&tree, "/app/n06"), b"multi");
    assert!(tree.get("/app/n07").is_none(), "deleted in a multi");
    assert_eq!(data(&tree, "/app/m1"), b"m");
    assert_eq!(data(&tree, "/app/bin"), (0..=255u8).collect::<Vec<u8>>());
    assert_eq!(data(&tree, "/app/late"), b"after the snapshot");
    assert_eq!(tree.get("/app/n05").unwrap().acl()[0].id.scheme, "digest");
    assert_eq!(tree.get("/app").unwrap().num_children(), 29);
    assert_eq!(tree.sessions().len(), 1, "the client's session was open");

    // Written again, the tree is a version 2 snapshot that reads back identical.
    let again = encode_snapshot(tree.last_zxid(), &tree).unwrap();
    assert_eq!(
        u32::from_le_bytes(again[4..8].try_into().unwrap()),
        FORMAT_VERSION
    );
    let (zxid, reread) = read_snapshot(&again).unwrap();
    assert_eq!(zxid, 0x24);
    assert_eq!(reread.digest(), tree.digest());
}
