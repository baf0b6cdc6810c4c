//! Apache ZooKeeper 3.8's txn logs (`log.<zxid hex>`), read as FileTxnLog writes them: the header ("ZKLG",
//! int version, long dbid), then records of a long Adler-32 of the payload, an int length, the payload (the
//! 32-byte TxnHeader, the txn record, and in 3.6+ a 12-byte TxnDigest) and the end-of-record byte 'B', then the
//! zeros of preallocation. As ZooKeeper: a zero (or -1) length, the end of the file or a missing 'B' ends the
//! file (a torn tail); a checksum mismatch or an unreasonable length is corruption. For migration (issue 17) and
//! `rzk log dump`; the txn records themselves are kept as bytes, with the path of those that start with one.

/// "ZKLG"
pub const ZK_LOG_MAGIC: [u8; 4] = *b"ZKLG";
const END_OF_RECORD: u8 = b'B';
/// ZooKeeper's reader refuses longer records (jute.maxbuffer 0xfffff + as much again).
const MAX_RECORD: usize = 2 * 0xfffff;
const TXN_HEADER_LEN: usize = 32;

/// The TxnHeader of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZkTxnHeader {
    pub client_id: i64,
    pub cxid: i32,
    pub zxid: i64,
    pub time: i64,
    pub txn_type: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkTxn {
    pub header: ZkTxnHeader,
    /// The txn record and the digest after it, as stored.
    pub body: Vec<u8>,
}

impl ZkTxn {
    /// ZooKeeper's name of the txn type, as its dump tools print it (TraceFormatter.op2String).
    pub fn type_name(&self) -> &'static str {
        match self.header.txn_type {
            -10 => "createSession",
            -11 => "closeSession",
            -1 => "error",
            1 => "create",
            2 => "delete",
            5 => "setData",
            7 => "setACL",
            13 => "check",
            14 => "multi",
            15 => "create2",
            16 => "reconfig",
            19 => "createContainer",
            20 => "deleteContainer",
            21 => "createTtl",
            _ => "unknown",
        }
    }

    /// The path of a txn whose record starts with one (creates, delete, setData, setACL, check).
    pub fn path(&self) -> Option<String> {
        if !matches!(self.header.txn_type, 1 | 2 | 5 | 7 | 13 | 15 | 19 | 20 | 21) {
            return None;
        }
        let len = i32::from_be_bytes(self.body.get(..4)?.try_into().ok()?);
        let bytes = self.body.get(4..4 + usize::try_from(len).ok()?)?;
        String::from_utf8(bytes.to_vec()).ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkLog {
    pub version: i32,
    pub dbid: i64,
    pub txns: Vec<ZkTxn>,
    /// Why reading stopped before the end of the file's bytes, if a record was torn (not zeros).
    pub torn_at: Option<usize>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ZkLogError {
    #[error("not a ZooKeeper txn log (magic {0:02x?}, expected \"ZKLG\")")]
    BadMagic(Vec<u8>),
    #[error("truncated header")]
    TruncatedHeader,
    #[error("record at byte {at}: checksum mismatch (the file says {stored:#x}, the bytes give {computed:#x})")]
    Checksum {
        at: usize,
        stored: i64,
        computed: u32,
    },
    #[error("record at byte {at}: unreasonable length {len}")]
    BadLength { at: usize, len: i32 },
    #[error("record at byte {at}: {len} bytes cannot hold a txn header")]
    ShortRecord { at: usize, len: usize },
}

fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_i64(b: &[u8], at: usize) -> Option<i64> {
    Some(i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Reads a whole log file. Linear in its size whatever the bytes: each record is looked at once.
pub fn parse(bytes: &[u8]) -> Result<ZkLog, ZkLogError> {
    if bytes.len() < 4 || bytes[..4] != ZK_LOG_MAGIC {
        return Err(ZkLogError::BadMagic(bytes[..bytes.len().min(4)].to_vec()));
    }
    let version = be_i32(bytes, 4).ok_or(ZkLogError::TruncatedHeader)?;
    let dbid = be_i64(bytes, 8).ok_or(ZkLogError::TruncatedHeader)?;
    let mut at = 16;
    let mut txns = Vec::new();
    let mut torn_at = None;
    loop {
        let (Some(stored), Some(len)) = (be_i64(bytes, at), be_i32(bytes, at + 8)) else {
            // End of file inside a record's prefix: the end (torn if anything but zeros was there).
            if bytes[at.min(bytes.len())..].iter().any(|&b| b != 0) {
                torn_at = Some(at);
            }
            break;
        };
        if len == 0 || len == -1 {
            break;
        }
        if len < 0 || len as usize > MAX_RECORD {
            return Err(ZkLogError::BadLength { at, len });
        }
        let start = at + 12;
        let Some(payload) = bytes.get(start..start + len as usize) else {
            torn_at = Some(at);
            break;
        };
        if bytes.get(start + len as usize) != Some(&END_OF_RECORD) {
            torn_at = Some(at);
            break;
        }
        let computed = adler2::adler32_slice(payload);
        if stored != i64::from(computed) {
            return Err(ZkLogError::Checksum {
                at,
                stored,
                computed,
            });
        }
        if payload.len() < TXN_HEADER_LEN {
            return Err(ZkLogError::ShortRecord {
                at,
                len: payload.len(),
            });
        }
        let header = ZkTxnHeader {
            client_id: be_i64(payload, 0).unwrap_or_default(),
            cxid: be_i32(payload, 8).unwrap_or_default(),
            zxid: be_i64(payload, 12).unwrap_or_default(),
            time: be_i64(payload, 20).unwrap_or_default(),
            txn_type: be_i32(payload, 28).unwrap_or_default(),
        };
        txns.push(ZkTxn {
            header,
            body: payload[TXN_HEADER_LEN..].to_vec(),
        });
        at = start + len as usize + 1;
    }
    Ok(ZkLog {
        version,
        dbid,
        txns,
        torn_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Vec<u8> {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zookeeper/log.1");
        std::fs::read(path).unwrap()
    }

    /// Written by Debian's ZooKeeper 3.8.0 (its preallocated zeros cut short), against ZooKeeper's own
    /// TxnLogToolkit dump of it.
    #[test]
    fn every_txn_as_txn_log_toolkit_shows_it() {
        let log = parse(&fixture()).unwrap();
        let dump = include_str!("../tests/fixtures/zookeeper/log.1.TxnLogToolkit.txt");
        assert_eq!((log.version, log.dbid, log.torn_at), (2, 0, None));
        let lines: Vec<&str> = dump.lines().filter(|l| l.contains(" zxid 0x")).collect();
        assert_eq!(log.txns.len(), lines.len());
        for (t, line) in log.txns.iter().zip(&lines) {
            let h = &t.header;
            let expect = format!(
                "session 0x{:x} cxid 0x{:x} zxid 0x{:x} {}",
                h.client_id,
                h.cxid,
                h.zxid,
                t.type_name()
            );
            assert!(line.contains(&expect), "{line} / {expect}");
            if let Some(p) = t.path() {
                // The toolkit prints some paths as jute's toString does, with a leading quote.
                assert!(line.contains(&p), "{line} / {p}");
            }
        }
    }

    #[test]
    fn torn_tails_end_the_file_and_damage_is_an_error() {
        let good = fixture();
        let all = parse(&good).unwrap().txns.len();
        let end = good.iter().rposition(|&b| b != 0).unwrap();
        // Cut inside the last record: everything before it is read, the tail is torn.
        let torn = parse(&good[..end - 3]).unwrap();
        assert_eq!(torn.txns.len(), all - 1);
        assert!(torn.torn_at.is_some());
        // A flipped byte inside a record's payload: the checksum catches it.
        let mut bad = good.clone();
        bad[16 + 12 + 4] ^= 1;
        assert!(matches!(parse(&bad), Err(ZkLogError::Checksum { .. })));
        assert!(matches!(parse(b"ZKSN"), Err(ZkLogError::BadMagic(_))));
        assert!(parse(b"ZKLG\0\0\0\x02").is_err());
        // Megabytes of garbage after a valid header: a quick error or end, never a hang.
        let mut garbage = good[..16].to_vec();
        garbage.extend((0..(8u32 << 20)).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        let _ = parse(&garbage);
    }
}
