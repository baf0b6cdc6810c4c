//! What `StorageOptions::recover` does with the data directories it finds: a directory of rzk's old layout
//! (rzk's files in `version-2/`) is moved into `rzk/` and keeps its data; a directory Apache ZooKeeper 3.8
//! wrote is imported once into `rzk/`, and its files are never changed.

use std::collections::BTreeMap;
use std::path::Path;

use rzk_storage::{StorageOptions, RZK_DIR, ZOOKEEPER_DIR};

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name.ends_with(".txt") {
            continue;
        }
        std::fs::copy(entry.path(), dst.join(name)).unwrap();
    }
}

/// Every file of a directory with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().into_string().unwrap(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect()
        })
        .unwrap_or_default()
}

fn fixtures(which: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(which)
}

/// (digest, last zxid) of the state recovery hands the node, txns applied.
fn recovered_state(options: &StorageOptions) -> (u64, i64) {
    let recovery = options.recover().unwrap();
    let mut tree = recovery.recovered.tree.unwrap_or_default();
    for t in &recovery.recovered.txns {
        tree.apply(&t.header, &t.txn);
    }
    (tree.digest(), tree.last_zxid())
}

#[test]
fn a_directory_of_the_old_layout_moves_into_rzks_own_and_keeps_its_data() {
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join(ZOOKEEPER_DIR);
    copy_dir(&fixtures("v1/version-2"), &old);
    let before = files(&old);
    let options = StorageOptions::new(tmp.path(), tmp.path());
    options.create_dirs().unwrap();
    let (digest, zxid) = recovered_state(&options);
    assert_eq!(zxid, 0x24);
    assert!(files(&old).is_empty(), "every rzk file left version-2");
    let moved = files(&tmp.path().join(RZK_DIR));
    for (name, bytes) in &before {
        assert_eq!(moved.get(name), Some(bytes), "{name} moved unchanged");
    }
    // A second start finds the same state in the new place.
    assert_eq!(recovered_state(&options), (digest, zxid));
}

#[test]
fn a_zookeeper_directory_is_imported_once_and_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let zk = tmp.path().join(ZOOKEEPER_DIR);
    copy_dir(&fixtures("zookeeper"), &zk);
    std::fs::remove_file(zk.join("snapshot.23.gz")).unwrap();
    std::fs::remove_file(zk.join("snapshot.23.snappy")).unwrap();
    let before = files(&zk);
    let mut options = StorageOptions::new(tmp.path(), tmp.path());
    options.extended_types = true;
    options.create_dirs().unwrap();

    let recovery = options.recover().unwrap();
    let import = recovery.report.zookeeper_import.expect("imported");
    assert_eq!(import.snapshot.map(|s| s.1), Some(0x20));
    assert_eq!(import.digest_matches, Some(true));
    assert_eq!(recovery.report.last_zxid, 0x20);
    let tree = recovery.recovered.tree.expect("the imported snapshot");
    // ZooKeeper's SnapshotFormatter lists these 17 nodes and 3 sessions in snapshot.20.
    assert_eq!(tree.nodes().count(), 17);
    assert_eq!(tree.ttls().collect::<Vec<_>>(), ["/ttl"]);
    assert_eq!(tree.containers().collect::<Vec<_>>(), ["/c2"]);
    assert_eq!(tree.ephemerals_of(0x10000fbeddf0000).count(), 2);
    assert_eq!(tree.sessions().len(), 3);
    let rzk_files = files(&tmp.path().join(RZK_DIR));
    assert_eq!(rzk_files.keys().collect::<Vec<_>>(), ["snapshot.20"]);
    assert_eq!(&rzk_files["snapshot.20"][..4], b"RZKS");

    // The next start runs on rzk's own files, and ZooKeeper's are as they were.
    let again = options.recover().unwrap();
    assert!(again.report.zookeeper_import.is_none());
    let again_tree = again.recovered.tree.unwrap();
    assert_eq!(again_tree.digest(), tree.digest());
    assert_eq!(files(&zk), before);
}

/// The server writes the imported state as rzk's first snapshot in the background, and may log txns before
/// it is on disk: a crash in between recovers ZooKeeper's files plus rzk's log, the same state.
#[test]
fn a_crash_before_the_imported_snapshot_is_written_loses_nothing() {
    use rzk_core::txn::{LoggedTxn, Txn, TxnHeader};
    let tmp = tempfile::tempdir().unwrap();
    let zk = tmp.path().join(ZOOKEEPER_DIR);
    copy_dir(&fixtures("zookeeper"), &zk);
    for compressed in ["snapshot.23.gz", "snapshot.23.snappy"] {
        std::fs::remove_file(zk.join(compressed)).unwrap();
    }
    let mut options = StorageOptions::new(tmp.path(), tmp.path());
    options.extended_types = true;
    options.create_dirs().unwrap();

    let first = options.recover_deferring_import().unwrap();
    let unwritten = first
        .unwritten
        .expect("the import's snapshot is left to write");
    assert_eq!(unwritten.zxid, 0x20);
    assert!(
        files(&tmp.path().join(RZK_DIR)).is_empty(),
        "nothing written yet"
    );
    // The node logs a txn after the imported state; then the process dies before the snapshot is written.
    let txn = LoggedTxn {
        header: TxnHeader {
            session_id: 0,
            cxid: 1,
            zxid: 0x21,
            time: 1,
        },
        txn: Txn::Create {
            path: "/after-the-switch".into(),
            data: rzk_core::Data::from_static(b"x"),
            acl: unwritten.tree.get("/").unwrap().acl().to_vec(),
            ephemeral_owner: 0,
            parent_cversion: -1,
        },
    };
    let log = rzk_storage::encode_log_file(std::slice::from_ref(&txn)).unwrap();
    std::fs::write(tmp.path().join(RZK_DIR).join("log.21"), log).unwrap();
    let mut expected = unwritten.tree.clone();
    assert_eq!(expected.apply(&txn.header, &txn.txn).err, None);

    let again = options.recover_deferring_import().unwrap();
    assert!(again.report.zookeeper_import.is_some(), "imported again");
    let mut tree = again.recovered.tree.unwrap();
    assert_eq!(again.recovered.txns.len(), 1);
    for t in &again.recovered.txns {
        tree.apply(&t.header, &t.txn);
    }
    assert_eq!(tree.digest(), expected.digest());
    assert!(tree.get("/after-the-switch").is_some());

    // Once the snapshot is written, ZooKeeper's files are not read again.
    again.unwritten.unwrap().write(&options.snap_dir()).unwrap();
    let last = options.recover_deferring_import().unwrap();
    assert!(last.report.zookeeper_import.is_none() && last.unwritten.is_none());
    assert_eq!(last.report.snapshot.map(|s| s.1), Some(0x20));
    assert_eq!(last.recovered.txns.len(), 1);
}
