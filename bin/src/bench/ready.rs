//! `rzk bench ready`: how long until a server answers `ruok` with `imok`, optionally timing from the moment
//! this command launches the server itself (start-to-ready).

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
        if answers_imok(addr) {
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

fn answers_imok(addr: SocketAddr) -> bool {
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
