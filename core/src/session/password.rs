//! Session passwords. Like ZooKeeper, a password is a pure function of the session id and a server secret,
//! so any server of the ensemble can check it without storing it. We use the same generator as ZooKeeper
//! (java.util.Random seeded with `id ^ 0xB3415C00`), so a session has the same password on rzk and ZooKeeper.

const SUPER_SECRET: i64 = 0xB341_5C00;

/// The 16-byte password of `session_id`.
pub fn password_for(session_id: i64) -> [u8; 16] {
    let mut rng = JavaRandom::new(session_id ^ SUPER_SECRET);
    let mut out = [0u8; 16];
    for chunk in out.chunks_mut(4) {
        let mut r = rng.next_int();
        for b in chunk {
            *b = r as u8;
            r >>= 8;
        }
    }
    out
}

/// java.util.Random's 48-bit linear congruential generator (its documented algorithm).
struct JavaRandom {
    seed: i64,
}

impl JavaRandom {
    const MULTIPLIER: i64 = 0x5_DEEC_E66D;
    const MASK: i64 = (1 << 48) - 1;

    fn new(seed: i64) -> JavaRandom {
        JavaRandom {
            seed: (seed ^ Self::MULTIPLIER) & Self::MASK,
        }
    }

    fn next_int(&mut self) -> i32 {
        self.seed = (self.seed.wrapping_mul(Self::MULTIPLIER).wrapping_add(0xB)) & Self::MASK;
        (self.seed >> 16) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_random_matches_the_documented_sequence() {
        // new java.util.Random(42).nextInt() == -1170105035 (a well-known value).
        assert_eq!(JavaRandom::new(42).next_int(), -1_170_105_035);
    }

    #[test]
    fn passwords_are_stable_and_distinct() {
        assert_eq!(password_for(7), password_for(7));
        assert_ne!(password_for(7), password_for(8));
    }
}
