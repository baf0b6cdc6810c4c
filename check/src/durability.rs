//! Every acknowledged write is in the committed history, at the zxid its client saw, as that client's txn.

use rzk_core::proto::ErrorCode;

use crate::facts::Facts;
use crate::history::Outcome;

/// Errors that are answered without a txn (so they have no place in the log).
fn without_txn(e: ErrorCode) -> bool {
    matches!(
        e,
        ErrorCode::SessionExpired
            | ErrorCode::MarshallingError
            | ErrorCode::Unimplemented
            | ErrorCode::ConnectionLoss
    )
}

pub fn check(facts: &Facts) -> Vec<String> {
    let mut v = Vec::new();
    for (i, r) in facts.history.ops.iter().enumerate() {
        if !r.op.is_write() {
            continue;
        }
        let acked = match &r.outcome {
            Outcome::Ok(_) => true,
            Outcome::Err(e) => !without_txn(*e),
            Outcome::Lost => false,
        };
        let Some(z) = r.zxid.filter(|_| acked) else {
            continue;
        };
        match facts.committed.get(&z) {
            Some(t) if t.header.session_id == r.session && t.header.cxid == r.xid => {}
            Some(t) => v.push(format!(
                "durability: op #{i} ({:?}) acknowledged at zxid 0x{z:x}, but that zxid holds session 0x{:x} cxid {}",
                r.op, t.header.session_id, t.header.cxid
            )),
            None => v.push(format!("durability: op #{i} ({:?}) acknowledged at zxid 0x{z:x}, which was lost", r.op)),
        }
    }
    v
}
