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

/// The flight recorder misses nothing: with every node recorded, continued from each checkpoint decoded
/// (a segment every 101 inputs) and every segment replayed step by step, a seed's trace is the same as
/// without, and no replayed step differs from its recording. Standalone servers and ensembles, with faults.
/// (A few seeds here; CI's release stage runs 200 with `rzk sim --record`.)
#[test]
fn recorded_runs_replay_exactly_and_checkpoints_change_nothing() {
    let plain = SimOptions {
        fault_ms: 5_000,
        ..SimOptions::default()
    };
    let recorded = SimOptions {
        record: Some(101),
        ..plain.clone()
    };
    let redacted = SimOptions {
        record_redacted: true,
        ..recorded.clone()
    };
    let (mut segments, mut inputs) = (0, 0);
    for seed in [0, 2, 5] {
        let a = run(seed, &plain);
        let b = run(seed, &recorded);
        assert!(b.violations.is_empty(), "seed {seed}: {:#?}", b.violations);
        assert_eq!(
            a.trace_hash, b.trace_hash,
            "seed {seed}: recording changed the run"
        );
        // Redacted, the same run replays too (checked by shape, up to any zeroed credential).
        let c = run(seed, &redacted);
        assert!(
            c.violations.is_empty(),
            "seed {seed} redacted: {:#?}",
            c.violations
        );
        assert_eq!(
            a.trace_hash, c.trace_hash,
            "seed {seed}: redaction changed the run"
        );
        assert!(b.replayed.1 > 0, "seed {seed} replayed nothing");
        segments += b.replayed.0;
        inputs += b.replayed.1;
    }
    assert!(
        segments > 100 && inputs > 10_000,
        "{segments} segments, {inputs} inputs"
    );
}
