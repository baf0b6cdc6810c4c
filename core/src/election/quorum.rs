//! The majority quorum verifier: a set of servers is a quorum when it holds more than half the voters.

use std::collections::BTreeSet;

use crate::ids::ServerId;

#[derive(Debug, Clone, PartialEq, Eq)]
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
        let acked: BTreeSet<ServerId> = ids
            .into_iter()
            .filter(|id| self.voters.contains(id))
            .collect();
        acked.len() * 2 > self.voters.len()
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
}
