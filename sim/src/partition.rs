//! Partitions in the shapes real networks fail in: two random groups, an isolated leader, two halves joined
//! through one bridge server, a ring, and one-way loss (with, sometimes, a flapping link elsewhere).

use crate::rng::SimRng;

/// What a partition does to the network.
pub struct Partition {
    /// Node pairs whose link goes down (and stays cut until the partition heals).
    pub cut: Vec<(usize, usize)>,
    /// A direction whose messages vanish while the link looks up.
    pub one_way: Option<(usize, usize)>,
    /// A link that flaps until the given time.
    pub flap: Option<(usize, usize, u64)>,
    pub description: String,
}

/// Draws a partition of `n` servers (`leader` is the current leader's index, if any) from `rng`.
/// `flap_for` is how long a flapping link flaps.
pub fn draw(
    rng: &mut SimRng,
    n: usize,
    leader: Option<usize>,
    now: u64,
    flap_for: u64,
) -> Partition {
    let mut p = Partition {
        cut: Vec::new(),
        one_way: None,
        flap: None,
        description: String::new(),
    };
    if n < 2 {
        p.description = "none (one server)".into();
        return p;
    }
    let pairs: Vec<(usize, usize)> = (0..n)
        .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
        .collect();
    p.description = match rng.range(0, 5) {
        // Two random groups (a leader may land on either side).
        0 => {
            let side: Vec<bool> = (0..n).map(|_| rng.chance(0.5)).collect();
            p.cut
                .extend(pairs.iter().filter(|(a, b)| side[*a] != side[*b]));
            format!("split {side:?}")
        }
        // The leader alone, cut from everyone.
        1 => {
            let l = leader.unwrap_or(0);
            p.cut
                .extend(pairs.iter().filter(|(a, b)| *a == l || *b == l));
            format!("isolate node {l}")
        }
        // Two halves joined only through one bridge server.
        2 => {
            let bridge = rng.range(0, n as u64 - 1) as usize;
            let side: Vec<bool> = (0..n).map(|i| i < n / 2).collect();
            p.cut.extend(
                pairs
                    .iter()
                    .filter(|(a, b)| side[*a] != side[*b] && *a != bridge && *b != bridge),
            );
            format!("bridge through node {bridge}")
        }
        // A ring: each server reaches only its two neighbours.
        3 => {
            p.cut.extend(pairs.iter().filter(|(a, b)| {
                let d = b - a;
                d != 1 && d != n - 1
            }));
            "ring".to_string()
        }
        // One way: the leader's (or a random server's) messages to one peer vanish.
        _ => {
            let from = leader.unwrap_or_else(|| rng.range(0, n as u64 - 1) as usize);
            let to = (from + 1 + rng.range(0, n as u64 - 2) as usize) % n;
            p.one_way = Some((from, to));
            if rng.chance(0.5) {
                // And a flapping link elsewhere for the same while.
                let (a, b) = pairs[rng.range(0, pairs.len() as u64 - 1) as usize];
                p.flap = Some((a, b, now + flap_for));
                format!("one way {from}->{to}, link {a}-{b} flapping")
            } else {
                format!("one way {from}->{to}")
            }
        }
    };
    p
}
