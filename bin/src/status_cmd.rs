//! `rzk status [zoo.cfg]`: what `zkServer.sh status` prints (config looked up as the other service verbs do). Asks `srvr` of every server of the config that
//! runs on this host (standalone: the clientPort; ensemble: the client port of each server.N line whose host
//! is local) and prints its mode. Exits non-zero when none answers.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use rzk_core::config::ServerConfig;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The zoo.cfg the servers were started with: a path, or a file name in $ZOOCFGDIR. Without it:
    /// $ZOOCFGDIR/zoo.cfg, else the embedded standalone default.
    pub config: Option<PathBuf>,
}

/// One server to ask: where its client port listens.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    port: u16,
    /// The address to connect to (the configured client address, else loopback).
    address: String,
    /// Only a secureClientPort: ask over TLS (with the server's own key and trust stores, as zkServer.sh
    /// asks its operator to pass them in CLIENT_JVMFLAGS).
    tls: bool,
}

pub fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let config = crate::service::resolve(args.config.as_deref())?.config;
    let targets = local_targets(&config);
    if targets.is_empty() {
        println!("Client port not found in the config, nor on any local server.N line.");
        return Ok(ExitCode::FAILURE);
    }
    let mut answered = 0;
    for t in &targets {
        if t.tls {
            println!("Client port not found. Looking for secureClientPort in the static config.");
        }
        println!(
            "Client port found: {}. Client address: {}. Client SSL: {}.",
            t.port, t.address, t.tls
        );
        match ask_srvr(&config, t) {
            Some(reply) => match mode_of(&reply) {
                Some(mode) => {
                    println!("Mode: {mode}");
                    answered += 1;
                }
                None => println!("Error contacting service. It is probably not running."),
            },
            None => println!("Error contacting service. It is probably not running."),
        }
    }
    Ok(if answered > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn local_targets(config: &ServerConfig) -> Vec<Target> {
    let address_of = |a: Option<String>| {
        a.filter(|a| a != "0.0.0.0" && a != "::")
            .unwrap_or_else(|| "localhost".to_string())
    };
    let secure = |address: Option<String>| {
        config.secure_client_port.map(|port| Target {
            port,
            address: address_of(
                config
                    .secure_client_port_address
                    .map(|a| a.to_string())
                    .or(address),
            ),
            tls: true,
        })
    };
    if config.servers.is_empty() {
        return config
            .client_port
            .map(|port| Target {
                port,
                address: address_of(config.client_port_address.map(|a| a.to_string())),
                tls: false,
            })
            .or_else(|| secure(None))
            .into_iter()
            .collect();
    }
    config
        .servers
        .iter()
        .filter(|s| is_local(&s.host))
        .filter_map(|s| {
            let address = s
                .client_address
                .clone()
                .or_else(|| config.client_port_address.map(|a| a.to_string()));
            match s.client_port.or(config.client_port) {
                Some(port) => Some(Target {
                    port,
                    address: address_of(address),
                    tls: false,
                }),
                None => secure(None),
            }
        })
        .collect()
}

/// Loopback, or an address of one of this host's interfaces (found by binding to it).
fn is_local(host: &str) -> bool {
    let Ok(addrs) = (host, 0).to_socket_addrs() else {
        return false;
    };
    addrs.into_iter().any(|a: SocketAddr| {
        a.ip().is_loopback() || std::net::TcpListener::bind(SocketAddr::new(a.ip(), 0)).is_ok()
    })
}

fn ask_srvr(config: &ServerConfig, t: &Target) -> Option<String> {
    let timeout = Duration::from_secs(5);
    let address = t.address.as_str();
    let addr = (address, t.port).to_socket_addrs().ok()?.find(|a| {
        !matches!(a.ip(), IpAddr::V6(_)) || address.contains(':') || address == "localhost"
    })?;
    let s = TcpStream::connect_timeout(&addr, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    let mut reply = String::new();
    if t.tls {
        let tls = match rzk_io_mio::tls::build_client_config(&config.client_tls) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("cannot speak TLS to the server with the config's ssl.* stores: {e}");
                return None;
            }
        };
        let name = rustls::pki_types::ServerName::try_from(address.to_string()).ok()?;
        let session = rustls::ClientConnection::new(std::sync::Arc::new(tls), name).ok()?;
        let mut stream = rustls::StreamOwned::new(session, s);
        stream.write_all(b"srvr").ok()?;
        // The server closes after the reply; a missing close_notify is no error here.
        let _ = stream.read_to_string(&mut reply);
    } else {
        let mut s = s;
        s.write_all(b"srvr").ok()?;
        s.read_to_string(&mut reply).ok()?;
    }
    Some(reply)
}

fn mode_of(srvr: &str) -> Option<&str> {
    srvr.lines()
        .find_map(|l| l.strip_prefix("Mode: "))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_is_read_from_the_srvr_reply() {
        let reply = "Zookeeper version: 3.8.0\nLatency min/avg/max: 0/0.0/0\nMode: follower\nNode count: 5\n";
        assert_eq!(mode_of(reply), Some("follower"));
        assert_eq!(
            mode_of("This ZooKeeper instance is not currently serving requests\n"),
            None
        );
    }

    #[test]
    fn standalone_asks_the_client_port() {
        let c = ServerConfig::parse("dataDir=/tmp/x\nclientPort=2191\n").unwrap();
        assert_eq!(
            local_targets(&c),
            vec![Target {
                port: 2191,
                address: "localhost".into(),
                tls: false,
            }]
        );
    }

    #[test]
    fn ensemble_asks_every_local_server_line() {
        let c = ServerConfig::parse(
            "dataDir=/tmp/x\ninitLimit=5\nsyncLimit=2\nserver.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.1:2889:3889;2182\n\
             server.3=192.0.2.77:2890:3890;2183\n",
        )
        .unwrap();
        let ports: Vec<u16> = local_targets(&c).iter().map(|t| t.port).collect();
        assert_eq!(ports, vec![2181, 2182]);
    }
}
