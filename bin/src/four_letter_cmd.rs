//! `rzk 4lw <WORD> [HOST:PORT]`: what `echo stat | nc host 2181` does: connect, send the four bytes, print
//! everything until the server closes the connection.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use clap::Args;

#[derive(Debug, Args)]
pub struct FourLetterArgs {
    /// The command: ruok, stat, srvr, conf, cons, crst, dump, envi, mntr, srst, wchs, wchc, wchp, isro, ...
    pub word: String,
    /// The server's client port.
    #[arg(default_value = "127.0.0.1:2181")]
    pub server: String,
    /// Give up connecting, or waiting for more of the reply, after this many seconds.
    #[arg(long, default_value_t = 5)]
    pub timeout_secs: u64,
}

pub fn run(args: FourLetterArgs) -> anyhow::Result<()> {
    let word = check_word(&args.word)?;
    let timeout = Duration::from_secs(args.timeout_secs.max(1));
    let reply = ask(&args.server, word, timeout)?;
    io::stdout()
        .write_all(&reply)
        .and_then(|()| io::stdout().flush())
        .context("writing the reply to stdout")?;
    Ok(())
}

/// A four-letter word is exactly four ASCII letters.
fn check_word(word: &str) -> anyhow::Result<&[u8; 4]> {
    let bytes: &[u8; 4] = word
        .as_bytes()
        .try_into()
        .map_err(|_| anyhow!("a four-letter word has four letters, {word:?} does not"))?;
    if !bytes.iter().all(u8::is_ascii_alphabetic) {
        bail!("a four-letter word is made of letters, {word:?} is not");
    }
    Ok(bytes)
}

fn ask(server: &str, word: &[u8; 4], timeout: Duration) -> anyhow::Result<Vec<u8>> {
    let addrs: Vec<SocketAddr> = server
        .to_socket_addrs()
        .with_context(|| format!("{server:?} is not a HOST:PORT address"))?
        .collect();
    let mut last_error = None;
    let mut stream = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_error = Some(e),
        }
    }
    let Some(mut stream) = stream else {
        return Err(match last_error {
            Some(e) => anyhow!(e).context(format!("cannot connect to {server}")),
            None => anyhow!("{server} resolves to no address"),
        });
    };
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream
        .write_all(word)
        .with_context(|| format!("sending {:?} to {server}", String::from_utf8_lossy(word)))?;
    let mut reply = Vec::new();
    match stream.read_to_end(&mut reply) {
        Ok(_) => Ok(reply),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            bail!(
                "{server} did not finish its reply within {}s (got {} bytes)",
                timeout.as_secs(),
                reply.len()
            )
        }
        Err(e) => Err(anyhow!(e).context(format!("reading the reply from {server}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn words_are_four_letters() {
        assert_eq!(check_word("stat").unwrap(), b"stat");
        assert!(check_word("sta").is_err());
        assert!(check_word("stats").is_err());
        assert!(check_word("st4t").is_err());
        assert!(check_word("ståt").is_err());
    }

    #[test]
    fn sends_the_word_and_returns_everything_until_eof() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut word = [0; 4];
            conn.read_exact(&mut word).unwrap();
            conn.write_all(b"got ").unwrap();
            conn.write_all(&word).unwrap();
        });
        let reply = ask(&addr.to_string(), b"ruok", Duration::from_secs(10)).unwrap();
        server.join().unwrap();
        assert_eq!(reply, b"got ruok");
    }

    #[test]
    fn refused_connection_is_a_clear_error() {
        let addr = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap()
        };
        let err = format!(
            "{:#}",
            ask(&addr.to_string(), b"ruok", Duration::from_secs(10)).unwrap_err()
        );
        assert!(err.contains(&format!("cannot connect to {addr}")), "{err}");
    }

    #[test]
    fn bad_address_is_a_clear_error() {
        let err = format!(
            "{:#}",
            ask("no-port-here", b"ruok", Duration::from_secs(1)).unwrap_err()
        );
        assert!(err.contains("not a HOST:PORT"), "{err}");
    }
}
