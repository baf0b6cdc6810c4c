//! The ensemble's transport: connections to the other servers on the quorum and election ports, carrying
//! the core's [`PeerMsg`]s. Like the rest of the driver it decides nothing: it keeps one link per peer up
//! (dialing, reconnecting with backoff), frames messages, and reports what happened as the core's inputs.
//!
//! The rules (docs/ensemble-transport.md tells them at length):
//! - Every server listens on its quorum port and its election port, and dials every other server on both.
//! - Handshake: the dialer sends a [`Hello`] (magic, protocol version, its myid, the port); the acceptor
//!   answers with its own hello only if it keeps the connection.
//! - One connection per server pair per port: the one dialed by the server with the larger id. An acceptor
//!   closes a connection from a smaller id and dials that server itself at once (so the smaller server's dial
//!   is only a nudge, as in ZooKeeper's QuorumCnxManager); a new connection from a larger id replaces the
//!   one it had from that id.
//! - A peer's *link* is the pair (quorum connection, election connection). It is up, reported as
//!   `Input::PeerConnected`, once both are established; it goes down, reported as `Input::PeerDisconnected`,
//!   as soon as either drops, and then the other is closed too. So everything received between the two
//!   inputs was sent on one pair of connections, in order per port; nothing from an older pair arrives after
//!   a new `PeerConnected`. Order holds per port: an election message and a Zab message sent one after the
//!   other may arrive in either order.
//! - `Output::ToPeer` is queued on the link's connection for its port, and dropped when the link is down.
//! - Frames are bounded per port; a bad frame, an undecodable message, a handshake that does not finish in
//!   time, or a peer whose output queue outgrows its bound closes the connection (and so the link), never
//!   the server.

mod backoff;
mod conn;
mod links;
pub mod wire;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use rzk_core::config::ServerConfig;
use rzk_core::peer::{PeerMsg, ServerId};

pub(crate) use links::Peers;
pub use wire::{Hello, PortKind, PEER_MAGIC, PEER_PROTOCOL_VERSION};

/// Where another server of the ensemble listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAddress {
    pub id: ServerId,
    /// The host of its server.N line: the name its certificate must carry when dialed with TLS.
    pub host: String,
    pub quorum: SocketAddr,
    pub election: SocketAddr,
}

/// Bounds and timings of the peer connections.
#[derive(Debug, Clone)]
pub struct PeerLimits {
    /// The largest frame on the quorum port (a SNAP of the whole tree travels as one).
    pub max_quorum_frame: usize,
    /// The largest frame on the election port (notifications are tiny).
    pub max_election_frame: usize,
    /// Bytes queued for one peer's quorum connection beyond which the link is dropped (a peer that does
    /// not read). At least one largest frame.
    pub max_quorum_queue: usize,
    pub max_election_queue: usize,
    /// Reconnect delays: from `backoff_min`, doubling per failed attempt, capped at `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// A connection must connect and finish its handshake within this (zoo.cfg cnxTimeout).
    pub handshake_timeout: Duration,
    /// Accepted connections still in their handshake, at most (more are closed at once).
    pub max_pending_accepts: usize,
}

impl Default for PeerLimits {
    fn default() -> PeerLimits {
        PeerLimits {
            max_quorum_frame: 512 << 20,
            max_election_frame: 64 << 10,
            max_quorum_queue: 1 << 30,
            max_election_queue: 1 << 20,
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
            handshake_timeout: Duration::from_secs(5),
            max_pending_accepts: 64,
        }
    }
}

impl PeerLimits {
    pub(crate) fn max_frame(&self, port: PortKind) -> usize {
        match port {
            PortKind::Quorum => self.max_quorum_frame,
            PortKind::Election => self.max_election_frame,
        }
    }

    pub(crate) fn max_queue(&self, port: PortKind) -> usize {
        match port {
            PortKind::Quorum => self.max_quorum_queue.max(self.max_quorum_frame),
            PortKind::Election => self.max_election_queue.max(self.max_election_frame),
        }
    }
}

/// The ensemble part of the driver's options: who this server is, where it listens, and the others.
#[derive(Debug, Clone)]
pub struct EnsembleOptions {
    pub my_id: ServerId,
    /// TLS between servers (sslQuorum / portUnification); None: plaintext only.
    pub tls: Option<crate::tls::QuorumTls>,
    /// Where to listen for quorum and election connections.
    pub quorum_listen: SocketAddr,
    pub election_listen: SocketAddr,
    /// Every other server (observers included).
    pub peers: Vec<PeerAddress>,
    pub limits: PeerLimits,
}

impl EnsembleOptions {
    /// From zoo.cfg's `server.N` lines and this server's myid. Host names are resolved once, here (a name
    /// that resolves to nothing is an error); `quorumListenOnAllIPs=true` listens on every interface.
    pub fn from_config(config: &ServerConfig, my_id: ServerId) -> Result<EnsembleOptions, String> {
        let resolve = |host: &str, port: u16| -> Result<SocketAddr, String> {
            let mut addrs: Vec<SocketAddr> = (host, port)
                .to_socket_addrs()
                .map_err(|e| format!("cannot resolve {host}:{port}: {e}"))?
                .collect();
            // Prefer IPv4, as ZooKeeper's default (java.net.preferIPv4Stack) does on most installs.
            addrs.sort_by_key(|a| !a.is_ipv4());
            addrs
                .first()
                .copied()
                .ok_or_else(|| format!("{host}:{port} resolves to no address"))
        };
        let Some(own) = config.servers.iter().find(|s| s.id == my_id) else {
            return Err(format!("myid {my_id} names no server.N line in the config"));
        };
        let mut quorum_listen = resolve(&own.host, own.quorum_port)?;
        let mut election_listen = resolve(&own.host, own.election_port)?;
        if config.quorum_listen_on_all_ips {
            let any = |a: SocketAddr| match a.ip() {
                IpAddr::V4(_) => SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), a.port()),
                IpAddr::V6(_) => SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), a.port()),
            };
            quorum_listen = any(quorum_listen);
            election_listen = any(election_listen);
        }
        let mut peers = Vec::new();
        for s in config.servers.iter().filter(|s| s.id != my_id) {
            peers.push(PeerAddress {
                id: s.id,
                host: s.host.clone(),
                quorum: resolve(&s.host, s.quorum_port)?,
                election: resolve(&s.host, s.election_port)?,
            });
        }
        let limits = PeerLimits {
            handshake_timeout: Duration::from_millis(u64::from(config.cnx_timeout.max(1))),
            ..PeerLimits::default()
        };
        Ok(EnsembleOptions {
            my_id,
            tls: None,
            quorum_listen,
            election_listen,
            peers,
            limits,
        })
    }
}

/// The port a message travels on.
pub(crate) fn port_of(msg: &PeerMsg) -> PortKind {
    if msg.is_election() {
        PortKind::Election
    } else {
        PortKind::Quorum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> ServerConfig {
        ServerConfig::parse(text).unwrap()
    }

    const THREE: &str =
        "tickTime=2000\ninitLimit=5\nsyncLimit=2\ndataDir=/tmp/x\nclientPort=2181\n\
        server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\nserver.3=localhost:2890:3890\n";

    #[test]
    fn options_come_from_the_server_lines() {
        let o = EnsembleOptions::from_config(&config(THREE), 2).unwrap();
        assert_eq!(o.my_id, 2);
        assert_eq!(o.quorum_listen, "127.0.0.1:2889".parse().unwrap());
        assert_eq!(o.election_listen, "127.0.0.1:3889".parse().unwrap());
        let ids: Vec<_> = o.peers.iter().map(|p| p.id).collect();
        assert_eq!(ids, [1, 3]);
        assert_eq!(o.peers[1].election.port(), 3890);
        assert_eq!(o.limits.handshake_timeout, Duration::from_secs(5));
    }

    #[test]
    fn listen_on_all_ips_and_unknown_myid() {
        let c = config(&format!("{THREE}quorumListenOnAllIPs=true\n"));
        let o = EnsembleOptions::from_config(&c, 1).unwrap();
        assert_eq!(o.quorum_listen, "0.0.0.0:2888".parse().unwrap());
        let err = EnsembleOptions::from_config(&config(THREE), 9).unwrap_err();
        assert!(err.contains("myid 9"), "{err}");
    }
}
