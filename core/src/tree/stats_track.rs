//! The text of a quota's `zookeeper_limits` and `zookeeper_stats` nodes, as ZooKeeper's StatsTrack reads
//! and writes it: `count=N,bytes=M`, then (only if there are other keys) `=` and `;key=value` for each,
//! sorted. The odd `=` makes pre-3.7 readers, which know only count and bytes, ignore the rest.

use std::collections::BTreeMap;
use std::fmt;

pub const COUNT: &str = "count";
pub const BYTES: &str = "bytes";
pub const COUNT_HARD_LIMIT: &str = "countHardLimit";
pub const BYTE_HARD_LIMIT: &str = "byteHardLimit";

/// Keys and values of a limits or stats node; a missing key reads as -1 (no limit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsTrack(BTreeMap<String, i64>);

impl StatsTrack {
    /// Pairs are separated by `,` or `;`. Lenient where ZooKeeper's parser throws (a pair without `=` or
    /// with a value that is not a number is skipped), so a client writing garbage into a quota node cannot
    /// make applying a txn fail; `key=` reads as -1, as in ZooKeeper.
    pub fn parse(text: impl AsRef<[u8]>) -> StatsTrack {
        let text = String::from_utf8_lossy(text.as_ref());
        let mut values = BTreeMap::new();
        for pair in text.split([',', ';']).filter(|p| !p.is_empty()) {
            let mut parts = pair.split('=');
            let key = parts.next().unwrap_or_default();
            let value = match parts.next() {
                None => continue,
                Some("") => -1,
                Some(v) => match v.trim().parse() {
                    Ok(v) => v,
                    Err(_) => continue,
                },
            };
            values.insert(key.to_string(), value);
        }
        StatsTrack(values)
    }

    pub fn get(&self, key: &str) -> i64 {
        self.0.get(key).copied().unwrap_or(-1)
    }

    pub fn set(&mut self, key: &str, value: i64) {
        self.0.insert(key.to_string(), value);
    }
}

impl fmt::Display for StatsTrack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{COUNT}={},{BYTES}={}", self.get(COUNT), self.get(BYTES))?;
        let mut rest = self
            .0
            .iter()
            .filter(|(k, _)| *k != COUNT && *k != BYTES)
            .peekable();
        if rest.peek().is_some() {
            write!(f, "=")?;
        }
        for (k, v) in rest {
            write!(f, ";{k}={v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_zookeepers_text() {
        let limits = StatsTrack::parse(b"count=10,bytes=-1=;byteHardLimit=-1;countHardLimit=20");
        assert_eq!(limits.get(COUNT), 10);
        assert_eq!(limits.get(COUNT_HARD_LIMIT), 20);
        assert_eq!(
            limits.to_string(),
            "count=10,bytes=-1=;byteHardLimit=-1;countHardLimit=20"
        );
        let stats = StatsTrack::parse(b"count=4,bytes=5");
        assert_eq!(stats.to_string(), "count=4,bytes=5");
        assert_eq!(StatsTrack::parse(b"").to_string(), "count=-1,bytes=-1");
        let junk = StatsTrack::parse(b"count,bytes=x;count=");
        assert_eq!((junk.get(COUNT), junk.get(BYTES)), (-1, -1));
    }
}
