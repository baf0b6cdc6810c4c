//! A node's whole state between two steps, for the flight recorder: restoring it and feeding the same inputs
//! gives the same outputs. The tree is returned as an O(1) copy-on-write clone (the recorder writes it as a
//! snapshot on its own thread); everything else is serde (derived on [`Node`] and the types it holds, so a
//! new field is part of a checkpoint unless it is skipped on purpose).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ensemble, Node};
use crate::planted::PlantedBug;
use crate::tree::DataTree;

/// Everything but the tree, as decoded from a checkpoint; [`Node::restore`] joins it with its tree.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct NodeState(Node);

impl Node {
    /// The tree (an O(1) clone) and the rest of the state, to serialize (bincode) between two steps.
    pub fn checkpoint(&self) -> (DataTree, &impl Serialize) {
        (self.tree.clone(), self)
    }

    /// The node a checkpoint describes: `state` decoded from what [`Node::checkpoint`] serialized, and its tree.
    pub fn restore(state: NodeState, tree: DataTree) -> Node {
        let mut node = state.0;
        node.tree = tree;
        // Computed from zoo.cfg as `Node::new` and `Node::plant` do (a planted bug may count observers).
        let (server, me) = (&node.config.server, node.config.server_id);
        let with_observers = node.planted.has(PlantedBug::QuorumCountsObservers);
        node.membership =
            ensemble::Membership::build(server, me, with_observers).map(std::sync::Arc::new);
        node
    }
}

/// The seeded generator's exact position (seed, stream and word), so a restored node draws what the
/// original would have drawn next.
pub(super) mod rng {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    #[derive(Serialize, Deserialize)]
    struct Position {
        seed: [u8; 32],
        stream: u64,
        word_pos: u128,
    }

    pub fn serialize<S: Serializer>(rng: &ChaCha8Rng, s: S) -> Result<S::Ok, S::Error> {
        Position {
            seed: rng.get_seed(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos(),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ChaCha8Rng, D::Error> {
        let p = Position::deserialize(d)?;
        let mut rng = ChaCha8Rng::from_seed(p.seed);
        rng.set_stream(p.stream);
        rng.set_word_pos(p.word_pos);
        Ok(rng)
    }
}
