//! What a snapshot costs the event loop, and what it costs the writes that follow it.
//!
//! The node takes a snapshot by cloning its `DataTree` on the event loop (`Output::Snapshot`); the snapshot
//! thread then encodes the clone while the live tree keeps taking writes. This measures, for a tree of N
//! znodes:
//! - `clone`: taking the snapshot (the only part on the event loop);
//! - a read (lookup + Stat) of a random znode, the hot path of getData/exists, and of one of 1000 hot ones;
//! - `setData` / `create` per write with no snapshot alive, and with one alive (after a snapshot, the first
//!   write to each part of the tree may have to copy it);
//! - `encode`: writing the snapshot to memory (off the event loop), and that it still has the digest it had
//!   when taken.
//!
//! `cargo run --release -p rzk-io-mio --example snapshot_cost -- 100000 1000000`
//! (each argument a tree size; `--flat` puts every znode under one parent, the worst case for the children
//! sets). Timings, not assertions: run it on a quiet machine and compare runs made under the same conditions.

use std::time::{Duration, Instant};

use rzk_core::proto::records::{Acl, Id};
use rzk_core::tree::DataTree;
use rzk_core::txn::{Txn, TxnHeader};
use rzk_core::Data;
use rzk_io_mio::storage::encode_snapshot;

/// Parents the znodes are spread over (unless `--flat`).
const PARENTS: usize = 1000;
/// Writes timed per measurement.
const WRITES: usize = 20_000;
/// Snapshots timed per tree size.
const CLONES: usize = 15;

struct Builder {
    tree: DataTree,
    zxid: i64,
}

impl Builder {
    fn apply(&mut self, txn: Txn) {
        self.zxid += 1;
        let header = TxnHeader {
            session_id: 1,
            cxid: 0,
            zxid: self.zxid,
            time: self.zxid,
        };
        let outcome = self.tree.apply(&header, &txn);
        assert_eq!(outcome.err, None, "{txn:?}");
    }
}

fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: 31,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

fn create(path: String) -> Txn {
    Txn::Create {
        path,
        data: Data::from(vec![b'x'; 100]),
        acl: open_acl(),
        ephemeral_owner: 0,
        parent_cversion: -1,
    }
}

fn set(path: String) -> Txn {
    Txn::SetData {
        path,
        data: Data::from(vec![b'y'; 100]),
        version: 1,
    }
}

/// The path of leaf `i` of `n`.
fn leaf(i: usize, flat: bool) -> String {
    if flat {
        format!("/flat/n{i:08}")
    } else {
        format!("/p{:04}/n{:08}", i % PARENTS, i)
    }
}

fn build(n: usize, flat: bool) -> Builder {
    let mut b = Builder {
        tree: DataTree::new(),
        zxid: 0,
    };
    let parents: Vec<String> = if flat {
        vec!["/flat".into()]
    } else {
        (0..PARENTS).map(|p| format!("/p{p:04}")).collect()
    };
    let leaves = n.saturating_sub(parents.len());
    for p in parents {
        b.apply(create(p));
    }
    for i in 0..leaves {
        b.apply(create(leaf(i, flat)));
    }
    b
}

/// A fixed pseudo-random sequence (xorshift), so runs are comparable.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Mean µs per write of `WRITES` writes made by `txn`.
fn time_writes(b: &mut Builder, mut txn: impl FnMut(usize) -> Txn) -> f64 {
    let txns: Vec<Txn> = (0..WRITES).map(&mut txn).collect();
    let started = Instant::now();
    for t in txns {
        b.apply(t);
    }
    micros(started.elapsed()) / WRITES as f64
}

fn measure(n: usize, flat: bool) {
    let built = Instant::now();
    let mut b = build(n, flat);
    let leaves = n - if flat { 1 } else { PARENTS };
    println!(
        "\n{} znodes ({}), built in {:.1} s",
        b.tree.nodes().count(),
        if flat {
            "all under /flat"
        } else {
            "over 1000 parents"
        },
        built.elapsed().as_secs_f64()
    );

    let mut clones = Vec::new();
    for _ in 0..CLONES {
        let started = Instant::now();
        let snapshot = Box::new(b.tree.clone());
        clones.push(started.elapsed());
        // Dropping the previous snapshot is the snapshot thread's business, not the event loop's.
        drop(snapshot);
    }
    clones.sort();
    println!(
        "clone (take a snapshot): min {:.3} µs, median {:.3} µs, max {:.3} µs over {CLONES}",
        micros(clones[0]),
        micros(clones[CLONES / 2]),
        micros(clones[CLONES - 1])
    );

    let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
    let paths: Vec<String> = (0..WRITES).map(|_| leaf(rng.below(leaves), flat)).collect();
    // The best of 10 rounds: the machine is shared, and the best round is the least disturbed.
    let mut best = Duration::MAX;
    let mut versions = 0i64;
    for _ in 0..10 {
        let started = Instant::now();
        for p in &paths {
            versions += b.tree.stat(p).map_or(0, |s| i64::from(s.version));
        }
        best = best.min(started.elapsed());
    }
    println!(
        "read (lookup + Stat) of a random znode: {:.3} µs (best of 10 rounds){}",
        micros(best) / WRITES as f64,
        if versions < 0 { "?" } else { "" }
    );
    // As `rzk bench get` reads: 1000 hot keys of a big tree, over and over.
    let hot: Vec<String> = (0..1000).map(|i| leaf(i * (leaves / 1000), flat)).collect();
    let mut best = Duration::MAX;
    for _ in 0..10 {
        let started = Instant::now();
        for _ in 0..20 {
            for p in &hot {
                versions += b.tree.stat(p).map_or(0, |s| i64::from(s.version));
            }
        }
        best = best.min(started.elapsed());
    }
    println!(
        "read (lookup + Stat) of one of 1000 hot znodes: {:.3} µs (best of 10 rounds){}",
        micros(best) / 20_000.0,
        if versions < 0 { "?" } else { "" }
    );
    let alone = time_writes(&mut b, |_| set(leaf(rng.below(leaves), flat)));
    let snapshot = b.tree.clone();
    let digest = snapshot.digest();
    let shared = time_writes(&mut b, |_| set(leaf(rng.below(leaves), flat)));
    println!(
        "setData of a random znode: {alone:.2} µs alone, {shared:.2} µs while a snapshot is alive"
    );
    let mut next = n;
    let created = time_writes(&mut b, |_| {
        next += 1;
        create(leaf(next, flat))
    });
    println!("create (new leaf) while the snapshot is alive: {created:.2} µs");
    drop(snapshot);
    let created_alone = time_writes(&mut b, |_| {
        next += 1;
        create(leaf(next, flat))
    });
    println!("create (new leaf) alone: {created_alone:.2} µs");

    let snapshot = b.tree.clone();
    let digest_now = snapshot.digest();
    let zxid = snapshot.last_zxid();
    for _ in 0..1000 {
        b.apply(set(leaf(rng.below(leaves), flat)));
    }
    let started = Instant::now();
    let bytes = encode_snapshot(zxid, &snapshot).expect("encode");
    println!(
        "encode (off the event loop): {:.0} ms, {} MB; snapshot digest unchanged by later writes: {}",
        started.elapsed().as_secs_f64() * 1e3,
        bytes.len() >> 20,
        snapshot.digest() == digest_now && digest != 0
    );
}

fn main() {
    let mut flat = false;
    let mut sizes = Vec::new();
    for arg in std::env::args().skip(1) {
        if arg == "--flat" {
            flat = true;
        } else {
            sizes.push(arg.parse::<usize>().expect("a tree size"));
        }
    }
    if sizes.is_empty() {
        sizes = vec![100_000, 1_000_000];
    }
    for n in sizes {
        measure(n.max(PARENTS + 1), flat);
    }
}
