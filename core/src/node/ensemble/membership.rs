//! Who is in the ensemble: this server, the voters (and their quorum rule) and the observers. Computed once
//! from zoo.cfg's `server.N` lines when the node is made; the membership is static (no dynamic reconfig).

use std::collections::BTreeSet;

use crate::config::{PeerType, ServerConfig};
use crate::election::Quorum;
use crate::peer::ServerId;

#[derive(Debug, Clone)]
pub struct Membership {
    pub me: ServerId,
    pub quorum: Quorum,
    pub observers: BTreeSet<ServerId>,
}

impl Membership {
    /// The membership zoo.cfg describes, or `None` for a standalone server (no `server.N` lines).
    pub fn from_config(config: &ServerConfig, me: ServerId) -> Option<Membership> {
        Self::build(config, me, false)
    }

    /// `counts_observers` is the planted quorum-counts-observers bug: the voters' filter forgotten.
    pub(in crate::node) fn build(
        config: &ServerConfig,
        me: ServerId,
        counts_observers: bool,
    ) -> Option<Membership> {
        if config.servers.is_empty() {
            return None;
        }
        let of = |kind: PeerType| {
            config
                .servers
                .iter()
                .filter(move |s| s.peer_type == kind || counts_observers)
                .map(|s| s.id)
        };
        Some(Membership {
            me,
            quorum: Quorum::new(of(PeerType::Participant)),
            observers: config
                .servers
                .iter()
                .filter(|s| s.peer_type == PeerType::Observer)
                .map(|s| s.id)
                .collect(),
        })
    }

    /// Every other server, voters first.
    pub fn peers(&self) -> impl Iterator<Item = ServerId> + '_ {
        self.quorum
            .voters()
            .iter()
            .chain(self.observers.iter())
            .copied()
            .filter(move |id| *id != self.me)
    }

    pub fn is_observer(&self) -> bool {
        self.observers.contains(&self.me)
    }
}
