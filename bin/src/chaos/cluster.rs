//! The servers of a chaos run: `rzk server` processes of this very binary, on loopback or each in its own
//! network namespace (with a small tmpfs data directory), each with its own directory, zoo.cfg, myid, fault
//! file (`RZK_TEST_FAULTS`) and test journal (`RZK_TEST_JOURNAL`, one file per incarnation), started,
//! stopped and read back after the run.

use std::io::{Read, Seek, SeekFrom};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::netns::Net;

/// The ports of a netns run, the same for every server (each has its own address).
const CLIENT_PORT: u16 = 2181;
pub const PEER_PORTS: [u16; 2] = [2888, 3888];

pub struct Member {
    pub dir: PathBuf,
    pub client: SocketAddr,
    /// The member's network namespace, when the run has a network of its own.
    ns: Option<String>,
    /// Its data directory's own small tmpfs (netns runs): where a full disk is made.
    pub disk: Option<PathBuf>,
    child: Option<Child>,
    starts: u32,
    /// How far the current journal has been read, and whether it last said this member leads.
    journal_read: u64,
    leads: bool,
}

pub struct Cluster {
    pub members: Vec<Member>,
    binary: PathBuf,
    /// `RZK_TEST_PLANT` for every server, if bugs are planted.
    plant: Option<String>,
}

/// How long a member may take to exit after SIGTERM.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// The size of each member's data tmpfs in a netns run.
const DISK_MB: u32 = 256;

impl Cluster {
    /// Writes the configs of `n` servers under `workdir` and starts them: on loopback ports, or (`net`) one
    /// per namespace on the standard ports, each listing the others at their peer proxy's address.
    pub fn start(
        n: usize,
        workdir: &Path,
        plant: Option<&str>,
        net: Option<&Net>,
    ) -> Result<Cluster> {
        let listeners = (0..3 * n)
            .map(|_| TcpListener::bind("127.0.0.1:0"))
            .collect::<std::io::Result<Vec<_>>>()?;
        let ports = listeners
            .iter()
            .map(|l| l.local_addr().map(|a| a.port()))
            .collect::<std::io::Result<Vec<_>>>()?;
        drop(listeners);
        // Member i's own address, client port, quorum port and election port.
        let own = |i: usize| -> (IpAddr, u16, u16, u16) {
            match net {
                Some(net) => (
                    IpAddr::V4(net.server_ip(i)),
                    CLIENT_PORT,
                    PEER_PORTS[0],
                    PEER_PORTS[1],
                ),
                None => (
                    IpAddr::from([127, 0, 0, 1]),
                    ports[3 * i],
                    ports[3 * i + 1],
                    ports[3 * i + 2],
                ),
            }
        };
        // Built first, so that a failure half-way unmounts what was mounted (Drop).
        let mut cluster = Cluster {
            members: Vec::new(),
            binary: std::env::current_exe().context("cannot find this rzk binary")?,
            plant: plant.map(str::to_owned),
        };
        for i in 0..n {
            let dir = workdir.join(format!("s{}", i + 1));
            std::fs::create_dir_all(&dir)?;
            let disk = match net {
                Some(_) => {
                    let mount = dir.join("disk");
                    std::fs::create_dir_all(&mount)?;
                    let status = Command::new("mount")
                        .args(["-t", "tmpfs", "-o", &format!("size={DISK_MB}m"), "tmpfs"])
                        .arg(&mount)
                        .status()
                        .context("cannot run mount")?;
                    if !status.success() {
                        bail!("cannot mount a tmpfs at {}", mount.display());
                    }
                    Some(mount)
                }
                None => None,
            };
            let data = disk.as_ref().unwrap_or(&dir).join("data");
            std::fs::create_dir_all(&data)?;
            std::fs::write(data.join("myid"), format!("{}\n", i + 1))?;
            let servers: String = if n > 1 {
                (0..n)
                    .map(|j| {
                        let (host, _, q, e) = own(j);
                        let host = match net {
                            Some(net) if j != i => IpAddr::V4(net.proxy_ip(j)),
                            _ => host,
                        };
                        format!("server.{}={host}:{q}:{e}\n", j + 1)
                    })
                    .collect()
            } else {
                String::new()
            };
            let (host, client_port, _, _) = own(i);
            std::fs::write(
                dir.join("zoo.cfg"),
                format!(
                    "tickTime=200\ninitLimit=10\nsyncLimit=5\nminSessionTimeout=400\nmaxSessionTimeout=30000\n\
                     dataDir={}\nclientPort={client_port}\nclientPortAddress={host}\n4lw.commands.whitelist=*\n\
                     admin.enableServer=false\nsnapCount=500\npreAllocSize=64\n\
                     extendedTypesEnabled=true\nznode.container.checkIntervalMs=1000\n\
                     rzk.recordDir={}\nrzk.recordMaxMB=512\nrzk.recordSegmentMB=8\n{servers}",
                    data.display(),
                    dir.join("rec").display(),
                ),
            )?;
            cluster.members.push(Member {
                dir,
                client: SocketAddr::new(host, client_port),
                ns: net.map(|net| net.ns(i)),
                disk,
                child: None,
                starts: 0,
                journal_read: 0,
                leads: false,
            });
        }
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
        m.journal_read = 0;
        m.leads = false;
        let log = std::fs::File::create(m.dir.join(format!("server-{}.log", m.starts)))?;
        let mut command = match &m.ns {
            Some(ns) => {
                // `ip netns exec` execs the server in place: the child's pid is the server's.
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        if let Some(bugs) = plant {
            command.env("RZK_TEST_PLANT", bugs);
        }
        // SAFETY: the closure runs in the forked child before exec and only calls prctl(2), which is
        // async-signal-safe: the server dies with the harness, even if the harness is killed.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command
            .arg("server")
            .arg(m.dir.join("zoo.cfg"))
            .env(
                "RZK_TEST_JOURNAL",
                m.dir.join(format!("journal-{}.jsonl", m.starts)),
            )
            .env(rzk_io_mio::FAULTS_ENV, m.dir.join("faults"))
            .env(
                "RUST_LOG",
                std::env::var("RZK_CHAOS_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start rzk server")?;
        m.child = Some(child);
        Ok(())
    }

    /// Sets member `i`'s injected clock offset and fsync delay (read by the server within 50 ms).
    pub fn set_faults(&self, i: usize, clock_offset_ms: i64, fsync_delay_ms: u64) -> Result<()> {
        let dir = &self.members[i].dir;
        let tmp = dir.join("faults.new");
        std::fs::write(
            &tmp,
            format!("clock_offset_ms={clock_offset_ms}\nfsync_delay_ms={fsync_delay_ms}\n"),
        )?;
        // Renamed into place: the server never reads half a file.
        std::fs::rename(&tmp, dir.join("faults"))?;
        Ok(())
    }

    /// Whether member `i`'s process ended without the harness stopping it (and reaps it).
    pub fn exited(&mut self, i: usize) -> Option<std::process::ExitStatus> {
        let m = &mut self.members[i];
        let status = m.child.as_mut()?.try_wait().ok()??;
        m.child = None;
        Some(status)
    }

    /// The member that last said, in its journal, that it leads an established epoch (and still runs).
    pub fn leader(&mut self) -> Option<usize> {
        for m in &mut self.members {
            let path = m.dir.join(format!("journal-{}.jsonl", m.starts));
            let Ok(mut f) = std::fs::File::open(&path) else {
                continue;
            };
            let mut text = String::new();
            if f.seek(SeekFrom::Start(m.journal_read)).is_err()
                || f.read_to_string(&mut text).is_err()
            {
                continue;
            }
            // Only whole lines; a line being written is read next time.
            let whole = text.rfind('\n').map_or(0, |p| p + 1);
            m.journal_read += whole as u64;
            for line in text[..whole].lines().filter(|l| l.contains("\"leading\"")) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
                    m.leads = !v["epoch"].is_null();
                }
            }
        }
        self.members
            .iter()
            .position(|m| m.leads && m.child.is_some())
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

    /// Stops every member: SIGTERM, then up to [`STOP_WAIT`] for it to exit, then kill -9. Returns the
    /// members that did not stop on SIGTERM in time (a violation: `rzk stop` and systemd rely on it).
    pub fn stop_all(&mut self) -> Vec<String> {
        let mut stuck = Vec::new();
        for (i, m) in self.members.iter_mut().enumerate() {
            let Some(mut child) = m.child.take() else {
                continue;
            };
            // SAFETY: kill(2) on the pid of a child this process started and has not reaped.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + STOP_WAIT;
            while matches!(child.try_wait(), Ok(None)) {
                if Instant::now() > deadline {
                    stuck.push(format!(
                        "stop: server {} did not exit within {} s of SIGTERM",
                        i + 1,
                        STOP_WAIT.as_secs()
                    ));
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        stuck
    }

    /// Every member's journals (every incarnation) merged: the committed history, when each txn was first
    /// journaled, the leadership changes (servers numbered from 0, as the checkers number them) and any
    /// disagreement between members.
    pub fn journals(&self) -> Result<rzk_check::Journals> {
        let mut journals = rzk_check::Journals::default();
        for (i, m) in self.members.iter().enumerate() {
            for start in 1..=m.starts {
                let path = m.dir.join(format!("journal-{start}.jsonl"));
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                journals
                    .add(i, &text)
                    .with_context(|| path.display().to_string())?;
            }
        }
        journals.leading.sort();
        Ok(journals)
    }

    /// What an operator's zkCleanup.sh cron job does, on every member while it runs: keeps the newest three
    /// snapshots and the logs they need (rzk's autopurge rules; autopurge itself counts in hours). Without
    /// it a five-minute run of five servers fills its 256 MB tmpfs data directories with snapshots.
    pub fn purge(&self) {
        use rzk_io_mio::storage::{purge, FsDir};
        for m in &self.members {
            let dir = FsDir::new(m.disk.as_ref().unwrap_or(&m.dir).join("data").join("rzk"));
            purge(&dir, &dir, 3);
        }
    }

    /// Each member's flight recording (`rzk.recordDir`, on the real disk beside its logs: a full data disk
    /// must not stop the recording).
    pub fn recordings(&self) -> Vec<std::path::PathBuf> {
        self.members.iter().map(|m| m.dir.join("rec")).collect()
    }

    /// Copies each member's tmpfs data directory next to its logs, before the tmpfs goes with the run.
    pub fn keep_data(&self) {
        for m in &self.members {
            if let Some(disk) = &m.disk {
                let _ = Command::new("cp")
                    .arg("-a")
                    .arg(disk.join("data"))
                    .arg(m.dir.join("data"))
                    .status();
            }
        }
    }

    /// Each member's tree as its data directory holds it (recovered from a copy in memory, nothing changed).
    pub fn trees(&self) -> Vec<Option<rzk_core::tree::DataTree>> {
        use rzk_io_mio::storage::{recover, Dir, FsDir, MemDir};
        self.members
            .iter()
            .map(|m| {
                let dir = FsDir::new(m.disk.as_ref().unwrap_or(&m.dir).join("data").join("rzk"));
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
            if let Some(disk) = &m.disk {
                let _ = Command::new("umount").arg("-l").arg(disk).status();
            }
        }
    }
}
