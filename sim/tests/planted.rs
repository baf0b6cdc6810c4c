//! The simulator catches each planted bug within a fixed seed budget, and the same seeds pass with nothing
//! planted. Run with `cargo test -p rzk-sim --features planted-bugs`.
#![cfg(feature = "planted-bugs")]

use rzk_core::planted::PlantedBug;
use rzk_sim::{run, SimOptions};

/// Seeds each planted bug may take to be caught.
const BUDGET: u64 = 20;

#[test]
fn every_planted_bug_is_caught_within_the_budget() {
    let clean = SimOptions {
        fault_ms: 20_000,
        ..SimOptions::default()
    };
    for bug in PlantedBug::ALL {
        let planted = SimOptions {
            plant: vec![bug],
            ..clean.clone()
        };
        let caught = (0..BUDGET).find(|&seed| !run(seed, &planted).violations.is_empty());
        let Some(seed) = caught else {
            panic!("{} was not caught in {BUDGET} seeds", bug.name());
        };
        println!("{} caught by seed {seed}", bug.name());
        for s in 0..=seed {
            let r = run(s, &clean);
            assert!(
                r.violations.is_empty(),
                "seed {s} fails with nothing planted: {:?}",
                r.violations
            );
        }
    }
}
