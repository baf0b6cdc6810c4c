//! rzk-check: the checkers of a finished run, shared by the simulator (which runs them on every seed) and
//! checks of runs of real processes. Each returns human-readable violations; an empty list means the run is
//! correct. They read the clients' history and the committed txn record ([`Facts`]), never the servers' word
//! alone.

mod durability;
mod ephemerals;
mod expiry;
mod facts;
pub mod history;
mod journal;
mod jsonl;
pub mod linearizable;
pub mod liveness;
pub mod progress;
mod replay;
mod sessions;
mod state;
mod trees;
mod watches;

pub use facts::{Facts, FaultSpan, ServerEnd, Touched};
pub use journal::Journals;
pub use jsonl::{read_history, write_history, HistoryError, FORMAT as HISTORY_FORMAT};
pub use linearizable::check_register;
pub use replay::Replay;

/// The checkers that need only what servers saw (a replay of their flight recordings: the committed txns,
/// each server's tree, the requests they received and the replies and notifications they sent): replica
/// agreement and the committed history's own consistency, durability of acknowledged writes, what reads
/// returned, session order, watch order, and each server's tree. Not the ones that need the clients' own
/// clocks and the fault schedule (linearizability, expiry, liveness, progress, orphan ephemerals).
pub fn check_server_side(facts: &Facts) -> Vec<String> {
    let (mut v, replay) = match replayed(facts) {
        Ok(x) => x,
        Err(v) => return v,
    };
    v.extend(durability::check(facts));
    v.extend(state::check(facts, &replay));
    v.extend(sessions::check(facts));
    v.extend(watches::check(facts, &replay));
    v.extend(trees::check(facts));
    v
}

/// What every check starts from: the violations already found, and the committed history replayed (or,
/// if it does not replay, the violations with why).
fn replayed(facts: &Facts) -> Result<(Vec<String>, Replay), Vec<String>> {
    let mut v = facts.violations.clone();
    v.extend(facts.history.protocol.iter().cloned());
    match Replay::build(&facts.committed) {
        Ok(replay) => {
            v.extend(replay.errors.iter().cloned());
            Ok((v, replay))
        }
        Err(e) => {
            v.push(e);
            Err(v)
        }
    }
}

/// Runs every checker over a finished run.
pub fn check_all(facts: &Facts) -> Vec<String> {
    let (mut v, replay) = match replayed(facts) {
        Ok(x) => x,
        Err(v) => return v,
    };
    v.extend(durability::check(facts));
    v.extend(state::check(facts, &replay));
    v.extend(sessions::check(facts));
    v.extend(linearizable::check(facts));
    v.extend(watches::check(facts, &replay));
    v.extend(ephemerals::check(facts));
    v.extend(expiry::check(facts));
    v.extend(liveness::check(facts));
    v.extend(progress::check(facts));
    v.extend(trees::check(facts));
    v
}
