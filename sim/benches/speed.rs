//! How fast the simulator runs: for 3- and 5-server ensembles under every fault family, a batch of seeds
//! with the default 60 s fault phase (plus the 30 s heal phase and 5 s of quiet), on one core.
//! Prints wall time per seed, seeds per second and simulated seconds per wall second.
//!
//! `cargo bench -p rzk-sim` (or `-- <seeds>` for a different batch size). Figures, not assertions.

use std::time::Instant;

use rzk_sim::{run, SimOptions};

fn main() {
    let seeds: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(40);
    println!("simulator speed, {seeds} seeds per row, all faults, 60 s fault phase, one core");
    println!(
        "{:>5}  {:>12}  {:>9}  {:>18}  {:>10}  {:>9}",
        "nodes", "ms per seed", "seeds/s", "sim s per wall s", "events/s", "failures"
    );
    // The last row simulates exactly 60 s per seed (25 s of faults, the 30 s heal, 5 s of quiet).
    for (nodes, fault_ms) in [(3usize, 60_000u64), (5, 60_000), (5, 25_000)] {
        let opts = SimOptions {
            nodes: Some(nodes),
            fault_ms,
            ..SimOptions::default()
        };
        let start = Instant::now();
        let (mut simulated_ms, mut events, mut failures) = (0u64, 0u64, 0usize);
        for seed in 0..seeds {
            let r = run(seed, &opts);
            simulated_ms += r.simulated_ms;
            events += r.events;
            failures += usize::from(!r.violations.is_empty());
        }
        let wall = start.elapsed().as_secs_f64();
        println!(
            "{:>5}  {:>12.1}  {:>9.1}  {:>18.0}  {:>10.0}  {:>9}  ({} s simulated per seed)",
            nodes,
            wall * 1000.0 / seeds as f64,
            seeds as f64 / wall,
            simulated_ms as f64 / 1000.0 / wall,
            events as f64 / wall,
            failures,
            simulated_ms / seeds / 1000
        );
    }
}
