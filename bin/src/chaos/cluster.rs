//! The servers of a chaos run: `rzk server` processes of this very binary on loopback, each with its own
//! directory, zoo.cfg, myid and test journal (`RZK_TEST_JOURNAL`, one file per incarnation), started,
//! stopped and read back after the run.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rzk_core::txn::LoggedTxn;
use rzk_core::Zxid;

pub struct Member {
    pub dir: PathBuf,
    pub client: SocketAddr,
    child: Option<Child>,
    starts: u32,
}

pub struct Cluster {
    pub members: Vec<Member>,
    binary: PathBuf,
    /// `RZK_TEST_PLANT` for every server, if bugs are planted.
    plant: Option<String>,
}

impl Cluster {
    /// Writes the configs of `n` servers under `workdir` and starts them.
    pub fn start(n: usize, workdir: &Path, plant: Option<&str>) -> Result<Cluster> {
        let listeners = (0..3 * n)
            .map(|_| TcpListener::bind("127.0.0.1:0"))
            .collect::<std::io::Result<Vec<_>>>()?;
        let ports = listeners
            .iter()
            .map(|l| l.local_addr().map(|a| a.port()))
            .collect::<std::io::Result<Vec<_>>>()?;
        drop(listeners);
        let servers: String = if n > 1 {
            (0..n)
                .map(|i| {
                    format!(
                        "server.{}=127.0.0.1:{}:{}\n",
                        i + 1,
                        ports[3 * i + 1],
                        ports[3 * i + 2]
                    )
                })
                .collect()
        } else {
            String::new()
        };
        let mut members = Vec::new();
        for i in 0..n {
            let dir = workdir.join(format!("s{}", i + 1));
            let data = dir.join("data");
            std::fs::create_dir_all(&data)?;
            std::fs::write(data.join("myid"), format!("{}\n", i + 1))?;
            std::fs::write(
                dir.join("zoo.cfg"),
                format!(
                    "tickTime=200\ninitLimit=10\nsyncLimit=5\nminSessionTimeout=400\nmaxSessionTimeout=30000\n\
                     dataDir={}\nclientPort={}\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n\
                     admin.enableServer=false\nsnapCount=500\npreAllocSize=1024\n{servers}",
                    data.display(),
                    ports[3 * i]
                ),
            )?;
            members.push(Member {
                dir,
                client: SocketAddr::from(([127, 0, 0, 1], ports[3 * i])),
                child: None,
                starts: 0,
            });
        }
        let mut cluster = Cluster {
            members,
            binary: std::env::current_exe().context("cannot find this rzk binary")?,
            plant: plant.map(str::to_owned),
        };
        for i in 0..n {
            cluster.start_member(i)?;
        }
        Ok(cluster)
    }

    pub fn start_member(&mut self, i: usize) -> Result<()> {
        let binary = self.binary.clone();
        let plant = self.plant.clone();
        let m = &mut self.members[i];
        m.starts += 1;
        let log = std::fs::File::create(m.dir.join(format!("server-{}.log", m.starts)))?;
        let mut command = Command::new(binary);
        if let Some(bugs) = plant {
            command.env("RZK_TEST_PLANT", bugs);
        }
        let child = command
            .arg("server")
            .arg(m.dir.join("zoo.cfg"))
            .env(
                "RZK_TEST_JOURNAL",
                m.dir.join(format!("journal-{}.jsonl", m.starts)),
            )
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start rzk server")?;
        m.child = Some(child);
        Ok(())
    }

    /// kill -9 of a member, waiting until it is gone.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP (`pause`) or SIGCONT of a member: a process that stops answering without closing anything.
    pub fn signal(&self, i: usize, pause: bool) {
        if let Some(child) = &self.members[i].child {
            let sig = if pause { libc::SIGSTOP } else { libc::SIGCONT };
            // SAFETY: kill(2) on the pid of a child this process started and has not reaped.
            unsafe { libc::kill(child.id() as libc::pid_t, sig) };
        }
    }

    /// Waits until every member answers `ruok` with `imok`.
    pub fn wait_up(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        for m in &self.members {
            while !crate::bench::ready::answers_imok(m.client) {
                if Instant::now() > deadline {
                    bail!("server in {} did not come up", m.dir.display());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    /// Stops every member (SIGTERM, then waits).
    pub fn stop_all(&mut self) {
        for m in &mut self.members {
            if let Some(mut child) = m.child.take() {
                // SAFETY: kill(2) on the pid of a child this process started and has not reaped.
                unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
                let _ = child.wait();
            }
        }
    }

    /// The committed history from every member's journals (every incarnation), when each txn was first
    /// journaled, and the established-leader changes; two members committing different txns at one zxid is
    /// a violation.
    #[allow(clippy::type_complexity)]
    pub fn journals(
        &self,
    ) -> Result<(
        BTreeMap<Zxid, LoggedTxn>,
        BTreeMap<Zxid, u64>,
        Vec<(u64, usize, bool)>,
        Vec<String>,
    )> {
        let (mut committed, mut at, mut leading, mut violations) =
            (BTreeMap::new(), BTreeMap::new(), Vec::new(), Vec::new());
        for (i, m) in self.members.iter().enumerate() {
            for start in 1..=m.starts {
                let path = m.dir.join(format!("journal-{start}.jsonl"));
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                for (n, line) in text.lines().enumerate() {
                    let v: serde_json::Value = serde_json::from_str(line)
                        .with_context(|| format!("{}:{}", path.display(), n + 1))?;
                    let when = v["at"].as_u64().unwrap_or(0);
                    match v["t"].as_str() {
                        Some("commit") => {
                            let txn: LoggedTxn = serde_json::from_value(v["txn"].clone())
                                .with_context(|| format!("{}:{}", path.display(), n + 1))?;
                            let z = txn.header.zxid;
                            match committed.get(&z) {
                                Some(seen) if *seen != txn => violations.push(format!(
                                    "agreement: server {} committed another txn at zxid 0x{z:x}",
                                    i + 1
                                )),
                                Some(_) => {
                                    let first: &mut u64 = at.entry(z).or_insert(when);
                                    *first = (*first).min(when);
                                }
                                None => {
                                    committed.insert(z, txn);
                                    at.insert(z, when);
                                }
                            }
                        }
                        Some("leading") => leading.push((when, i, !v["epoch"].is_null())),
                        _ => {}
                    }
                }
            }
        }
        leading.sort();
        Ok((committed, at, leading, violations))
    }

    /// Each member's tree as its data directory holds it (recovered from a copy in memory, nothing changed).
    pub fn trees(&self) -> Vec<Option<rzk_core::tree::DataTree>> {
        use rzk_io_mio::storage::{recover, Dir, FsDir, MemDir};
        self.members
            .iter()
            .map(|m| {
                let dir = FsDir::new(m.dir.join("data").join("rzk"));
                let mem = MemDir::default();
                for name in dir.list().ok()? {
                    mem.put(&name, dir.read(&name).ok()?);
                }
                let r = recover(&mem, &mem).ok()?;
                let mut tree = r.recovered.tree.unwrap_or_default();
                for t in &r.recovered.txns {
                    tree.apply(&t.header, &t.txn);
                }
                Some(tree)
            })
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Some(mut child) = m.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
