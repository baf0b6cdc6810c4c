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
