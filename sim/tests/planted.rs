//! The simulator catches each planted bug within a fixed seed budget, and the same seeds pass with nothing
//! planted. Run with `cargo test -p rzk-sim --features planted-bugs`.
#![cfg(feature = "planted-bugs")]

use rzk_core::planted::PlantedBug;
use rzk_sim::faults::FaultFilter;
use rzk_sim::{run, SimOptions};

/// Seeds each planted bug may take to be caught.
const BUDGET: u64 = 150;

/// Where each bug can show: ensemble bugs on 3 servers, the rest on one. A follower that expires sessions
/// is only wrong where clients could keep their sessions alive, so it runs on a calm network.
fn options(bug: PlantedBug) -> SimOptions {
    SimOptions {
        nodes: Some(if bug.needs_ensemble() { 3 } else { 1 }),
        faults: if bug == PlantedBug::FollowerExpiresSessions {
            FaultFilter::None
        } else {
            FaultFilter::All
        },
        fault_ms: 20_000,
        ..SimOptions::default()
    }
}

#[test]
fn every_planted_bug_is_caught_within_the_budget() {
    for bug in PlantedBug::ALL {
        let clean = options(bug);
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
