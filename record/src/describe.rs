//! One line per input and output, for traces (`rzk replay --trace`, and the simulator's trace of peer
//! messages).

use rzk_core::node::{Input, Output, PersistOp};

/// A short description of a peer message for traces.
pub fn peer(msg: &rzk_core::peer::PeerMsg) -> String {
    use rzk_core::peer::PeerMsg;
    use rzk_core::zab::ZabMsg;
    match msg {
        PeerMsg::Election(n) => format!(
            "vote {} (0x{:x}, epoch {}) round {} {:?}",
            n.vote.leader, n.vote.zxid, n.vote.peer_epoch, n.election_epoch, n.state
        ),
        PeerMsg::Zab {
            msg: ZabMsg::Proposal { txn: t },
            ..
        } => format!("PROPOSAL {}", txn(t)),
        PeerMsg::Zab {
            msg: ZabMsg::Diff { txns },
            ..
        } => {
            let all: Vec<String> = txns.iter().map(txn).collect();
            format!("DIFF [{}]", all.join(", "))
        }
        PeerMsg::Zab {
            msg: ZabMsg::Snap { snapshot },
            ..
        } => format!("SNAP at 0x{:x}", snapshot.last_zxid),
        PeerMsg::Zab { msg: z, .. } => {
            let s = format!("{z:?}");
            s.chars().take(80).collect()
        }
    }
}

/// A logged txn in a few words: zxid, session and what it changes.
pub fn txn(t: &rzk_core::txn::LoggedTxn) -> String {
    use rzk_core::txn::Txn;
    fn what(txn: &Txn) -> String {
        match txn {
            Txn::CreateSession { .. } => "createSession".into(),
            Txn::CloseSession => "closeSession".into(),
            Txn::Create { path, data, .. } => format!("create {path} {}", text(data)),
            Txn::Delete { path } => format!("delete {path}"),
            Txn::SetData {
                path,
                data,
                version,
            } => {
                format!("set {path} {} v{version}", text(data))
            }
            Txn::SetAcl { path, .. } => format!("setAcl {path}"),
            Txn::Check { path } => format!("check {path}"),
            Txn::Multi(txns) => {
                let parts: Vec<String> = txns.iter().map(what).collect();
                format!("multi({})", parts.join("; "))
            }
            Txn::Error { err } => format!("error {err:?}"),
        }
    }
    format!(
        "0x{:x} s{:x} {}",
        t.header.zxid,
        t.header.session_id,
        what(&t.txn)
    )
}

/// An input in one line.
pub fn input(i: &Input) -> String {
    match i {
        Input::Tick => "tick".into(),
        Input::ClientOpened { conn, addr, .. } => format!("client {conn} opened from {addr}"),
        Input::ClientBytes { conn, bytes } => format!("client {conn}: {} bytes", bytes.len()),
        Input::ClientClosed { conn } => format!("client {conn} closed"),
        Input::ClientCertificate { conn, subject } => {
            format!("client {conn} certificate {subject}")
        }
        Input::Persisted { id } => format!("persisted up to #{}", id.0),
        Input::HostMetrics { open_fds, max_fds } => {
            format!("host metrics: {open_fds}/{max_fds} fds")
        }
        Input::PeerMessage { from, msg } => format!("from server {from}: {}", peer(msg)),
        Input::PeerConnected { peer } => format!("link to server {peer} up"),
        Input::PeerDisconnected { peer } => format!("link to server {peer} down"),
        Input::AdminCommand { id, target } => format!("admin #{id} GET {target}"),
    }
}

/// An output in one line.
pub fn output(o: &Output) -> String {
    match o {
        Output::ToClient { conn, bytes } => format!("to client {conn}: {} bytes", bytes.len()),
        Output::Snapshot { zxid, tree } => {
            format!("snapshot at 0x{zxid:x} ({} znodes)", tree.node_count())
        }
        Output::CloseClient { conn } => format!("close client {conn}"),
        Output::ToPeer { to, msg } => format!("to server {to}: {}", peer(msg)),
        Output::ReadInterest { conn, enabled } => {
            format!(
                "{} reading client {conn}",
                if *enabled { "resume" } else { "pause" }
            )
        }
        Output::Persist { id, op } => match op {
            PersistOp::Append(txns) if txns.len() > 3 => format!(
                "persist #{}: append {} txns [{}, ..., {}]",
                id.0,
                txns.len(),
                txn(&txns[0]),
                txn(&txns[txns.len() - 1])
            ),
            PersistOp::Append(txns) => {
                let all: Vec<String> = txns.iter().map(txn).collect();
                format!("persist #{}: append [{}]", id.0, all.join(", "))
            }
            PersistOp::SaveEpochs { accepted, current } => {
                format!(
                    "persist #{}: epochs accepted {accepted} current {current}",
                    id.0
                )
            }
            PersistOp::Truncate { zxid } => format!("persist #{}: truncate after 0x{zxid:x}", id.0),
            PersistOp::Install { zxid, tree } => format!(
                "persist #{}: install snapshot at 0x{zxid:x} ({} znodes)",
                id.0,
                tree.node_count()
            ),
        },
        Output::AdminReply { id, response } => {
            format!(
                "admin #{id} reply {} ({} bytes)",
                response.status,
                response.body.len()
            )
        }
    }
}

/// Znode data as text, cut to 32 characters.
fn text(data: &[u8]) -> String {
    let s = String::from_utf8_lossy(data);
    if s.chars().count() > 32 {
        format!(
            "{}...({} bytes)",
            s.chars().take(32).collect::<String>(),
            data.len()
        )
    } else {
        s.into_owned()
    }
}
