//! A node's clock: the simulated global time seen through an offset (skew), a rate error (drift, in parts
//! per million) and jumps. The node only ever sees its own clock.

#[derive(Debug, Clone)]
pub struct NodeClock {
    /// ms added to global time.
    pub offset: i64,
    /// Rate error in parts per million.
    pub drift_ppm: i64,
}

impl NodeClock {
    pub fn new(offset: i64, drift_ppm: i64) -> NodeClock {
        NodeClock { offset, drift_ppm }
    }

    /// The node's reading at global time `t`.
    pub fn local(&self, t: u64) -> u64 {
        let t = t as i64;
        (t + self.offset + t * self.drift_ppm / 1_000_000).max(0) as u64
    }

    /// The earliest global time at which the node's clock reads at least `local`.
    pub fn global(&self, local: u64, now: u64) -> u64 {
        let l = local as i64 - self.offset;
        let g = (l as i128 * 1_000_000 / (1_000_000 + self.drift_ppm) as i128) as i64;
        let mut g = g.max(now as i64) as u64;
        // Integer rounding: step forward until the clock has really reached `local`.
        while self.local(g) < local {
            g += 1;
        }
        g
    }

    /// A jump of the clock by `delta` ms (NTP step, VM migration...).
    pub fn jump(&mut self, delta: i64) {
        self.offset += delta;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_inverts_local() {
        for (off, ppm) in [
            (0, 0),
            (5_000, 100),
            (1_000_000 - 3_000, -200),
            (1_000_000, 500),
        ] {
            let c = NodeClock::new(off, ppm);
            for t in [0u64, 1, 999, 123_456_789] {
                let l = c.local(t);
                let g = c.global(l, 0);
                assert!(c.local(g) >= l);
                assert!(g <= t, "{g} > {t}");
            }
        }
    }
}
