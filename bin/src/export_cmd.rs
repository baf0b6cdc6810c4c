//! `rzk export --zookeeper DIR [zoo.cfg]`: rzk's state as an Apache ZooKeeper 3.8 data directory, the way
//! back for an operator who rolls back to ZooKeeper.
//!
//! The state is what the server would recover at its next start (its newest snapshot plus the durable txns
//! after it), read from copies in memory so that nothing in rzk's directories is repaired or changed. It is
//! written as one ZooKeeper snapshot (ZooKeeper 3.8 starts from a snapshot alone) in `DIR/version-2/`, with
//! the epoch files when the config is an ensemble's.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use rzk_core::tree::DataTree;
use rzk_io_mio::storage::zookeeper_export::write_zookeeper_export;
use rzk_io_mio::storage::{
    parse_log_name, parse_snapshot_name, recover, Dir, Epochs, FsDir, MemDir, StorageOptions,
    ACCEPTED_EPOCH_FILE, CURRENT_EPOCH_FILE, LOG_MAGIC, SNAPSHOT_MAGIC,
};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The directory to write ZooKeeper's data into (ZooKeeper's dataDir): `DIR/version-2/snapshot.<zxid>`,
    /// and the epoch files for an ensemble. It must not already hold ZooKeeper data.
    #[arg(long = "zookeeper", value_name = "DIR")]
    zookeeper: PathBuf,
    /// The server's zoo.cfg (its dataDir and dataLogDir are read); without one, the embedded default's.
    config: Option<PathBuf>,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let config = crate::server_cmd::load_config(args.config.as_deref())?;
    let options = StorageOptions::new(&config.data_dir, &config.data_log_dir);
    let (tree, epochs) = read_state(&options)?;
    let epochs = config.is_distributed().then_some(epochs);
    let path = write_zookeeper_export(&args.zookeeper, &tree, epochs)
        .with_context(|| format!("cannot export to {}", args.zookeeper.display()))?;
    println!(
        "Exported {} znodes and {} sessions at zxid 0x{:x} to {}",
        tree.nodes().count(),
        tree.sessions().len(),
        tree.last_zxid(),
        path.display()
    );
    if tree.ttls().next().is_some() {
        println!(
            "The data holds TTL nodes: start ZooKeeper with -Dzookeeper.extendedTypesEnabled=true (or \
             extendedTypesEnabled=true in zoo.cfg), or it deletes them."
        );
    }
    println!(
        "Start Apache ZooKeeper 3.8 with dataDir={}",
        args.zookeeper.display()
    );
    Ok(())
}

/// A copy in memory of a directory's rzk files, from `rzk/` or (a directory of the old layout) `version-2/`.
fn copy_rzk_files(primary: &Path, old: &Path, into: &MemDir) -> anyhow::Result<usize> {
    let mut copied = 0;
    for dir in [primary, old] {
        let fs = FsDir::new(dir);
        for name in fs
            .list()
            .with_context(|| format!("cannot list {}", dir.display()))?
        {
            let data_file = parse_snapshot_name(&name).is_some() || parse_log_name(&name).is_some();
            let epoch_file = name == ACCEPTED_EPOCH_FILE || name == CURRENT_EPOCH_FILE;
            if !data_file && !epoch_file {
                continue;
            }
            let bytes = fs
                .read(&name)
                .with_context(|| format!("cannot read {}", fs.display(&name)))?;
            if data_file && !(bytes.starts_with(&LOG_MAGIC) || bytes.starts_with(&SNAPSHOT_MAGIC)) {
                continue;
            }
            into.put(&name, bytes);
            copied += usize::from(data_file);
        }
        if copied > 0 {
            break;
        }
    }
    Ok(copied)
}

/// The tree the server would start from, and its epochs.
fn read_state(options: &StorageOptions) -> anyhow::Result<(DataTree, Epochs)> {
    let snaps = MemDir::default();
    let logs = MemDir::default();
    let found = copy_rzk_files(&options.snap_dir(), &options.zookeeper_snap_dir(), &snaps)?
        + copy_rzk_files(&options.log_dir(), &options.zookeeper_log_dir(), &logs)?;
    if found == 0 {
        bail!(
            "no rzk data in {} or {}: nothing to export (a ZooKeeper data directory that rzk has not \
             started on yet is ZooKeeper's already)",
            options.snap_dir().display(),
            options.log_dir().display()
        );
    }
    let recovery = recover(&snaps, &logs).context("cannot read rzk's data")?;
    let recovered = recovery.recovered;
    let mut tree = recovered.tree.unwrap_or_default();
    for t in &recovered.txns {
        tree.apply(&t.header, &t.txn);
    }
    let epochs = Epochs {
        accepted: recovered.accepted_epoch,
        current: recovered.current_epoch,
    };
    Ok((tree, epochs))
}
