//! The node's clock in production: milliseconds since the Unix epoch, taken once from the wall clock at
//! startup and advanced by the monotonic clock, so it never goes backwards when NTP steps the wall clock.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A millisecond clock that starts at the wall-clock time and then only moves forward.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    wall_start_ms: u64,
    start: Instant,
}

impl Clock {
    /// Starts the clock at the current wall-clock time (0 if the wall clock is before 1970).
    pub fn start() -> Clock {
        let wall_start_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Clock {
            wall_start_ms,
            start: Instant::now(),
        }
    }

    /// Milliseconds since the epoch, as of startup plus monotonic time elapsed since.
    pub fn now_ms(&self) -> u64 {
        let elapsed = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        // A test's injected jump or skew (`test_faults.rs`); 0 in production.
        self.wall_start_ms
            .saturating_add(elapsed)
            .saturating_add_signed(crate::test_faults::clock_offset_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_starts_near_the_wall_clock_and_never_goes_back() {
        let clock = Clock::start();
        let first = clock.now_ms();
        // 2020-01-01 in ms: the clock is anchored to the wall clock, not to zero.
        assert!(first > 1_577_836_800_000);
        let mut last = first;
        for _ in 0..1000 {
            let now = clock.now_ms();
            assert!(now >= last);
            last = now;
        }
    }
}
