//! One simulated server machine: the real core `Node` (absent while crashed), its disk, its clock, and its
//! pauses (a paused process handles nothing; what reaches it waits, in order).

use std::collections::VecDeque;

use rzk_core::node::{Input, NodeConfig, Output, Recovered};
use rzk_core::{Node, ServerMode};

use crate::clock::NodeClock;
use crate::disk::SimDisk;
use crate::event::Event;

pub struct Host {
    pub node: Option<Node>,
    pub disk: SimDisk,
    pub clock: NodeClock,
    /// Counts starts: events addressed to an earlier incarnation are stale.
    pub incarnation: u64,
    pub paused_until: u64,
    /// Events that reached the node while it was paused, in arrival order (delivered in that order when it
    /// resumes, before anything newer: TCP order must survive a pause).
    pub deferred: VecDeque<Event>,
    /// The global time of the scheduled tick, to ignore stale ones.
    pub tick_at: Option<u64>,
}

impl Host {
    pub fn new(clock: NodeClock) -> Host {
        Host {
            node: None,
            disk: SimDisk::default(),
            clock,
            incarnation: 0,
            paused_until: 0,
            deferred: VecDeque::new(),
            tick_at: None,
        }
    }

    /// Starts a new incarnation from what the disk holds, read by the production recovery code. `seed` is
    /// mixed with the incarnation. Returns the recovered txns (which a standalone server commits), or why
    /// the server cannot start.
    pub fn start(
        &mut self,
        config: NodeConfig,
        now: u64,
        seed: u64,
        plant: &[rzk_core::planted::PlantedBug],
    ) -> Result<Vec<rzk_core::txn::LoggedTxn>, String> {
        self.incarnation += 1;
        let recovered: Recovered = self.disk.recover()?;
        let survivors = recovered.txns.clone();
        let local = self.clock.local(now);
        let mut node = Node::new(config, recovered, local, seed ^ self.incarnation);
        let mut result = Ok(survivors);
        if !plant.is_empty() {
            match rzk_core::planted::Planted::new(plant) {
                Ok(p) => node.plant(p),
                Err(e) => result = Err(e.to_owned()),
            }
        }
        self.node = Some(node);
        self.tick_at = None;
        result
    }

    /// Steps the node (if running) with one input at global time `now`, appending its outputs to `out`;
    /// false if it is not running.
    pub fn step(&mut self, n: usize, now: u64, input: Input, out: &mut Vec<Output>) -> bool {
        let Some(node) = self.node.as_mut() else {
            return false;
        };
        let local = self.clock.local(now);
        // The node's own log lines (shown with `--trace`) say which server wrote them.
        let span = tracing::info_span!("node", n);
        let _entered = span.enter();
        node.step(local, input, out);
        true
    }

    /// The global time of the node's next deadline, if it is running and has one.
    pub fn next_deadline(&self, now: u64) -> Option<u64> {
        let deadline = self.node.as_ref()?.next_deadline()?;
        Some(self.clock.global(deadline, now).max(now))
    }

    pub fn mode(&self) -> Option<ServerMode> {
        self.node.as_ref().map(Node::server_mode)
    }

    /// Whether events for this host must wait (it is paused, or earlier events still wait).
    pub fn is_paused(&self, now: u64) -> bool {
        self.paused_until > now || !self.deferred.is_empty()
    }

    /// The process dies: the node and everything pending go; the disk keeps what it must (see
    /// [`SimDisk::crash`]).
    pub fn crash(&mut self) {
        self.node = None;
        self.tick_at = None;
        self.paused_until = 0;
        self.deferred.clear();
    }
}
