//! `setquota`, `listquota`, `delquota`, done client-side as zkCli does them: a quota is a pair of plain
//! znodes under /zookeeper/quota mirroring the quota'd path, `zookeeper_limits` (the limits) and
//! `zookeeper_stats` (the usage). The server keeps the usage up to date and warns (or, with
//! `enforceQuota=true`, refuses writes) past a limit: see core/src/tree/quota.rs.
//!
//! Every path is checked as ZooKeeper's Java client checks it before sending, so a bad path gets the
//! same message as from zkCli (`setquota -n 1 /` fails on the quota path "/zookeeper/quota/").

use rzk_core::proto::path::{validate, PathError};
use rzk_core::proto::records::{
    CreateRequest, DeleteRequest, ExistsRequest, GetChildrenRequest, GetDataRequest,
    SetDataRequest, Stat,
};
use rzk_core::proto::request::RequestBody;
use rzk_core::proto::response::ResponseBody;
use rzk_core::proto::{ErrorCode, OpCode};
use rzk_core::tree::{stats_track, StatsTrack};
use rzk_core::Data;

use super::args::{Args, CmdResult, Failure};
use super::client::{CallError, Client};
use super::format;

const QUOTA_ROOT: &str = "/zookeeper/quota";
const LIMITS: &str = "zookeeper_limits";
const STATS: &str = "zookeeper_stats";

const COUNT: &str = stats_track::COUNT;
const BYTES: &str = stats_track::BYTES;
const COUNT_HARD: &str = stats_track::COUNT_HARD_LIMIT;
const BYTES_HARD: &str = stats_track::BYTE_HARD_LIMIT;

fn quota_path(path: &str) -> String {
    format!("{QUOTA_ROOT}{path}")
}

/// The quota'd path a node of the quota tree stands for.
fn trim_quota_path(quota_path: &str) -> &str {
    quota_path.strip_prefix(QUOTA_ROOT).unwrap_or(quota_path)
}

/// The message of the IllegalArgumentException Java's PathUtils.validatePath throws.
fn java_path_error(path: &str, e: PathError) -> String {
    match e {
        PathError::Empty => "Path length must be > 0".into(),
        PathError::NotAbsolute => "Path must start with / character".into(),
        PathError::TrailingSlash => "Path must not end with / character".into(),
        other => format!("Invalid path string \"{path}\" caused by {other}"),
    }
}

/// One request on a path the Java client would first have validated.
fn request(c: &mut Client, op: OpCode, path: &str, body: RequestBody) -> Result<ResponseBody, Op> {
    validate(path, false).map_err(|e| Op::Failed(Failure::Message(java_path_error(path, e))))?;
    c.call(op, body).map_err(|e: CallError| match e.code() {
        ErrorCode::NoNode => Op::NoNode(path.to_string()),
        ErrorCode::NodeExists => Op::NodeExists(path.to_string()),
        code => Op::Failed(Failure::Message(format::error_message(code, path))),
    })
}

/// Why a quota step failed: the two errors the quota commands handle themselves (with the path that
/// had them), or a final failure.
enum Op {
    NoNode(String),
    NodeExists(String),
    Failed(Failure),
}

impl Op {
    /// Turns the errors a command does not handle into its failure (as Java's CliWrapperException).
    fn fail(self) -> Failure {
        match self {
            Op::NoNode(p) => Failure::Message(format::error_message(ErrorCode::NoNode, &p)),
            Op::NodeExists(p) => Failure::Message(format::error_message(ErrorCode::NodeExists, &p)),
            Op::Failed(f) => f,
        }
    }
}

fn exists(c: &mut Client, path: &str) -> Result<Option<Stat>, Op> {
    let body = RequestBody::Exists(ExistsRequest {
        path: path.to_string(),
        watch: false,
    });
    match request(c, OpCode::Exists, path, body) {
        Ok(ResponseBody::Exists(r)) => Ok(Some(r.stat)),
        Ok(_) => Ok(Some(Stat::default())),
        Err(Op::NoNode(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn get_data(c: &mut Client, path: &str) -> Result<String, Op> {
    let body = RequestBody::GetData(GetDataRequest {
        path: path.to_string(),
        watch: false,
    });
    match request(c, OpCode::GetData, path, body)? {
        ResponseBody::GetData(r) => Ok(String::from_utf8_lossy(&r.data).into_owned()),
        _ => Ok(String::new()),
    }
}

fn get_children(c: &mut Client, path: &str) -> Result<Vec<String>, Op> {
    let body = RequestBody::GetChildren(GetChildrenRequest {
        path: path.to_string(),
        watch: false,
    });
    match request(c, OpCode::GetChildren, path, body)? {
        ResponseBody::GetChildren(r) => {
            let mut kids = r.children;
            kids.sort();
            Ok(kids)
        }
        _ => Ok(Vec::new()),
    }
}

/// Creates a persistent node open to all, as zkCli's quota nodes are; `None` is null data, as zkCli gives
/// the intermediate nodes of the quota tree.
fn create(c: &mut Client, path: &str, data: Option<String>) -> Result<(), Op> {
    let body = RequestBody::Create(CreateRequest {
        path: path.to_string(),
        data: data.map_or(Data::null(), |d| Data::from(d.into_bytes())),
        acl: format::open_acl(),
        flags: 0,
    });
    request(c, OpCode::Create, path, body).map(|_| ())
}

fn create_if_missing(c: &mut Client, path: &str) -> Result<(), Op> {
    match create(c, path, None) {
        Err(Op::NodeExists(_)) => Ok(()),
        other => other,
    }
}

fn set_data(c: &mut Client, path: &str, data: String) -> Result<(), Op> {
    let body = RequestBody::SetData(SetDataRequest {
        path: path.to_string(),
        data: Data::from(data.into_bytes()),
        version: -1,
    });
    request(c, OpCode::SetData, path, body).map(|_| ())
}

fn delete(c: &mut Client, path: &str) -> Result<(), Op> {
    let body = RequestBody::Delete(DeleteRequest {
        path: path.to_string(),
        version: -1,
    });
    request(c, OpCode::Delete, path, body).map(|_| ())
}

/// The one flag of the group `-n|-b|-N|-B` that was given, with Commons CLI's complaints when there are
/// several (or, if `required`, none).
fn quota_flag(args: &Args, required: bool) -> Result<Option<char>, Failure> {
    let mut chosen: Option<char> = None;
    for (f, _) in &args.flags {
        if let Some(first) = chosen.filter(|first| first != f) {
            let message = format!(
                "org.apache.commons.cli.AlreadySelectedException: The option '{f}' was specified but \
                 an option from this group has already been selected: '{first}'"
            );
            return Err(Failure::Message(message));
        }
        chosen = Some(*f);
    }
    if chosen.is_none() && required {
        return Err(Failure::Message(
            "org.apache.commons.cli.MissingOptionException: Missing required option: [-n num soft \
             quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]"
                .into(),
        ));
    }
    Ok(chosen)
}

/// `setquota -n|-b|-N|-B val path`: -n/-N limit the number of nodes (soft/hard), -b/-B the bytes of
/// data, in the subtree at `path`.
pub fn setquota(c: &mut Client, args: &Args) -> CmdResult {
    let Some(flag) = quota_flag(args, true)? else {
        return Err(Failure::Usage);
    };
    let path = args.positional.first().ok_or(Failure::Usage)?;
    if path.starts_with(QUOTA_ROOT) {
        return Err(Failure::Message(format!(
            "cannot set a quota under the path: {QUOTA_ROOT}"
        )));
    }
    let text = args.value(flag).unwrap_or_default();
    let number_error =
        || Failure::Message("NumberFormatException happens when parsing the option value".into());
    let (key, value) = match flag {
        // Counts are Java ints, byte sizes longs.
        'n' | 'N' => {
            let n: i32 = text.parse().map_err(|_| number_error())?;
            if n <= 0 {
                return Err(Failure::Message(
                    "the num quota must be greater than zero".into(),
                ));
            }
            (if flag == 'n' { COUNT } else { COUNT_HARD }, i64::from(n))
        }
        _ => {
            let n: i64 = text.parse().map_err(|_| number_error())?;
            if n < 0 {
                return Err(Failure::Message(
                    "the bytes quota must be greater than or equal to zero".into(),
                ));
            }
            (if flag == 'b' { BYTES } else { BYTES_HARD }, n)
        }
    };
    let mut quota = StatsTrack::default();
    for k in [COUNT, BYTES, COUNT_HARD, BYTES_HARD] {
        quota.set(k, -1);
    }
    quota.set(key, value);
    create_quota(c, path, &quota).map_err(Op::fail)
}

fn create_quota(c: &mut Client, path: &str, quota: &StatsTrack) -> Result<(), Op> {
    if exists(c, path)?.is_none() {
        return Err(Op::Failed(Failure::Message(format!(
            "{path} does not exist."
        ))));
    }
    check_no_quota_below(c, path)?;
    check_no_quota_above(c, path)?;
    if exists(c, QUOTA_ROOT)?.is_none() {
        create_if_missing(c, "/zookeeper")?;
        create_if_missing(c, QUOTA_ROOT)?;
    }
    let mut node = QUOTA_ROOT.to_string();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        node = format!("{node}/{part}");
        if exists(c, &node)?.is_none() {
            create_if_missing(c, &node)?;
        }
    }
    let limits_path = format!("{node}/{LIMITS}");
    let stats_path = format!("{node}/{STATS}");
    if exists(c, &limits_path)?.is_none() {
        create(c, &limits_path, Some(quota.to_string()))?;
        let mut zero = StatsTrack::default();
        zero.set(COUNT, 0);
        zero.set(BYTES, 0);
        create(c, &stats_path, Some(zero.to_string()))?;
        let limits = StatsTrack::parse(get_data(c, &limits_path)?.as_bytes());
        let stats = StatsTrack::parse(get_data(c, &stats_path)?.as_bytes());
        warn_if_already_over(&limits, &stats);
    } else {
        // A quota exists: only the limit given changes.
        let mut limits = StatsTrack::parse(get_data(c, &limits_path)?.as_bytes());
        for k in [COUNT, BYTES, COUNT_HARD, BYTES_HARD] {
            if quota.get(k) > -1 {
                limits.set(k, quota.get(k));
            }
        }
        let stats = StatsTrack::parse(get_data(c, &stats_path)?.as_bytes());
        warn_if_already_over(&limits, &stats);
        set_data(c, &limits_path, limits.to_string())?;
    }
    Ok(())
}

/// zkCli's warnings (on stdout) when the usage already passes a new limit.
fn warn_if_already_over(limits: &StatsTrack, stats: &StatsTrack) {
    let over = |soft: &str, hard: &str, used: i64| {
        let below = |limit: i64| limit > -1 && limit < used;
        below(limits.get(soft)) || below(limits.get(hard))
    };
    if over(COUNT, COUNT_HARD, stats.get(COUNT)) {
        println!(
            "[Warning]: the count quota you create is less than the existing count:{}",
            stats.get(COUNT)
        );
    }
    if over(BYTES, BYTES_HARD, stats.get(BYTES)) {
        println!(
            "[Warning]: the bytes quota you create is less than the existing bytes:{}",
            stats.get(BYTES)
        );
    }
}

/// Quotas do not nest: no node below `path` may have one.
fn check_no_quota_below(c: &mut Client, path: &str) -> Result<(), Op> {
    let top = quota_path(path);
    if exists(c, &top)?.is_none() {
        return Ok(());
    }
    // Depth first, parent before children (ZKUtil.visitSubTreeDFS).
    let mut stack = vec![top.clone()];
    while let Some(node) = stack.pop() {
        let kids = match get_children(c, &node) {
            Ok(k) => k,
            Err(Op::NoNode(_)) => continue,
            Err(e) => return Err(e),
        };
        if node != top && kids.iter().any(|k| k == LIMITS) {
            return Err(Op::Failed(Failure::Message(format!(
                "{path} has a child {} which has a quota",
                trim_quota_path(&node)
            ))));
        }
        stack.extend(kids.iter().rev().map(|k| format!("{node}/{k}")));
    }
    Ok(())
}

/// ... nor any node above it.
fn check_no_quota_above(c: &mut Client, path: &str) -> Result<(), Op> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let mut node = QUOTA_ROOT.to_string();
    for part in parts.iter().take(parts.len().saturating_sub(1)) {
        node = format!("{node}/{part}");
        let kids = match get_children(c, &node) {
            Ok(k) => k,
            Err(Op::NoNode(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        if kids.is_empty() {
            return Ok(());
        }
        if kids.iter().any(|k| k == LIMITS) {
            return Err(Op::Failed(Failure::Message(format!(
                "{path} has a parent {} which has a quota",
                trim_quota_path(&node)
            ))));
        }
    }
    Ok(())
}

/// `listquota path`: the limits, then the usage.
pub fn listquota(c: &mut Client, args: &Args) -> CmdResult {
    let path = args.positional.first().ok_or(Failure::Usage)?;
    let limits_path = format!("{}/{LIMITS}", quota_path(path));
    eprintln!("absolute path is {limits_path}");
    let read = |c: &mut Client| -> Result<(StatsTrack, StatsTrack), Op> {
        let limits = StatsTrack::parse(get_data(c, &limits_path)?.as_bytes());
        let stats = StatsTrack::parse(&get_data(c, &format!("{}/{STATS}", quota_path(path)))?);
        Ok((limits, stats))
    };
    match read(c) {
        Ok((limits, stats)) => {
            println!("Output quota for {path} {limits}");
            println!("Output stat for {path} {stats}");
            Ok(())
        }
        Err(Op::NoNode(_)) => Err(Failure::Message(format!(
            "quota for {path} does not exist."
        ))),
        Err(e) => Err(e.fail()),
    }
}

/// `delquota [-n|-b|-N|-B] path`: one limit (set back to -1), or the whole quota with the quota tree's
/// nodes it no longer needs.
pub fn delquota(c: &mut Client, args: &Args) -> CmdResult {
    let flag = quota_flag(args, false)?;
    let path = args.positional.first().ok_or(Failure::Usage)?;
    match delete_quota(c, path, flag) {
        Ok(()) => Ok(()),
        Err(Op::NoNode(_)) => Err(Failure::Message(format!(
            "quota for {path} does not exist."
        ))),
        Err(e) => Err(e.fail()),
    }
}

fn delete_quota(c: &mut Client, path: &str, flag: Option<char>) -> Result<(), Op> {
    let node = quota_path(path);
    let limits_path = format!("{node}/{LIMITS}");
    if exists(c, &limits_path)?.is_none() {
        // zkCli says so on stdout and counts it a success.
        println!("Quota does not exist for {path}");
        return Ok(());
    }
    let mut limits = StatsTrack::parse(get_data(c, &limits_path)?.as_bytes());
    let key = match flag {
        None => {
            for kid in get_children(c, &node)? {
                delete(c, &format!("{node}/{kid}"))?;
            }
            return trim_quota_tree(c, node);
        }
        Some('n') => COUNT,
        Some('b') => BYTES,
        Some('N') => COUNT_HARD,
        Some(_) => BYTES_HARD,
    };
    limits.set(key, -1);
    set_data(c, &limits_path, limits.to_string())
}

/// Deletes `node` and then its parents while they are left empty, up to /zookeeper/quota.
fn trim_quota_tree(c: &mut Client, mut node: String) -> Result<(), Op> {
    while node != QUOTA_ROOT && node.starts_with(QUOTA_ROOT) {
        if !get_children(c, &node)?.is_empty() {
            break;
        }
        delete(c, &node)?;
        match node.rfind('/') {
            Some(i) => node.truncate(i),
            None => break,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_print_count_and_bytes_first_then_the_rest_sorted_after_an_extra_equals() {
        let mut limits = StatsTrack::default();
        for k in [COUNT, BYTES, COUNT_HARD, BYTES_HARD] {
            limits.set(k, -1);
        }
        limits.set(COUNT, 5);
        assert_eq!(
            limits.to_string(),
            "count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1"
        );
        let mut zero = StatsTrack::default();
        zero.set(COUNT, 0);
        zero.set(BYTES, 0);
        assert_eq!(zero.to_string(), "count=0,bytes=0");
    }

    #[test]
    fn stats_read_back_what_they_print_and_old_style_text() {
        let text = "count=5,bytes=100=;byteHardLimit=1000;countHardLimit=10";
        let s = StatsTrack::parse(text);
        assert_eq!(s.get(COUNT), 5);
        assert_eq!(s.get(BYTES), 100);
        assert_eq!(s.get(COUNT_HARD), 10);
        assert_eq!(s.get(BYTES_HARD), 1000);
        assert_eq!(s.to_string(), text);
        let old = StatsTrack::parse("count=2,bytes=7");
        assert_eq!(
            (old.get(COUNT), old.get(BYTES), old.get(COUNT_HARD)),
            (2, 7, -1)
        );
        assert_eq!(old.to_string(), "count=2,bytes=7");
    }

    #[test]
    fn missing_stats_text_means_no_limit_and_garbage_is_skipped() {
        let s = StatsTrack::parse("");
        assert_eq!(s.to_string(), "count=-1,bytes=-1");
        let s = StatsTrack::parse("count=,bytes=x;;extra=3");
        assert_eq!(s.get(COUNT), -1);
        assert_eq!(s.get(BYTES), -1);
        assert_eq!(s.get("extra"), 3);
    }

    #[test]
    fn bad_paths_get_the_java_clients_messages() {
        assert_eq!(
            validate("/zookeeper/quota/", false).map_err(|e| java_path_error("", e)),
            Err("Path must not end with / character".to_string())
        );
        let p = "/zookeeper/quota//zookeeper_limits";
        assert_eq!(
            validate(p, false).map_err(|e| java_path_error(p, e)),
            Err(format!(
                "Invalid path string \"{p}\" caused by empty node name specified @17"
            ))
        );
    }

    #[test]
    fn quota_tree_paths_map_back_to_znode_paths() {
        assert_eq!(quota_path("/a/b"), "/zookeeper/quota/a/b");
        assert_eq!(trim_quota_path("/zookeeper/quota/a/b"), "/a/b");
    }
}
