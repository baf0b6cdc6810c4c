//! `rzk check HISTORY`: holds a run's history file (written by `rzk sim --seed S --history FILE`, or by a run
//! of real processes) to the checkers every simulated seed must pass, and exits non-zero on a violation.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The history file (JSON lines; format in check/src/jsonl.rs).
    history: PathBuf,
}

pub fn run(args: CheckArgs) -> Result<()> {
    let file = std::fs::File::open(&args.history)
        .with_context(|| format!("cannot open {}", args.history.display()))?;
    let facts = rzk_check::read_history(&mut std::io::BufReader::new(file))
        .with_context(|| format!("cannot read {}", args.history.display()))?;
    let violations = rzk_check::check_all(&facts);
    println!(
        "{}: {} ops, {} committed txns, {} servers, {} faults",
        args.history.display(),
        facts.history.ops.len(),
        facts.committed.len(),
        facts.servers.len(),
        facts.faults.len()
    );
    for v in &violations {
        println!("  {v}");
    }
    if !violations.is_empty() {
        bail!("{} violation(s)", violations.len());
    }
    println!("no violation");
    Ok(())
}
