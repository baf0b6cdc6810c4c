//! [`Machine`]: what the driver drives. Production drives [`rzk_core::Node`]; the driver's own tests drive
//! small fakes (echo servers and the like), so the event loop is tested without the real server.

use rzk_core::{Input, Node, Output};

/// A sans-IO state machine: inputs in at time `now` (ms), effects out. The driver carries out the
/// effects and calls back with [`Input::Tick`] once `now >= next_deadline()`.
pub trait Machine {
    /// Feeds one input at time `now`; appends what must happen to `out`.
    fn step(&mut self, now: u64, input: Input, out: &mut Vec<Output>);
    /// When the machine next needs an [`Input::Tick`], if ever.
    fn next_deadline(&self) -> Option<u64>;
}

impl Machine for Node {
    fn step(&mut self, now: u64, input: Input, out: &mut Vec<Output>) {
        Node::step(self, now, input, out)
    }

    fn next_deadline(&self) -> Option<u64> {
        Node::next_deadline(self)
    }
}
