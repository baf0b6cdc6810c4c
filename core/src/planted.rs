//! Planted bugs: known classic mistakes that can be switched on by name when the `planted-bugs` feature is
//! built, so that a test can prove the simulator catches each one within a fixed seed budget. Without the
//! feature no bug can be enabled and every check compiles to `false`.

use std::collections::BTreeSet;

/// A classic mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlantedBug {
    /// Answer a write before the log reports it durable.
    AckBeforeFsync,
    /// Lose the parents' child-version counters on recovery, so sequential names repeat or collide.
    SeqCounterNotRestored,
}

impl PlantedBug {
    pub const ALL: [PlantedBug; 2] = [
        PlantedBug::AckBeforeFsync,
        PlantedBug::SeqCounterNotRestored,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PlantedBug::AckBeforeFsync => "ack-before-fsync",
            PlantedBug::SeqCounterNotRestored => "seq-counter-not-restored",
        }
    }

    pub fn from_name(name: &str) -> Option<PlantedBug> {
        PlantedBug::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// The bugs switched on in one node.
#[derive(Debug, Clone, Default)]
pub struct Planted(BTreeSet<PlantedBug>);

impl Planted {
    /// Switches bugs on. Fails unless built with the `planted-bugs` feature.
    pub fn new(bugs: &[PlantedBug]) -> Result<Planted, &'static str> {
        if cfg!(feature = "planted-bugs") {
            Ok(Planted(bugs.iter().copied().collect()))
        } else {
            Err("planted bugs need the `planted-bugs` feature")
        }
    }

    /// Whether `bug` is on (always false without the feature).
    #[inline]
    pub fn has(&self, bug: PlantedBug) -> bool {
        cfg!(feature = "planted-bugs") && self.0.contains(&bug)
    }
}
