//! The simulator catches each planted bug within a fixed seed budget, on the layouts CI runs (every seed
//! draws its cluster: 1 to 7 servers, odd and even voter counts, observers anywhere), and the same seeds pass
//! with nothing planted. Run with `cargo test -p rzk-sim --features planted-bugs`.
#![cfg(feature = "planted-bugs")]

use rzk_core::planted::PlantedBug;
use rzk_sim::faults::FaultFilter;
use rzk_sim::{run, SimOptions};

/// Seeds each planted bug may take to be caught.
const BUDGET: u64 = 100;

fn options() -> SimOptions {
    SimOptions {
        nodes: None,
        faults: FaultFilter::All,
        fault_ms: 20_000,
        ..SimOptions::default()
    }
}

#[test]
fn every_planted_bug_is_caught_within_the_budget() {
    let clean = options();
    let mut clean_through = None;
    for bug in PlantedBug::ALL
        .into_iter()
        .filter(|b| b.found_by_random_seeds())
    {
        let planted = SimOptions {
            plant: vec![bug],
            ..clean.clone()
        };
        let caught = (0..BUDGET).find(|&seed| !run(seed, &planted).violations.is_empty());
        let Some(seed) = caught else {
            panic!("{} was not caught in {BUDGET} seeds", bug.name());
        };
        let (report, facts) = rzk_sim::run_with_facts(seed, &planted);
        let first = report.violations[0].clone();
        println!("{} caught by seed {seed}: {first}", bug.name());
        // `rzk check` of the run's history file finds the same.
        let mut file = Vec::new();
        rzk_check::write_history(&facts, "sim", Some(seed), &mut file).unwrap();
        let back = rzk_check::read_history(&mut file.as_slice()).unwrap();
        assert_eq!(
            rzk_check::check_all(&back),
            report.violations,
            "{}",
            bug.name()
        );
        // The same seeds pass with nothing planted (each checked once).
        let from = clean_through.map_or(0, |c: u64| c + 1);
        for s in from..=seed {
            let r = run(s, &clean);
            assert!(
                r.violations.is_empty(),
                "seed {s} fails with nothing planted: {:?}",
                r.violations
            );
        }
        clean_through = clean_through.max(Some(seed));
    }
}
