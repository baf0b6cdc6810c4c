//! With `--record`: every node's recording replayed at the end of the run, each step's outputs checked
//! against the recorded digest. The simulator is the oracle that the recorder (checkpoints, inputs, digests)
//! misses nothing: any difference is a violation.

use rzk_record::{Replay, Segment};

use crate::world::World;

impl World {
    /// Replays every segment of every node: (segments, inputs replayed, failures).
    pub fn replay_recordings(&mut self) -> (u64, u64, Vec<String>) {
        let (mut segments, mut inputs, mut failures) = (0, 0, Vec::new());
        for (n, host) in self.hosts.iter_mut().enumerate() {
            host.end_recording();
            for bytes in &host.recordings {
                segments += 1;
                let replayed = Segment::read(bytes)
                    .map_err(|e| e.to_string())
                    .and_then(|seg| Replay::open(&seg, false).map_err(|e| e.to_string()))
                    .and_then(|mut r| r.run_to_end().map_err(|e| e.to_string()));
                match replayed {
                    Ok(count) => inputs += count,
                    Err(e) => {
                        failures.push(format!("node {n}: a recorded segment does not replay: {e}"))
                    }
                }
            }
        }
        (segments, inputs, failures)
    }
}
