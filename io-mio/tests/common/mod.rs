//! Test harness: runs a server with a fake machine on a thread, and blocking clients with timeouts (the
//! timeouts only stop a broken test from hanging; no assertion depends on timing).

#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rzk_io_mio::{Machine, Server, ServerOptions, Shutdown};

/// Long enough never to trigger on a loaded machine; only a hang reaches it.
pub const FAILSAFE: Duration = Duration::from_secs(30);

pub struct Running {
    pub addr: SocketAddr,
    shutdown: Shutdown,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Running {
    /// Asks the server to stop and returns what `run` returned.
    pub fn stop(mut self) -> io::Result<()> {
        self.shutdown.shutdown()?;
        self.thread
            .take()
            .expect("joined once")
            .join()
            .expect("server thread panicked")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = self.shutdown.shutdown();
            let _ = thread.join();
        }
    }
}

pub fn start<M: Machine + Send + 'static>(machine: M, options: ServerOptions) -> Running {
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), options).expect("bind");
    let addr = server.local_addr().expect("local addr");
    let shutdown = server.shutdown_handle();
    let thread = std::thread::spawn(move || server.run(machine));
    Running {
        addr,
        shutdown,
        thread: Some(thread),
    }
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(FAILSAFE)).unwrap();
    stream.set_write_timeout(Some(FAILSAFE)).unwrap();
    stream
}

pub fn read_exactly(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf).expect("read_exact");
    buf
}

/// Reads until EOF or an error (a reset also ends the stream); returns the bytes and the error, if any.
pub fn read_to_end(stream: &mut TcpStream) -> (Vec<u8>, Option<io::Error>) {
    let mut all = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (all, None),
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                assert!(
                    !matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ),
                    "read timed out: the server hung"
                );
                return (all, Some(e));
            }
        }
    }
}

pub fn send(stream: &mut TcpStream, bytes: &[u8]) {
    stream.write_all(bytes).expect("write");
}

/// Waits until `cond` holds (polling), failing the test if it never does.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < FAILSAFE, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What a fake machine saw, shared with the test.
#[derive(Debug, Default)]
pub struct Seen {
    pub opened: u64,
    pub closed: u64,
    pub host_metrics: Option<(u64, u64)>,
    /// Something the driver must never do happened (the message says what).
    pub violations: Vec<String>,
}

pub type Shared = Arc<Mutex<Seen>>;

pub fn shared() -> Shared {
    Arc::new(Mutex::new(Seen::default()))
}

pub mod line_machine;
pub mod peer_machine;
