//! maxClientCnxns: how many connections one client IP may hold at once (0 = unlimited), as ZooKeeper
//! counts them: a connection stops counting once the node has let go of it.

use std::collections::HashMap;
use std::net::IpAddr;

#[derive(Debug)]
pub(crate) struct ClientLimit {
    max_per_ip: u32,
    open: HashMap<IpAddr, u32>,
}

impl ClientLimit {
    pub(crate) fn new(max_per_ip: u32) -> ClientLimit {
        ClientLimit {
            max_per_ip,
            open: HashMap::new(),
        }
    }

    pub(crate) fn max_per_ip(&self) -> u32 {
        self.max_per_ip
    }

    /// Counts a new connection from `ip`, or refuses it (false) when `ip` is at the limit.
    pub(crate) fn try_admit(&mut self, ip: IpAddr) -> bool {
        let count = self.open.entry(ip).or_insert(0);
        if self.max_per_ip != 0 && *count >= self.max_per_ip {
            return false;
        }
        *count += 1;
        true
    }

    /// Forgets one connection from `ip`.
    pub(crate) fn release(&mut self, ip: IpAddr) {
        if let Some(count) = self.open.get_mut(&ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.open.remove(&ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn refuses_beyond_the_limit_per_ip_and_admits_after_release() {
        let mut limit = ClientLimit::new(2);
        assert!(limit.try_admit(A));
        assert!(limit.try_admit(A));
        assert!(!limit.try_admit(A));
        assert!(limit.try_admit(B));
        limit.release(A);
        assert!(limit.try_admit(A));
        assert!(!limit.try_admit(A));
    }

    #[test]
    fn zero_means_unlimited() {
        let mut limit = ClientLimit::new(0);
        for _ in 0..10_000 {
            assert!(limit.try_admit(A));
        }
    }
}
