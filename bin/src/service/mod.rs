//! zkServer.sh's verbs: `rzk start | start-foreground | stop | restart | version [zoo.cfg]` (and `status`,
//! in status_cmd.rs). Same config lookup, pid file and outcome lines as zkServer.sh, so scripts and
//! `Type=forking` units written for it work; better where zkServer.sh is sloppy: `start` returns once the
//! server is ready to serve (or with the reason it is not), `stop` waits for the clean stop, and a pid file
//! that names no live rzk server is not trusted.

mod pid_file;
mod start;
mod stop;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use rzk_core::config::ServerConfig;

#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// zoo.cfg: a path, or a file name in $ZOOCFGDIR. Without it: $ZOOCFGDIR/zoo.cfg when $ZOOCFGDIR is set,
    /// else the embedded standalone default (127.0.0.1:2181, dataDir ./data).
    pub config: Option<PathBuf>,
    /// Seconds `start` waits for the server to be ready, and `stop` for it to exit.
    #[arg(long, default_value_t = 300)]
    pub wait: u64,
}

impl ServiceArgs {
    fn wait(&self) -> Duration {
        Duration::from_secs(self.wait)
    }
}

/// The config a verb acts on, resolved as zkServer.sh does, and announced on stderr as it does.
pub struct Resolved {
    /// None: the embedded default.
    pub path: Option<PathBuf>,
    pub config: ServerConfig,
}

pub fn resolve(arg: Option<&Path>) -> anyhow::Result<Resolved> {
    let path = config_path(arg, std::env::var_os("ZOOCFGDIR").map(PathBuf::from));
    match &path {
        Some(p) => eprintln!("Using config: {}", p.display()),
        None => eprintln!("Using config: the embedded standalone default"),
    }
    let config = match &path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            ServerConfig::parse(&text).with_context(|| format!("invalid config {}", p.display()))?
        }
        None => ServerConfig::default_standalone(),
    };
    Ok(Resolved { path, config })
}

/// zkServer.sh: a bare file name is looked up in $ZOOCFGDIR, a path is taken as it is; no argument means
/// $ZOOCFGDIR/zoo.cfg (zkServer.sh always has a ZOOCFGDIR; without one rzk has its embedded default).
fn config_path(arg: Option<&Path>, cfg_dir: Option<PathBuf>) -> Option<PathBuf> {
    let cfg_dir = cfg_dir.filter(|d| !d.as_os_str().is_empty());
    match (arg, cfg_dir) {
        (Some(a), Some(dir)) if a.parent() == Some(Path::new("")) => Some(dir.join(a)),
        (Some(a), _) => Some(a.to_path_buf()),
        (None, Some(dir)) => Some(dir.join("zoo.cfg")),
        (None, None) => None,
    }
}

pub fn run_start(args: &ServiceArgs) -> anyhow::Result<ExitCode> {
    match resolve(args.config.as_deref()) {
        Ok(resolved) => Ok(start::start(&resolved, args.wait())),
        Err(e) => {
            println!("Starting zookeeper ... FAILED TO START");
            println!("{e:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

pub fn run_stop(args: &ServiceArgs) -> anyhow::Result<ExitCode> {
    let resolved = resolve(args.config.as_deref())?;
    Ok(stop::stop(&resolved.config, args.wait()))
}

/// Both: a failed stop (the old server still runs) does not start a second one.
pub fn run_restart(args: &ServiceArgs) -> anyhow::Result<ExitCode> {
    let resolved = resolve(args.config.as_deref())?;
    if stop::stop(&resolved.config, args.wait()) != ExitCode::SUCCESS {
        return Ok(ExitCode::FAILURE);
    }
    Ok(start::start(&resolved, args.wait()))
}

/// `start-foreground`: `rzk server` on the resolved config.
pub fn foreground_config(args: &ServiceArgs) -> anyhow::Result<Option<PathBuf>> {
    Ok(resolve(args.config.as_deref())?.path)
}

pub fn version() -> String {
    format!(
        "rzk, version {} (ZooKeeper 3.8 compatible)",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_looked_up_as_zkserver_sh_does() {
        let dir = Some(PathBuf::from("/etc/zk"));
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(
            config_path(Some(Path::new("zoo.cfg")), dir.clone()),
            p("/etc/zk/zoo.cfg")
        );
        assert_eq!(
            config_path(Some(Path::new("./a.cfg")), dir.clone()),
            p("./a.cfg")
        );
        assert_eq!(
            config_path(Some(Path::new("/x/a.cfg")), dir.clone()),
            p("/x/a.cfg")
        );
        assert_eq!(config_path(None, dir), p("/etc/zk/zoo.cfg"));
        assert_eq!(config_path(Some(Path::new("a.cfg")), None), p("a.cfg"));
        assert_eq!(config_path(None, Some(PathBuf::new())), None);
        assert_eq!(config_path(None, None), None);
    }
}
