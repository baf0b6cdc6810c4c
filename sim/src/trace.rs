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

    /// Records an event; the description is only built when printing, or for the hash.
    pub fn line(&mut self, now: u64, describe: impl FnOnce() -> String) {
        let text = describe();
        self.mix(text.as_bytes());
        self.mix(&now.to_le_bytes());
        self.lines += 1;
        if self.print {
            println!("{:>10}.{:03} {text}", now / 1000, now % 1000);
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
