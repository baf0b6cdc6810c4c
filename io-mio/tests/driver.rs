//! The event loop against a fake line-protocol machine (see `common/line_machine.rs`).

mod common;

use std::io::{ErrorKind, Write};
use std::net::Shutdown as SocketShutdown;
use std::os::fd::AsRawFd;
use std::time::Duration;

use common::line_machine::LineMachine;
use common::*;
use rzk_io_mio::ServerOptions;

fn options() -> ServerOptions {
    ServerOptions {
        max_client_cnxns: 0,
        ..ServerOptions::default()
    }
}

fn start_line_machine(options: ServerOptions) -> (Running, Shared) {
    let seen = shared();
    (start(LineMachine::new(seen.clone()), options), seen)
}

fn assert_no_violations(seen: &Shared) {
    let violations = &seen.lock().unwrap().violations;
    assert!(violations.is_empty(), "driver misbehaved: {violations:?}");
}

#[test]
fn echoes_bytes_back() {
    let (server, seen) = start_line_machine(options());
    let mut client = connect(server.addr);
    send(&mut client, b"hello\n");
    assert_eq!(read_exactly(&mut client, 6), b"hello\n");
    server.stop().unwrap();
    assert_eq!(seen.lock().unwrap().opened, 1);
    assert_no_violations(&seen);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (server, seen) = start_line_machine(options());
    let mut client = connect(server.addr);
    let requests: String = (0..10_000).map(|i| format!("req {i}\n")).collect();
    // Written from another thread: the replies may fill the socket buffers before all requests are sent.
    let mut writer = client.try_clone().unwrap();
    let sent = requests.clone();
    let writing = std::thread::spawn(move || writer.write_all(sent.as_bytes()).unwrap());
    let replies = read_exactly(&mut client, requests.len());
    writing.join().unwrap();
    assert_eq!(String::from_utf8(replies).unwrap(), requests);
    assert_no_violations(&seen);
}

#[test]
fn close_client_flushes_everything_queued_first() {
    let (server, seen) = start_line_machine(options());
    let mut client = connect(server.addr);
    // Far more than the socket buffers hold: the driver must wait for WRITABLE, then close.
    let size = 8 * 1024 * 1024;
    send(&mut client, format!("big {size}\nclose\n").as_bytes());
    let (bytes, error) = read_to_end(&mut client);
    assert!(error.is_none(), "expected a clean EOF, got {error:?}");
    assert_eq!(bytes.len(), size);
    // The machine let go itself: it is not told the connection closed.
    assert_eq!(seen.lock().unwrap().closed, 0);
    drop(server);
    assert_no_violations(&seen);
}

#[test]
fn close_gives_up_on_a_peer_that_does_not_read() {
    let (server, seen) = start_line_machine(ServerOptions {
        close_linger: Duration::ZERO,
        ..options()
    });
    let mut stuck = connect(server.addr);
    let size = 64 * 1024 * 1024;
    send(&mut stuck, format!("big {size}\nclose\n").as_bytes());
    // The loop is single-threaded: once another connection gets its echo, the stuck one's close (decided
    // in the same turn its request was read) has happened while nobody was reading it.
    let mut other = connect(server.addr);
    send(&mut other, b"ping\n");
    assert_eq!(read_exactly(&mut other, 5), b"ping\n");
    let (bytes, _) = read_to_end(&mut stuck);
    assert!(
        bytes.len() < size,
        "everything was sent, so nothing was cut off"
    );
    drop(server);
    assert_no_violations(&seen);
}

#[test]
fn serves_1200_concurrent_connections() {
    rzk_io_mio::raise_fd_limit().unwrap();
    let (server, seen) = start_line_machine(options());
    let mut clients: Vec<_> = (0..1200).map(|_| connect(server.addr)).collect();
    for (i, client) in clients.iter_mut().enumerate() {
        send(client, format!("client {i}\n").as_bytes());
    }
    for (i, client) in clients.iter_mut().enumerate() {
        let expected = format!("client {i}\n");
        assert_eq!(read_exactly(client, expected.len()), expected.as_bytes());
    }
    assert_eq!(seen.lock().unwrap().opened, 1200);
    drop(clients);
    wait_until("all 1200 closes reported", || {
        seen.lock().unwrap().closed == 1200
    });
    server.stop().unwrap();
    assert_no_violations(&seen);
}

#[test]
fn refuses_connections_beyond_max_client_cnxns_per_ip() {
    let (server, seen) = start_line_machine(ServerOptions {
        max_client_cnxns: 2,
        ..options()
    });
    let mut first = connect(server.addr);
    let mut second = connect(server.addr);
    for client in [&mut first, &mut second] {
        send(client, b"hi\n");
        assert_eq!(read_exactly(client, 3), b"hi\n");
    }
    let mut refused = connect(server.addr);
    let (bytes, _) = read_to_end(&mut refused);
    assert!(bytes.is_empty());
    assert_eq!(
        seen.lock().unwrap().opened,
        2,
        "the refused one never reaches the machine"
    );

    // A slot frees up once a connection is gone.
    drop(first);
    wait_until("first close reported", || seen.lock().unwrap().closed == 1);
    let mut third = connect(server.addr);
    send(&mut third, b"again\n");
    assert_eq!(read_exactly(&mut third, 6), b"again\n");
    server.stop().unwrap();
    assert_no_violations(&seen);
}

#[test]
fn read_interest_pauses_and_resumes_reading() {
    let (server, seen) = start_line_machine(options());
    let mut client = connect(server.addr);
    send(&mut client, b"pause\n");
    assert_eq!(read_exactly(&mut client, 7), b"paused\n");
    // Sent while paused: the machine must not see it (it records a violation if it does) until resumed.
    send(&mut client, b"after\n");
    let expected = b"resumed\nafter\n";
    assert_eq!(read_exactly(&mut client, expected.len()), expected);
    server.stop().unwrap();
    assert_no_violations(&seen);
}

#[test]
fn half_closed_peer_gets_its_replies_then_eof() {
    let (server, seen) = start_line_machine(options());
    let mut client = connect(server.addr);
    send(&mut client, b"stat\n");
    client.shutdown(SocketShutdown::Write).unwrap();
    let (bytes, error) = read_to_end(&mut client);
    assert!(error.is_none(), "expected a clean EOF, got {error:?}");
    assert_eq!(bytes, b"stat\n");
    wait_until("close reported", || seen.lock().unwrap().closed == 1);
    server.stop().unwrap();
    assert_no_violations(&seen);
}

#[test]
fn reset_connection_is_reported_closed() {
    let (server, seen) = start_line_machine(options());
    let mut client = connect(server.addr);
    send(&mut client, b"hi\n");
    assert_eq!(read_exactly(&mut client, 3), b"hi\n");
    // SO_LINGER 0: close sends RST instead of FIN.
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt reads a linger struct that outlives the call, on a socket we own.
    let rc = unsafe {
        libc::setsockopt(
            client.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
    drop(client);
    wait_until("close reported", || seen.lock().unwrap().closed == 1);
    server.stop().unwrap();
    assert_no_violations(&seen);
}

#[test]
fn append_log_is_acknowledged_with_log_synced() {
    let (server, seen) = start_line_machine(options());
    let mut client = connect(server.addr);
    send(&mut client, b"write\nwrite\nwrite\n");
    let expected = b"synced 1\nsynced 2\nsynced 3\n";
    assert_eq!(read_exactly(&mut client, expected.len()), expected);
    server.stop().unwrap();
    assert_no_violations(&seen);
}

#[test]
fn ticks_when_the_machine_deadline_is_due() {
    let (server, seen) = start_line_machine(options());
    let mut client = connect(server.addr);
    send(&mut client, b"tick\n");
    assert_eq!(read_exactly(&mut client, 5), b"tick\n");
    server.stop().unwrap();
    assert_no_violations(&seen);
}

#[test]
fn host_metrics_are_sent_at_startup() {
    let (server, seen) = start_line_machine(options());
    wait_until("host metrics", || {
        seen.lock().unwrap().host_metrics.is_some()
    });
    let (open, max) = seen.lock().unwrap().host_metrics.unwrap();
    assert!(open > 0 && open <= max, "open {open}, max {max}");
    server.stop().unwrap();
}

#[test]
fn shutdown_returns_cleanly_and_closes_clients() {
    let (server, seen) = start_line_machine(options());
    let mut client = connect(server.addr);
    send(&mut client, b"hi\n");
    assert_eq!(read_exactly(&mut client, 3), b"hi\n");
    server.stop().expect("run returns Ok on shutdown");
    let (bytes, error) = read_to_end(&mut client);
    assert!(bytes.is_empty());
    assert!(error.is_none_or(|e| e.kind() == ErrorKind::ConnectionReset));
    assert_no_violations(&seen);
}
