//! autopurge: keep the newest `snapRetainCount` snapshots and every log file that may hold txns after the
//! oldest of them; delete the rest (ZooKeeper's PurgeTxnLog).

use rzk_core::Zxid;
use tracing::{info, warn};

use super::dir::Dir;
use super::snapshot::{parse_snapshot_name, snapshot_name};
use super::txn_log::{log_name, parse_log_name};

/// ZooKeeper's minimum for autopurge.snapRetainCount; smaller settings are raised to it.
pub const MIN_SNAP_RETAIN_COUNT: u32 = 3;

/// What a purge deletes, by zxid.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PurgePlan {
    pub snapshots: Vec<Zxid>,
    pub logs: Vec<Zxid>,
}

/// Which snapshots and logs to delete, given every snapshot's and log file's zxid (any order).
///
/// With fewer than `retain` snapshots nothing goes. Otherwise the oldest kept snapshot is at `oldest`; the
/// logs kept are the newest one starting at or before `oldest` (it holds the txns right after it) and all
/// later ones.
pub fn plan_purge(snapshots: &[Zxid], logs: &[Zxid], retain: u32) -> PurgePlan {
    let retain = retain.max(MIN_SNAP_RETAIN_COUNT) as usize;
    let mut snaps = snapshots.to_vec();
    snaps.sort_unstable_by(|a, b| b.cmp(a));
    if snaps.len() < retain {
        return PurgePlan::default();
    }
    let oldest_kept = snaps[retain - 1];
    let mut logs = logs.to_vec();
    logs.sort_unstable();
    let first_kept_log = logs.iter().rposition(|&z| z <= oldest_kept).unwrap_or(0);
    PurgePlan {
        snapshots: snaps[retain..].to_vec(),
        logs: logs[..first_kept_log].to_vec(),
    }
}

/// Purges `snap_dir` and `log_dir` (each a `version-2` directory). Failures to delete are logged and
/// skipped: purging is housekeeping, never a reason to stop serving.
pub fn purge(snap_dir: &dyn Dir, log_dir: &dyn Dir, retain: u32) -> PurgePlan {
    let zxids = |dir: &dyn Dir, parse: fn(&str) -> Option<Zxid>| -> Vec<Zxid> {
        match dir.list() {
            Ok(names) => names.iter().filter_map(|n| parse(n)).collect(),
            Err(e) => {
                warn!(dir = %dir.display("."), error = %e, "autopurge cannot list the directory");
                Vec::new()
            }
        }
    };
    let plan = plan_purge(
        &zxids(snap_dir, parse_snapshot_name),
        &zxids(log_dir, parse_log_name),
        retain,
    );
    let remove = |dir: &dyn Dir, name: String| match dir.remove(&name) {
        Ok(()) => info!(file = %dir.display(&name), "autopurge removed"),
        Err(e) => warn!(file = %dir.display(&name), error = %e, "autopurge cannot remove"),
    };
    for &z in &plan.snapshots {
        remove(snap_dir, snapshot_name(z));
    }
    for &z in &plan.logs {
        remove(log_dir, log_name(z));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dir::MemDir;

    #[test]
    fn keeps_the_newest_snapshots_and_the_logs_they_need() {
        // Snapshots at 100, 200, 300, 400; logs starting at 1, 90, 150, 250, 350.
        let plan = plan_purge(&[300, 100, 400, 200], &[1, 90, 150, 250, 350], 3);
        // Keep 400, 300, 200: log.150 holds 201.., so it stays with everything after it.
        assert_eq!(plan.snapshots, [100]);
        assert_eq!(plan.logs, [1, 90]);
    }

    #[test]
    fn a_log_starting_exactly_at_the_oldest_snapshot_is_the_first_kept() {
        let plan = plan_purge(&[10, 20, 30], &[1, 10, 21], 3);
        assert_eq!(
            plan,
            PurgePlan {
                snapshots: vec![],
                logs: vec![1]
            }
        );
        // log.11 starts after snapshot 10: log.1 holds txn 11 and must stay.
        let plan = plan_purge(&[10, 20, 30], &[1, 11, 21], 3);
        assert_eq!(plan.logs, Vec::<Zxid>::new());
    }

    #[test]
    fn nothing_goes_with_fewer_snapshots_than_retained_and_retain_is_at_least_three() {
        assert_eq!(plan_purge(&[10, 20], &[1, 5, 15], 3), PurgePlan::default());
        assert_eq!(plan_purge(&[10, 20], &[1, 5, 15], 1), PurgePlan::default());
        assert_eq!(plan_purge(&[10, 20, 30, 40], &[1, 35], 1).snapshots, [10]);
    }

    #[test]
    fn purge_deletes_the_planned_files_only() {
        let dir = MemDir::new();
        for name in [
            "snapshot.a",
            "snapshot.14",
            "snapshot.1e",
            "snapshot.28",
            "log.1",
            "log.b",
            "log.1f",
            "myid",
        ] {
            dir.put(name, Vec::new());
        }
        purge(&dir, &dir, 3);
        let left = dir.list().unwrap();
        assert_eq!(
            left,
            [
                "log.1f",
                "log.b",
                "myid",
                "snapshot.14",
                "snapshot.1e",
                "snapshot.28"
            ]
        );
    }
}
