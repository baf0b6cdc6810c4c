//! A replicated ensemble of real `rzk server` processes on loopback: one zoo.cfg per member with the
//! same `server.N=127.0.0.1:quorumPort:electionPort;127.0.0.1:clientPort` lines, a `myid` in each
//! dataDir, free ports. Members can be killed with SIGKILL and restarted on the same dataDir and ports.
//!
//! Each start of a member logs to `server-<id>-<start>.log` in the ensemble's temp dir. The dir is removed
//! on drop only after [`Ensemble::passed`] (and not with `RZK_TEST_KEEP_DIRS=1`): a test that fails, by a
//! panic or by returning an error early, leaves the logs there and prints the path.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::{four_letter, rzk_binary, unique_temp_dir, TICK_TIME_MS};

/// initLimit and syncLimit in ticks: small, so elections and failure detection take a few seconds at most,
/// yet several hundred milliseconds of slack for a loaded machine running debug builds.
pub const INIT_LIMIT: u64 = 10;
pub const SYNC_LIMIT: u64 = 5;

/// How long the helpers wait for something that should happen (an election, a catch-up) before they give
/// up: only there so a broken server fails a test instead of hanging it.
pub const PATIENCE: Duration = Duration::from_secs(90);

/// One server of the ensemble.
struct Member {
    id: u64,
    client_port: u16,
    dir: PathBuf,
    child: Option<Child>,
    starts: usize,
}

impl Member {
    fn cfg_path(&self) -> PathBuf {
        self.dir.join("zoo.cfg")
    }

    fn log_path(&self) -> PathBuf {
        self.dir
            .join(format!("server-{}-{}.log", self.id, self.starts))
    }
}

/// What `srvr` says about a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// No answer (killed, or not listening yet).
    Down,
    /// Answers, but "not currently serving requests" (looking for a leader, or syncing).
    NotServing,
    /// Serving, in this mode: "leader", "follower", "observer" (or "standalone").
    Serving(String),
}

/// N `rzk server` processes forming one ensemble. Killed on drop.
pub struct Ensemble {
    members: Vec<Member>,
    workdir: PathBuf,
    binary: PathBuf,
    /// Set by [`Ensemble::passed`]: the temp dir may go.
    passed: bool,
}

impl Ensemble {
    /// Writes the configs of an `n`-server ensemble (ids 1..=n), starts every member and waits until one
    /// leads and all others follow.
    pub fn start(n: usize) -> Result<Ensemble> {
        Ensemble::start_with(n, "")
    }

    /// Like [`Ensemble::start`], with `extra` zoo.cfg lines (e.g. `"snapCount=50\n"`) in every config.
    pub fn start_with(n: usize, extra: &str) -> Result<Ensemble> {
        let mut ensemble = Ensemble::configure(n, rzk_binary()?, extra)?;
        for id in ensemble.ids() {
            ensemble.restart(id)?;
        }
        ensemble.wait_for_leader()?;
        Ok(ensemble)
    }

    /// Writes the configs and myid files without starting anything.
    fn configure(n: usize, binary: PathBuf, extra: &str) -> Result<Ensemble> {
        let workdir = unique_temp_dir("rzk-ensemble")?;
        // Hold every listener until all ports are picked, so no two members get the same port.
        let listeners = (0..3 * n)
            .map(|_| TcpListener::bind("127.0.0.1:0"))
            .collect::<std::io::Result<Vec<_>>>()?;
        let ports = listeners
            .iter()
            .map(|l| l.local_addr().map(|a| a.port()))
            .collect::<std::io::Result<Vec<_>>>()?;
        drop(listeners);
        let server_lines: String = (0..n)
            .map(|i| {
                let (client, quorum, election) = (ports[3 * i], ports[3 * i + 1], ports[3 * i + 2]);
                format!(
                    "server.{}=127.0.0.1:{quorum}:{election};127.0.0.1:{client}\n",
                    i + 1
                )
            })
            .collect();
        let mut members = Vec::with_capacity(n);
        for i in 0..n {
            let id = (i + 1) as u64;
            let dir = workdir.join(format!("s{id}"));
            let data_dir = dir.join("data");
            std::fs::create_dir_all(&data_dir)?;
            std::fs::write(data_dir.join("myid"), format!("{id}\n"))?;
            let member = Member {
                id,
                client_port: ports[3 * i],
                dir,
                child: None,
                starts: 0,
            };
            std::fs::write(
                member.cfg_path(),
                member_cfg(&data_dir, member.client_port, &server_lines) + extra,
            )?;
            members.push(member);
        }
        Ok(Ensemble {
            members,
            workdir,
            binary,
            passed: false,
        })
    }

    /// The members' ids, 1..=n.
    pub fn ids(&self) -> Vec<u64> {
        self.members.iter().map(|m| m.id).collect()
    }

    /// The ids of the members that are running (started and not killed).
    pub fn running(&self) -> Vec<u64> {
        self.members
            .iter()
            .filter(|m| m.child.is_some())
            .map(|m| m.id)
            .collect()
    }

    /// `127.0.0.1:<client port>` of one member.
    pub fn addr(&self, id: u64) -> String {
        format!("127.0.0.1:{}", self.member(id).client_port)
    }

    /// A connect string naming the given members.
    pub fn connect_string_of(&self, ids: &[u64]) -> String {
        ids.iter()
            .map(|&id| self.addr(id))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A connect string naming every member.
    pub fn connect_string(&self) -> String {
        self.connect_string_of(&self.ids())
    }

    /// Stops every member and removes the temp dir: call it last in a test that passed.
    pub fn passed(mut self) {
        self.passed = true;
    }

    /// The ensemble's temp dir (configs, data, logs).
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    fn member(&self, id: u64) -> &Member {
        &self.members[(id - 1) as usize]
    }

    fn member_mut(&mut self, id: u64) -> &mut Member {
        &mut self.members[(id - 1) as usize]
    }

    /// SIGKILL: the member gets no chance to flush or say goodbye.
    pub fn kill(&mut self, id: u64) -> Result<()> {
        if let Some(mut child) = self.member_mut(id).child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts a member (again) on its dataDir and ports; does not wait for it to serve.
    pub fn restart(&mut self, id: u64) -> Result<()> {
        let binary = self.binary.clone();
        let member = self.member_mut(id);
        if member.child.is_some() {
            bail!("server {id} is already running");
        }
        member.starts += 1;
        let log = File::create(member.log_path())?;
        let journal = member.dir.join(format!("journal-{}.jsonl", member.starts));
        let child = Command::new(&binary)
            .arg("server")
            .arg(member.cfg_path())
            .env("RZK_TEST_JOURNAL", journal)
            .current_dir(&member.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        member.child = Some(child);
        Ok(())
    }

    /// Fails if a member we started has exited by itself (a crash is always a bug here).
    pub fn check_alive(&mut self) -> Result<()> {
        for m in &mut self.members {
            if let Some(child) = m.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    m.child = None;
                    bail!(
                        "server {} exited by itself with {status}; log {}:\n{}",
                        m.id,
                        m.log_path().display(),
                        tail(&m.log_path(), 40)
                    );
                }
            }
        }
        Ok(())
    }

    /// What `srvr` says about a member now.
    pub fn status(&self, id: u64) -> Status {
        if self.member(id).child.is_none() {
            return Status::Down;
        }
        match four_letter(&self.addr(id), "srvr") {
            Err(_) => Status::Down,
            Ok(reply) => match reply.lines().find_map(|l| l.strip_prefix("Mode: ")) {
                Some(mode) => Status::Serving(mode.trim().to_string()),
                None => Status::NotServing,
            },
        }
    }

    /// The statuses of every member, for messages.
    pub fn statuses(&self) -> BTreeMap<u64, Status> {
        self.ids()
            .into_iter()
            .map(|id| (id, self.status(id)))
            .collect()
    }

    /// The member that says it leads and serves, if exactly one does.
    pub fn leader(&self) -> Option<u64> {
        let leaders: Vec<u64> = self
            .running()
            .into_iter()
            .filter(|&id| self.status(id) == Status::Serving("leader".into()))
            .collect();
        match leaders[..] {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Waits until every running member answers `ruok`, one of them serves as leader and all the others
    /// serve as followers; returns the leader's id.
    pub fn wait_for_leader(&mut self) -> Result<u64> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            self.check_alive()?;
            let running = self.running();
            let all_ok = running
                .iter()
                .all(|&id| matches!(four_letter(&self.addr(id), "ruok").as_deref(), Ok("imok")));
            if all_ok {
                let statuses: Vec<Status> = running.iter().map(|&id| self.status(id)).collect();
                let leaders = statuses
                    .iter()
                    .filter(|s| **s == Status::Serving("leader".into()))
                    .count();
                let followers = statuses
                    .iter()
                    .filter(|s| **s == Status::Serving("follower".into()))
                    .count();
                if leaders == 1 && leaders + followers == running.len() {
                    if let Some(leader) = self.leader() {
                        return Ok(leader);
                    }
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "no stable leader among {running:?} within {PATIENCE:?}: {:?}\n{}",
                    self.statuses(),
                    self.log_tails(20)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The `hash` four-letter word of a member: its tree's last zxid and digest, e.g. `"100000012: 4242"`.
    pub fn digest(&self, id: u64) -> Result<String> {
        let reply = four_letter(&self.addr(id), "hash")?;
        Ok(reply.trim().to_string())
    }

    /// Waits until every running member serves and reports the same zxid and tree digest; returns it.
    pub fn wait_converged(&mut self) -> Result<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            self.check_alive()?;
            let digests: BTreeMap<u64, String> = self
                .running()
                .into_iter()
                .map(|id| {
                    (
                        id,
                        self.digest(id).unwrap_or_else(|e| format!("error: {e}")),
                    )
                })
                .collect();
            let first = digests.values().next().cloned().unwrap_or_default();
            let serving = self
                .running()
                .iter()
                .all(|&id| matches!(self.status(id), Status::Serving(_)));
            if serving && digests.values().all(|d| *d == first) && first.contains(": ") {
                return Ok(first);
            }
            if Instant::now() > deadline {
                bail!(
                    "replicas did not converge within {PATIENCE:?}: {digests:?}, {:?}\n{}",
                    self.statuses(),
                    self.log_tails(20)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The committed history, from every member's test journals (every incarnation's): each txn any member
    /// knew committed, by zxid. Two members that committed different txns at one zxid is an error.
    pub fn committed_from_journals(&self) -> Result<BTreeMap<i64, rzk_core::txn::LoggedTxn>> {
        let mut journals = rzk_check::Journals::default();
        for member in &self.members {
            for entry in std::fs::read_dir(&member.dir)? {
                let path = entry?.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if !(name.starts_with("journal-") && name.ends_with(".jsonl")) {
                    continue;
                }
                let text = std::fs::read_to_string(&path)?;
                journals
                    .add(member.id as usize - 1, &text)
                    .with_context(|| path.display().to_string())?;
            }
        }
        if let Some(first) = journals.disagreements.first() {
            bail!("{first}");
        }
        Ok(journals.committed)
    }

    /// The names of the files in a member's `dataDir/rzk` (txn logs, snapshots, epoch files).
    pub fn data_files(&self, id: u64) -> Vec<String> {
        let dir = self.member(id).dir.join("data").join("rzk");
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// How many lines of all logs so far (every member, every start) contain `needle`.
    pub fn count_in_logs(&self, needle: &str) -> usize {
        self.members
            .iter()
            .flat_map(|m| (1..=m.starts).map(move |start| (m, start)))
            .map(|(m, start)| {
                let path = m.dir.join(format!("server-{}-{start}.log", m.id));
                let text = std::fs::read_to_string(path).unwrap_or_default();
                text.lines().filter(|l| l.contains(needle)).count()
            })
            .sum()
    }

    /// The last lines of every member's current log, for failure messages.
    pub fn log_tails(&self, lines: usize) -> String {
        self.members
            .iter()
            .filter(|m| m.starts > 0)
            .map(|m| {
                format!(
                    "--- server {} ({}):\n{}\n",
                    m.id,
                    m.log_path().display(),
                    tail(&m.log_path(), lines)
                )
            })
            .collect()
    }
}

impl Drop for Ensemble {
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Some(mut child) = m.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if !self.passed {
            eprintln!("ensemble logs and data kept in {}", self.workdir.display());
        } else if std::env::var("RZK_TEST_KEEP_DIRS").as_deref() != Ok("1") {
            let _ = std::fs::remove_dir_all(&self.workdir);
        }
    }
}

/// One member's zoo.cfg. preAllocSize is 1 MB instead of 64 MB: with a small snapCount every snapshot
/// starts a new, preallocated log file, and the tests should not fill the disk.
fn member_cfg(data_dir: &Path, client_port: u16, server_lines: &str) -> String {
    format!(
        "tickTime={TICK_TIME_MS}\ninitLimit={INIT_LIMIT}\nsyncLimit={SYNC_LIMIT}\n\
         minSessionTimeout={}\nmaxSessionTimeout=30000\ndataDir={}\n\
         clientPort={client_port}\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n\
         admin.enableServer=false\nmaxClientCnxns=0\ncnxTimeout=2000\npreAllocSize=1024\n{server_lines}",
        2 * TICK_TIME_MS,
        data_dir.display()
    )
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Polls `ready` every 50 ms until it returns `Some`, for at most [`PATIENCE`].
pub fn wait_for<T>(what: &str, mut ready: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = ready()? {
            return Ok(v);
        }
        if Instant::now() > deadline {
            return Err(anyhow!("timed out after {PATIENCE:?} waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_list_every_server_and_myid_matches() {
        let e =
            Ensemble::configure(3, PathBuf::from("/nonexistent/rzk"), "snapCount=50\n").unwrap();
        let mut lines_of_first = None;
        for m in &e.members {
            let cfg = std::fs::read_to_string(m.cfg_path()).unwrap();
            let lines: Vec<&str> = cfg.lines().filter(|l| l.starts_with("server.")).collect();
            assert_eq!(lines.len(), 3);
            assert!(cfg.contains(&format!("clientPort={}\n", m.client_port)));
            assert!(cfg.ends_with("snapCount=50\n"));
            let myid = std::fs::read_to_string(m.dir.join("data/myid")).unwrap();
            assert_eq!(myid.trim(), m.id.to_string());
            let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            assert_eq!(lines_of_first.get_or_insert(lines.clone()), &lines);
        }
        let mut ports: Vec<u16> = e.members.iter().map(|m| m.client_port).collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 3);
        e.passed();
    }
}
