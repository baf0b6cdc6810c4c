//! `rzk start`: runs `rzk server` as a daemon and returns once it is ready to serve, or says why it is not.
//!
//! zkServer.sh starts java under nohup, sleeps a second and calls it STARTED if the pid is alive: a server that
//! dies on a bad config two seconds in was "STARTED". Here the server tells its starter it is ready with the
//! sd_notify datagram it sends systemd (to a socket named in $RZK_START_NOTIFY), after it has recovered its
//! data and bound the client port; if it exits first, the starter reads the reason from its output.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::pid_file::{self, PidState};
use super::Resolved;
use crate::sd_notify::START_NOTIFY_VAR;

pub fn start(resolved: &Resolved, wait: Duration) -> ExitCode {
    print!("Starting zookeeper ... ");
    let _ = std::io::stdout().flush();
    match try_start(resolved, wait) {
        Ok(()) => {
            println!("STARTED");
            ExitCode::SUCCESS
        }
        Err(Refused::AlreadyRunning(pid)) => {
            println!("already running as process {pid}.");
            ExitCode::FAILURE
        }
        Err(Refused::Failed(reason)) => {
            println!("FAILED TO START");
            println!("{reason:#}");
            ExitCode::FAILURE
        }
    }
}

enum Refused {
    AlreadyRunning(u32),
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for Refused {
    fn from(e: anyhow::Error) -> Self {
        Refused::Failed(e)
    }
}

fn try_start(resolved: &Resolved, wait: Duration) -> Result<(), Refused> {
    let pid_path = pid_file::path_for(&resolved.config);
    match pid_file::check(&pid_path) {
        PidState::Running(pid) => return Err(Refused::AlreadyRunning(pid)),
        PidState::Stale(why) => {
            eprintln!("Removing the stale pid file {}: {why}", pid_path.display());
            std::fs::remove_file(&pid_path)
                .with_context(|| format!("cannot remove {}", pid_path.display()))?;
        }
        PidState::Missing => {}
    }
    if let Some(dir) = pid_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let out_path = output_path(&resolved.config.data_dir);
    if let Some(dir) = out_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&out_path)
        .with_context(|| format!("cannot open {}", out_path.display()))?;
    let out_start = out.metadata().map(|m| m.len()).unwrap_or(0);
    let err = out
        .try_clone()
        .with_context(|| format!("cannot open {}", out_path.display()))?;

    let (socket, name) = ready_socket()?;
    let exe = std::env::current_exe().context("cannot find the rzk binary")?;
    let mut command = Command::new(exe);
    command.arg("server");
    if let Some(path) = &resolved.path {
        command.arg(path);
    }
    command
        .arg("--pid-file")
        .arg(&pid_path)
        .env(START_NOTIFY_VAR, format!("@{name}"))
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    // SAFETY: runs in the forked child before exec; setsid only makes the child a session leader (no
    // controlling terminal, so it outlives the shell that started it) and is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().context("cannot run the server")?;
    let outcome = wait_until_ready(&socket, &mut child, wait);
    match outcome {
        Ready::Yes => Ok(()),
        Ready::Exited(status) => Err(Refused::Failed(anyhow::anyhow!(
            "{} (the server stopped with {status}; its output: {})",
            last_error(&out_path, out_start),
            out_path.display()
        ))),
        Ready::NotYet => Err(Refused::Failed(anyhow::anyhow!(
            "not ready after {} s; it keeps running as process {} (its output: {})",
            wait.as_secs(),
            child.id(),
            out_path.display()
        ))),
    }
}

/// Where the daemon's stdout and stderr go: zkServer.sh's `.out` file, in $ZOO_LOG_DIR when set (where the
/// server also writes rzk-server.log), else in dataDir.
fn output_path(data_dir: &Path) -> PathBuf {
    match std::env::var_os("ZOO_LOG_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("rzk-server.out"),
        _ => data_dir.join("rzk-server.out"),
    }
}

/// An abstract unix socket (nothing on disk to clean up) unique to this `start`.
fn ready_socket() -> anyhow::Result<(UnixDatagram, String)> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!("rzk-start-{}-{nanos}", std::process::id());
    let addr = SocketAddr::from_abstract_name(name.as_bytes())
        .context("cannot name the readiness socket")?;
    let socket = UnixDatagram::bind_addr(&addr).context("cannot bind the readiness socket")?;
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .context("cannot set the readiness socket's timeout")?;
    Ok((socket, name))
}

enum Ready {
    Yes,
    Exited(std::process::ExitStatus),
    NotYet,
}

fn wait_until_ready(socket: &UnixDatagram, child: &mut Child, wait: Duration) -> Ready {
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 256];
    loop {
        if let Ok(n) = socket.recv(&mut buf) {
            if buf[..n].split(|&b| b == b'\n').any(|l| l == b"READY=1") {
                return Ready::Yes;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Ready::Exited(status);
        }
        if Instant::now() >= deadline {
            return Ready::NotYet;
        }
    }
}

/// Why the server stopped: its last `rzk: ...` error line since `from`, else its last line.
fn last_error(path: &Path, from: u64) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        if f.seek(SeekFrom::Start(from)).is_ok() {
            let _ = f.take(1 << 20).read_to_string(&mut text);
        }
    }
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .rev()
        .find(|l| l.starts_with("rzk: "))
        .or(lines.last())
        .map_or_else(|| "it printed nothing".to_string(), |l| l.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_is_the_last_error_line_written_by_this_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::write(&path, "rzk: an old failure\n").unwrap();
        let from = std::fs::metadata(&path).unwrap().len();
        assert_eq!(last_error(&path, from), "it printed nothing");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"INFO read config\nrzk: cannot listen: in use\n\n")
            .unwrap();
        assert_eq!(last_error(&path, from), "rzk: cannot listen: in use");
        f.write_all(b"thread 'main' panicked\n").unwrap();
        assert_eq!(last_error(&path, from), "rzk: cannot listen: in use");
        assert_eq!(
            last_error(&dir.path().join("none"), 0),
            "it printed nothing"
        );
    }
}
