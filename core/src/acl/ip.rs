//! The ip scheme: an id is an address or a CIDR block ("10.0.0.0/8"), matched against the client address.

use std::net::IpAddr;

fn parse(spec: &str) -> Option<(IpAddr, u32)> {
    let (addr, bits) = match spec.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u32>().ok()?)),
        None => (spec, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((addr, bits))
}

/// Whether `spec` is a valid ip ACL id.
pub fn is_valid(spec: &str) -> bool {
    parse(spec).is_some()
}

/// Whether the client address `client` falls within `spec`.
pub fn ip_matches(spec: &str, client: &str) -> bool {
    let (Some((net, bits)), Ok(client)) = (parse(spec), client.parse::<IpAddr>()) else {
        return false;
    };
    match (net, client) {
        (IpAddr::V4(n), IpAddr::V4(c)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(c) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(c)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(c) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_cidr() {
        assert!(ip_matches("127.0.0.1", "127.0.0.1"));
        assert!(!ip_matches("127.0.0.1", "127.0.0.2"));
        assert!(ip_matches("192.168.0.0/16", "192.168.4.5"));
        assert!(ip_matches("0.0.0.0/0", "8.8.8.8"));
        assert!(ip_matches("::1", "::1"));
        assert!(!ip_matches("garbage", "127.0.0.1"));
        assert!(!is_valid("1.2.3.4/33"));
    }
}
