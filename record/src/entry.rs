//! The bodies of a segment's entries, in bincode (the encoding of the txn log and the peer wire): a
//! checkpoint's head, one step (an input, its times, and the digest of what it produced), a gap.

use rzk_core::node::Input;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use thiserror::Error;

/// The first entry of a segment: the node's state (everything but its tree, which follows in
/// [`crate::segment::EntryKind::Tree`] pieces).
#[derive(Debug, Serialize, Deserialize)]
pub struct CheckpointHead {
    /// The rzk version that wrote it: a checkpoint is the node's internal state, readable only by the same
    /// build's types.
    pub rzk_version: String,
    /// The node's seed (its position is in `state`; this is for people).
    pub seed: u64,
    /// bincode of the node's serde part ([`rzk_core::Node::checkpoint`]).
    pub state: Vec<u8>,
}

/// One input fed to the node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    /// The input's number in the run of the process (from 1).
    pub n: u64,
    /// The node's clock as stepped (ms).
    pub now: u64,
    /// The host's wall clock (µs since the epoch), to put recordings of several servers on one timeline.
    pub wall_us: u64,
    pub input: Input,
    /// How many outputs the step produced, and their digest ([`crate::digest::digest`]).
    pub outputs: u32,
    pub digest: u64,
}

/// The first fields of a [`Step`], encoded before the step runs (bincode encodes a struct as its fields one
/// after another, so a head then a [`StepTail`] is a `Step`): the input is encoded where it is, not copied.
#[derive(Serialize)]
pub struct StepHead<'a> {
    pub n: u64,
    pub now: u64,
    pub wall_us: u64,
    pub input: &'a Input,
}

/// The last fields of a [`Step`], encoded once the step has run.
#[derive(Serialize)]
pub struct StepTail {
    pub outputs: u32,
    pub digest: u64,
}

/// Inputs the recorder did not record: `from..=to`, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    pub from: u64,
    pub to: u64,
    pub why: String,
}

#[derive(Debug, Error)]
pub enum EntryError {
    #[error("cannot encode an entry: {0}")]
    Encode(String),
    #[error("cannot decode {what}: {why}")]
    Decode { what: &'static str, why: String },
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, EntryError> {
    bincode::serde::encode_to_vec(value, config()).map_err(|e| EntryError::Encode(e.to_string()))
}

/// Appends `value`'s encoding to `out`.
pub fn encode_into<T: Serialize>(value: &T, out: &mut Vec<u8>) -> Result<(), EntryError> {
    bincode::serde::encode_into_std_write(value, out, config())
        .map(|_| ())
        .map_err(|e| EntryError::Encode(e.to_string()))
}

/// Decodes a whole body as one `T` (left-over bytes are an error: a body is one value).
pub fn decode<T: DeserializeOwned>(what: &'static str, body: &[u8]) -> Result<T, EntryError> {
    match bincode::serde::decode_from_slice::<T, _>(body, config()) {
        Ok((value, used)) if used == body.len() => Ok(value),
        Ok((_, used)) => Err(EntryError::Decode {
            what,
            why: format!("{} bytes left over", body.len() - used),
        }),
        Err(e) => Err(EntryError::Decode {
            what,
            why: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_then_a_tail_encode_a_step() {
        let input = Input::ClientBytes {
            conn: 7,
            bytes: bytes::Bytes::from_static(b"\0\0\0\x05hello"),
        };
        let step = Step {
            n: 300,
            now: 1_700_000_000_123,
            wall_us: 1_700_000_000_123_456,
            input: input.clone(),
            outputs: 2,
            digest: 0xdead_beef,
        };
        let mut parts = encode(&StepHead {
            n: 300,
            now: 1_700_000_000_123,
            wall_us: 1_700_000_000_123_456,
            input: &input,
        })
        .unwrap();
        encode_into(
            &StepTail {
                outputs: 2,
                digest: 0xdead_beef,
            },
            &mut parts,
        )
        .unwrap();
        assert_eq!(parts, encode(&step).unwrap());
        let back: Step = decode("a step", &parts).unwrap();
        assert_eq!((back.n, back.outputs, back.digest), (300, 2, 0xdead_beef));
    }
}
