//! The nemesis of a chaos run: faults drawn from the seed, one at a time, each with a start and an end in
//! the run's facts (what it touched, for the checkers that excuse faults) and a line in the schedule.
//!
//! Families: `kill` (kill -9, restart), `pause` (SIGSTOP, SIGCONT), `partition` (the simulator's own
//! shapes, [`rzk_sim::partition::draw`]: random halves, an isolated leader, a bridge server, a ring, one-way
//! loss with sometimes a flapping link; cuts are blackhole routes, one-way loss a stalled proxy direction,
//! flapping a route toggled), `isolate` (a server's link down: cut from peers and clients), `delay` (the
//! proxy delays one server's links or every link), `clock` (a jump either way or a skew of one server's
//! clock), `disk` (one server's data tmpfs filled until writes fail), `fsync` (slow fsyncs on one server).
//! The network families need the run's own network (`--net netns`).

use anyhow::{bail, Result};
use rzk_check::{FaultSpan, Touched};
use rzk_sim::rng::SimRng;

use super::clients::Clients;
use super::cluster::Cluster;
use super::netns::Net;
use super::proxy::Proxy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Kill,
    Pause,
    Partition,
    Isolate,
    Delay,
    Clock,
    Disk,
    Fsync,
}

const ALL: [(&str, Family); 8] = [
    ("kill", Family::Kill),
    ("pause", Family::Pause),
    ("partition", Family::Partition),
    ("isolate", Family::Isolate),
    ("delay", Family::Delay),
    ("clock", Family::Clock),
    ("disk", Family::Disk),
    ("fsync", Family::Fsync),
];

impl Family {
    pub fn name(self) -> &'static str {
        ALL.iter().find(|(_, f)| *f == self).map_or("?", |(n, _)| n)
    }

    /// Needs the run's own network (namespaces, proxy) or a tmpfs per server.
    fn needs_netns(self) -> bool {
        matches!(
            self,
            Family::Partition | Family::Isolate | Family::Delay | Family::Disk
        )
    }

    /// Acts on the links between servers (a standalone server has none).
    fn needs_peers(self) -> bool {
        matches!(self, Family::Partition | Family::Delay)
    }
}

/// Parses `--faults`: `all`, `none`, or a comma-separated list of families. With `all`, the families that
/// need a network of the run's own (when there is none) or peer links (a standalone server) are left out.
pub fn parse_families(spec: &str, netns: bool, peers: bool) -> Result<Vec<Family>> {
    if spec == "none" {
        return Ok(Vec::new());
    }
    if spec == "all" {
        return Ok(ALL
            .iter()
            .map(|(_, f)| *f)
            .filter(|f| (netns || !f.needs_netns()) && (peers || !f.needs_peers()))
            .collect());
    }
    let mut out = Vec::new();
    for name in spec.split(',') {
        let Some((_, f)) = ALL.iter().find(|(n, _)| *n == name.trim()) else {
            bail!(
                "unknown fault family {name:?}: use all, none, or some of {}",
                ALL.map(|(n, _)| n).join(",")
            );
        };
        if f.needs_netns() && !netns {
            bail!("fault family {name} needs --net netns (network namespaces, as root)");
        }
        if f.needs_peers() && !peers {
            bail!("fault family {name} needs more than one server");
        }
        out.push(*f);
    }
    Ok(out)
}

pub struct Nemesis {
    rng: SimRng,
    families: Vec<Family>,
    n: usize,
    /// Every fault's span and what it touched, for the checkers.
    pub spans: Vec<FaultSpan>,
    /// One line per fault, for the summary and for reproducing.
    pub schedule: Vec<String>,
    /// Kills of a server (a killed leader's journal cannot say it stopped leading).
    pub killed_at: Vec<(u64, usize)>,
    /// Server processes that ended on their own; a violation unless a full disk stopped them.
    pub crashes: Vec<String>,
    /// Faults applied per family.
    pub counts: Vec<(Family, usize)>,
    clock_offset: Vec<i64>,
}

/// What a fault needs to act on.
pub struct Target<'a> {
    pub cluster: &'a mut Cluster,
    pub clients: &'a mut Clients,
    pub net: Option<&'a Net>,
    pub proxy: Option<&'a Proxy>,
}

impl Nemesis {
    pub fn new(seed: u64, families: Vec<Family>, n: usize) -> Nemesis {
        Nemesis {
            rng: SimRng::new(seed ^ 0x006e_656d_6573_6973),
            families,
            n,
            spans: Vec::new(),
            schedule: Vec::new(),
            killed_at: Vec::new(),
            crashes: Vec::new(),
            counts: Vec::new(),
            clock_offset: vec![0; n],
        }
    }

    pub fn idle(&self) -> bool {
        self.families.is_empty()
    }

    /// The pause before the next fault, in ms.
    pub fn gap(&mut self) -> u64 {
        self.rng.range(500, 3_000)
    }

    /// A fault's length: mostly `lo..hi` ms, a third of the time 12-20 s (long enough for the progress
    /// checker's bound: the servers left together must commit again within 10 s).
    fn long_or_short(&mut self, lo: u64, hi: u64) -> u64 {
        if self.rng.chance(0.33) {
            self.rng.range(12_000, 20_000)
        } else {
            self.rng.range(lo, hi)
        }
    }

    /// Draws one fault, applies it, drives the clients through it and ends it, by `deadline` (run ms: the
    /// end of the fault phase) at the latest.
    pub fn fault(&mut self, t: &mut Target, deadline: u64) -> Result<()> {
        let family = *self.rng.pick(&self.families);
        let n = self.n;
        let from = t.clients.now();
        let leader = t.cluster.leader();
        // Most faults hit the leader half of the time: that is where Zab's hard cases are.
        let node = match leader {
            Some(l) if self.rng.chance(0.5) => l,
            _ => self.rng.range(0, n as u64 - 1) as usize,
        };
        let left = deadline.saturating_sub(from).max(100);
        let mut touched = vec![Touched::Node(node)];
        let what = match family {
            Family::Kill => {
                let outage = self.rng.range(300, 3_000).min(left);
                t.cluster.kill(node);
                self.killed_at.push((from, node));
                t.clients.run_until(from + outage)?;
                t.cluster.start_member(node)?;
                format!("kill -9 server {} for {outage} ms", node + 1)
            }
            Family::Pause => {
                // Often longer than a session timeout (6 s): sessions then expire.
                let outage = self.long_or_short(300, 8_000).min(left);
                t.cluster.signal(node, true);
                t.clients.run_until(from + outage)?;
                t.cluster.signal(node, false);
                format!("SIGSTOP server {} for {outage} ms", node + 1)
            }
            Family::Partition => {
                let (Some(net), Some(proxy)) = (t.net, t.proxy) else {
                    bail!("partitions need the run's own network");
                };
                let long = self.long_or_short(1_000, 8_000).min(left);
                let p = rzk_sim::partition::draw(&mut self.rng, n, leader, from, long / 2);
                touched.clear();
                for &(a, b) in &p.cut {
                    net.blackhole(a, b, true)?;
                    net.blackhole(b, a, true)?;
                    touched.push(Touched::Link(a, b));
                }
                if let Some((a, b)) = p.one_way {
                    proxy.set(|f| {
                        f.stalled.insert((a, b));
                    });
                    touched.push(Touched::Link(a, b));
                }
                let mut flapping_cut = false;
                if let Some((a, b, until)) = p.flap {
                    touched.push(Touched::Link(a, b));
                    while t.clients.now() < until.min(from + long) {
                        flapping_cut = !flapping_cut;
                        net.blackhole(a, b, flapping_cut)?;
                        net.blackhole(b, a, flapping_cut)?;
                        let step = self.rng.range(100, 600);
                        t.clients.run_until(t.clients.now() + step)?;
                    }
                }
                t.clients.run_until(from + long)?;
                if let Some((a, b, _)) = p.flap {
                    if flapping_cut {
                        net.blackhole(a, b, false)?;
                        net.blackhole(b, a, false)?;
                    }
                }
                for &(a, b) in &p.cut {
                    net.blackhole(a, b, false)?;
                    net.blackhole(b, a, false)?;
                }
                proxy.set(|f| f.stalled.clear());
                format!("partition for {long} ms: {}", p.description)
            }
            Family::Isolate => {
                let Some(net) = t.net else {
                    bail!("isolating a server needs the run's own network");
                };
                let long = self.long_or_short(500, 8_000).min(left);
                net.link(node, false)?;
                t.clients.run_until(from + long)?;
                net.link(node, true)?;
                format!(
                    "server {} cut from everyone (link down) for {long} ms",
                    node + 1
                )
            }
            Family::Delay => {
                let Some(proxy) = t.proxy else {
                    bail!("delays need the run's own network");
                };
                let long = self.rng.range(1_000, 6_000).min(left);
                let ms = self.rng.range(5, 400);
                let everyone = self.rng.chance(0.3);
                touched.clear();
                proxy.set(|f| {
                    for a in 0..n {
                        for b in (0..n).filter(|&b| b != a) {
                            if everyone || a == node || b == node {
                                f.delay_ms.insert((a, b), ms);
                            }
                        }
                    }
                });
                if everyone {
                    touched.push(Touched::Network);
                } else {
                    touched.extend(
                        (0..n)
                            .filter(|&b| b != node)
                            .map(|b| Touched::Link(node, b)),
                    );
                }
                t.clients.run_until(from + long)?;
                proxy.set(|f| f.delay_ms.clear());
                if everyone {
                    format!("every peer link delayed {ms} ms for {long} ms")
                } else {
                    format!(
                        "server {}'s peer links delayed {ms} ms for {long} ms",
                        node + 1
                    )
                }
            }
            Family::Clock => {
                let before = self.clock_offset[node];
                let what = match self.rng.range(0, 2) {
                    0 => {
                        let jump = self.rng.range(500, 20_000) as i64;
                        self.clock_offset[node] += jump;
                        t.cluster.set_faults(node, self.clock_offset[node], 0)?;
                        t.clients.run_until(from + left.min(2_000))?;
                        format!("server {}'s clock jumps {jump} ms forward", node + 1)
                    }
                    1 => {
                        let jump = self.rng.range(500, 20_000) as i64;
                        self.clock_offset[node] -= jump;
                        t.cluster.set_faults(node, self.clock_offset[node], 0)?;
                        t.clients.run_until(from + left.min(2_000))?;
                        format!("server {}'s clock jumps {jump} ms back", node + 1)
                    }
                    _ => {
                        // A skew of ±5-50 %, moved every 100 ms.
                        let long = self.rng.range(2_000, 8_000).min(left);
                        let percent = self.rng.range(5, 50) as i64
                            * if self.rng.chance(0.5) { 1 } else { -1 };
                        while t.clients.now() < from + long {
                            let elapsed = (t.clients.now() - from) as i64;
                            self.clock_offset[node] = before + elapsed * percent / 100;
                            t.cluster.set_faults(node, self.clock_offset[node], 0)?;
                            let next = t.clients.now() + 100;
                            t.clients.run_until(next)?;
                        }
                        format!(
                            "server {}'s clock runs {percent:+} % for {long} ms",
                            node + 1
                        )
                    }
                };
                format!("{what} (offset {} ms)", self.clock_offset[node])
            }
            Family::Disk => {
                let Some(disk) = t.cluster.members[node].disk.clone() else {
                    bail!("a full disk needs the run's tmpfs data directories");
                };
                let long = self.rng.range(500, 5_000).min(left);
                let filler = disk.join("filler");
                fill(&filler);
                t.clients.run_until(from + long)?;
                let _ = std::fs::remove_file(&filler);
                if let Some(status) = t.cluster.exited(node) {
                    t.cluster.start_member(node)?;
                    format!(
                        "server {}'s disk full for {long} ms (it stopped: {status}; restarted)",
                        node + 1
                    )
                } else {
                    format!("server {}'s disk full for {long} ms", node + 1)
                }
            }
            Family::Fsync => {
                let long = self.rng.range(1_000, 6_000).min(left);
                let ms = self.rng.range(20, 1_000);
                let offset = self.clock_offset[node];
                t.cluster.set_faults(node, offset, ms)?;
                t.clients.run_until(from + long)?;
                t.cluster.set_faults(node, offset, 0)?;
                format!(
                    "server {}'s fsyncs take {ms} ms more for {long} ms",
                    node + 1
                )
            }
        };
        let to = t.clients.now();
        self.spans.extend(
            touched
                .into_iter()
                .map(|touched| FaultSpan { from, to, touched }),
        );
        self.schedule
            .push(format!("{from:>7}..{to:>7} ms  {}: {what}", family.name()));
        match self.counts.iter_mut().find(|(f, _)| *f == family) {
            Some((_, c)) => *c += 1,
            None => self.counts.push((family, 1)),
        }
        self.check_crashes(t.cluster, &what)?;
        Ok(())
    }

    /// Restarts any server that ended on its own, noting it as a crash.
    pub fn check_crashes(&mut self, cluster: &mut Cluster, during: &str) -> Result<()> {
        for i in 0..self.n {
            if let Some(status) = cluster.exited(i) {
                self.crashes.push(format!(
                    "server {} ended on its own ({status}) by the end of: {during}",
                    i + 1
                ));
                cluster.start_member(i)?;
            }
        }
        Ok(())
    }
}

/// Writes `path` until the file system is full.
fn fill(path: &std::path::Path) {
    use std::io::Write;
    let Ok(mut f) = std::fs::File::create(path) else {
        return;
    };
    let chunk = vec![0u8; 1 << 20];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_follow_what_the_run_can_do() {
        assert_eq!(parse_families("all", true, true).unwrap().len(), 8);
        let loopback = parse_families("all", false, true).unwrap();
        assert!(!loopback.iter().any(|f| f.needs_netns()), "{loopback:?}");
        let standalone = parse_families("all", true, false).unwrap();
        assert!(standalone.contains(&Family::Disk) && !standalone.contains(&Family::Partition));
        assert!(parse_families("none", true, true).unwrap().is_empty());
        assert_eq!(
            parse_families("kill, clock", false, false).unwrap(),
            vec![Family::Kill, Family::Clock]
        );
        assert!(parse_families("partition", false, true).is_err());
        assert!(parse_families("delay", true, false).is_err());
        assert!(parse_families("flood", true, true).is_err());
    }
}
