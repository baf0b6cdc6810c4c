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
    /// Redacted segments replayed unchecked from a zeroed credential on: (segment, first unchecked input).
    pub unchecked: Vec<(String, u64)>,
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

/// Walks a directory's segments in order, opening each for replay and checking that it continues the one
/// before it: the same run, the next input number (or a gap that names exactly the inputs between), and a
/// checkpoint equal to the state the previous segment replayed to. `rzk replay`, [`verify_dir`] and the
/// ensemble replay share it.
#[derive(Default)]
pub struct Walk {
    /// The previous segment's node at its end, the input it ended after, its (server, run) and name; none
    /// after a segment that did not replay to its end.
    previous: Option<(Node, u64, (u64, u64), String)>,
}

/// A segment opened by a [`Walk`].
pub struct Opened {
    pub name: String,
    pub replay: Replay,
    /// It continues the previous segment's replayed state (same run, no gap): connections carry on.
    pub follows: bool,
}

impl Walk {
    /// Opens the segment `name` with `bytes`; failures (an unreadable segment, or one that does not continue
    /// the previous) go to `failures`. `None` if it cannot be replayed at all.
    pub fn open(
        &mut self,
        name: &str,
        bytes: &[u8],
        any_version: bool,
        failures: &mut Vec<String>,
    ) -> Option<Opened> {
        let opened = Segment::read(bytes)
            .map_err(|e| e.to_string())
            .and_then(|s| Replay::open(&s, any_version).map_err(|e| e.to_string()));
        let replay = match opened {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                self.previous = None;
                return None;
            }
        };
        let run = (replay.header.server_id, replay.header.run_id);
        let first = replay.header.first_input;
        let mut follows = false;
        if let Some((node, last, prev_run, prev_name)) = self.previous.take() {
            let next = last.checked_add(1);
            if prev_run == run {
                match &replay.gap {
                    None if next == Some(first) => {
                        follows = true;
                        if let Some(why) = state_differs(&node, &replay.node) {
                            failures.push(format!(
                                "{name}: its checkpoint differs from the state {prev_name} replays to ({why})"
                            ));
                        }
                    }
                    None => failures.push(format!(
                        "{name}: starts at input {first}, but {prev_name} ended after input {last} and no gap says why"
                    )),
                    Some(g) if Some(g.from) != next || g.to.checked_add(1) != Some(first) => {
                        failures.push(format!(
                            "{name}: its gap (inputs {}..{}) does not join {prev_name} (ended after {last}) to its first input {first}",
                            g.from, g.to
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
        Some(Opened {
            name: name.to_string(),
            replay,
            follows,
        })
    }

    /// The segment was replayed to its end: the next one is compared with this state (unless the replay
    /// went unchecked after a redacted credential: its state is then not the recorded one).
    pub fn finished(&mut self, opened: Opened) {
        let r = opened.replay;
        if r.unchecked_from().is_some() {
            self.previous = None;
            return;
        }
        let last = r
            .steps()
            .last()
            .map_or(r.header.first_input.saturating_sub(1), |s| s.n);
        self.previous = Some((
            r.node,
            last,
            (r.header.server_id, r.header.run_id),
            opened.name,
        ));
    }

    /// The node the last segment replayed to its end ended with.
    pub fn last_node(&self) -> Option<&Node> {
        self.previous.as_ref().map(|p| &p.0)
    }

    /// The node the last segment replayed to its end ended with, taken.
    pub fn into_last_node(self) -> Option<Node> {
        self.previous.map(|p| p.0)
    }

    /// The segment did not replay to its end (it diverged): the next one starts afresh.
    pub fn abandoned(&mut self) {
        self.previous = None;
    }
}

/// Replays every segment of `path` (a directory), in order.
pub fn verify_dir(path: &Path, any_version: bool) -> std::io::Result<Verified> {
    let mut v = Verified::default();
    let mut walk = Walk::default();
    for file in dir::list(path)? {
        let bytes = std::fs::read(path.join(&file.name))?;
        let Some(mut opened) = walk.open(&file.name, &bytes, any_version, &mut v.failures) else {
            continue;
        };
        v.segments += 1;
        v.gaps += opened.replay.gap.is_some() as u64;
        match opened.replay.run_to_end() {
            Ok(n) => {
                v.inputs += n;
                if let Some(from) = opened.replay.unchecked_from() {
                    v.unchecked.push((opened.name.clone(), from));
                }
                walk.finished(opened);
            }
            Err(e) => {
                v.failures.push(format!("{}: {e}", opened.name));
                walk.abandoned();
            }
        }
    }
    Ok(v)
}
