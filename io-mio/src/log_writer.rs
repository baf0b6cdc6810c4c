//! Carries out [`rzk_core::Output::AppendLog`]: for now entirely in memory.
//!
//! Durability is a later issue: this writer "completes" every append at once, remembering the highest
//! zxid handed to it, and the event loop feeds [`rzk_core::Input::LogSynced`] back to the machine right
//! after the current batch of events. A real writer replaces it later: a thread that appends records to
//! `version-2/log.<zxid>`, fsyncs once per group of appends, publishes the highest synced zxid and wakes the
//! event loop through its `mio::Waker`. The loop's side of that contract is already what it is here:
//! [`LogWriter::append`] never blocks, and [`LogWriter::take_synced`] is polled after every batch of events
//! (including a wake-up), reporting each synced zxid once.

use rzk_core::txn::LoggedTxn;
use rzk_core::Zxid;

/// Accepts appends and reports how far the log is durable.
#[derive(Debug, Default)]
pub(crate) struct LogWriter {
    /// The highest zxid appended so far.
    appended: Option<Zxid>,
    /// The highest zxid already reported through [`LogWriter::take_synced`].
    reported: Option<Zxid>,
}

impl LogWriter {
    pub(crate) fn new() -> LogWriter {
        LogWriter::default()
    }

    /// Queues txns after all earlier ones. Never blocks.
    pub(crate) fn append(&mut self, txns: &[LoggedTxn]) {
        if let Some(highest) = txns.iter().map(|t| t.header.zxid).max() {
            self.appended = Some(self.appended.map_or(highest, |a| a.max(highest)));
        }
    }

    /// The highest durable zxid, if it moved since the last call.
    pub(crate) fn take_synced(&mut self) -> Option<Zxid> {
        if self.appended > self.reported {
            self.reported = self.appended;
            self.appended
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rzk_core::txn::{Txn, TxnHeader};

    fn txn(zxid: Zxid) -> LoggedTxn {
        LoggedTxn {
            header: TxnHeader {
                session_id: 1,
                cxid: 1,
                zxid,
                time: 0,
            },
            txn: Txn::Delete { path: "/a".into() },
        }
    }

    #[test]
    fn reports_the_highest_appended_zxid_once() {
        let mut log = LogWriter::new();
        assert_eq!(log.take_synced(), None);
        log.append(&[txn(3), txn(4)]);
        log.append(&[txn(5)]);
        assert_eq!(log.take_synced(), Some(5));
        assert_eq!(log.take_synced(), None);
        log.append(&[]);
        assert_eq!(log.take_synced(), None);
        log.append(&[txn(6)]);
        assert_eq!(log.take_synced(), Some(6));
    }
}
