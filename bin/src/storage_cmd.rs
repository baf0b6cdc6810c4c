//! `rzk log dump <file>`, `rzk log verify <dir>` and `rzk snapshot dump <file>`: readable views of the
//! on-disk files, in the spirit of ZooKeeper's TxnLogToolkit and SnapshotFormatter.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use rzk_core::proto::records::Acl;
use rzk_core::proto::records::Stat;
use rzk_core::txn::{LoggedTxn, Txn};
use rzk_core::Data;
use rzk_io_mio::storage::{
    read_snapshot, scan_log, verify_dir, FileProblem, FsDir, Tail, RZK_DIR, ZOOKEEPER_DIR,
};
use rzk_io_mio::storage::{zookeeper_log, zookeeper_snapshot};

#[derive(Debug, Args)]
pub struct LogArgs {
    #[command(subcommand)]
    pub command: LogCommand,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Print every txn of a log file, one per line.
    Dump { file: PathBuf },
    /// Check every log and snapshot file in a directory (dataLogDir, dataDir or their version-2); exits
    /// non-zero on corruption.
    Verify { dir: PathBuf },
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(subcommand)]
    pub command: SnapshotCommand,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Print every znode of a snapshot with its stat, then the sessions.
    Dump { file: PathBuf },
}

pub fn run_log(args: LogArgs) -> anyhow::Result<()> {
    match args.command {
        LogCommand::Dump { file } => dump_log(&file),
        LogCommand::Verify { dir } => verify(&dir),
    }
}

pub fn run_snapshot(args: SnapshotArgs) -> anyhow::Result<()> {
    match args.command {
        SnapshotCommand::Dump { file } => dump_snapshot(&file),
    }
}

fn read(file: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
}

fn dump_log(file: &Path) -> anyhow::Result<()> {
    let bytes = read(file)?;
    if bytes.starts_with(&zookeeper_log::ZK_LOG_MAGIC) {
        return dump_zookeeper_log(file, &bytes);
    }
    let scan = scan_log(&bytes).with_context(|| format!("{}", file.display()))?;
    let mut out = String::new();
    for t in &scan.txns {
        out.push_str(&txn_line(t));
        out.push('\n');
    }
    print!("{out}");
    println!("EOF reached after {} txns.", scan.txns.len());
    if let Tail::Torn { offset, reason } = scan.tail {
        println!("Torn tail at offset {offset}: {reason} (recovery truncates it if this is the last log file)");
    }
    Ok(())
}

/// One txn as TxnLogToolkit prints it: time, session, cxid, zxid, type, fields.
pub fn txn_line(t: &LoggedTxn) -> String {
    let h = &t.header;
    format!(
        "{} session 0x{:x} cxid 0x{:x} zxid 0x{:x} {} {}",
        format_time(h.time),
        h.session_id,
        h.cxid,
        h.zxid,
        t.txn.type_name(),
        txn_fields(&t.txn)
    )
    .trim_end()
    .to_string()
}

fn txn_fields(txn: &Txn) -> String {
    match txn {
        Txn::CreateSession { timeout } => timeout.to_string(),
        Txn::CloseSession => String::new(),
        Txn::Create {
            path,
            data,
            acl,
            ephemeral_owner,
            parent_cversion,
        } => format!(
            "'{path},{},{},{ephemeral_owner:#x},{parent_cversion}",
            data_text(data),
            acl_text(acl)
        ),
        Txn::Delete { path } | Txn::Check { path } => format!("'{path}"),
        Txn::SetData {
            path,
            data,
            version,
        } => format!("'{path},{},{version}", data_text(data)),
        Txn::SetAcl { path, acl, version } => format!("'{path},{},{version}", acl_text(acl)),
        Txn::Multi(subs) => subs
            .iter()
            .map(|s| format!("{}:{}", s.type_name(), txn_fields(s)))
            .collect::<Vec<_>>()
            .join("; "),
        Txn::Error { err } => format!("{err:?}"),
    }
}

/// `#` and the bytes in hex, or `null` for null data.
fn data_text(data: &Data) -> String {
    if data.is_null() {
        return "null".into();
    }
    data.iter().fold(String::from("#"), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn acl_text(acl: &[Acl]) -> String {
    let items: Vec<String> = acl
        .iter()
        .map(|a| format!("s{{{},s{{'{},'{}}}}}", a.perms, a.id.scheme, a.id.id))
        .collect();
    format!("v{{{}}}", items.join(","))
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS.mmm UTC`.
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = rzk_core::four_letter::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03} UTC",
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        ms.rem_euclid(1000)
    )
}

fn dump_snapshot(file: &Path) -> anyhow::Result<()> {
    let bytes = read(file)?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let plain = zookeeper_snapshot::decompress(&name, &bytes)
        .with_context(|| format!("{}", file.display()))?;
    if plain.starts_with(&zookeeper_snapshot::ZK_SNAP_MAGIC) {
        return dump_zookeeper_snapshot(file, &name, &plain);
    }
    let (_, tree) = read_snapshot(&bytes).with_context(|| format!("{}", file.display()))?;
    print!("{}", tree_text(&tree));
    Ok(())
}

/// A tree as ZooKeeper's SnapshotFormatter prints a snapshot: every znode's stat, then the sessions.
pub fn tree_text(tree: &rzk_core::tree::DataTree) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "ZNode Details (count={}):", tree.nodes().count());
    for (path, node) in tree.nodes() {
        let stat = Stat {
            // The raw owner: container and TTL markers as stored.
            ephemeral_owner: node.persisted_stat().ephemeral_owner,
            ..node.stat()
        };
        write_znode(&mut out, path, &stat);
    }
    let _ = writeln!(out, "----\nSession Details (sid, timeout, ephemeralCount):");
    for (&id, &timeout) in tree.sessions() {
        let _ = writeln!(
            out,
            "0x{id:x}, {timeout}, {}",
            tree.ephemerals_of(id).count()
        );
    }
    let _ = writeln!(out, "----\nLast zxid: 0x{:x}", tree.last_zxid());
    out
}

/// One znode as SnapshotFormatter prints it (rzk's snapshots and ZooKeeper's alike).
fn write_znode(out: &mut String, path: &str, s: &Stat) {
    let _ = writeln!(out, "----\n{path}");
    let _ = writeln!(out, "  cZxid = 0x{:014x}", s.czxid);
    let _ = writeln!(out, "  ctime = {}", format_time(s.ctime));
    let _ = writeln!(out, "  mZxid = 0x{:014x}", s.mzxid);
    let _ = writeln!(out, "  mtime = {}", format_time(s.mtime));
    let _ = writeln!(out, "  pZxid = 0x{:014x}", s.pzxid);
    let _ = writeln!(out, "  cversion = {}", s.cversion);
    let _ = writeln!(out, "  dataVersion = {}", s.version);
    let _ = writeln!(out, "  aclVersion = {}", s.aversion);
    let _ = writeln!(out, "  ephemeralOwner = 0x{:014x}", s.ephemeral_owner);
    let _ = writeln!(out, "  dataLength = {}", s.data_length);
}

/// A ZooKeeper txn log, a line per txn as ZooKeeper's TxnLogToolkit prints them (time, session, cxid, zxid,
/// type, and the path of the txns that have one).
fn dump_zookeeper_log(file: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let log = zookeeper_log::parse(bytes)
        .with_context(|| format!("{} (a ZooKeeper txn log)", file.display()))?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ZooKeeper Transactional Log File with dbid {} txnlog format version {}",
        log.dbid, log.version
    );
    for t in &log.txns {
        let h = &t.header;
        let _ = write!(
            out,
            "{} session 0x{:x} cxid 0x{:x} zxid 0x{:x} {}",
            format_time(h.time),
            h.client_id,
            h.cxid,
            h.zxid,
            t.type_name()
        );
        match t.path() {
            Some(p) => {
                let _ = writeln!(out, " {p}");
            }
            None => out.push('\n'),
        }
    }
    let _ = writeln!(out, "EOF reached after {} txns.", log.txns.len());
    if let Some(at) = log.torn_at {
        let _ = writeln!(
            out,
            "The last record (at byte {at}) is torn: ZooKeeper stops reading this file there."
        );
    }
    print!("{out}");
    Ok(())
}

/// A ZooKeeper snapshot, shown as ZooKeeper's SnapshotFormatter shows it (and as `dump_snapshot` shows rzk's).
fn dump_zookeeper_snapshot(file: &Path, name: &str, plain: &[u8]) -> anyhow::Result<()> {
    let snap = zookeeper_snapshot::parse(plain)
        .with_context(|| format!("{} (a ZooKeeper snapshot)", file.display()))?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ZooKeeper snapshot (version {}, dbid {})",
        snap.version, snap.dbid
    );
    let _ = writeln!(out, "ZNode Details (count={}):", snap.nodes.len());
    let mut ephemerals: std::collections::BTreeMap<i64, usize> = Default::default();
    for n in &snap.nodes {
        let s = &n.stat;
        let stat = Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion,
            aversion: s.aversion,
            ephemeral_owner: s.ephemeral_owner,
            data_length: n.data.as_ref().map_or(0, |d| d.len() as i32),
            num_children: 0,
            pzxid: s.pzxid,
        };
        write_znode(&mut out, &n.path, &stat);
        if s.ephemeral_owner > 0 {
            *ephemerals.entry(s.ephemeral_owner).or_default() += 1;
        }
    }
    let _ = writeln!(out, "----\nSession Details (sid, timeout, ephemeralCount):");
    for (id, timeout) in &snap.sessions {
        let count = ephemerals.get(id).copied().unwrap_or(0);
        let _ = writeln!(out, "0x{id:x}, {timeout}, {count}");
    }
    let zxid = name
        .strip_prefix("snapshot.")
        .and_then(|r| r.split('.').next())
        .and_then(|h| i64::from_str_radix(h, 16).ok());
    match zxid {
        Some(z) => {
            let _ = writeln!(out, "----\nLast zxid: 0x{z:x}");
        }
        None => {
            let _ = writeln!(
                out,
                "----\nLast zxid: unknown (the file name is not snapshot.<zxid>)"
            );
        }
    }
    if let Some(d) = snap.digest {
        let _ = writeln!(
            out,
            "Digest: zxid 0x{:x}, version {}, {}",
            d.zxid, d.version, d.digest
        );
    }
    print!("{out}");
    Ok(())
}

fn verify(dir: &Path) -> anyhow::Result<()> {
    // A dataDir: rzk's own directory in it (or, for a directory of the old layout, version-2).
    let dir = [RZK_DIR, ZOOKEEPER_DIR]
        .iter()
        .map(|sub| dir.join(sub))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| dir.to_path_buf());
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let checks = verify_dir(&FsDir::new(&dir))?;
    let mut corrupt = 0;
    for c in &checks {
        let range = c
            .zxids
            .map(|(a, b)| format!(", zxids 0x{a:x}..0x{b:x}"))
            .unwrap_or_default();
        match &c.problem {
            None => println!("{}: ok, {} records{range}", c.file, c.records),
            Some(FileProblem::TornTail { offset, reason }) => println!(
                "{}: torn tail at offset {offset} ({reason}) after {} records{range}; recovery truncates it",
                c.file, c.records
            ),
            Some(FileProblem::Corrupt { offset, reason }) => {
                corrupt += 1;
                println!("{}: CORRUPT at offset {offset}: {reason}", c.file)
            }
        }
    }
    println!("{} files checked, {corrupt} corrupt", checks.len());
    if corrupt > 0 {
        bail!("{corrupt} corrupt file(s) in {}", dir.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rzk_core::txn::TxnHeader;

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(
            format_time(1_700_000_000_123),
            "2023-11-14 22:13:20.123 UTC"
        );
        assert_eq!(format_time(-1), "1969-12-31 23:59:59.999 UTC");
    }

    #[test]
    fn a_txn_line_has_time_session_cxid_zxid_type_and_fields() {
        let t = LoggedTxn {
            header: TxnHeader {
                session_id: 0x1000,
                cxid: 3,
                zxid: 0x2a,
                time: 0,
            },
            txn: Txn::SetData {
                path: "/a".into(),
                data: Data::from_static(b"hi"),
                version: 2,
            },
        };
        assert_eq!(
            txn_line(&t),
            "1970-01-01 00:00:00.000 UTC session 0x1000 cxid 0x3 zxid 0x2a setData '/a,#6869,2"
        );
    }
}
