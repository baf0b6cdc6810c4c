//! Transaction log files: `log.<zxid hex of the first txn>` (ZooKeeper's naming), a file header, then one
//! framed [`LoggedTxn`] per record, then zeros (preallocated space).
//!
//! [`scan_log`] reads a file and classifies its end: clean (zeros or end of file), a torn tail (a bad record
//! with nothing valid after it: what a crash mid-write leaves), or corruption (a bad record followed by
//! valid ones, a record whose checksum is good but whose payload does not decode, zxids out of order).
//! [`LogFile`] appends to a new file for the writer thread.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use rzk_core::txn::LoggedTxn;
use rzk_core::Zxid;

use super::dir::sync_dir;
use super::format::{
    decode_file_header, decode_payload, encode_file_header, find_valid_record_after, read_frame,
    FormatError, Frame, FILE_HEADER_LEN, FORMAT_VERSION, LOG_MAGIC, OLDEST_READABLE_VERSION,
};
use super::format_v1::LoggedTxnV1;

const LOG_PREFIX: &str = "log.";

/// `log.<zxid in lowercase hex>`, as ZooKeeper names them.
pub fn log_name(first_zxid: Zxid) -> String {
    format!("{LOG_PREFIX}{first_zxid:x}")
}

/// The first zxid a log file name stands for; `None` for other files.
pub fn parse_log_name(name: &str) -> Option<Zxid> {
    parse_hex_suffix(name, LOG_PREFIX)
}

pub(crate) fn parse_hex_suffix(name: &str, prefix: &str) -> Option<Zxid> {
    let hex = name.strip_prefix(prefix)?;
    if hex.is_empty() || hex.len() > 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok().map(|z| z as Zxid)
}

/// Whether `next` may follow `prev` in the log: higher, and the very next counter within one epoch (a new
/// epoch may start anywhere above).
pub fn follows(prev: Zxid, next: Zxid) -> bool {
    next > prev && (next >> 32 != prev >> 32 || next == prev + 1)
}

/// How a log file's records end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tail {
    /// Zeros or the end of the file right after the last record.
    Clean,
    /// A bad record at `offset` with nothing valid after it.
    Torn { offset: usize, reason: String },
}

/// The readable content of a log file.
#[derive(Debug, Clone)]
pub struct LogScan {
    /// The header's zxid (`None` if the header itself is torn).
    pub header_zxid: Option<Zxid>,
    pub txns: Vec<LoggedTxn>,
    /// The byte offset of each txn's record.
    pub offsets: Vec<usize>,
    /// Where the last good record ends (the header's end if there is none).
    pub good_end: usize,
    pub tail: Tail,
}

/// Damage that is not a torn tail: the file cannot be trusted past `offset`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt at offset {offset}: {reason}")]
pub struct Corruption {
    pub offset: usize,
    pub reason: String,
}

/// Whether `found` is the start of `magic` followed by zeros: a header cut short while being written.
fn is_torn_magic(found: [u8; 4], magic: [u8; 4]) -> bool {
    (0..=4).any(|k| found[..k] == magic[..k] && found[k..].iter().all(|&b| b == 0))
}

/// Decodes one log record of format `version`.
fn decode_txn(version: u32, payload: &[u8]) -> Result<LoggedTxn, FormatError> {
    if version == 1 {
        decode_payload::<LoggedTxnV1>(payload).map(LoggedTxn::from)
    } else {
        decode_payload(payload)
    }
}

/// [`find_valid_record_after`] for log records of format `version`.
fn find_valid_txn_after(version: u32, buf: &[u8], after: usize) -> Option<usize> {
    if version == 1 {
        find_valid_record_after::<LoggedTxnV1>(buf, after)
    } else {
        find_valid_record_after::<LoggedTxn>(buf, after)
    }
}

/// Reads every record of a log file.
pub fn scan_log(buf: &[u8]) -> Result<LogScan, Corruption> {
    let (version, header_zxid) = match decode_file_header(buf, LOG_MAGIC) {
        Ok(h) => (h.version, h.zxid),
        Err(
            e @ (FormatError::ShortHeader
            | FormatError::ZeroHeader
            | FormatError::BadVersion(0)
            | FormatError::BadMagic(_)),
        ) if !matches!(e, FormatError::BadMagic(m) if !is_torn_magic(m, LOG_MAGIC)) => {
            // Torn while being created (the header is synced before any record is written): only if
            // nothing valid follows. A header with another magic or another (non-zero) format version is
            // foreign, not torn: it is never truncated or removed.
            // A header is torn only while this build creates a file, but look for records of either
            // version: a record that decodes means the damage is not a torn creation.
            let valid = find_valid_txn_after(FORMAT_VERSION, buf, 0)
                .or_else(|| find_valid_txn_after(OLDEST_READABLE_VERSION, buf, 0));
            if let Some(at) = valid {
                return Err(Corruption {
                    offset: 0,
                    reason: format!("{e}, yet a valid record follows at {at}"),
                });
            }
            return Ok(LogScan {
                header_zxid: None,
                txns: Vec::new(),
                offsets: Vec::new(),
                good_end: 0,
                tail: Tail::Torn {
                    offset: 0,
                    reason: e.to_string(),
                },
            });
        }
        Err(e) => {
            return Err(Corruption {
                offset: 0,
                reason: e.to_string(),
            })
        }
    };
    let mut scan = LogScan {
        header_zxid: Some(header_zxid),
        txns: Vec::new(),
        offsets: Vec::new(),
        good_end: FILE_HEADER_LEN,
        tail: Tail::Clean,
    };
    let mut at = FILE_HEADER_LEN;
    loop {
        match read_frame(buf, at) {
            Frame::Record { payload, next } => {
                let txn = decode_txn(version, payload).map_err(|e| Corruption {
                    offset: at,
                    reason: format!("checksum is good but {e}"),
                })?;
                let zxid = txn.header.zxid;
                let in_order = match scan.txns.last() {
                    None => zxid == header_zxid,
                    Some(prev) => follows(prev.header.zxid, zxid),
                };
                if !in_order {
                    let expected = match scan.txns.last() {
                        None => format!("the header's 0x{header_zxid:x}"),
                        Some(prev) => format!("the successor of 0x{:x}", prev.header.zxid),
                    };
                    return Err(Corruption {
                        offset: at,
                        reason: format!(
                            "zxid 0x{zxid:x} where {expected} belongs (gap or regression)"
                        ),
                    });
                }
                scan.txns.push(txn);
                scan.offsets.push(at);
                at = next;
                scan.good_end = at;
            }
            Frame::End => {
                if let Some(later) = find_valid_txn_after(version, buf, at) {
                    return Err(Corruption {
                        offset: at,
                        reason: format!(
                            "zeros where a record belongs, yet a valid record follows at {later}"
                        ),
                    });
                }
                return Ok(scan);
            }
            Frame::Bad(bad) => {
                if let Some(later) = find_valid_txn_after(version, buf, at) {
                    return Err(Corruption {
                        offset: at,
                        reason: format!("{bad}, yet a valid record follows at {later}"),
                    });
                }
                scan.tail = Tail::Torn {
                    offset: at,
                    reason: bad.to_string(),
                };
                return Ok(scan);
            }
        }
    }
}

/// A log file being appended to by the writer thread: created with its header, grown in preallocation
/// steps so most fdatasyncs need not update the file size.
#[derive(Debug)]
pub struct LogFile {
    file: File,
    name: String,
    /// Where the next record goes.
    pos: u64,
    /// The file's preallocated size.
    allocated: u64,
    prealloc: u64,
}

impl LogFile {
    /// Creates `log.<first_zxid>` in `dir` (which must not hold it yet), durably: the header and the
    /// directory entry are synced before any record is written.
    pub fn create(dir: &Path, first_zxid: Zxid, prealloc_bytes: u64) -> io::Result<LogFile> {
        let name = log_name(first_zxid);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(dir.join(&name))?;
        file.write_all_at(&encode_file_header(LOG_MAGIC, first_zxid), 0)?;
        let mut log = LogFile {
            file,
            name,
            pos: FILE_HEADER_LEN as u64,
            allocated: 0,
            prealloc: prealloc_bytes.max(4096),
        };
        log.reserve(0)?;
        log.file.sync_all()?;
        sync_dir(dir)?;
        Ok(log)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Writes framed records after the previous ones (not yet durable: see [`LogFile::sync`]).
    pub fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.reserve(bytes.len() as u64)?;
        self.file.write_all_at(bytes, self.pos)?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    /// fdatasync: everything appended so far is durable once this returns.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// Grows the file in preallocation steps until `extra` more bytes fit.
    fn reserve(&mut self, extra: u64) -> io::Result<()> {
        let needed = self.pos + extra;
        if needed <= self.allocated {
            return Ok(());
        }
        let mut size = self.allocated;
        while size < needed {
            size += self.prealloc;
        }
        preallocate(&self.file, size)?;
        self.allocated = size;
        Ok(())
    }
}

/// Extends `file` to `size` bytes of zeros, allocating the blocks where the filesystem supports it.
fn preallocate(file: &File, size: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: fallocate on a descriptor we own; no memory is passed.
    let r = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, size as libc::off_t) };
    if r == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        // Not supported here (some filesystems): a sparse extension still reads as zeros.
        Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) | Some(libc::EINVAL) => file.set_len(size),
        _ => Err(err),
    }
}

/// Encodes txns as log records, appending to `out`.
pub fn encode_txns(txns: &[LoggedTxn], out: &mut Vec<u8>) -> Result<(), FormatError> {
    for t in txns {
        super::format::encode_record(t, out)?;
    }
    Ok(())
}

/// A whole log file's bytes holding `txns` (for tests, tools and a simulated disk).
pub fn encode_log_file(txns: &[LoggedTxn]) -> Result<Vec<u8>, FormatError> {
    let first = txns.first().map_or(0, |t| t.header.zxid);
    let mut out = encode_file_header(LOG_MAGIC, first).to_vec();
    encode_txns(txns, &mut out)?;
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use rzk_core::txn::{Txn, TxnHeader};
    use rzk_core::Data;

    pub(crate) fn txn(zxid: Zxid) -> LoggedTxn {
        LoggedTxn {
            header: TxnHeader {
                session_id: 0x100,
                cxid: zxid as i32,
                zxid,
                time: 1_700_000_000_000 + zxid,
            },
            txn: Txn::SetData {
                path: format!("/n{}", zxid % 7),
                // Empty for every 13th, null for every 11th.
                data: match zxid % 11 {
                    0 => Data::null(),
                    _ => Data::from(vec![zxid as u8; (zxid % 13) as usize]),
                },
                version: zxid as i32,
            },
        }
    }

    pub(crate) fn txns(range: std::ops::RangeInclusive<Zxid>) -> Vec<LoggedTxn> {
        range.map(txn).collect()
    }

    #[test]
    fn names_are_zookeepers() {
        assert_eq!(log_name(0x1_0000_002a), "log.10000002a");
        assert_eq!(parse_log_name("log.10000002a"), Some(0x1_0000_002a));
        assert_eq!(parse_log_name("log.1.tmp"), None);
        assert_eq!(parse_log_name("log."), None);
        assert_eq!(parse_log_name("snapshot.1"), None);
        assert_eq!(parse_log_name("log.+1"), None);
    }

    #[test]
    fn zxids_follow_within_an_epoch_and_jump_across() {
        assert!(follows(0, 1));
        assert!(!follows(1, 3));
        assert!(!follows(3, 3));
        assert!(follows(0x1_0000_0009, 0x2_0000_0001));
        assert!(!follows(0x2_0000_0001, 0x1_0000_0009));
    }

    #[test]
    fn a_clean_file_with_preallocated_zeros_reads_back() {
        let mut buf = encode_log_file(&txns(5..=9)).unwrap();
        let end = buf.len();
        buf.resize(end + 4096, 0);
        let scan = scan_log(&buf).unwrap();
        assert_eq!(scan.txns, txns(5..=9));
        assert_eq!(scan.good_end, end);
        assert_eq!(scan.tail, Tail::Clean);
    }

    #[test]
    fn a_gap_or_a_wrong_first_zxid_is_corruption() {
        let mut with_gap = txns(1..=3);
        with_gap.push(txn(5));
        let err = scan_log(&encode_log_file(&with_gap).unwrap()).unwrap_err();
        assert!(err.reason.contains("gap"), "{err}");
        let mut buf = encode_file_header(LOG_MAGIC, 2).to_vec();
        encode_txns(&txns(1..=2), &mut buf).unwrap();
        assert!(scan_log(&buf).is_err());
    }

    #[test]
    fn a_bad_record_followed_by_a_valid_one_is_corruption_naming_the_offset() {
        let buf = encode_log_file(&txns(1..=5)).unwrap();
        let scan = scan_log(&buf).unwrap();
        let third = scan.offsets[2];
        let mut bad = buf.clone();
        bad[third + 9] ^= 0x40;
        let err = scan_log(&bad).unwrap_err();
        assert_eq!(err.offset, third);
        // Zeroing a whole record in the middle is corruption too, not an early end.
        let mut zeroed = buf.clone();
        zeroed[third..scan.offsets[3]].fill(0);
        assert_eq!(scan_log(&zeroed).unwrap_err().offset, third);
    }

    #[test]
    fn a_foreign_header_is_corruption_but_a_torn_one_is_a_torn_tail() {
        let mut buf = encode_log_file(&txns(1..=2)).unwrap();
        buf[0] = b'X';
        assert_eq!(
            scan_log(&buf).unwrap_err().offset,
            0,
            "valid records follow a bad magic"
        );
        let mut buf = encode_log_file(&txns(1..=2)).unwrap();
        buf[4] = 9;
        assert!(scan_log(&buf).unwrap_err().reason.contains("version"));
        let mut empty = encode_file_header(LOG_MAGIC, 1).to_vec();
        empty[4] = 9;
        assert!(
            scan_log(&empty).is_err(),
            "another version is never a torn tail"
        );
        let torn = scan_log(&[0u8; 100]).unwrap();
        assert!(matches!(torn.tail, Tail::Torn { offset: 0, .. }));
        assert!(scan_log(b"RZK").unwrap().txns.is_empty());
        // Another program's file, even with nothing recognisable after its header, is never "torn"
        // (recovery would truncate or remove it).
        let mut foreign = b"ZKLG\0\0\0\x02".to_vec();
        foreign.resize(4096, 0);
        assert!(scan_log(&foreign).unwrap_err().reason.contains("magic"));
    }

    #[test]
    fn garbage_after_the_last_record_is_a_torn_tail() {
        let mut buf = encode_log_file(&txns(1..=3)).unwrap();
        let end = buf.len();
        buf.extend([0xab; 50]);
        buf.extend([0; 100]);
        let scan = scan_log(&buf).unwrap();
        assert_eq!(scan.txns.len(), 3);
        assert_eq!(scan.good_end, end);
        assert!(matches!(scan.tail, Tail::Torn { offset, .. } if offset == end));
    }

    #[test]
    fn log_file_appends_and_preallocates() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = LogFile::create(dir.path(), 1, 4096).unwrap();
        let mut bytes = Vec::new();
        encode_txns(&txns(1..=200), &mut bytes).unwrap();
        f.append(&bytes).unwrap();
        f.sync().unwrap();
        let on_disk = std::fs::read(dir.path().join("log.1")).unwrap();
        assert_eq!(on_disk.len() % 4096, 0);
        assert!(on_disk.len() >= bytes.len() + FILE_HEADER_LEN);
        assert_eq!(scan_log(&on_disk).unwrap().txns, txns(1..=200));
        assert!(
            LogFile::create(dir.path(), 1, 4096).is_err(),
            "never reuses a name"
        );
    }

    proptest! {
        /// A crash can cut the file anywhere: what is read back is exactly the records that were whole.
        #[test]
        fn any_truncation_recovers_exactly_the_whole_records_before_it(
            n in 1usize..20, cut_frac in 0.0f64..=1.0, pad in 0usize..64,
        ) {
            let all = txns(1..=n as Zxid);
            let buf = encode_log_file(&all).unwrap();
            let ends: Vec<usize> = {
                let scan = scan_log(&buf).unwrap();
                scan.offsets.iter().skip(1).copied().chain([buf.len()]).collect()
            };
            let cut = ((buf.len() as f64) * cut_frac) as usize;
            let mut torn = buf[..cut].to_vec();
            torn.resize(cut + pad, 0);
            let scan = scan_log(&torn).unwrap();
            let whole = ends.iter().filter(|&&e| e <= cut).count();
            prop_assert_eq!(&scan.txns[..], &all[..whole]);
        }
    }
}
