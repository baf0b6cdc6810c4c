//! Replaying a whole recording directory to check it: every segment from its checkpoint, every step against
//! its digest, and each segment's end state against the checkpoint of the next segment of its run (so a
//! checkpoint that missed some state is caught even where no output showed it). `rzk chaos` runs this on
//! every server's recording; `rzk replay` does the same with stops and traces.

use std::path::Path;

use rzk_core::Node;

use crate::dir;
use crate::entry;
use crate::replay::Replay;
use crate::segment::Segment;

/// What a directory's replay found.
#[derive(Debug, Default)]
pub struct Verified {
    pub segments: u64,
    pub inputs: u64,
    /// Gaps the recorder marked (inputs it dropped).
    pub gaps: u64,
    /// Everything that did not replay as recorded, one line each.
    pub failures: Vec<String>,
}

/// How a replayed node's state differs from a checkpoint's, if it does.
pub fn state_differs(replayed: &Node, checkpoint: &Node) -> Option<String> {
    let (a, b) = (replayed.tree(), checkpoint.tree());
    if a.digest() != b.digest() || a.last_zxid() != b.last_zxid() {
        return Some(format!(
            "tree at 0x{:x} digest {:x} against 0x{:x} digest {:x}",
            a.last_zxid(),
            a.digest(),
            b.last_zxid(),
            b.digest()
        ));
    }
    match (
        entry::encode(replayed.checkpoint().1),
        entry::encode(checkpoint.checkpoint().1),
    ) {
        (Ok(x), Ok(y)) if x == y => None,
        (Ok(_), Ok(_)) => Some("sessions, connections or role differ".into()),
        _ => Some("a state could not be encoded".into()),
    }
}

/// Replays every segment of `path` (a directory), in order.
pub fn verify_dir(path: &Path, any_version: bool) -> std::io::Result<Verified> {
    let mut v = Verified::default();
    // The node at the end of the previous segment, the input it ended after, and its (server, run).
    let mut previous: Option<(Node, u64, (u64, u64), String)> = None;
    for file in dir::list(path)? {
        let name = file.name.clone();
        let bytes = std::fs::read(path.join(&name))?;
        let opened = Segment::read(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|s| Replay::open(&s, any_version).map_err(|e| e.to_string()));
        let mut replay = match opened {
            Ok(r) => r,
            Err(e) => {
                v.failures.push(format!("{name}: {e}"));
                previous = None;
                continue;
            }
        };
        v.segments += 1;
        v.gaps += replay.gap.is_some() as u64;
        let run = (replay.header.server_id, replay.header.run_id);
        let first = replay.header.first_input;
        if let Some((node, last, prev_run, prev_name)) = previous.take() {
            if prev_run == run && last + 1 == first && replay.gap.is_none() {
                if let Some(why) = state_differs(&node, &replay.node) {
                    v.failures.push(format!(
                        "{name}: its checkpoint differs from the state {prev_name} replays to ({why})"
                    ));
                }
            }
        }
        match replay.run_to_end() {
            Ok(n) => v.inputs += n,
            Err(e) => {
                v.failures.push(format!("{name}: {e}"));
                continue;
            }
        }
        let last = replay
            .steps()
            .last()
            .map_or(first.saturating_sub(1), |s| s.n);
        previous = Some((replay.node, last, run, name));
    }
    Ok(v)
}
