//! [`Shutdown`]: asks a running [`crate::Server`] to return from `run`, from any thread (a signal handler
//! thread in the binary, a test).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use mio::Waker;

/// A cloneable handle that stops the event loop: sets a flag, then wakes the loop so it sees it.
#[derive(Debug, Clone)]
pub struct Shutdown {
    requested: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl Shutdown {
    pub(crate) fn new(waker: Arc<Waker>) -> Shutdown {
        Shutdown {
            requested: Arc::new(AtomicBool::new(false)),
            waker,
        }
    }

    /// Makes `run` return soon (after the current batch of events). Idempotent.
    pub fn shutdown(&self) -> io::Result<()> {
        self.requested.store(true, Ordering::SeqCst);
        self.waker.wake()
    }

    /// Whether shutdown was asked for.
    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }
}
