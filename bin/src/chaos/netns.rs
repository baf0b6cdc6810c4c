//! The network of a chaos run: one Linux network namespace per server, each joined to a bridge in the host
//! namespace by a veth pair, so that links and routes can fail the way real networks do. Made with `ip`
//! (iproute2) as root, torn down when the run ends (also on failure), and leftovers of runs that died are
//! removed at the start of the next one.
//!
//! Addresses, in a /16 private subnet `10.S.0.0` picked free per run:
//! - server `i` (0-based) is `10.S.0.(11+i)` in its namespace, on the standard ports (2181, 2888, 3888);
//! - `10.S.1.(11+j)`, on the bridge in the host namespace, is the peer proxy ([`super::proxy`]) in front of
//!   server `j`: every other server's zoo.cfg lists `j` there, so each server pair's traffic crosses it.
//!
//! Faults: a blackhole route in namespace `i` to `j`'s proxy address silently drops what `i` sends on every
//! connection with `j` (the two directions of a TCP flow both stall, as in a real partition); taking the
//! host end of `i`'s veth down cuts `i` from everyone, clients included.

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

const PREFIX: &str = "rzc";

pub struct Net {
    tag: u32,
    subnet: u8,
    n: usize,
}

/// Runs `ip ARGS`, failing with its stderr.
fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("cannot run ip (iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn ip_output(args: &[&str]) -> String {
    Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

impl Net {
    /// Why network namespaces cannot be used here, if they cannot (not root, or no working `ip netns`).
    pub fn unavailable() -> Option<String> {
        // SAFETY: geteuid(2) has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Some("network namespaces need root".into());
        }
        match Command::new("ip").args(["netns", "list"]).output() {
            Ok(o) if o.status.success() => None,
            _ => Some("`ip netns` does not work here".into()),
        }
    }

    /// Makes the bridge, the namespaces and the veth pairs of `n` servers.
    pub fn create(n: usize) -> Result<Net> {
        remove_leftovers();
        let tag = std::process::id();
        let used = ip_output(&["-4", "addr"]);
        let subnet = (0..50u8)
            .map(|k| 200 + (tag as u8 % 50 + k) % 50)
            .find(|s| !used.contains(&format!("10.{s}.")))
            .context("no free 10.x.0.0/16 subnet for the chaos network")?;
        let net = Net { tag, subnet, n };
        let bridge = net.bridge();
        ip(&["link", "add", &bridge, "type", "bridge"])?;
        ip(&[
            "addr",
            "add",
            &format!("10.{subnet}.0.1/16"),
            "dev",
            &bridge,
        ])?;
        for j in 0..n {
            ip(&[
                "addr",
                "add",
                &format!("{}/32", net.proxy_ip(j)),
                "dev",
                &bridge,
            ])?;
        }
        ip(&["link", "set", &bridge, "up"])?;
        for i in 0..n {
            let ns = net.ns(i);
            let host = net.veth(i);
            ip(&["netns", "add", &ns])?;
            ip(&[
                "link", "add", &host, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ])?;
            ip(&["link", "set", &host, "master", &bridge, "up"])?;
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/16", net.server_ip(i)),
                "dev",
                "eth0",
            ])?;
            ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(net)
    }

    pub fn server_ip(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, self.subnet, 0, 11 + i as u8)
    }

    pub fn proxy_ip(&self, j: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, self.subnet, 1, 11 + j as u8)
    }

    pub fn ns(&self, i: usize) -> String {
        format!("{PREFIX}-{}-{}", self.tag, i + 1)
    }

    fn bridge(&self) -> String {
        format!("{PREFIX}{}b", self.tag)
    }

    fn veth(&self, i: usize) -> String {
        format!("{PREFIX}{}h{}", self.tag, i + 1)
    }

    /// Drops (or stops dropping) everything server `from` sends to server `to`.
    pub fn blackhole(&self, from: usize, to: usize, on: bool) -> Result<()> {
        let target = format!("{}/32", self.proxy_ip(to));
        let verb = if on { "add" } else { "del" };
        ip(&["-n", &self.ns(from), "route", verb, "blackhole", &target])
    }

    /// Takes server `i`'s link down (cut from everyone) or up again.
    pub fn link(&self, i: usize, up: bool) -> Result<()> {
        ip(&["link", "set", &self.veth(i), if up { "up" } else { "down" }])
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for i in 0..self.n {
            let _ = ip(&["netns", "del", &self.ns(i)]);
        }
        let _ = ip(&["link", "del", &self.bridge()]);
    }
}

/// Removes the namespaces and bridges of chaos runs whose process is gone.
fn remove_leftovers() {
    let alive = |tag: &str| std::path::Path::new(&format!("/proc/{tag}")).exists();
    for line in ip_output(&["netns", "list"]).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        if let Some(tag) = name
            .strip_prefix("rzc-")
            .and_then(|rest| rest.split('-').next())
        {
            if !alive(tag) {
                let _ = ip(&["netns", "del", name]);
            }
        }
    }
    for line in ip_output(&["-o", "link", "show", "type", "bridge"]).lines() {
        let name = line.split(':').nth(1).unwrap_or("").trim();
        if let Some(tag) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.strip_suffix('b'))
        {
            if tag.bytes().all(|b| b.is_ascii_digit()) && !alive(tag) {
                let _ = ip(&["link", "del", name]);
            }
        }
    }
}
