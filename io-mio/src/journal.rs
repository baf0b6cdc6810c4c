//! The test journal: what a run of real processes needs from each server to be checked like a simulated one
//! (issue 16), written only when the server is started with `RZK_TEST_JOURNAL=FILE`.
//!
//! After every step of the machine, the txns it newly knows committed and the changes of its leadership are
//! appended as JSON lines in the history file's shapes (`rzk-check`'s jsonl): `{"t":"commit","zxid":..,
//! "at":..,"txn":{..}}` and `{"t":"leading","at":..,"epoch":E|null}`, `at` in microseconds of the system's
//! CLOCK_MONOTONIC (the same in every network namespace, so a harness can put every server's lines and its
//! own on one timeline). This is the simulator's `pull_committed`, from outside: the committed history cannot
//! be rebuilt from the data directories after a run, since a SNAP sync deletes the log files it replaces.
//! Each step's lines reach the kernel before the next step (a kill -9 loses none); no fsync (a machine
//! crash is not part of the fault model). A write error stops the journal with a warning, never the server.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rzk_core::txn::LoggedTxn;
use rzk_core::Zxid;
use tracing::warn;

use crate::machine::Machine;

/// The environment variable naming the journal file.
pub const JOURNAL_ENV: &str = "RZK_TEST_JOURNAL";

pub(crate) struct Journal {
    out: BufWriter<File>,
    /// The newest zxid written.
    seen: Zxid,
    /// The epoch this server was last seen leading (established), if it was.
    leading: Option<u32>,
    fresh: Vec<LoggedTxn>,
}

/// Microseconds of CLOCK_MONOTONIC: the journal's clock, which a harness reads too to share its timeline.
pub fn monotonic_micros() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given, which lives on this stack frame.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000 + (ts.tv_nsec as u64) / 1_000
}

impl Journal {
    /// Creates (truncates) the journal file.
    pub(crate) fn create(path: &Path) -> std::io::Result<Journal> {
        Ok(Journal {
            out: BufWriter::new(File::create(path)?),
            seen: 0,
            leading: None,
            fresh: Vec::new(),
        })
    }

    /// Appends what `machine` has newly committed, and a change of its leadership. Returns false (and is
    /// then to be dropped) once writing failed.
    pub(crate) fn note<M: Machine>(&mut self, machine: &M) -> bool {
        machine.committed_after(self.seen, &mut self.fresh);
        let leading = machine.leading_epoch();
        if self.fresh.is_empty() && leading == self.leading {
            return true;
        }
        let at = monotonic_micros();
        let written = self.write(at, leading);
        self.fresh.clear();
        if let Err(e) = written {
            warn!(error = %e, "cannot write the test journal: it stops here");
            return false;
        }
        true
    }

    fn write(&mut self, at: u64, leading: Option<u32>) -> std::io::Result<()> {
        for txn in &self.fresh {
            serde_json::to_writer(
                &mut self.out,
                &serde_json::json!({"t": "commit", "zxid": txn.header.zxid, "at": at, "txn": txn}),
            )?;
            self.out.write_all(b"\n")?;
            self.seen = txn.header.zxid;
        }
        if leading != self.leading {
            serde_json::to_writer(
                &mut self.out,
                &serde_json::json!({"t": "leading", "at": at, "epoch": leading}),
            )?;
            self.out.write_all(b"\n")?;
            self.leading = leading;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rzk_core::txn::{Txn, TxnHeader};
    use rzk_core::{Input, Output};

    /// A machine that has committed `committed` txns (zxids 1..=n) and leads epoch `leading`.
    struct Fake {
        committed: Vec<LoggedTxn>,
        leading: Option<u32>,
    }

    impl Machine for Fake {
        fn step(&mut self, _: u64, _: Input, _: &mut Vec<Output>) {}
        fn next_deadline(&self) -> Option<u64> {
            None
        }
        fn committed_after(&self, zxid: Zxid, out: &mut Vec<LoggedTxn>) {
            out.extend(
                self.committed
                    .iter()
                    .filter(|t| t.header.zxid > zxid)
                    .cloned(),
            );
        }
        fn leading_epoch(&self) -> Option<u32> {
            self.leading
        }
    }

    fn txn(zxid: Zxid) -> LoggedTxn {
        LoggedTxn {
            header: TxnHeader {
                session_id: 1,
                cxid: 1,
                zxid,
                time: 0,
            },
            txn: Txn::CreateSession { timeout: 4000 },
        }
    }

    #[test]
    fn each_commit_and_leadership_change_is_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let mut journal = Journal::create(&path).unwrap();
        let mut m = Fake {
            committed: vec![txn(1), txn(2)],
            leading: None,
        };
        assert!(journal.note(&m));
        m.committed.push(txn(3));
        m.leading = Some(1);
        assert!(journal.note(&m));
        assert!(journal.note(&m));
        m.leading = None;
        assert!(journal.note(&m));
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let kinds: Vec<(&str, Option<i64>)> = lines
            .iter()
            .map(|l| (l["t"].as_str().unwrap(), l["zxid"].as_i64()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("commit", Some(1)),
                ("commit", Some(2)),
                ("commit", Some(3)),
                ("leading", None),
                ("leading", None)
            ]
        );
        assert_eq!(lines[3]["epoch"], 1);
        assert!(lines[4]["epoch"].is_null());
        let txn: LoggedTxn = serde_json::from_value(lines[2]["txn"].clone()).unwrap();
        assert_eq!(txn, self::txn(3));
    }
}
