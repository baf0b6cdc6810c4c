//! The servers' test journals (`RZK_TEST_JOURNAL`, written by io-mio's `journal.rs`), merged into what a
//! run of real processes is checked against: the committed history (two servers committing different txns
//! at one zxid is a disagreement), when each txn was first journaled, and the leadership changes.

use std::collections::BTreeMap;

use rzk_core::txn::LoggedTxn;
use rzk_core::Zxid;

use crate::jsonl::HistoryError;

/// Journals merged so far.
#[derive(Debug, Default)]
pub struct Journals {
    pub committed: BTreeMap<Zxid, LoggedTxn>,
    /// The earliest `at` (the journal's clock) each txn was journaled at.
    pub committed_at: BTreeMap<Zxid, u64>,
    /// (at, server, whether it now leads an established epoch), in the order read.
    pub leading: Vec<(u64, usize, bool)>,
    /// Servers that committed another txn at a zxid already seen.
    pub disagreements: Vec<String>,
}

impl Journals {
    /// Adds one journal file's text, written by the server at index `server` (its id − 1, as the checkers
    /// number servers).
    pub fn add(&mut self, server: usize, text: &str) -> Result<(), HistoryError> {
        for (i, line) in text.lines().enumerate() {
            let bad = |reason: String| HistoryError::Bad {
                line: i + 1,
                reason,
            };
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
            let at = v["at"].as_u64().unwrap_or(0);
            match v["t"].as_str() {
                Some("commit") => {
                    let txn: LoggedTxn =
                        serde_json::from_value(v["txn"].clone()).map_err(|e| bad(e.to_string()))?;
                    let z = txn.header.zxid;
                    match self.committed.get(&z) {
                        Some(seen) if *seen != txn => self.disagreements.push(format!(
                            "agreement: server {} committed another txn at zxid 0x{z:x}",
                            server + 1
                        )),
                        Some(_) => {
                            let first = self.committed_at.entry(z).or_insert(at);
                            *first = (*first).min(at);
                        }
                        None => {
                            self.committed.insert(z, txn);
                            self.committed_at.insert(z, at);
                        }
                    }
                }
                Some("leading") => self.leading.push((at, server, !v["epoch"].is_null())),
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rzk_core::txn::{Txn, TxnHeader};

    fn line(zxid: Zxid, at: u64, timeout: i32) -> String {
        let txn = LoggedTxn {
            header: TxnHeader {
                session_id: 1,
                cxid: 1,
                zxid,
                time: 0,
            },
            txn: Txn::CreateSession { timeout },
        };
        format!(
            "{{\"t\":\"commit\",\"zxid\":{zxid},\"at\":{at},\"txn\":{}}}\n",
            serde_json::to_string(&txn).unwrap()
        )
    }

    #[test]
    fn merges_keeps_the_earliest_time_and_finds_disagreement() {
        let mut j = Journals::default();
        j.add(
            1,
            &(line(1, 50, 4000) + "{\"t\":\"leading\",\"at\":40,\"epoch\":1}\n"),
        )
        .unwrap();
        j.add(2, &(line(1, 30, 4000) + &line(2, 60, 4000))).unwrap();
        assert_eq!(j.committed.len(), 2);
        assert_eq!(j.committed_at[&1], 30);
        assert_eq!(j.leading, vec![(40, 1, true)]);
        assert!(j.disagreements.is_empty());
        j.add(3, &line(2, 70, 9000)).unwrap();
        assert_eq!(j.disagreements.len(), 1);
        assert!(matches!(
            j.add(3, "not json"),
            Err(HistoryError::Bad { line: 1, .. })
        ));
    }
}
