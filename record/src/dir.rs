//! A recording directory: segment names, owner-only permissions (a recording holds client data and
//! credentials), and which segments a size and age budget lets go (oldest first, never the one being
//! written). Planning is pure; the recorder's writer thread does the deleting.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// The suffix of the segment being written; renamed away when it is sealed.
pub const OPEN_SUFFIX: &str = ".open";

/// `rec-<run id, 16 hex>-<seq, 8 hex>.rzkr`: names sort by run, then by place in the run.
pub fn segment_name(run_id: u64, seq: u64) -> String {
    format!("rec-{run_id:016x}-{seq:08x}.rzkr")
}

/// A segment file's run id, sequence number and whether it is still being written.
pub fn parse_name(name: &str) -> Option<(u64, u64, bool)> {
    let (name, open) = match name.strip_suffix(OPEN_SUFFIX) {
        Some(n) => (n, true),
        None => (name, false),
    };
    let rest = name.strip_prefix("rec-")?.strip_suffix(".rzkr")?;
    let (run, seq) = rest.split_once('-')?;
    if run.len() != 16 || seq.len() != 8 {
        return None;
    }
    Some((
        u64::from_str_radix(run, 16).ok()?,
        u64::from_str_radix(seq, 16).ok()?,
        open,
    ))
}

/// A segment file as the retention plan sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFile {
    pub name: String,
    pub bytes: u64,
    /// Seconds since it was last written.
    pub age_secs: u64,
}

/// The segments to delete so that the directory holds at most `max_bytes` and nothing older than
/// `max_age_secs` (0: no age limit): sealed segments only, oldest (by run, then sequence) first, never the
/// newest sealed one (so a recording always keeps its latest segment). Files that are not segments are never
/// touched.
pub fn plan_retention(files: &[SegmentFile], max_bytes: u64, max_age_secs: u64) -> Vec<String> {
    let mut segments: Vec<(u64, u64, &SegmentFile)> = files
        .iter()
        .filter_map(|f| match parse_name(&f.name) {
            Some((run, seq, false)) => Some((run, seq, f)),
            _ => None,
        })
        .collect();
    segments.sort_by_key(|&(run, seq, _)| (run, seq));
    // The newest sealed segment always stays: a budget smaller than one segment keeps the latest one.
    segments.pop();
    let mut total: u64 = files
        .iter()
        .filter(|f| parse_name(&f.name).is_some())
        .map(|f| f.bytes)
        .sum();
    let mut delete = Vec::new();
    for (_, _, f) in segments {
        let too_old = max_age_secs > 0 && f.age_secs > max_age_secs;
        if total > max_bytes || too_old {
            total -= f.bytes;
            delete.push(f.name.clone());
        }
    }
    delete
}

/// The segment files of a directory (anything else is left out), with their sizes and ages.
pub fn list(dir: &Path) -> io::Result<Vec<SegmentFile>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if parse_name(&name).is_none() {
            continue;
        }
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        let age_secs = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .map_or(0, |d| d.as_secs());
        files.push(SegmentFile {
            name,
            bytes: meta.len(),
            age_secs,
        });
    }
    files.sort_by_key(|f| parse_name(&f.name));
    Ok(files)
}

/// Creates the recording directory (and its parents) readable by its owner only.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(path)
}

/// Creates a new segment file readable and writable by its owner only; refuses an existing one.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn names_round_trip_and_others_are_not_segments() {
        let n = segment_name(0x18c0_0000_0001, 42);
        assert_eq!(n, "rec-000018c000000001-0000002a.rzkr");
        assert_eq!(parse_name(&n), Some((0x18c0_0000_0001, 42, false)));
        assert_eq!(
            parse_name(&format!("{n}{OPEN_SUFFIX}")),
            Some((0x18c0_0000_0001, 42, true))
        );
        for other in [
            "log.100000001",
            "rec-1-2.rzkr",
            "rec-000018c000000001-0000002a.rzk",
            "",
        ] {
            assert_eq!(parse_name(other), None, "{other}");
        }
    }

    #[test]
    fn retention_drops_the_oldest_sealed_segments_first() {
        let f = |run, seq, open: bool, bytes, age_secs| SegmentFile {
            name: format!(
                "{}{}",
                segment_name(run, seq),
                if open { OPEN_SUFFIX } else { "" }
            ),
            bytes,
            age_secs,
        };
        let files = vec![
            f(2, 0, false, 100, 50),
            f(1, 1, false, 100, 100),
            f(1, 0, false, 100, 120),
            f(2, 1, true, 100, 0),
            SegmentFile {
                name: "notes.txt".into(),
                bytes: 1_000,
                age_secs: 1_000,
            },
        ];
        // 400 bytes of segments: a 250-byte budget drops the two oldest.
        assert_eq!(
            plan_retention(&files, 250, 0),
            vec![segment_name(1, 0), segment_name(1, 1)]
        );
        assert!(plan_retention(&files, 400, 0).is_empty());
        // Age: only what is older than the limit; the open segment never goes, even over budget.
        assert_eq!(plan_retention(&files, 1_000, 110), vec![segment_name(1, 0)]);
        // Never the newest sealed one (run 2, seq 0), even with no budget at all.
        assert_eq!(
            plan_retention(&files, 0, 0),
            vec![segment_name(1, 0), segment_name(1, 1)]
        );
    }

    #[test]
    fn directory_and_files_are_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("rec/deeper");
        create_private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let file = dir.join(segment_name(1, 0));
        create_private_file(&file).unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(create_private_file(&file).is_err());
    }
}
