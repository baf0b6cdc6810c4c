//! `rzk bench` against a real server: short runs of a few workloads complete with zero errors and report
//! some operations. No timing thresholds: benchmarks are not tests.

use std::process::Command;

use anyhow::{bail, Context, Result};
use rzk_tests::{rzk_binary, TestServer};

/// Runs `rzk bench <args>` and returns the fields of its final JSON line that the tests look at.
fn bench(server: &TestServer, args: &[&str]) -> Result<(u64, u64)> {
    let out = Command::new(rzk_binary()?)
        .arg("bench")
        .args(args)
        .args(["--server", server.connect_string()])
        .output()
        .context("running rzk bench")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "rzk bench {args:?} failed: {}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let last = stdout.lines().last().unwrap_or_default();
    let field = |name: &str| -> Result<u64> {
        let key = format!("\"{name}\":");
        let at = last
            .find(&key)
            .with_context(|| format!("no {name} in {last:?}"))?;
        let digits: String = last[at + key.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        Ok(digits.parse()?)
    };
    Ok((field("ops")?, field("errors")?))
}

const SHORT: &[&str] = &["--duration", "1", "--warmup", "0.2", "--sessions", "4"];

#[test]
fn pipelined_workloads_complete_without_errors() -> Result<()> {
    let server = TestServer::start()?;
    for workload in ["create", "set", "get", "mixed", "children"] {
        let mut args = vec![workload, "--depth", "8", "--keys", "50"];
        args.extend_from_slice(SHORT);
        let (ops, errors) = bench(&server, &args)?;
        assert_eq!(errors, 0, "{workload}");
        assert!(ops > 0, "{workload} reported no operations");
    }
    Ok(())
}

#[test]
fn watch_and_churn_complete_without_errors() -> Result<()> {
    let server = TestServer::start()?;
    for workload in ["watch", "churn"] {
        let mut args = vec![workload];
        args.extend_from_slice(SHORT);
        let (ops, errors) = bench(&server, &args)?;
        assert_eq!(errors, 0, "{workload}");
        assert!(ops > 0, "{workload} reported no operations");
    }
    Ok(())
}

#[test]
fn a_count_bounded_create_run_creates_exactly_that_many() -> Result<()> {
    let server = TestServer::start()?;
    let (ops, errors) = bench(&server, &["create", "--count", "500", "--sessions", "3"])?;
    assert_eq!((ops, errors), (500, 0));
    Ok(())
}

/// `Node count: N` from `stat`.
fn node_count(server: &TestServer) -> Result<u64> {
    let stat = server.four_letter("stat")?;
    let line = stat
        .lines()
        .find_map(|l| l.strip_prefix("Node count: "))
        .with_context(|| format!("no node count in {stat:?}"))?;
    Ok(line.trim().parse()?)
}

#[test]
fn cleanup_leaves_the_tree_as_it_was_apart_from_the_bench_root() -> Result<()> {
    let server = TestServer::start()?;
    let before = node_count(&server)?;
    for workload in ["create", "set", "children", "watch", "churn"] {
        let mut args = vec![workload, "--depth", "8", "--keys", "50", "--cleanup"];
        args.extend_from_slice(SHORT);
        let (ops, errors) = bench(&server, &args)?;
        assert_eq!(errors, 0, "{workload}");
        assert!(ops > 0, "{workload} reported no operations");
        assert_eq!(
            node_count(&server)?,
            before + 1,
            "after {workload}: /rzkbench only"
        );
    }
    Ok(())
}
