//! Arbitrary bytes as a data directory: recovery, verification and the file readers must never panic,
//! whatever the files hold. The input is split into up to three files: a snapshot, and two log files (the
//! second one the last, so torn-tail truncation runs too). Whatever recovery accepts must also replay.
//! One input in 256 (third byte 0xff) grows the last log to 8 MB by repeating its bytes: recovery must stay
//! linear in the file's size (a quadratic search once hung on large damaged files, which 4 KB inputs never
//! show).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rzk_io_mio::storage::{read_snapshot, recover, scan_log, verify_dir, MemDir};

fuzz_target!(|data: &[u8]| {
    // The first two bytes pick where the input is cut into files; the third, whether the last log grows.
    let [a, b, grow, rest @ ..] = data else {
        return;
    };
    let cut1 = (usize::from(*a) * rest.len() / 255).min(rest.len());
    let cut2 = (cut1 + usize::from(*b) * (rest.len() - cut1) / 255).min(rest.len());
    let (snap, logs) = rest.split_at(cut1);
    let (log1, log2) = logs.split_at(cut2 - cut1);
    let log2: Vec<u8> = if *grow == 0xff && !log2.is_empty() {
        log2.iter().copied().cycle().take(8 << 20).collect()
    } else {
        log2.to_vec()
    };
    let _ = read_snapshot(snap);
    let _ = scan_log(log1);
    let dir = MemDir::new();
    dir.put("snapshot.5", snap.to_vec());
    dir.put("log.1", log1.to_vec());
    dir.put("log.6", log2);
    let _ = verify_dir(&dir);
    if let Ok(r) = recover(&dir, &dir) {
        let mut tree = r.recovered.tree.unwrap_or_default();
        for t in &r.recovered.txns {
            tree.apply(&t.header, &t.txn);
        }
        assert!(tree.check_invariants().is_ok());
        // A repaired directory recovers again to the same state, with nothing left to repair.
        let again = recover(&dir, &dir).expect("recovering a repaired directory");
        assert_eq!(again.report.last_zxid, r.report.last_zxid);
        assert!(again.report.truncated.is_none());
    }
});
