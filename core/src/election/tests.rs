//! Elections among several servers over a simulated network with random delays and losses of whole
//! servers: they agree on one leader, and it is the server with the best (epoch, zxid, id).

use proptest::prelude::*;

use super::*;

struct Net {
    now: u64,
    elections: BTreeMap<ServerId, Election>,
    decided: BTreeMap<ServerId, Decision>,
    /// (deliver at, seq, from, to, notification)
    in_flight: Vec<(u64, u64, ServerId, ServerId, Notification)>,
    seq: u64,
    /// Servers currently unreachable.
    down: Vec<ServerId>,
}

impl Net {
    fn new(servers: &[(ServerId, Zxid, u32)], delays: &[u64]) -> Net {
        let quorum = Quorum::new(servers.iter().map(|s| s.0));
        let mut net = Net {
            now: 0,
            elections: BTreeMap::new(),
            decided: BTreeMap::new(),
            in_flight: Vec::new(),
            seq: 0,
            down: Vec::new(),
        };
        let mut i = 0;
        for &(id, zxid, epoch) in servers {
            let mut out = Vec::new();
            let e = Election::start(id, quorum.clone(), false, 0, zxid, epoch, 0, &mut out);
            net.elections.insert(id, e);
            net.send(id, out, delays, &mut i);
        }
        net
    }

    fn send(&mut self, from: ServerId, out: Sends, delays: &[u64], i: &mut usize) {
        let ids: Vec<ServerId> = self.elections.keys().copied().collect();
        for (to, n) in out {
            let targets: Vec<ServerId> = match to {
                Some(t) => vec![t],
                None => ids.iter().copied().filter(|t| *t != from).collect(),
            };
            for t in targets {
                let d = delays[*i % delays.len()];
                *i += 1;
                self.seq += 1;
                self.in_flight.push((self.now + d, self.seq, from, t, n));
            }
        }
    }

    /// Runs until every reachable server decided (or time runs out).
    fn run(&mut self, delays: &[u64], until: u64) {
        let mut i = 0;
        while self.now < until {
            let reachable: Vec<ServerId> = self
                .elections
                .keys()
                .copied()
                .filter(|id| !self.down.contains(id))
                .collect();
            if reachable.iter().all(|id| self.decided.contains_key(id)) {
                return;
            }
            self.in_flight.sort_by_key(|m| (m.0, m.1));
            let next_msg = self.in_flight.first().map(|m| m.0);
            let next_tick = self
                .elections
                .iter()
                .filter(|(id, _)| !self.decided.contains_key(id) && !self.down.contains(id))
                .map(|(_, e)| e.next_deadline())
                .min();
            let at = [next_msg, next_tick]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(until);
            self.now = at.max(self.now);
            if next_msg == Some(at) {
                let (_, _, from, to, n) = self.in_flight.remove(0);
                if self.down.contains(&from) || self.down.contains(&to) {
                    continue;
                }
                let mut out = Vec::new();
                if let Some(d) = self.decided.get(&to) {
                    // Settled servers answer lookers with their decision, as the node does.
                    if n.state == PeerState::Looking {
                        let state = if d.leader == to {
                            PeerState::Leading
                        } else {
                            PeerState::Following
                        };
                        out.push((
                            Some(from),
                            Notification {
                                vote: d.vote,
                                election_epoch: d.election_epoch,
                                state,
                            },
                        ));
                    }
                } else if let Some(e) = self.elections.get_mut(&to) {
                    if let Some(d) = e.on_notification(self.now, from, n, &mut out) {
                        self.decided.insert(to, d);
                        let state = if d.leader == to {
                            PeerState::Leading
                        } else {
                            PeerState::Following
                        };
                        out.push((
                            None,
                            Notification {
                                vote: d.vote,
                                election_epoch: d.election_epoch,
                                state,
                            },
                        ));
                    }
                }
                self.send(to, out, delays, &mut i);
            } else {
                let ids: Vec<ServerId> = self.elections.keys().copied().collect();
                for id in ids {
                    if self.decided.contains_key(&id) || self.down.contains(&id) {
                        continue;
                    }
                    let mut out = Vec::new();
                    let e = self.elections.get_mut(&id).unwrap();
                    if e.next_deadline() <= self.now {
                        if let Some(d) = e.on_tick(self.now, &mut out) {
                            self.decided.insert(id, d);
                            let state = if d.leader == id {
                                PeerState::Leading
                            } else {
                                PeerState::Following
                            };
                            out.push((
                                None,
                                Notification {
                                    vote: d.vote,
                                    election_epoch: d.election_epoch,
                                    state,
                                },
                            ));
                        }
                    }
                    self.send(id, out, delays, &mut i);
                }
            }
        }
    }
}

#[test]
fn when_all_votes_arrive_in_time_the_best_server_wins() {
    for delays in [[1u64, 5, 3], [5, 1, 1], [0, 0, 0]] {
        let mut net = Net::new(
            &[(1, 10, 1), (2, 9, 2), (3, 11, 1), (4, 9, 2), (5, 3, 1)],
            &delays,
        );
        net.run(&delays, 60_000);
        assert_eq!(net.decided.len(), 5);
        assert!(
            net.decided.values().all(|d| d.leader == 4),
            "{:?}",
            net.decided
        );
    }
}

#[test]
fn three_servers_elect_the_one_with_the_most_txns() {
    let mut net = Net::new(&[(1, 10, 1), (2, 12, 1), (3, 11, 1)], &[1, 5, 3]);
    net.run(&[1, 5, 3], 60_000);
    assert_eq!(net.decided.len(), 3);
    assert!(net.decided.values().all(|d| d.leader == 2));
}

#[test]
fn newer_epoch_beats_more_txns_and_ties_go_to_the_highest_id() {
    let mut net = Net::new(&[(1, 99, 1), (2, 5, 2), (3, 5, 2)], &[2, 1]);
    net.run(&[2, 1], 60_000);
    assert!(net.decided.values().all(|d| d.leader == 3));
}

#[test]
fn a_majority_elects_without_the_missing_server() {
    let mut net = Net::new(&[(1, 10, 1), (2, 10, 1), (3, 50, 1)], &[1, 2]);
    net.down.push(3);
    net.run(&[1, 2], 60_000);
    assert_eq!(net.decided.get(&1).map(|d| d.leader), Some(2));
    assert_eq!(net.decided.get(&2).map(|d| d.leader), Some(2));
}

#[test]
fn a_late_server_joins_the_settled_leader() {
    let mut net = Net::new(&[(1, 10, 1), (2, 20, 1), (3, 5, 1)], &[1]);
    net.down.push(3);
    net.run(&[1], 60_000);
    assert_eq!(net.decided.get(&2).map(|d| d.leader), Some(2));
    // Server 3 comes back with a fresh election: it must follow 2 although it never saw its LOOKING votes.
    net.down.clear();
    let mut out = Vec::new();
    let quorum = Quorum::new([1, 2, 3]);
    let e = Election::start(3, quorum, false, 0, 5, 1, net.now, &mut out);
    net.elections.insert(3, e);
    let mut i = 0;
    net.send(3, out, &[1], &mut i);
    net.run(&[1], net.now + 60_000);
    assert_eq!(net.decided.get(&3).map(|d| d.leader), Some(2));
}

proptest! {
    #[test]
    /// FLE's guarantee: exactly one leader is backed by a quorum of decided servers, and its vote is at
    /// least as good as the votes of a quorum. With unlucky timing a server may decide on a stale quorum;
    /// as a leader without followers it then gives up and elects again (Zab's discovery makes it safe).
    fn random_delays_still_agree_on_a_leader_best_in_a_quorum(
        n in 3usize..6,
        zxids in prop::collection::vec(0i64..5, 6),
        epochs in prop::collection::vec(1u32..3, 6),
        delays in prop::collection::vec(0u64..400, 1..20),
    ) {
        let servers: Vec<(ServerId, Zxid, u32)> =
            (0..n).map(|i| (i as u64 + 1, zxids[i], epochs[i])).collect();
        let mut net = Net::new(&servers, &delays);
        net.run(&delays, 600_000);
        // Liveness under such timing needs Zab's give-up-and-re-elect (a leader without a quorum of
        // followers starts over), which this election-only harness does not model: check safety here.
        let mut backing: BTreeMap<ServerId, usize> = BTreeMap::new();
        for d in net.decided.values() {
            *backing.entry(d.leader).or_default() += 1;
        }
        let backed: Vec<ServerId> = backing.iter().filter(|(_, c)| **c * 2 > n).map(|(l, _)| *l).collect();
        prop_assert!(backed.len() <= 1, "two leaders backed by quorums: {:?}", backing);
        let Some(&winner) = backed.first() else { return Ok(()) };
        let leader = servers.iter().find(|s| s.0 == winner).unwrap();
        let not_better = servers.iter().filter(|s| (s.2, s.1, s.0) <= (leader.2, leader.1, leader.0)).count();
        prop_assert!(not_better * 2 > n, "leader {:?} is not the best of a quorum of {:?}", leader, servers);
    }
}
