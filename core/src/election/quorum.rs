//! The majority quorum verifier: a set of servers is a quorum when it holds more than half the voters.

use std::collections::BTreeSet;

use crate::ids::ServerId;

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Quorum {
    voters: BTreeSet<ServerId>,
}

impl Quorum {
    pub fn new(voters: impl IntoIterator<Item = ServerId>) -> Quorum {
        Quorum {
            voters: voters.into_iter().collect(),
        }
    }

    pub fn voters(&self) -> &BTreeSet<ServerId> {
        &self.voters
    }

    pub fn is_voter(&self, id: ServerId) -> bool {
        self.voters.contains(&id)
    }

    /// Whether `ids` (duplicates and non-voters ignored) form a majority of the voters.
    pub fn is_quorum(&self, ids: impl IntoIterator<Item = ServerId>) -> bool {
        // Counted without allocating (this runs for every ACK): distinct voters seen, on the stack while
        // there are few, as in every real ensemble.
        let mut seen = [0 as ServerId; 16];
        let mut n = 0;
        let mut spill: Option<BTreeSet<ServerId>> = None;
        for id in ids {
            if !self.voters.contains(&id) {
                continue;
            }
            if let Some(set) = &mut spill {
                set.insert(id);
            } else if !seen[..n].contains(&id) {
                if n == seen.len() {
                    let mut set: BTreeSet<ServerId> = seen.iter().copied().collect();
                    set.insert(id);
                    spill = Some(set);
                } else {
                    seen[n] = id;
                    n += 1;
                }
            }
        }
        let count = spill.map_or(n, |s| s.len());
        count * 2 > self.voters.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_of_voters_only() {
        let q = Quorum::new([1, 2, 3, 4, 5]);
        assert!(!q.is_quorum([1, 2]));
        assert!(q.is_quorum([1, 2, 3]));
        assert!(!q.is_quorum([1, 2, 9, 9]));
        assert!(Quorum::new([1]).is_quorum([1]));
        assert!(!Quorum::new([1, 2]).is_quorum([1]));
    }

    #[test]
    fn large_ensembles_count_each_voter_once() {
        let q = Quorum::new(1..=41);
        assert!(!q.is_quorum((1..=20).chain(1..=20)));
        assert!(q.is_quorum((1..=21).chain([99])));
        assert!(q.is_quorum((1..=41).rev()));
    }
}
