//! `server.N=host:quorumPort:electionPort[:participant|:observer][;[clientAddress:]clientPort]` lines.
//!
//! The grammar follows ZooKeeper's QuorumPeer.QuorumServer: the part before `;` is the server address, the
//! part after it the client address; IPv6 hosts are written in brackets (`[::1]:2888:3888`). ZooKeeper's
//! multi-address form (`a:1:2|b:1:2`, behind `multiAddress.enabled`) is not supported.

use super::{PeerType, ServerSpec};

/// Parses the `N` of a `server.N` key.
pub fn parse_server_id(key: &str) -> Result<u64, String> {
    let id = key.strip_prefix("server.").unwrap_or(key);
    id.parse::<u64>()
        .map_err(|_| format!("server id '{id}' is not a non-negative integer"))
}

/// Parses the value of a `server.N` line.
pub fn parse_server_spec(id: u64, value: &str) -> Result<ServerSpec, String> {
    let wrong_format = || {
        format!(
            "'{value}' does not have the form host:quorumPort:electionPort[:participant|:observer]\
             [;[clientAddress:]clientPort]"
        )
    };
    let mut halves = value.split(';');
    let server_part = halves.next().unwrap_or_default().trim();
    let client_part = halves.next().map(str::trim);
    if halves.next().is_some() {
        return Err(wrong_format());
    }
    if server_part.contains('|') {
        return Err(
            "multiple addresses per server (ZooKeeper's multiAddress) are not supported by rzk"
                .into(),
        );
    }

    let parts = split_host_and_ports(server_part).ok_or_else(wrong_format)?;
    if parts.len() < 3 || parts.len() > 4 {
        return Err(wrong_format());
    }
    let host = parts[0].clone();
    if host.is_empty() {
        return Err(format!("'{value}' has an empty host"));
    }
    let quorum_port = parse_port(&parts[1]).map_err(|e| format!("quorum port {e}"))?;
    let election_port = parse_port(&parts[2]).map_err(|e| format!("election port {e}"))?;
    if quorum_port == election_port {
        return Err(format!(
            "quorum port and election port must be different (both are {quorum_port})"
        ));
    }
    let peer_type = match parts.get(3) {
        None => PeerType::Participant,
        Some(t) => parse_peer_type(t)?,
    };

    let (client_address, client_port) = match client_part {
        None => (None, None),
        Some(c) => {
            let pieces = split_host_and_ports(c).ok_or_else(wrong_format)?;
            match pieces.as_slice() {
                [port] => (
                    None,
                    Some(parse_port(port).map_err(|e| format!("client port {e}"))?),
                ),
                [addr, port] if !addr.is_empty() => (
                    Some(addr.clone()),
                    Some(parse_port(port).map_err(|e| format!("client port {e}"))?),
                ),
                _ => return Err(wrong_format()),
            }
        }
    };

    Ok(ServerSpec {
        id,
        host,
        quorum_port,
        election_port,
        peer_type,
        client_address,
        client_port,
    })
}

/// `participant` or `observer`, in any case (ZooKeeper lower-cases it).
pub fn parse_peer_type(s: &str) -> Result<PeerType, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "participant" => Ok(PeerType::Participant),
        "observer" => Ok(PeerType::Observer),
        _ => Err(format!(
            "unrecognised peer type '{}' (expected participant or observer)",
            s.trim()
        )),
    }
}

/// A TCP port, 1..=65535.
pub fn parse_port(s: &str) -> Result<u16, String> {
    match s.trim().parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        _ => Err(format!("'{}' is not a port number (1-65535)", s.trim())),
    }
}

/// Splits `host:port:...` where the host may be a bracketed IPv6 address; the brackets are removed.
fn split_host_and_ports(s: &str) -> Option<Vec<String>> {
    if let Some(rest) = s.strip_prefix('[') {
        let close = rest.find(']')?;
        let host = &rest[..close];
        let after = &rest[close + 1..];
        let mut parts = vec![host.to_string()];
        if !after.is_empty() {
            let after = after.strip_prefix(':')?;
            parts.extend(after.split(':').map(str::to_string));
        }
        Some(parts)
    } else {
        Some(s.split(':').map(str::to_string).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_server_line_is_a_participant_without_client_address() {
        let s = parse_server_spec(1, "127.0.0.1:2888:3888").unwrap();
        assert_eq!(s.host, "127.0.0.1");
        assert_eq!((s.quorum_port, s.election_port), (2888, 3888));
        assert_eq!(s.peer_type, PeerType::Participant);
        assert_eq!((s.client_address, s.client_port), (None, None));
    }

    #[test]
    fn observer_with_client_port_only() {
        let s = parse_server_spec(4, "zk4:2888:3888:OBSERVER;2181").unwrap();
        assert_eq!(s.peer_type, PeerType::Observer);
        assert_eq!((s.client_address, s.client_port), (None, Some(2181)));
    }

    #[test]
    fn client_address_and_port() {
        let s = parse_server_spec(2, "h:1:2:participant;0.0.0.0:2182").unwrap();
        assert_eq!(
            (s.client_address.as_deref(), s.client_port),
            (Some("0.0.0.0"), Some(2182))
        );
    }

    #[test]
    fn bracketed_ipv6_hosts() {
        let s = parse_server_spec(1, "[::1]:2888:3888;[::1]:2181").unwrap();
        assert_eq!(s.host, "::1");
        assert_eq!(
            (s.client_address.as_deref(), s.client_port),
            (Some("::1"), Some(2181))
        );
    }

    #[test]
    fn malformed_lines_are_rejected() {
        for bad in [
            "h:2888",
            "h:2888:3888:participant:x",
            "h:x:3888",
            "h:2888:0",
            "h:2888:70000",
            "h:2888:2888",
            "h:2888:3888:voter",
            "h:2888:3888;",
            "h:2888:3888;a:b:c",
            "h:2888:3888;1;2",
            "a:1:2|b:1:2",
            ":2888:3888",
        ] {
            assert!(
                parse_server_spec(1, bad).is_err(),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn server_ids_must_be_numbers() {
        assert_eq!(parse_server_id("server.12"), Ok(12));
        assert!(parse_server_id("server.x").is_err());
        assert!(parse_server_id("server.-1").is_err());
    }
}
