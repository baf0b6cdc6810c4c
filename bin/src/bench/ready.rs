//! `rzk bench ready`: how long until a server answers `ruok` with `imok` (with `--session`: and also grants a
//! client session, since ZooKeeper answers `ruok` while it is still loading its data), optionally timing from
//! the moment this command launches the server itself (start-to-ready).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Polls `addr` every millisecond. With `launch` (a command line), starts it first, its output going to
/// `log`, and leaves it running; prints the elapsed time and the child's pid as one JSON line.
pub fn run(
    addr: SocketAddr,
    timeout: Duration,
    launch: &[String],
    log: Option<&Path>,
    session: bool,
) -> Result<()> {
    let start = Instant::now();
    let mut child = match launch.split_first() {
        Some((program, args)) => {
            let out = match log {
                Some(path) => Stdio::from(
                    std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?,
                ),
                None => Stdio::null(),
            };
            let err = match log {
                Some(path) => Stdio::from(std::fs::OpenOptions::new().append(true).open(path)?),
                None => Stdio::null(),
            };
            Some(
                Command::new(program)
                    .args(args)
                    .stdin(Stdio::null())
                    .stdout(out)
                    .stderr(err)
                    .spawn()
                    .with_context(|| format!("launching {program}"))?,
            )
        }
        None => None,
    };
    loop {
        if answers_imok(addr) && (!session || grants_session(addr)) {
            break;
        }
        if let Some(c) = child.as_mut() {
            if let Some(status) = c.try_wait()? {
                bail!("the server exited during startup with {status}");
            }
        }
        if start.elapsed() > timeout {
            bail!("{addr} did not answer ruok within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let pid = child.as_ref().map_or(0, |c| c.id());
    println!("ready in {ms:.1} ms");
    println!("{{\"ready_ms\":{ms:.1},\"pid\":{pid}}}");
    Ok(())
}

/// Whether `addr` answers `ruok` with `imok` (also `rzk chaos`'s readiness probe).
pub(crate) fn answers_imok(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"ruok").is_err() {
        return false;
    }
    let mut reply = Vec::new();
    let _ = s.read_to_end(&mut reply);
    reply == b"imok"
}

/// A session handshake (ConnectRequest: protocol 0, lastZxid 0, timeout 30 s, session 0, a 16-byte zero
/// password, not read-only) answered with a session id, then closeSession so that none is left behind.
fn grants_session(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(2000)));
    let mut body = Vec::new();
    body.extend_from_slice(&0i32.to_be_bytes());
    body.extend_from_slice(&0i64.to_be_bytes());
    body.extend_from_slice(&30_000i32.to_be_bytes());
    body.extend_from_slice(&0i64.to_be_bytes());
    body.extend_from_slice(&16i32.to_be_bytes());
    body.extend_from_slice(&[0u8; 16]);
    body.push(0);
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    if s.write_all(&frame).is_err() {
        return false;
    }
    // Length, protocol version, timeout, then the session id.
    let mut head = [0u8; 20];
    if s.read_exact(&mut head).is_err() {
        return false;
    }
    let session = i64::from_be_bytes(head[12..20].try_into().unwrap_or([0; 8]));
    // closeSession: xid 1, opcode -11.
    let mut close = 8i32.to_be_bytes().to_vec();
    close.extend_from_slice(&1i32.to_be_bytes());
    close.extend_from_slice(&(-11i32).to_be_bytes());
    let _ = s.write_all(&close);
    session != 0
}
