//! The pid file `rzk start` leaves for `stop` and `status` (zkServer.sh's `zookeeper_server.pid` in dataDir,
//! or `$ZOOPIDFILE`), and what a pid in it is worth: zkServer.sh trusts any live process with that pid, so a
//! stale file whose pid was reused by another program keeps ZooKeeper from starting, or has `stop` kill the
//! wrong process. Here a pid counts only if it is a live rzk server.

use std::path::{Path, PathBuf};

use rzk_core::config::ServerConfig;

/// The pid file of the server a config describes.
pub fn path_for(config: &ServerConfig) -> PathBuf {
    match std::env::var_os("ZOOPIDFILE") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => config.data_dir.join("zookeeper_server.pid"),
    }
}

/// What a pid file says.
#[derive(Debug, PartialEq, Eq)]
pub enum PidState {
    /// No pid file.
    Missing,
    /// A live rzk server with this pid.
    Running(u32),
    /// A file that names no live rzk server, and why.
    Stale(String),
}

pub fn check(path: &Path) -> PidState {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return PidState::Missing,
        Err(e) => return PidState::Stale(format!("cannot read it: {e}")),
    };
    let Ok(pid) = text.trim().parse::<u32>() else {
        return PidState::Stale(format!("it holds {:?}, not a process id", text.trim()));
    };
    match process(pid) {
        Process::Gone => PidState::Stale(format!("process {pid} is not running")),
        Process::Other(what) => {
            PidState::Stale(format!("process {pid} is another program ({what})"))
        }
        Process::RzkServer => PidState::Running(pid),
    }
}

enum Process {
    Gone,
    Other(String),
    RzkServer,
}

/// What runs as `pid`, from /proc: gone (or a zombie), an rzk server (`rzk ... server ...`), or another
/// program.
fn process(pid: u32) -> Process {
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let Ok(stat) = std::fs::read_to_string(proc.join("stat")) else {
        return Process::Gone;
    };
    // The state follows the parenthesised command name, which may itself contain ") ".
    let state = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next());
    if matches!(state, Some('Z') | Some('X') | None) {
        return Process::Gone;
    }
    let Ok(cmdline) = std::fs::read(proc.join("cmdline")) else {
        return Process::Gone;
    };
    let args: Vec<String> = cmdline
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let program = args
        .first()
        .map(|a| {
            Path::new(a)
                .file_name()
                .map_or(a.clone(), |n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    if program.starts_with("rzk") && args.iter().skip(1).any(|a| a == "server") {
        Process::RzkServer
    } else {
        let mut what = args.join(" ");
        if what.chars().count() > 60 {
            what = what.chars().take(60).chain("...".chars()).collect();
        }
        Process::Other(what)
    }
}

/// Whether `pid` still runs (a zombie does not).
pub fn alive(pid: u32) -> bool {
    !matches!(process(pid), Process::Gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_counts_only_for_a_live_rzk_server() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("zookeeper_server.pid");
        assert_eq!(check(&file), PidState::Missing);
        std::fs::write(&file, "not a pid").unwrap();
        assert!(matches!(check(&file), PidState::Stale(why) if why.contains("not a process id")));
        // This test process is alive but is not `rzk server`.
        std::fs::write(&file, std::process::id().to_string()).unwrap();
        assert!(matches!(check(&file), PidState::Stale(why) if why.contains("another program")));
        // A child that has exited and been reaped is gone.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        std::fs::write(&file, format!("{pid}\n")).unwrap();
        assert!(matches!(check(&file), PidState::Stale(why) if why.contains("not running")));
    }
}
