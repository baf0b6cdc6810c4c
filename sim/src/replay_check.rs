//! With `--record`: every node's recording replayed at the end of the run, each step's outputs checked
//! against the recorded digest, and each segment's checkpoint against the state the segment before it
//! replayed to. The simulator is the oracle that the recorder (checkpoints, inputs, digests, and with
//! `--record-redacted` the redaction) misses nothing: any difference is a violation.

use rzk_record::verify::Walk;

use crate::world::World;

impl World {
    /// Replays every segment of every node: (segments, inputs replayed, failures).
    pub fn replay_recordings(&mut self) -> (u64, u64, Vec<String>) {
        let (mut segments, mut inputs, mut failures) = (0, 0, Vec::new());
        for (n, host) in self.hosts.iter_mut().enumerate() {
            host.end_recording();
            let mut walk = Walk::default();
            let mut found = Vec::new();
            for (i, bytes) in host.recordings.iter().enumerate() {
                let Some(mut opened) = walk.open(&format!("segment {i}"), bytes, false, &mut found)
                else {
                    continue;
                };
                segments += 1;
                match opened.replay.run_to_end() {
                    Ok(count) => {
                        inputs += count;
                        walk.finished(opened);
                    }
                    Err(e) => {
                        let mut text = format!("segment {i}: {e}");
                        if let rzk_record::ReplayError::Diverged(d) = &e {
                            text.push_str("; replayed:");
                            for o in &d.outputs {
                                text.push_str(&format!(
                                    "\n    {}",
                                    rzk_record::describe::output(o)
                                ));
                            }
                        }
                        found.push(text);
                        walk.abandoned();
                    }
                }
            }
            failures.extend(
                found
                    .into_iter()
                    .map(|f| format!("node {n}: a recorded segment does not replay: {f}")),
            );
        }
        (segments, inputs, failures)
    }
}
