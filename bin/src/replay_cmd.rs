//! `rzk replay`: re-run a server from its flight recording (`rzk.recordDir`). Each segment's node is rebuilt
//! from its checkpoint and fed the recorded inputs at their recorded times; every step's outputs are
//! checked against the recorded digest, and the state at the end of a segment against the checkpoint that
//! starts the next one. Stops at an input number, a zxid or a time, and prints the tree, a session or any
//! four-letter word's report there.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use rzk_core::proto::FourLetterWord;
use rzk_core::Node;
use rzk_record::verify::Walk;
use rzk_record::{describe, dir, entry, ReplayError};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A recording directory, or segment files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Print every input and what it produced (and the node's own log lines).
    #[arg(long)]
    pub trace: bool,
    /// Stop after this input number (numbers count from 1 in each run of the server process; the first
    /// run that reaches it stops).
    #[arg(long)]
    pub until: Option<u64>,
    /// Stop once the tree has applied this zxid (hex with 0x, or decimal).
    #[arg(long, value_parser = parse_zxid)]
    pub until_zxid: Option<i64>,
    /// Stop before the first input recorded after this wall-clock time (RFC 3339 UTC, e.g.
    /// 2026-12-07T10:15:30.250Z, or microseconds since the epoch).
    #[arg(long, value_parser = parse_time)]
    pub until_time: Option<u64>,
    /// Where it stops (or at the end), print the tree as `rzk snapshot` does.
    #[arg(long)]
    pub dump_tree: bool,
    /// Where it stops (or at the end), print this session (0x... hex or decimal id): its connection,
    /// ephemerals and watches.
    #[arg(long, value_parser = parse_zxid)]
    pub session: Option<i64>,
    /// Where it stops (or at the end), print this four-letter word's report (cons, dump, wchc, mntr, ...).
    #[arg(long)]
    pub four_letter: Option<String>,
    /// Replay checkpoints written by another rzk version (their layout may differ: at your own risk).
    #[arg(long)]
    pub any_version: bool,
    /// The paths are the recording directories of an ensemble's members (in server order): replay them
    /// together, rebuild the committed history and every connection's requests and replies, and hold them
    /// to the server-side checkers (replica agreement, durability of acknowledged writes, reads, session
    /// order, watch order, each server's tree).
    #[arg(long)]
    pub check: bool,
}

fn parse_zxid(s: &str) -> Result<i64, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|_| format!("'{s}' is not a number (0x... for hex)"))
}

/// RFC 3339 UTC (`YYYY-MM-DDTHH:MM:SS[.frac]Z`) or µs since the epoch.
fn parse_time(s: &str) -> Result<u64, String> {
    if let Ok(us) = s.parse::<u64>() {
        return Ok(us);
    }
    let bad =
        || format!("'{s}' is not a time: give YYYY-MM-DDTHH:MM:SS[.frac]Z or µs since the epoch");
    let t = s.strip_suffix('Z').ok_or_else(bad)?;
    let (date, time) = t.split_once('T').ok_or_else(bad)?;
    let num = |v: &str| v.parse::<i64>().map_err(|_| bad());
    let d: Vec<&str> = date.split('-').collect();
    let (secs, frac) = time.split_once('.').unwrap_or((time, ""));
    let hms: Vec<&str> = secs.split(':').collect();
    if d.len() != 3 || hms.len() != 3 || frac.len() > 6 || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let (y, m, day) = (num(d[0])?, num(d[1])?, num(d[2])?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return Err(bad());
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let (h, min, sec) = (num(hms[0])?, num(hms[1])?, num(hms[2])?);
    if !(0..24).contains(&h) || !(0..60).contains(&min) || !(0..61).contains(&sec) {
        return Err(bad());
    }
    let micros = if frac.is_empty() {
        0
    } else {
        num(&format!("{frac:0<6}"))?
    };
    days.checked_mul(86_400)
        .and_then(|s| s.checked_add(h * 3600 + min * 60 + sec))
        .and_then(|s| s.checked_mul(1_000_000))
        .and_then(|us| us.checked_add(micros))
        .and_then(|us| u64::try_from(us).ok())
        .ok_or_else(bad)
}

/// Microseconds since the epoch as RFC 3339 UTC.
fn wall_text(us: u64) -> String {
    let secs = (us / 1_000_000) as i64;
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = rzk_core::four_letter::civil_from_days(secs.div_euclid(86_400));
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        us % 1_000_000
    )
}

/// The segment files named by the arguments: a directory's in order of run and place in the run, files as
/// given.
fn segment_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let listed = dir::list(p).with_context(|| format!("cannot list {}", p.display()))?;
            files.extend(listed.into_iter().map(|f| p.join(f.name)));
        } else {
            files.push(p.clone());
        }
    }
    if files.is_empty() {
        bail!(
            "no recording segments (rec-*.rzkr) in {}",
            paths[0].display()
        );
    }
    Ok(files)
}

/// Whether a stop condition is met before feeding `step` (time) or after it (input number, zxid).
struct Stop<'a> {
    args: &'a ReplayArgs,
}

impl Stop<'_> {
    fn before(&self, step: &entry::Step) -> bool {
        self.args.until_time.is_some_and(|t| step.wall_us > t)
    }
    fn after(&self, step: &entry::Step, node: &Node) -> bool {
        self.args.until.is_some_and(|n| step.n >= n)
            || self
                .args
                .until_zxid
                .is_some_and(|z| node.tree().last_zxid() >= z)
    }
    fn any(&self) -> bool {
        self.args.until.is_some()
            || self.args.until_zxid.is_some()
            || self.args.until_time.is_some()
    }
}

pub fn run(args: ReplayArgs) -> Result<()> {
    if args.check {
        return check(&args);
    }
    let files = segment_files(&args.paths)?;
    let stop = Stop { args: &args };
    let mut failures = Vec::new();
    let (mut segments, mut inputs, mut unchecked) = (0u64, 0u64, 0u64);
    // Each segment must continue the one before it (see `Walk`).
    let mut walk = Walk::default();
    let mut stopped: Option<(Node, String)> = None;
    let mut out = Vec::new();
    // The node clock of the last input fed (the reports' `now`).
    let mut now = 0;
    'files: for path in &files {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {name}"))?;
        let Some(mut opened) = walk.open(&name, &bytes, args.any_version, &mut failures) else {
            continue;
        };
        segments += 1;
        let replay = &opened.replay;
        let first = replay.header.first_input;
        println!(
            "{name}: server {} run {:x} segment {}, inputs {}..{}{}{}{}",
            replay.header.server_id,
            replay.header.run_id,
            replay.header.seq,
            first,
            replay
                .steps()
                .last()
                .map_or(first.saturating_sub(1), |s| s.n),
            match &replay.gap {
                Some(g) => format!(
                    ", after a gap (inputs {}..{} not recorded: {})",
                    g.from, g.to, g.why
                ),
                None => String::new(),
            },
            match replay.end {
                rzk_record::ReadEnd::Sealed => "",
                rzk_record::ReadEnd::Open => " (not sealed)",
                rzk_record::ReadEnd::Torn { .. } => " (torn tail: ends at its last whole block)",
            },
            if replay.redacted() {
                " (redacted: replies checked by length)"
            } else {
                ""
            }
        );
        let replay = &mut opened.replay;
        let mut diverged = false;
        loop {
            if replay.peek().is_some_and(|s| stop.before(s)) {
                if let Some(from) = replay.unchecked_from() {
                    println!("note: replayed unchecked since input {from} (a redacted credential): this state may not be the recorded one");
                }
                let at = format!("{name}, before input {}", replay.peek().map_or(0, |s| s.n));
                stopped = Some((opened.replay.node, at));
                break 'files;
            }
            match replay.advance(&mut out) {
                Ok(Some(step)) => {
                    inputs += 1;
                    let step = step.clone();
                    now = step.now;
                    if args.trace {
                        print_step(&step, &out);
                    }
                    if stop.after(&step, &replay.node) {
                        if let Some(from) = replay.unchecked_from() {
                            println!("note: replayed unchecked since input {from} (a redacted credential): this state may not be the recorded one");
                        }
                        stopped = Some((
                            opened.replay.node,
                            format!("{name}, after input {}", step.n),
                        ));
                        break 'files;
                    }
                }
                Ok(None) => break,
                Err(ReplayError::Diverged(d)) => {
                    let mut text = format!("{name}: {d}; replayed outputs:");
                    for o in &d.outputs {
                        let _ = write!(text, "\n    {}", describe::output(o));
                    }
                    failures.push(text);
                    diverged = true;
                    break;
                }
                Err(e) => {
                    failures.push(format!("{name}: {e}"));
                    diverged = true;
                    break;
                }
            }
        }
        if let Some(from) = opened.replay.unchecked_from() {
            unchecked += 1;
            println!(
                "{name}: input {from} carried a redacted credential: the rest of this segment was replayed unchecked"
            );
        }
        if diverged {
            walk.abandoned();
        } else {
            walk.finished(opened);
        }
    }
    let at_end = match stopped {
        Some((node, at)) => {
            println!("stopped in {at}");
            Some(node)
        }
        None => {
            if stop.any() {
                println!("the stop condition was not reached; showing the end of the recording");
            }
            let last = walk.into_last_node();
            if last.is_none()
                && (args.dump_tree || args.session.is_some() || args.four_letter.is_some())
            {
                println!("nothing to show: the last segment did not replay to a checked end");
            }
            last
        }
    };
    if let Some(node) = &at_end {
        show(node, &args, now)?;
    }
    println!("replayed {segments} segment(s), {inputs} input(s)");
    if failures.is_empty() && unchecked > 0 {
        println!(
            "no divergence: every checked step produced the recorded outputs ({unchecked} segment(s) partly unchecked after a redacted credential)"
        );
        Ok(())
    } else if failures.is_empty() {
        println!("no divergence: every step produced the recorded outputs");
        Ok(())
    } else {
        for f in &failures {
            println!("DIVERGENCE: {f}");
        }
        bail!("{} segment(s) did not replay as recorded", failures.len())
    }
}

fn print_step(step: &entry::Step, outputs: &[rzk_core::Output]) {
    println!(
        "{} #{} t={} {}",
        wall_text(step.wall_us),
        step.n,
        step.now,
        describe::input(&step.input)
    );
    for o in outputs {
        println!("    -> {}", describe::output(o));
    }
}

fn show(node: &Node, args: &ReplayArgs, now: u64) -> Result<()> {
    if args.dump_tree {
        print!("{}", crate::storage_cmd::tree_text(node.tree()));
    }
    if let Some(word) = &args.four_letter {
        let Some(w) = FourLetterWord::from_bytes(word.as_bytes()) else {
            bail!("'{word}' is not a four-letter word");
        };
        print!(
            "{}",
            rzk_core::four_letter::render(w, &node.report(now), &node.config().server)
        );
    }
    if let Some(id) = args.session {
        print!("{}", session_text(node, id, now));
    }
    Ok(())
}

fn session_text(node: &Node, id: i64, now: u64) -> String {
    let mut out = String::new();
    let tree = node.tree();
    match tree.sessions().get(&id) {
        Some(timeout) => {
            let _ = writeln!(out, "session 0x{id:x}: timeout {timeout} ms");
        }
        None => {
            let _ = writeln!(out, "session 0x{id:x}: not open (not in the tree)");
        }
    }
    let report = node.report(now);
    for c in report.connections.iter().filter(|c| c.session_id == id) {
        let _ = writeln!(
            out,
            "  connection from {}: {} received, {} sent, last op {} (cxid 0x{:x}, zxid 0x{:x})",
            c.remote, c.received, c.sent, c.last_op, c.last_cxid, c.last_zxid
        );
    }
    for path in tree.ephemerals_of(id) {
        let _ = writeln!(out, "  ephemeral {path}");
    }
    for (path, sessions) in &report.watches_by_path {
        if sessions.contains(&id) {
            let _ = writeln!(out, "  watches {path}");
        }
    }
    out
}

/// `--check`: the members' recordings replayed together and held to the server-side checkers.
fn check(args: &ReplayArgs) -> Result<()> {
    for p in &args.paths {
        if !p.is_dir() {
            bail!(
                "--check takes the members' recording directories; {} is not one",
                p.display()
            );
        }
    }
    let replayed = rzk_record::ensemble::replay_ensemble(&args.paths, args.any_version)
        .context("cannot read the recordings")?;
    let mut found = Vec::new();
    for (i, (m, path)) in replayed.members.iter().zip(&args.paths).enumerate() {
        println!(
            "server {} ({}): {} segment(s), {} input(s), {} gap(s)",
            i + 1,
            path.display(),
            m.segments,
            m.inputs,
            m.gaps
        );
        found.extend(m.failures.iter().map(|f| format!("server {}: {f}", i + 1)));
    }
    let facts = &replayed.facts;
    let ok = facts
        .history
        .ops
        .iter()
        .filter(|r| !matches!(r.outcome, rzk_check::history::Outcome::Lost))
        .count();
    println!(
        "{} committed txns; {} client operations seen by the servers ({ok} answered) on {} connections",
        facts.committed.len(),
        facts.history.ops.len(),
        facts.conn_nodes.len()
    );
    found.extend(rzk_check::check_server_side(facts));
    if found.is_empty() {
        println!("no divergence, and every server-side check passed");
        return Ok(());
    }
    for f in found.iter().take(50) {
        println!("VIOLATION: {f}");
    }
    bail!("{} violation(s)", found.len())
}
