//! Arbitrary bytes as an Apache ZooKeeper data directory (a snapshot and a txn log): the import rzk does when
//! it starts on one must never panic, and whatever it accepts must be a consistent tree. The first three bytes
//! pick where the input is cut into the two files (a big-endian u16 fraction) and whether each gets
//! ZooKeeper's magic (so that mutations explore the records, not the magic). Seeds made of ZooKeeper 3.8's
//! own files are in fuzz/seeds/zookeeper_import; in fuzz/:
//! `cargo +nightly fuzz run zookeeper_import corpus/zookeeper_import seeds/zookeeper_import`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rzk_io_mio::storage::zookeeper_recovery::import_zookeeper;
use rzk_io_mio::storage::MemDir;

fuzz_target!(|data: &[u8]| {
    let [c1, c2, flags, rest @ ..] = data else {
        return;
    };
    let cut = usize::from(u16::from_be_bytes([*c1, *c2]));
    let at = (cut * rest.len() / 65535).min(rest.len());
    let (snap, log) = rest.split_at(at);
    let mut snap = snap.to_vec();
    let mut log = log.to_vec();
    if flags & 1 != 0 && snap.len() >= 4 {
        snap[..4].copy_from_slice(b"ZKSN");
    }
    if flags & 2 != 0 && log.len() >= 4 {
        log[..4].copy_from_slice(b"ZKLG");
    }
    let dir = MemDir::new();
    dir.put("snapshot.0", snap);
    dir.put("log.1", log);
    if let Ok(Some(imported)) = import_zookeeper(&dir, &dir, flags & 4 != 0) {
        assert!(imported.tree.check_invariants().is_ok());
    }
});
