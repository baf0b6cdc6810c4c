//! Reconnect delays: exponential from a minimum to a cap, with up to 50% jitter so that servers restarted
//! together do not dial in lockstep. The jitter comes from a small xorshift generator seeded per server:
//! the driver's timing is not part of the deterministic core.

use std::time::Duration;

#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    min_ms: u64,
    max_ms: u64,
    current_ms: u64,
    rng: u64,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration, seed: u64) -> Backoff {
        let min_ms = (min.as_millis() as u64).max(1);
        Backoff {
            min_ms,
            max_ms: (max.as_millis() as u64).max(min_ms),
            current_ms: min_ms,
            // xorshift must not start at zero.
            rng: seed | 1,
        }
    }

    /// The delay before the next attempt; the one after it doubles, up to the cap.
    pub(crate) fn next_delay_ms(&mut self) -> u64 {
        let base = self.current_ms;
        self.current_ms = (self.current_ms.saturating_mul(2)).min(self.max_ms);
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (base + self.rng % (base / 2 + 1)).min(self.max_ms)
    }

    /// After a success: the next failure starts from the minimum again.
    pub(crate) fn reset(&mut self) {
        self.current_ms = self.min_ms;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_reset() {
        let mut b = Backoff::new(Duration::from_millis(50), Duration::from_secs(2), 7);
        let delays: Vec<u64> = (0..10).map(|_| b.next_delay_ms()).collect();
        assert!((50..=75).contains(&delays[0]), "{delays:?}");
        assert!((100..=150).contains(&delays[1]), "{delays:?}");
        assert!(delays.iter().all(|&d| d <= 2000), "{delays:?}");
        assert!(delays[9] >= 2000 / 2, "{delays:?}");
        b.reset();
        assert!(b.next_delay_ms() <= 75);
    }
}
