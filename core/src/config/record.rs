//! The flight recorder's zoo.cfg keys (rzk's own; see docs/operations.md). Off unless `rzk.recordDir` is set.

use std::path::PathBuf;

/// Where and how much the recorder writes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordSettings {
    /// `rzk.recordDir`: the recording directory (created owner-only); `None` records nothing.
    pub dir: Option<PathBuf>,
    /// `rzk.recordMaxMB`: the directory's budget; the oldest sealed segments go beyond it.
    pub max_mb: u64,
    /// `rzk.recordMaxAgeHours`: sealed segments older than this go (0: kept until the budget needs room).
    pub max_age_hours: u64,
    /// `rzk.recordSegmentMB`: a segment (which starts with a checkpoint of the whole node) is complete past
    /// this size, or four checkpoints' worth if more, or an hour.
    pub segment_mb: u64,
    /// `rzk.recordQueueMB`: what may wait for the recorder's writer before inputs are dropped (a gap).
    pub queue_mb: u64,
    /// `rzk.recordRedact`: znode data and credentials are zeroed in the recording (`crate::redact`).
    pub redact: bool,
}

impl Default for RecordSettings {
    fn default() -> Self {
        RecordSettings {
            dir: None,
            max_mb: 1024,
            max_age_hours: 0,
            segment_mb: 64,
            queue_mb: 64,
            redact: false,
        }
    }
}
