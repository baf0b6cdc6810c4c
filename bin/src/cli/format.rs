//! zkCli.sh's output formats: stat blocks, ACL lines and arguments, error messages, Java's `Date.toString`.

use rzk_core::proto::records::{Acl, Id, Stat};
use rzk_core::proto::ErrorCode;

/// ZooDefs.Perms bits.
const READ: i32 = 1;
const WRITE: i32 = 2;
const CREATE: i32 = 4;
const DELETE: i32 = 8;
const ADMIN: i32 = 16;

/// A stat as zkCli's StatPrinter prints it.
pub fn stat(s: &Stat) -> String {
    format!(
        "cZxid = 0x{:x}\nctime = {}\nmZxid = 0x{:x}\nmtime = {}\npZxid = 0x{:x}\ncversion = {}\n\
         dataVersion = {}\naclVersion = {}\nephemeralOwner = 0x{:x}\ndataLength = {}\nnumChildren = {}\n",
        s.czxid,
        java_date(s.ctime),
        s.mzxid,
        java_date(s.mtime),
        s.pzxid,
        s.cversion,
        s.version,
        s.aversion,
        s.ephemeral_owner,
        s.data_length,
        s.num_children
    )
}

/// `'scheme,'id` then `: perms`, one pair per ACL, as getAcl prints them.
pub fn acl_list(acls: &[Acl]) -> String {
    acls.iter()
        .map(|a| {
            format!(
                "'{},'{}\n: {}\n",
                a.id.scheme,
                a.id.id,
                perm_string(a.perms)
            )
        })
        .collect()
}

pub fn perm_string(perms: i32) -> String {
    [
        (CREATE, 'c'),
        (DELETE, 'd'),
        (READ, 'r'),
        (WRITE, 'w'),
        (ADMIN, 'a'),
    ]
    .iter()
    .filter(|(bit, _)| perms & bit != 0)
    .map(|(_, c)| *c)
    .collect()
}

/// Parses zkCli's ACL argument: `scheme:id:perms[,scheme:id:perms...]`. The id may itself contain colons
/// (digest ids do): the scheme ends at the first colon and the perms start after the last.
pub fn parse_acl(text: &str) -> Result<Vec<Acl>, String> {
    let mut acls = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let (Some(first), Some(last)) = (part.find(':'), part.rfind(':')) else {
            return Err(format!("{part} does not have the form scheme:id:perm"));
        };
        if first == last {
            return Err(format!("{part} does not have the form scheme:id:perm"));
        }
        let mut perms = 0;
        for c in part[last + 1..].chars() {
            perms |= match c.to_ascii_lowercase() {
                'r' => READ,
                'w' => WRITE,
                'c' => CREATE,
                'd' => DELETE,
                'a' => ADMIN,
                other => return Err(format!("Unknown perm type: {other}")),
            };
        }
        acls.push(Acl {
            perms,
            id: Id {
                scheme: part[..first].to_string(),
                id: part[first + 1..last].to_string(),
            },
        });
    }
    if acls.is_empty() {
        return Err("ACL is empty".into());
    }
    Ok(acls)
}

/// world:anyone with every permission (ZooDefs.Ids.OPEN_ACL_UNSAFE), the default of `create`.
pub fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: READ | WRITE | CREATE | DELETE | ADMIN,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

/// The message zkCli prints for a failed call on `path` (CliWrapperException as in ZooKeeper 3.8).
pub fn error_message(code: ErrorCode, path: &str) -> String {
    match code {
        ErrorCode::NoNode => format!("Node does not exist: {path}"),
        ErrorCode::NoChildrenForEphemerals => format!("Ephemerals cannot have children: {path}"),
        ErrorCode::NodeExists => format!("Node already exists: {path}"),
        ErrorCode::NotEmpty => format!("Node not empty: {path}"),
        ErrorCode::NotReadOnly => format!("Not a read-only call: {path}"),
        ErrorCode::InvalidAcl => format!("Acl is not valid : {path}"),
        ErrorCode::NoAuth => format!("Insufficient permission : {path}"),
        ErrorCode::BadArguments => format!("Arguments are not valid : {path}"),
        ErrorCode::BadVersion => format!("version No is not valid : {path}"),
        other if path.is_empty() => format!("KeeperErrorCode = {}", code_message(other)),
        other => format!("KeeperErrorCode = {} for {path}", code_message(other)),
    }
}

/// KeeperException.getCodeMessage.
fn code_message(code: ErrorCode) -> &'static str {
    use ErrorCode::*;
    match code {
        Ok => "ok",
        SystemError => "SystemError",
        RuntimeInconsistency => "RuntimeInconsistency",
        DataInconsistency => "DataInconsistency",
        ConnectionLoss => "ConnectionLoss",
        MarshallingError => "MarshallingError",
        Unimplemented => "Unimplemented",
        OperationTimeout => "OperationTimeout",
        BadArguments => "BadArguments",
        UnknownSession => "Unknown session",
        NewConfigNoQuorum => "NewConfigNoQuorum",
        ReconfigInProgress => "ReconfigInProgress",
        ApiError => "APIError",
        NoNode => "NoNode",
        NoAuth => "NoAuth",
        BadVersion => "BadVersion",
        NoChildrenForEphemerals => "NoChildrenForEphemerals",
        NodeExists => "NodeExists",
        NotEmpty => "Directory not empty",
        SessionExpired => "Session expired",
        InvalidCallback => "Invalid callback",
        InvalidAcl => "InvalidACL",
        AuthFailed => "AuthFailed",
        SessionMoved => "Session moved",
        NotReadOnly => "Not a read-only call",
        EphemeralOnLocalSession => "Ephemeral node on local session",
        NoWatcher => "No such watcher",
        RequestTimeout => "Request timeout",
        ReconfigDisabled => "Reconfig is disabled",
        SessionClosedRequireSaslAuth => "Session closed because client failed to authenticate",
        QuotaExceeded => "Quota has exceeded",
        ThrottledOp => "Op throttled due to high load",
    }
}

/// Java's `Date.toString()` in the local time zone: `Thu Nov 26 00:37:03 UTC 2026`.
pub fn java_date(epoch_ms: i64) -> String {
    let secs = epoch_ms.div_euclid(1000) as libc::time_t;
    // SAFETY: localtime_r fills the zeroed tm we own; tm_zone then points at static zone-name storage.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return epoch_ms.to_string();
        }
        let zone = if tm.tm_zone.is_null() {
            "UTC".to_string()
        } else {
            std::ffi::CStr::from_ptr(tm.tm_zone)
                .to_string_lossy()
                .into_owned()
        };
        const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!(
            "{} {} {:02} {:02}:{:02}:{:02} {} {}",
            DAYS[tm.tm_wday.rem_euclid(7) as usize],
            MONTHS[tm.tm_mon.rem_euclid(12) as usize],
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec,
            zone,
            tm.tm_year + 1900
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_lines_match_zkcli() {
        assert_eq!(acl_list(&open_acl()), "'world,'anyone\n: cdrwa\n");
        assert_eq!(perm_string(READ | ADMIN), "ra");
    }

    #[test]
    fn acl_arguments_keep_colons_inside_ids() {
        let acls = parse_acl("digest:u:abc=:cdrwa,ip:127.0.0.1:r").unwrap();
        assert_eq!(acls[0].id.scheme, "digest");
        assert_eq!(acls[0].id.id, "u:abc=");
        assert_eq!(acls[0].perms, 31);
        assert_eq!(acls[1].id.id, "127.0.0.1");
        assert_eq!(acls[1].perms, READ);
        assert!(parse_acl("world:anyone").is_err());
        assert!(parse_acl("world:anyone:x").is_err());
    }

    #[test]
    fn errors_read_like_zkcli() {
        assert_eq!(
            error_message(ErrorCode::NoNode, "/x"),
            "Node does not exist: /x"
        );
        assert_eq!(
            error_message(ErrorCode::Unimplemented, "/t"),
            "KeeperErrorCode = Unimplemented for /t"
        );
    }

    #[test]
    fn stat_block_has_eleven_lines_in_zkcli_order() {
        let text = stat(&Stat {
            czxid: 3,
            mzxid: 0x10,
            ephemeral_owner: 0x1234,
            ..Stat::default()
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 11);
        assert_eq!(lines[0], "cZxid = 0x3");
        assert_eq!(lines[2], "mZxid = 0x10");
        assert_eq!(lines[8], "ephemeralOwner = 0x1234");
    }

    #[test]
    fn java_dates_have_the_date_to_string_shape() {
        let d = java_date(0);
        assert_eq!(d.split(' ').count(), 6, "{d}");
    }
}
