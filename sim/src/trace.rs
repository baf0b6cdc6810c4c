//! The run's trace: a hash over every delivered event (same seed, same hash) and, with `--trace`, a readable
//! line per event.

pub struct Trace {
    hash: u64,
    print: bool,
    pub lines: u64,
}

const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Trace {
    pub fn new(print: bool) -> Trace {
        Trace {
            hash: 0xcbf2_9ce4_8422_2325,
            print,
            lines: 0,
        }
    }

    /// Records an event: `key` (what kind of event and its numbers) goes into the hash, and the description
    /// is built only when printing (formatting every event of a run cost a fifth of the simulator's time).
    pub fn line(&mut self, now: u64, key: [u64; 3], describe: impl FnOnce() -> String) {
        for k in [now, key[0], key[1], key[2]] {
            self.hash = (self.hash ^ k).wrapping_mul(FNV_PRIME);
        }
        self.lines += 1;
        if self.print {
            println!("{:>10}.{:03} {}", now / 1000, now % 1000, describe());
        }
    }

    /// Mixes raw bytes (message contents) into the hash.
    pub fn mix(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.hash ^= *b as u64;
            self.hash = self.hash.wrapping_mul(FNV_PRIME);
        }
    }

    pub fn hash(&self) -> u64 {
        self.hash
    }
}

/// A peer message in one number, for the trace hash: its kind and the zxid or vote it carries.
pub fn fingerprint(msg: &rzk_core::peer::PeerMsg) -> u64 {
    use rzk_core::peer::PeerMsg;
    use rzk_core::zab::ZabMsg;
    let (kind, n): (u64, i64) = match msg {
        PeerMsg::Election(n) => (1, n.vote.zxid ^ (n.vote.leader as i64) << 48),
        PeerMsg::Zab { msg, session } => match msg {
            ZabMsg::Proposal { txn } => (2, txn.header.zxid),
            ZabMsg::Ack { zxid } => (3, *zxid),
            ZabMsg::Commit { zxid } => (4, *zxid),
            ZabMsg::Diff { txns } => (5, txns.last().map_or(0, |t| t.header.zxid)),
            ZabMsg::Trunc { zxid } => (6, *zxid),
            ZabMsg::Snap { snapshot } => (7, snapshot.last_zxid),
            ZabMsg::Ping { round, sessions } => (8, sessions.len() as i64 ^ (*round as i64) << 16),
            other => (
                9,
                std::mem::discriminant(other).hash_u64() as i64 ^ *session as i64,
            ),
        },
    };
    kind << 56 ^ n as u64
}

trait HashU64 {
    fn hash_u64(&self) -> u64;
}

impl<T: std::hash::Hash> HashU64 for T {
    fn hash_u64(&self) -> u64 {
        use std::hash::Hasher;
        // A fixed hasher (SipHash with zero keys): the same on every run.
        #[allow(deprecated)]
        let mut h = std::hash::SipHasher::new();
        self.hash(&mut h);
        h.finish()
    }
}

/// Peer messages are described as `rzk replay --trace` describes them.
pub use rzk_record::describe::peer as describe;
