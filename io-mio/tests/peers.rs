//! The peer transport between drivers in one process, on loopback, with a fake machine (see
//! `common/peer_machine.rs`).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

use common::peer_machine::{PeerLog, PeerMachine, SharedLog};
use common::*;
use rzk_core::peer::ServerId;
use rzk_io_mio::peer::wire::{encode_frame, Hello, PortKind};
use rzk_io_mio::storage::StorageOptions;
use rzk_io_mio::{EnsembleOptions, PeerAddress, PeerLimits, ServerOptions};

/// Free loopback ports for `n` servers (quorum, election each).
/// Peer ports for a test, below the kernel's ephemeral range (32768 and up): a port picked with bind(0) and
/// released could be taken as the source port of any outgoing connection before the server binds it again
/// (seen in CI as AddrInUse). Each process starts at its own offset; each candidate is checked free.
fn free_port() -> SocketAddr {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20_000 + (std::process::id() % 100) as u16 * 20;
    loop {
        let offset = NEXT.fetch_add(1, Ordering::Relaxed) % 10_000;
        let addr: SocketAddr = ([127, 0, 0, 1], base + offset).into();
        if TcpListener::bind(addr).is_ok() {
            return addr;
        }
    }
}

fn ports(n: usize) -> Vec<PeerAddress> {
    let free = free_port;
    (1..=n as ServerId)
        .map(|id| PeerAddress {
            host: "127.0.0.1".into(),
            id,
            quorum: free(),
            election: free(),
        })
        .collect()
}

fn ensemble(all: &[PeerAddress], me: ServerId) -> EnsembleOptions {
    let own = all.iter().find(|p| p.id == me).unwrap();
    EnsembleOptions {
        tls: None,
        my_id: me,
        quorum_listen: own.quorum,
        election_listen: own.election,
        peers: all.iter().filter(|p| p.id != me).cloned().collect(),
        limits: PeerLimits::default(),
    }
}

struct Node {
    server: Running,
    log: SharedLog,
}

fn start_node(all: &[PeerAddress], me: ServerId) -> Node {
    let log = SharedLog::default();
    let options = ServerOptions {
        max_client_cnxns: 0,
        ensemble: Some(ensemble(all, me)),
        ..ServerOptions::default()
    };
    let server = start(PeerMachine::new(log.clone(), None), options);
    Node { server, log }
}

fn command(addr: SocketAddr, line: &str) {
    let mut client = connect(addr);
    send(&mut client, format!("{line}\n").as_bytes());
    assert_eq!(read_exactly(&mut client, 3), b"ok\n");
}

fn with_log<T>(node: &Node, f: impl FnOnce(&PeerLog) -> T) -> T {
    f(&node.log.lock().unwrap())
}

fn assert_no_violations(node: &Node) {
    with_log(node, |l| {
        assert!(l.violations.is_empty(), "{:?}", l.violations)
    });
}

fn wait_connected(node: &Node, peer: ServerId, times: usize) {
    wait_until(&format!("link to {peer} up {times} time(s)"), || {
        with_log(node, |l| l.connected(peer) >= times)
    });
}

#[test]
fn three_servers_link_up_and_messages_arrive_in_order_per_port() {
    let all = ports(3);
    let nodes: Vec<Node> = (1..=3).map(|id| start_node(&all, id)).collect();
    for (i, node) in nodes.iter().enumerate() {
        for peer in (1..=3).filter(|&p| p != i as u64 + 1) {
            wait_connected(node, peer, 1);
        }
    }
    command(nodes[0].server.addr, "send 2 500");
    command(nodes[2].server.addr, "send 2 300");
    command(nodes[1].server.addr, "send 1 200");
    let expect = |n: u64| {
        (
            (1..=n as i64).collect::<Vec<_>>(),
            (1..=n).collect::<Vec<_>>(),
        )
    };
    wait_until("all messages delivered", || {
        with_log(&nodes[1], |l| {
            l.received(1) == expect(500) && l.received(3) == expect(300)
        }) && with_log(&nodes[0], |l| l.received(2) == expect(200))
    });
    for node in &nodes {
        assert_no_violations(node);
        with_log(node, |l| {
            assert!(l
                .events
                .iter()
                .all(|e| !matches!(e, common::peer_machine::PeerEvent::Disconnected(_))))
        });
    }
}

#[test]
fn a_restarted_server_reconnects_and_both_sides_see_the_link_again() {
    let all = ports(2);
    let one = start_node(&all, 1);
    let two = start_node(&all, 2);
    wait_connected(&one, 2, 1);
    wait_connected(&two, 1, 1);
    two.server.stop().unwrap();
    wait_until("server 1 sees the link drop", || {
        with_log(&one, |l| l.disconnected(2) == 1)
    });
    // The same ports again: the restarted server dials 1, and 1 keeps nudging until it does.
    let two = start_node(&all, 2);
    wait_connected(&one, 2, 2);
    wait_connected(&two, 1, 1);
    command(one.server.addr, "send 2 10");
    wait_until("messages over the new link", || {
        with_log(&two, |l| l.received(1).0 == (1..=10).collect::<Vec<i64>>())
    });
    assert_no_violations(&one);
    assert_no_violations(&two);
}

/// Established TCP connections whose accepting end is `port` on loopback (from /proc/net/tcp).
fn accepted_on(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let local_port = cols
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            cols.get(3) == Some(&"01") && local_port == Some(port)
        })
        .count()
}

#[test]
fn both_servers_dialing_at_once_leaves_one_connection_per_port_dialed_by_the_larger_id() {
    let all = ports(2);
    // Started together: both dial each other right away.
    let (one, two) = std::thread::scope(|s| {
        let a = s.spawn(|| start_node(&all, 1));
        let b = s.spawn(|| start_node(&all, 2));
        (a.join().unwrap(), b.join().unwrap())
    });
    wait_connected(&one, 2, 1);
    wait_connected(&two, 1, 1);
    // Server 2's dials to server 1 are the links; server 1's dials were only nudges, closed by 2.
    wait_until(
        "exactly one connection per port, accepted by server 1",
        || {
            accepted_on(all[0].quorum.port()) == 1
                && accepted_on(all[0].election.port()) == 1
                && accepted_on(all[1].quorum.port()) == 0
                && accepted_on(all[1].election.port()) == 0
        },
    );
    command(one.server.addr, "send 2 5");
    wait_until("delivered", || {
        with_log(&two, |l| l.received(1).0.len() == 5)
    });
    assert_eq!(
        with_log(&one, |l| (l.connected(2), l.disconnected(2))),
        (1, 0)
    );
    assert_eq!(
        with_log(&two, |l| (l.connected(1), l.disconnected(1))),
        (1, 0)
    );
    assert_no_violations(&one);
    assert_no_violations(&two);
}

/// Sends `bytes` on a fresh connection and expects the server to close it.
fn is_closed_after(addr: SocketAddr, bytes: &[u8]) {
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(FAILSAFE)).unwrap();
    // The server may close before reading everything: a failed write is fine.
    let _ = raw.write_all(bytes);
    let mut buf = [0u8; 64];
    // EOF or a reset: closed. Bytes would be an answer to garbage; a timeout (FAILSAFE) means it hung.
    match raw.read(&mut buf) {
        Ok(0) => {}
        Ok(_) => panic!("the server answered garbage"),
        Err(e) => assert!(
            !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "the server never closed the connection"
        ),
    }
}

#[test]
fn garbage_and_oversized_frames_close_only_their_connection() {
    // Three servers configured, two running: the raw sockets may claim to be server 3.
    let all = ports(3);
    let one = start_node(&all, 1);
    let two = start_node(&all, 2);
    wait_connected(&one, 2, 1);
    wait_connected(&two, 1, 1);
    let (quorum, election) = (all[0].quorum, all[0].election);
    // A length beyond the quorum limit, refused from its 4 length bytes.
    is_closed_after(quorum, &u32::MAX.to_le_bytes());
    // Beyond the election port's 64 KiB.
    is_closed_after(election, &((64 << 10) + 1u32).to_le_bytes());
    // Not our protocol at all.
    is_closed_after(quorum, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    // A good hello from "server 3", then a frame whose checksum is wrong.
    let hello = encode_frame(&Hello::new(3, PortKind::Quorum), 1 << 10).unwrap();
    let mut bytes = hello.to_vec();
    let mut bad = encode_frame(&Hello::new(3, PortKind::Quorum), 1 << 10)
        .unwrap()
        .to_vec();
    bad[9] ^= 0xff;
    let mut raw = TcpStream::connect(quorum).unwrap();
    raw.set_read_timeout(Some(FAILSAFE)).unwrap();
    raw.write_all(&bytes).unwrap();
    // Accepted: server 1 answers with its own hello.
    let mut answer = vec![0u8; hello.len()];
    raw.read_exact(&mut answer).unwrap();
    raw.write_all(&bad).unwrap();
    let mut rest = Vec::new();
    if let Err(e) = raw.read_to_end(&mut rest) {
        assert_ne!(e.kind(), std::io::ErrorKind::WouldBlock, "never closed");
    }
    // A hello on the wrong port.
    bytes = encode_frame(&Hello::new(3, PortKind::Election), 1 << 10)
        .unwrap()
        .to_vec();
    is_closed_after(quorum, &bytes);
    // The real link never noticed.
    command(one.server.addr, "send 2 20");
    command(two.server.addr, "send 1 20");
    wait_until("messages still flow both ways", || {
        with_log(&two, |l| l.received(1).0.len() == 20)
            && with_log(&one, |l| l.received(2).0.len() == 20)
    });
    assert_eq!(
        with_log(&one, |l| (l.connected(2), l.disconnected(2))),
        (1, 0)
    );
    assert_eq!(
        with_log(&one, |l| l.connected(3)),
        0,
        "3 never had a whole link"
    );
    assert_no_violations(&one);
    assert_no_violations(&two);
}

#[test]
fn epochs_and_truncate_are_on_disk_once_reported_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let storage = StorageOptions::new(dir.path(), dir.path());
    storage.create_dirs().unwrap();
    let log = SharedLog::default();
    let options = ServerOptions {
        max_client_cnxns: 0,
        storage: Some(storage.clone()),
        ..ServerOptions::default()
    };
    let server = start(
        PeerMachine::new(log.clone(), Some(storage.clone())),
        options,
    );
    // Each check runs when the driver reports its op durable (`Input::Persisted`), which happens in the
    // turn that carried it out, before the command's "ok" is flushed.
    command(server.addr, "epochs 3 2");
    command(server.addr, "epochs 5 5");
    command(server.addr, "append 30");
    command(server.addr, "truncate 12");
    command(server.addr, "append 3");
    command(server.addr, "epochs 6 5");
    server.stop().unwrap();
    let seen = log.lock().unwrap();
    assert!(seen.violations.is_empty(), "{:?}", seen.violations);
    assert_eq!(seen.checked, 4, "every op was reported durable");
    drop(seen);
    let r = storage.recover().unwrap();
    assert_eq!(
        (r.recovered.accepted_epoch, r.recovered.current_epoch),
        (6, 5)
    );
    assert_eq!(r.report.last_zxid, 15);
}
