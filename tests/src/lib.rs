//! Helpers for integration tests: start the real `rzk` binary on a free loopback port with a fresh
//! dataDir, wait until it answers `ruok`, and stop it when the handle is dropped; or a replicated
//! ensemble of them ([`Ensemble`]).
//!
//! Environment:
//! - `RZK_TEST_ADDR=host:port` — use an already running server (e.g. Apache ZooKeeper, to validate the
//!   tests themselves) instead of starting rzk.
//! - `RZK_BIN=/path/to/rzk` — the binary to start; otherwise `<target dir>/debug/rzk`, built with
//!   `cargo build -p rzk` first if it is missing.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};

pub mod ensemble;
pub use ensemble::{Ensemble, Status};

/// tickTime of the servers the tests start; sessions may be as short as two ticks.
pub const TICK_TIME_MS: u64 = 200;
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A server under test: either a child process we own, or an external address from `RZK_TEST_ADDR`.
pub struct TestServer {
    addr: String,
    child: Option<Child>,
    workdir: Option<PathBuf>,
    root_counter: AtomicU64,
}

impl TestServer {
    /// Starts rzk (or attaches to `RZK_TEST_ADDR`) and waits until it answers `ruok` with `imok`.
    pub fn start() -> Result<TestServer> {
        TestServer::start_with("")
    }

    /// Like [`TestServer::start`], with `extra` zoo.cfg lines (relative paths are under [`TestServer::workdir`]).
    pub fn start_with(extra: &str) -> Result<TestServer> {
        if let Ok(addr) = std::env::var("RZK_TEST_ADDR") {
            wait_until_serving(&addr, None)?;
            return Ok(TestServer {
                addr,
                child: None,
                workdir: None,
                root_counter: AtomicU64::new(0),
            });
        }
        let binary = rzk_binary()?;
        let port = free_port()?;
        let workdir = unique_temp_dir("rzk-it")?;
        let data_dir = workdir.join("data");
        std::fs::create_dir_all(&data_dir)?;
        let cfg = workdir.join("zoo.cfg");
        std::fs::write(&cfg, zoo_cfg(&data_dir, port) + extra)?;
        let log = std::fs::File::create(workdir.join("server.log"))?;
        let mut child = Command::new(&binary)
            .arg("server")
            .arg(&cfg)
            .current_dir(&workdir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let addr = format!("127.0.0.1:{port}");
        let ready = wait_until_serving(&addr, Some(&mut child));
        // From here on, Drop stops the child and removes the directory.
        let server = TestServer {
            addr,
            child: Some(child),
            workdir: Some(workdir),
            root_counter: AtomicU64::new(0),
        };
        ready.map_err(|e| anyhow!("{e}\nserver log:\n{}", server.log_tail()))?;
        Ok(server)
    }

    /// The server's working directory (its zoo.cfg, data and log); `None` for `RZK_TEST_ADDR`.
    pub fn workdir(&self) -> Option<&Path> {
        self.workdir.as_deref()
    }

    /// Stops the server as an operator does (SIGTERM) and waits for it to exit.
    pub fn terminate(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            let status = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()?;
            ensure_ok(status.success(), "kill -TERM failed")?;
            child.wait()?;
        }
        Ok(())
    }

    /// `host:port`, as clients take it.
    pub fn connect_string(&self) -> &str {
        &self.addr
    }

    /// Sends a four-letter word and returns the reply.
    pub fn four_letter(&self, cmd: &str) -> Result<String> {
        four_letter(&self.addr, cmd)
    }

    /// A fresh path under which a test can create nodes (unique even on a shared external server).
    pub fn unique_root(&self, test: &str) -> String {
        let n = self.root_counter.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("/rust-{test}-{}-{nanos}-{n}", std::process::id())
    }

    fn log_tail(&self) -> String {
        let Some(dir) = &self.workdir else {
            return String::new();
        };
        let text = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = self.workdir.take() {
            if std::env::var("RZK_TEST_KEEP_DIRS").as_deref() != Ok("1") {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

fn ensure_ok(ok: bool, what: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        bail!("{what}")
    }
}

fn wait_until_serving(addr: &str, mut child: Option<&mut Child>) -> Result<()> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if let Some(child) = child.as_deref_mut() {
            if let Some(status) = child.try_wait()? {
                bail!("server exited during startup with {status}");
            }
        }
        // ZooKeeper answers ruok before it serves sessions; srvr tells the difference.
        if matches!(four_letter(addr, "ruok").as_deref(), Ok("imok"))
            && four_letter(addr, "srvr").is_ok_and(|s| !s.contains("not currently serving"))
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("server at {addr} did not answer ruok within {STARTUP_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn zoo_cfg(data_dir: &Path, port: u16) -> String {
    format!(
        "tickTime={TICK_TIME_MS}\nminSessionTimeout={}\nmaxSessionTimeout=20000\ndataDir={}\n\
         clientPort={port}\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n\
         admin.enableServer=false\nmaxClientCnxns=0\nextendedTypesEnabled=true\n\
         znode.container.checkIntervalMs=100\n",
        2 * TICK_TIME_MS,
        data_dir.display()
    )
}

/// Sends a four-letter word to `addr` and reads the reply until the server closes the connection.
pub fn four_letter(addr: &str, cmd: &str) -> Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(cmd.as_bytes())?;
    let mut out = Vec::new();
    match stream.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => return Err(e.into()),
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub(crate) fn unique_temp_dir(prefix: &str) -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn workspace_root() -> PathBuf {
    // CARGO_MANIFEST_DIR is tests/; the workspace is its parent.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The rzk binary: `RZK_BIN`, or `<target>/debug/rzk`, built once per test process if missing.
pub fn rzk_binary() -> Result<PathBuf> {
    if let Ok(bin) = std::env::var("RZK_BIN") {
        return Ok(PathBuf::from(bin));
    }
    static BUILD: OnceLock<Mutex<Option<String>>> = OnceLock::new();
    let root = workspace_root();
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let binary = target_dir.join("debug").join("rzk");
    let lock = BUILD.get_or_init(|| Mutex::new(None));
    let mut failure = lock.lock().map_err(|_| anyhow!("build lock poisoned"))?;
    if !binary.exists() && failure.is_none() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let status = Command::new(cargo)
            .args(["build", "-p", "rzk"])
            .current_dir(&root)
            .status()?;
        if !status.success() {
            *failure = Some(format!("`cargo build -p rzk` failed with {status}"));
        }
    }
    if let Some(msg) = failure.as_ref() {
        bail!("{msg}");
    }
    if !binary.exists() {
        bail!("rzk binary not found at {}", binary.display());
    }
    Ok(binary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoo_cfg_names_port_and_data_dir() {
        let cfg = zoo_cfg(Path::new("/tmp/x"), 4242);
        assert!(cfg.contains("clientPort=4242\n"));
        assert!(cfg.contains("dataDir=/tmp/x\n"));
        assert!(cfg.contains("minSessionTimeout=400\n"));
    }

    #[test]
    fn unique_roots_differ() {
        let s = TestServer {
            addr: String::new(),
            child: None,
            workdir: None,
            root_counter: AtomicU64::new(0),
        };
        assert_ne!(s.unique_root("t"), s.unique_root("t"));
    }
}
