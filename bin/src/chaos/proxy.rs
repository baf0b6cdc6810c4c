//! The peer proxy of a chaos run: a user-space relay in front of every server's quorum and election ports
//! (this kernel has no `tc netem`, and there is no iptables), through which every server-to-server TCP
//! connection passes. It can delay what one server sends another and stall one direction of a pair while
//! the other keeps flowing (one-way loss as TCP shows it to the application: nothing arrives, nothing
//! breaks, and it all arrives once the loss ends), and reset a pair's connections. A connection's two
//! directions are told apart by its ends: the dialer (known by its source address) and the server it dials.
//!
//! One thread, one mio poll; every connection is retried on every wake-up (at most [`TICK`] apart), which
//! keeps the delays' release times and a stall's end simple to honour for the few connections an ensemble has.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use super::netns::Net;

const TICK: Duration = Duration::from_millis(5);
/// Bytes held per direction before the proxy stops reading (TCP's flow control then holds the sender).
const MAX_HELD: usize = 4 << 20;

/// What the nemesis asks of the proxy; directions are (from server, to server), 0-based.
#[derive(Default)]
pub struct Faults {
    pub delay_ms: BTreeMap<(usize, usize), u64>,
    pub stalled: BTreeSet<(usize, usize)>,
    /// Pairs whose connections are to be reset (taken and done by the proxy).
    pub reset: Vec<(usize, usize)>,
}

pub struct Proxy {
    pub faults: Arc<Mutex<Faults>>,
    /// Why the relay thread stopped before it was asked to, if it did.
    failed: Arc<Mutex<Option<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// One direction of a relayed connection.
struct Flow {
    from: usize,
    to: usize,
    held: VecDeque<(Instant, Vec<u8>)>,
    bytes: usize,
}

struct Relay {
    dialer: TcpStream,
    target: TcpStream,
    /// dialer -> target, and target -> dialer.
    flows: [Flow; 2],
}

impl Proxy {
    /// Listens at every server's proxy address on `ports` and relays to the server's own address.
    pub fn start(net: &Net, n: usize, ports: &[u16]) -> Result<Proxy> {
        let mut listeners = Vec::new();
        for j in 0..n {
            for &port in ports {
                let at = SocketAddr::new(IpAddr::V4(net.proxy_ip(j)), port);
                let l = TcpListener::bind(at)
                    .with_context(|| format!("proxy cannot listen at {at}"))?;
                let to = SocketAddr::new(IpAddr::V4(net.server_ip(j)), port);
                listeners.push((l, j, to));
            }
        }
        let servers: Vec<IpAddr> = (0..n).map(|i| IpAddr::V4(net.server_ip(i))).collect();
        let faults = Arc::new(Mutex::new(Faults::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let failed = Arc::new(Mutex::new(None));
        let (f, s, fail) = (Arc::clone(&faults), Arc::clone(&stop), Arc::clone(&failed));
        let thread = std::thread::Builder::new()
            .name("chaos-proxy".into())
            .spawn(move || {
                if let Err(e) = relay_loop(listeners, servers, &f, &s) {
                    eprintln!("rzk chaos: the peer proxy stopped: {e:#}");
                    if let Ok(mut fail) = fail.lock() {
                        *fail = Some(format!("{e:#}"));
                    }
                }
            })?;
        Ok(Proxy {
            faults,
            failed,
            stop,
            thread: Some(thread),
        })
    }

    /// Why the proxy stopped relaying, if it did (the run then tested nothing it meant to).
    pub fn failure(&self) -> Option<String> {
        self.failed.lock().ok().and_then(|f| f.clone())
    }

    pub fn set(&self, change: impl FnOnce(&mut Faults)) {
        if let Ok(mut f) = self.faults.lock() {
            change(&mut f);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn relay_loop(
    mut listeners: Vec<(TcpListener, usize, SocketAddr)>,
    servers: Vec<IpAddr>,
    faults: &Mutex<Faults>,
    stop: &AtomicBool,
) -> Result<()> {
    let mut poll = Poll::new()?;
    for (k, (l, _, _)) in listeners.iter_mut().enumerate() {
        poll.registry()
            .register(l, Token(usize::MAX - k), Interest::READABLE)?;
    }
    let mut relays: BTreeMap<usize, Relay> = BTreeMap::new();
    let mut next = 0usize;
    let mut events = Events::with_capacity(256);
    while !stop.load(Ordering::Relaxed) {
        match poll.poll(&mut events, Some(TICK)) {
            Ok(()) => {}
            // A signal (the harness's child processes come and go): not an error.
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
        for (l, to_server, to) in &listeners {
            while let Ok((dialer, from)) = l.accept() {
                let Some(from_server) = servers.iter().position(|s| *s == from.ip()) else {
                    continue;
                };
                let Ok(target) = TcpStream::connect(*to) else {
                    continue;
                };
                let mut relay = Relay {
                    dialer,
                    target,
                    flows: [
                        Flow::new(from_server, *to_server),
                        Flow::new(*to_server, from_server),
                    ],
                };
                let id = next;
                next += 2;
                let r = poll.registry();
                r.register(
                    &mut relay.dialer,
                    Token(id),
                    Interest::READABLE | Interest::WRITABLE,
                )?;
                r.register(
                    &mut relay.target,
                    Token(id + 1),
                    Interest::READABLE | Interest::WRITABLE,
                )?;
                relays.insert(id, relay);
            }
        }
        let (delays, stalled, resets) = match faults.lock() {
            Ok(mut f) => (
                f.delay_ms.clone(),
                f.stalled.clone(),
                std::mem::take(&mut f.reset),
            ),
            Err(_) => break,
        };
        let now = Instant::now();
        let mut closed = Vec::new();
        for (&id, relay) in relays.iter_mut() {
            let pair = (relay.flows[0].from, relay.flows[0].to);
            let reset = resets
                .iter()
                .any(|&(a, b)| (a, b) == pair || (b, a) == pair);
            if reset || !relay.pump(now, &delays, &stalled) {
                let _ = poll.registry().deregister(&mut relay.dialer);
                let _ = poll.registry().deregister(&mut relay.target);
                closed.push(id);
            }
        }
        for id in closed {
            // Dropping both sockets closes them; with nothing unread that is a FIN, which the servers
            // treat like any broken peer connection.
            relays.remove(&id);
        }
    }
    Ok(())
}

impl Flow {
    fn new(from: usize, to: usize) -> Flow {
        Flow {
            from,
            to,
            held: VecDeque::new(),
            bytes: 0,
        }
    }
}

impl Relay {
    /// Moves what it may in both directions; false when the connection is over.
    fn pump(
        &mut self,
        now: Instant,
        delays: &BTreeMap<(usize, usize), u64>,
        stalled: &BTreeSet<(usize, usize)>,
    ) -> bool {
        let [down, up] = &mut self.flows;
        move_bytes(
            &mut self.dialer,
            &mut self.target,
            down,
            now,
            delays,
            stalled,
        ) && move_bytes(&mut self.target, &mut self.dialer, up, now, delays, stalled)
    }
}

/// Reads from `src` into the flow (with its release time) and writes what is due to `dst`; false when a
/// side closed or failed. A stalled direction neither reads nor writes.
fn move_bytes(
    src: &mut TcpStream,
    dst: &mut TcpStream,
    flow: &mut Flow,
    now: Instant,
    delays: &BTreeMap<(usize, usize), u64>,
    stalled: &BTreeSet<(usize, usize)>,
) -> bool {
    if stalled.contains(&(flow.from, flow.to)) {
        return true;
    }
    let delay = Duration::from_millis(delays.get(&(flow.from, flow.to)).copied().unwrap_or(0));
    let mut buf = [0u8; 16 * 1024];
    while flow.bytes < MAX_HELD {
        match src.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => {
                // Never before what was read earlier: a TCP stream stays in order.
                let release = flow
                    .held
                    .back()
                    .map_or(now + delay, |(t, _)| (*t).max(now + delay));
                flow.held.push_back((release, buf[..n].to_vec()));
                flow.bytes += n;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::NotConnected => break,
            Err(_) => return false,
        }
    }
    while let Some((release, chunk)) = flow.held.front_mut() {
        if *release > now {
            break;
        }
        match dst.write(chunk) {
            Ok(n) if n == chunk.len() => {
                flow.bytes -= n;
                flow.held.pop_front();
            }
            Ok(n) => {
                flow.bytes -= n;
                chunk.drain(..n);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::NotConnected => {
                break
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
    true
}
