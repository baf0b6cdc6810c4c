//! Durability of the real `rzk server` binary: concurrent writers, SIGKILL at seeded random moments, restart,
//! and every acknowledged write must still be there (same data, same version); sequential names never
//! repeat; sessions survive a quick restart.
//!
//! Builds the binary with `cargo build -p rzk` if `target/debug/rzk` is missing. The seed of the kill
//! schedule is `RZK_DURABILITY_SEED` (default fixed), printed so a failure can be replayed.

use rzk_core::Data;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rzk_core::proto::client::{
    decode_connect_response, decode_reply, frame_connect, frame_request, peek_xid,
};
use rzk_core::proto::records::{
    Acl, ConnectRequest, CreateRequest, GetDataRequest, Id, SetDataRequest,
};
use rzk_core::proto::request::{Request, RequestBody};
use rzk_core::proto::response::ResponseBody;
use rzk_core::proto::OpCode;

const ROUNDS: usize = 5;
const WRITERS: usize = 4;
const SESSION_TIMEOUT_MS: i32 = 30_000;
const NO_NODE: i32 = -101;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rzk_binary() -> PathBuf {
    let bin = workspace_root().join("target/debug/rzk");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "rzk"])
            .current_dir(workspace_root())
            .status()
            .expect("run cargo build -p rzk");
        assert!(status.success(), "cargo build -p rzk failed");
    }
    bin
}

/// A small deterministic PRNG (xorshift64*) for the kill schedule.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// An `rzk server` process on a temporary data dir.
struct ServerProcess {
    child: Option<Child>,
    addr: SocketAddr,
    dir: PathBuf,
    starts: usize,
    /// Another build of the binary (default: the debug one).
    binary: Option<PathBuf>,
}

impl ServerProcess {
    fn new(dir: &Path) -> ServerProcess {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cfg = format!(
            "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
             snapCount=400\npreAllocSize=64\nmaxClientCnxns=0\n",
            dir.join("data").display()
        );
        std::fs::write(dir.join("zoo.cfg"), cfg).unwrap();
        ServerProcess {
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir: dir.to_path_buf(),
            starts: 0,
            binary: None,
        }
    }

    /// Starts the server and waits until it accepts a session.
    fn start(&mut self) {
        self.starts += 1;
        let log =
            std::fs::File::create(self.dir.join(format!("server-{}.log", self.starts))).unwrap();
        let binary = self.binary.clone().unwrap_or_else(rzk_binary);
        let child = Command::new(binary)
            .arg("server")
            .arg(self.dir.join("zoo.cfg"))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start rzk server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "server exited with {status} at start {}; see {}",
                    self.starts,
                    self.log_path().display()
                );
            }
            if Client::connect(self.addr, None).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "server did not come back; see {}",
                self.log_path().display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join(format!("server-{}.log", self.starts))
    }

    /// SIGKILL: no chance to flush anything.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A blocking client speaking the ZooKeeper protocol through rzk_core's client codec.
struct Client {
    stream: TcpStream,
    xid: i32,
    session_id: i64,
    passwd: Bytes,
}

impl Client {
    /// Opens a new session, or resumes `(session id, password)`.
    fn connect(addr: SocketAddr, resume: Option<(i64, Bytes)>) -> io::Result<Client> {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        stream.set_nodelay(true)?;
        let (session_id, passwd) = resume.unwrap_or((0, Bytes::from_static(&[0; 16])));
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: SESSION_TIMEOUT_MS,
            session_id,
            passwd,
            read_only: false,
        };
        stream.write_all(&frame_connect(&req))?;
        let resp = decode_connect_response(read_frame(&mut stream)?)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{e:?}")))?;
        if resp.session_id == 0 {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "session expired",
            ));
        }
        Ok(Client {
            stream,
            xid: 0,
            session_id: resp.session_id,
            passwd: resp.passwd,
        })
    }

    /// Sends one request and waits for its reply: (zxid, error code, body).
    fn call(&mut self, op: OpCode, body: RequestBody) -> io::Result<(i64, i32, ResponseBody)> {
        self.xid += 1;
        let req = Request {
            xid: self.xid,
            op,
            body,
        };
        self.stream.write_all(&frame_request(&req))?;
        loop {
            let frame = read_frame(&mut self.stream)?;
            if matches!(peek_xid(&frame), Some(-1) | Some(-2)) {
                continue; // notifications and pings
            }
            let (header, body) = decode_reply(frame, op)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{e:?}")))?;
            assert_eq!(header.xid, self.xid, "replies come in request order");
            return Ok((header.zxid, header.err, body));
        }
    }

    fn create(&mut self, path: &str, data: &[u8], flags: i32) -> io::Result<Result<String, i32>> {
        let body = RequestBody::Create(CreateRequest {
            path: path.into(),
            data: Data::copy_from_slice(data),
            acl: open_acl(),
            flags,
        });
        Ok(match self.call(OpCode::Create, body)? {
            (_, 0, ResponseBody::Create(r)) => Ok(r.path),
            (_, err, _) => Err(err),
        })
    }

    /// setData with a version check; the new version on success.
    fn set(&mut self, path: &str, data: &[u8], version: i32) -> io::Result<Result<i32, i32>> {
        let body = RequestBody::SetData(SetDataRequest {
            path: path.into(),
            data: Data::copy_from_slice(data),
            version,
        });
        Ok(match self.call(OpCode::SetData, body)? {
            (_, 0, ResponseBody::SetData(r)) => Ok(r.stat.version),
            (_, err, _) => Err(err),
        })
    }

    /// (data, version), or the error code.
    fn get(&mut self, path: &str) -> io::Result<Result<(Bytes, i32), i32>> {
        let body = RequestBody::GetData(GetDataRequest {
            path: path.into(),
            watch: false,
        });
        Ok(match self.call(OpCode::GetData, body)? {
            (_, 0, ResponseBody::GetData(r)) => Ok((r.data.bytes(), r.stat.version)),
            (_, err, _) => Err(err),
        })
    }
}

fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: 31,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

fn read_frame(stream: &mut TcpStream) -> io::Result<Bytes> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > 16 << 20 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "frame too long"));
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body)?;
    Ok(Bytes::from(body))
}

/// A node's data and version.
type Versioned = (Vec<u8>, i32);

/// What the writers were told: every acknowledged write, and the one in flight when the server died.
#[derive(Default)]
struct Acked {
    /// path -> (data, version) of acknowledged creates and sets.
    nodes: BTreeMap<String, (Vec<u8>, i32)>,
    /// Sequential names acknowledged, across all rounds.
    sequential: Vec<String>,
    /// Per writer: its counter node's last acknowledged (data, version), and a set that was sent but not
    /// answered (it may or may not have been applied).
    counters: BTreeMap<usize, (Versioned, Option<Vec<u8>>)>,
    writes: usize,
}

/// One writer: until its connection dies, creates a node, bumps its counter node with a versioned set and
/// creates a sequential node, recording every reply.
fn writer(addr: SocketAddr, id: usize, round: usize, acked: Arc<Mutex<Acked>>) {
    let Ok(mut c) = Client::connect(addr, None) else {
        return;
    };
    let counter = format!("/counter/w{id}");
    let mut n = 0usize;
    loop {
        n += 1;
        let path = format!("/k/r{round}-w{id}-{n}");
        let data = format!("{path} data").into_bytes();
        match c.create(&path, &data, 0) {
            Ok(Ok(_)) => {
                let mut a = acked.lock().unwrap();
                a.nodes.insert(path, (data, 0));
                a.writes += 1;
            }
            Ok(Err(err)) => panic!("create {path} failed with {err}"),
            Err(_) => return,
        }
        let version = acked.lock().unwrap().counters[&id].0 .1;
        let value = format!("w{id} r{round} n{n}").into_bytes();
        acked.lock().unwrap().counters.get_mut(&id).unwrap().1 = Some(value.clone());
        match c.set(&counter, &value, version) {
            Ok(Ok(v)) => {
                assert_eq!(v, version + 1);
                let mut a = acked.lock().unwrap();
                a.counters.insert(id, ((value, v), None));
                a.writes += 1;
            }
            Ok(Err(err)) => panic!("set {counter} failed with {err}"),
            Err(_) => return,
        }
        match c.create("/seq/s-", b"", 2) {
            Ok(Ok(name)) => {
                let mut a = acked.lock().unwrap();
                a.sequential.push(name);
                a.writes += 1;
            }
            Ok(Err(err)) => panic!("sequential create failed with {err}"),
            Err(_) => return,
        }
    }
}

/// Checks every acknowledged write after a restart, and settles each counter's unanswered set.
fn check_acked(addr: SocketAddr, acked: &mut Acked) {
    let mut c = Client::connect(addr, None).expect("connect after restart");
    for (path, (data, version)) in &acked.nodes {
        let got = c.get(path).unwrap();
        assert_eq!(
            got,
            Ok((Bytes::from(data.clone()), *version)),
            "acknowledged {path}"
        );
    }
    let mut seen = BTreeSet::new();
    for name in &acked.sequential {
        assert!(
            seen.insert(name.clone()),
            "sequential name {name} handed out twice"
        );
        assert!(c.get(name).unwrap().is_ok(), "acknowledged {name} is gone");
    }
    for (id, ((data, version), maybe)) in acked.counters.iter_mut() {
        let path = format!("/counter/w{id}");
        let (got_data, got_version) = c.get(&path).unwrap().expect("counter exists");
        if got_version == *version {
            assert_eq!(&got_data[..], &data[..], "{path} at version {version}");
        } else {
            // Only the unanswered set may have been applied on top.
            assert_eq!(got_version, *version + 1, "{path}");
            assert_eq!(Some(got_data.to_vec()), maybe.clone(), "{path}");
            *data = got_data.to_vec();
            *version = got_version;
        }
        *maybe = None;
    }
}

#[test]
fn acknowledged_writes_survive_kill_9_at_random_moments() {
    let seed: u64 = std::env::var("RZK_DURABILITY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234);
    println!("kill schedule seed {seed} (replay with RZK_DURABILITY_SEED={seed})");
    let mut rng = Rng(seed | 1);
    let dir = tempdir("kill9");
    let mut server = ServerProcess::new(&dir);
    server.start();
    let mut acked = Acked::default();
    {
        let mut c = Client::connect(server.addr, None).unwrap();
        for p in ["/k", "/counter", "/seq"] {
            assert_eq!(c.create(p, b"", 0).unwrap(), Ok(p.to_string()));
        }
        for id in 0..WRITERS {
            let path = format!("/counter/w{id}");
            c.create(&path, b"", 0).unwrap().unwrap();
            acked.counters.insert(id, ((Vec::new(), 0), None));
        }
    }
    let acked = Arc::new(Mutex::new(acked));
    let mut max_seq_before = String::new();
    for round in 0..ROUNDS {
        let writers: Vec<_> = (0..WRITERS)
            .map(|id| {
                let acked = Arc::clone(&acked);
                let addr = server.addr;
                std::thread::spawn(move || writer(addr, id, round, acked))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300 + rng.below(1200)));
        server.kill();
        for w in writers {
            w.join().expect("writer thread");
        }
        server.start();
        let mut a = acked.lock().unwrap();
        check_acked(server.addr, &mut a);
        // A counter never goes back: names acknowledged after a restart sort after every earlier one.
        let newest = a.sequential.iter().max().cloned().unwrap_or_default();
        assert!(newest >= max_seq_before, "sequential counter went back");
        max_seq_before = newest;
        println!(
            "round {round}: {} acknowledged writes checked after kill -9",
            a.writes
        );
    }
    let a = acked.lock().unwrap();
    assert!(a.writes > 0, "no write was ever acknowledged");
    println!(
        "{ROUNDS} rounds, {} acknowledged writes, all present",
        a.writes
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_session_and_its_ephemeral_survive_a_quick_restart() {
    let dir = tempdir("session");
    let mut server = ServerProcess::new(&dir);
    server.start();
    let mut c = Client::connect(server.addr, None).unwrap();
    assert_eq!(
        c.create("/eph", b"mine", 1).unwrap(),
        Ok("/eph".to_string())
    );
    let session = (c.session_id, c.passwd.clone());
    server.kill();
    server.start();
    let mut again =
        Client::connect(server.addr, Some(session.clone())).expect("resume the session");
    assert_eq!(again.session_id, session.0);
    assert_eq!(
        again.get("/eph").unwrap(),
        Ok((Bytes::from_static(b"mine"), 0))
    );
    // And it is still the owner: another session sees the node too.
    let mut other = Client::connect(server.addr, None).unwrap();
    assert!(other.get("/eph").unwrap().is_ok());
    assert_eq!(other.get("/nothing").unwrap(), Err(NO_NODE));
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rzk-durability-{tag}-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A load generator, not a check: `RZK_BIN=target/release/rzk cargo test -p rzk-tests --test durability
/// -- --ignored --nocapture write_throughput` prints writes/s and fsyncs/s under concurrent synchronous
/// writers (RZK_BENCH_CLIENTS, default 32; RZK_BENCH_SECS, default 10).
#[test]
#[ignore]
fn write_throughput() {
    let env_num = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let clients = env_num("RZK_BENCH_CLIENTS", 32) as usize;
    let secs = env_num("RZK_BENCH_SECS", 10);
    let dir = tempdir("bench");
    let mut server = ServerProcess::new(&dir);
    if let Ok(bin) = std::env::var("RZK_BIN") {
        server.binary = Some(PathBuf::from(bin));
    }
    server.start();
    Client::connect(server.addr, None)
        .unwrap()
        .create("/b", b"", 0)
        .unwrap()
        .unwrap();
    let stop_at = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|i| {
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut c = Client::connect(addr, None).unwrap();
                let path = format!("/b/c{i}");
                c.create(&path, b"", 0).unwrap().unwrap();
                let mut n = 1u64;
                while Instant::now() < stop_at {
                    c.set(&path, &[7u8; 100], -1).unwrap().unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let writes: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let elapsed = started.elapsed().as_secs_f64();
    let pid = server.child.as_ref().unwrap().id();
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = server.child.take().unwrap().wait().unwrap();
    assert!(status.success(), "server exit {status}");
    let log = std::fs::read_to_string(server.log_path()).unwrap();
    let totals = log
        .lines()
        .find(|l| l.contains("txn log totals"))
        .unwrap_or("")
        .to_string();
    let field = |name: &str| -> f64 {
        totals
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    println!(
        "{clients} clients, {elapsed:.1}s: {:.0} acknowledged writes/s; log: {:.0} txns/s, {:.0} fsyncs/s, {:.1} txns per fsync",
        writes as f64 / elapsed,
        field("txns") / elapsed,
        field("fsyncs") / elapsed,
        field("txns") / field("fsyncs")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
