//! `rzk stop`: SIGTERM to the server named by the pid file, then wait for it to exit (it flushes, closes its
//! sessions' connections and removes the pid file). zkServer.sh signals, deletes the pid file and sleeps one
//! second, whether or not the server has stopped, and signals whatever process holds a reused pid.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rzk_core::config::ServerConfig;

use super::pid_file::{self, PidState};

pub fn stop(config: &ServerConfig, wait: Duration) -> ExitCode {
    print!("Stopping zookeeper ... ");
    let _ = std::io::stdout().flush();
    let path = pid_file::path_for(config);
    let pid = match pid_file::check(&path) {
        PidState::Missing => {
            println!(
                "no zookeeper to stop (could not find file {})",
                path.display()
            );
            return ExitCode::SUCCESS;
        }
        PidState::Stale(why) => {
            let removed = match std::fs::remove_file(&path) {
                Ok(()) => "removed it".to_string(),
                Err(e) => format!("cannot remove it: {e}"),
            };
            println!(
                "no zookeeper to stop (the pid file {} is stale: {why}; {removed})",
                path.display()
            );
            return ExitCode::SUCCESS;
        }
        PidState::Running(pid) => pid,
    };
    if let Err(e) = terminate(pid) {
        println!("FAILED TO STOP (cannot signal process {pid}: {e})");
        return ExitCode::FAILURE;
    }
    let deadline = Instant::now() + wait;
    while pid_file::alive(pid) {
        if Instant::now() >= deadline {
            println!(
                "FAILED TO STOP (process {pid} still runs {} s after SIGTERM)",
                wait.as_secs()
            );
            return ExitCode::FAILURE;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // A clean stop removed it; a server killed before it could is gone all the same.
    let _ = std::fs::remove_file(&path);
    println!("STOPPED");
    ExitCode::SUCCESS
}

fn terminate(pid: u32) -> std::io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| std::io::ErrorKind::InvalidInput)?;
    // SAFETY: kill(2) takes plain integers and touches no memory; the pid was just checked to be a live rzk
    // server.
    if unsafe { libc::kill(pid, libc::SIGTERM) } == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
