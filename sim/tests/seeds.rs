//! The simulator on a handful of seeds: deterministic, and clean on the unmodified core.

use rzk_sim::faults::FaultFilter;
use rzk_sim::{run, SimOptions};

#[test]
fn same_seed_same_trace() {
    let opts = SimOptions {
        fault_ms: 10_000,
        ..SimOptions::default()
    };
    for seed in [1, 2, 3] {
        let a = run(seed, &opts);
        let b = run(seed, &opts);
        assert_eq!(a.trace_hash, b.trace_hash, "seed {seed}");
        assert_eq!(a.ops, b.ops);
        assert_ne!(run(seed + 100, &opts).trace_hash, a.trace_hash);
    }
}

#[test]
fn calm_runs_pass_every_checker() {
    let opts = SimOptions {
        faults: FaultFilter::None,
        fault_ms: 10_000,
        ..SimOptions::default()
    };
    for seed in 0..5 {
        let r = run(seed, &opts);
        assert!(r.violations.is_empty(), "seed {seed}: {:#?}", r.violations);
        assert!(r.ops_ok > 100, "seed {seed} did little: {r:?}");
    }
}

#[test]
fn faulty_runs_pass_every_checker() {
    let opts = SimOptions {
        fault_ms: 20_000,
        ..SimOptions::default()
    };
    for seed in 0..20 {
        let r = run(seed, &opts);
        assert!(
            r.violations.is_empty(),
            "seed {seed} ({}): {:#?}",
            r.faults,
            r.violations
        );
    }
}

/// Ensembles (election, sync, broadcast, forwarding) pass every checker, on a calm network and under every
/// fault family at once.
#[test]
fn ensembles_pass_every_checker() {
    for (nodes, faults) in [
        (3, FaultFilter::None),
        (5, FaultFilter::None),
        (3, FaultFilter::All),
        (5, FaultFilter::All),
    ] {
        let opts = SimOptions {
            nodes: Some(nodes),
            faults,
            fault_ms: 10_000,
            ..SimOptions::default()
        };
        for seed in 0..4 {
            let r = run(seed, &opts);
            assert!(
                r.violations.is_empty(),
                "{nodes} nodes, {faults:?}, seed {seed}: {:#?}",
                r.violations
            );
            assert!(
                r.committed > 50,
                "{nodes} nodes, seed {seed} committed little: {r:?}"
            );
        }
    }
}

/// A run's history written as a file and read back is held to the same verdicts: what `rzk check` says of
/// `rzk sim --seed S --history FILE` is what the simulator said of the run.
#[test]
fn the_history_file_round_trips_every_checkers_facts() {
    let opts = SimOptions {
        fault_ms: 15_000,
        ..SimOptions::default()
    };
    for seed in 0..4 {
        let (report, facts) = rzk_sim::run_with_facts(seed, &opts);
        let mut file = Vec::new();
        rzk_check::write_history(&facts, "sim", Some(seed), &mut file).unwrap();
        let back = rzk_check::read_history(&mut file.as_slice()).unwrap();
        assert_eq!(
            rzk_check::check_all(&back),
            report.violations,
            "seed {seed}"
        );
        assert_eq!(back.committed, facts.committed, "seed {seed}");
        assert_eq!(back.history.ops.len(), report.ops, "seed {seed}");
        assert!(back.committed.len() > 10, "seed {seed} committed little");
    }
}
