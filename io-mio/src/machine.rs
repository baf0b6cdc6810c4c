//! [`Machine`]: what the driver drives. Production drives [`rzk_core::Node`]; the driver's own tests drive
//! small fakes (echo servers and the like), so the event loop is tested without the real server.

use rzk_core::txn::LoggedTxn;
use rzk_core::{Input, Node, Output, Zxid};

/// A sans-IO state machine: inputs in at time `now` (ms), effects out. The driver carries out the
/// effects and calls back with [`Input::Tick`] once `now >= next_deadline()`.
pub trait Machine {
    /// Feeds one input at time `now`; appends what must happen to `out`.
    fn step(&mut self, now: u64, input: Input, out: &mut Vec<Output>);
    /// When the machine next needs an [`Input::Tick`], if ever.
    fn next_deadline(&self) -> Option<u64>;
    /// Appends the txns known committed with zxids above `zxid`, in order (for the test journal).
    fn committed_after(&self, _zxid: Zxid, _out: &mut Vec<LoggedTxn>) {}
    /// The epoch this machine leads as an established leader, if it does (for the test journal).
    fn leading_epoch(&self) -> Option<u32> {
        None
    }
    /// The node to checkpoint for the flight recorder (test fakes are not recorded).
    fn recordable(&self) -> Option<&Node> {
        None
    }
}

impl Machine for Node {
    fn step(&mut self, now: u64, input: Input, out: &mut Vec<Output>) {
        Node::step(self, now, input, out)
    }

    fn next_deadline(&self) -> Option<u64> {
        Node::next_deadline(self)
    }

    fn committed_after(&self, zxid: Zxid, out: &mut Vec<LoggedTxn>) {
        let log = self.committed_log();
        if log.last() > zxid {
            out.extend(log.iter_after(zxid).cloned());
        }
    }

    fn leading_epoch(&self) -> Option<u32> {
        self.established_epoch()
    }

    fn recordable(&self) -> Option<&Node> {
        Some(self)
    }
}
