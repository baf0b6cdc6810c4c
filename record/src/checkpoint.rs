//! A checkpoint: the node's state in two parts. The serde part is encoded on the event loop (small: sessions,
//! watches, connections, in-flight txns, role); the tree is an O(1) copy-on-write clone that the writer encodes
//! in the snapshot format (`rzk_storage::snapshot`, checked by count and digest when read back) off the loop.

use rzk_core::tree::DataTree;
use rzk_core::Node;
use thiserror::Error;

use crate::entry::{self, CheckpointHead, EntryError};

/// The largest tree piece in one entry (a segment's entries fit a block).
pub const TREE_PIECE: usize = 8 << 20;

#[derive(Debug, Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Entry(#[from] EntryError),
    #[error("the checkpoint's tree is unreadable: {0}")]
    Tree(String),
    #[error("written by rzk {found}; this is rzk {ours}: a checkpoint is readable only by the build that wrote it")]
    Version { found: String, ours: String },
}

/// This build's version, as checkpoints carry it.
pub fn rzk_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// A checkpoint of a node: its head (everything but the tree) and the tree to write after it.
pub struct Taken {
    pub head: CheckpointHead,
    pub tree: DataTree,
    /// Redacting zeroed a credential still unread in a connection's input: what the node answers to it
    /// cannot be replayed, so the segment is checked from nowhere.
    pub credential: bool,
}

/// A checkpoint of `node`; `redact`: znode data and credentials zeroed (`rzk_core::redact`).
pub fn take(node: &Node, seed: u64, redact: bool) -> Result<Taken, CheckpointError> {
    let (tree, state) = node.checkpoint();
    let (state, credential) = if redact {
        let (state, credential) = rzk_core::redact::redacted(|| entry::encode(state));
        (state?, credential)
    } else {
        (entry::encode(state)?, false)
    };
    let head = CheckpointHead {
        rzk_version: rzk_version(),
        seed,
        state,
    };
    Ok(Taken {
        head,
        tree,
        credential,
    })
}

/// The tree in snapshot format; `redact`: every node's data zeroed (lengths kept), but the server's own
/// under `/zookeeper/` (O(nodes): the writer thread does it, not the event loop).
pub fn encode_tree(tree: &DataTree, redact: bool) -> Result<Vec<u8>, CheckpointError> {
    let redacted;
    let tree = if redact {
        let mut snap = rzk_core::zab::SnapshotData::of(tree);
        crate::redact::redact_snapshot(&mut snap);
        redacted = snap
            .restore()
            .map_err(|e| CheckpointError::Tree(e.to_string()))?;
        &redacted
    } else {
        tree
    };
    rzk_storage::encode_snapshot(tree.last_zxid(), tree)
        .map_err(|e| CheckpointError::Tree(e.to_string()))
}

/// The node a checkpoint describes. `any_version` reads a checkpoint of another build (at the reader's risk).
pub fn restore(
    head: &CheckpointHead,
    tree: &[u8],
    any_version: bool,
) -> Result<Node, CheckpointError> {
    if head.rzk_version != rzk_version() && !any_version {
        return Err(CheckpointError::Version {
            found: head.rzk_version.clone(),
            ours: rzk_version(),
        });
    }
    let state = entry::decode("the node's state", &head.state)?;
    let (_, tree) =
        rzk_storage::read_snapshot(tree).map_err(|e| CheckpointError::Tree(e.to_string()))?;
    Ok(Node::restore(state, tree))
}
