//! The run's trace: a hash over every delivered event (same seed, same hash) and, with `--trace`, a readable
//! line per event.

pub struct Trace {
    hash: u64,
    print: bool,
    pub lines: u64,
}

const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Trace {
    pub fn new(print: bool) -> Trace {
        Trace {
            hash: 0xcbf2_9ce4_8422_2325,
            print,
            lines: 0,
        }
    }

    /// Records an event; the description is only built when printing, or for the hash.
    pub fn line(&mut self, now: u64, describe: impl FnOnce() -> String) {
        let text = describe();
        self.mix(text.as_bytes());
        self.mix(&now.to_le_bytes());
        self.lines += 1;
        if self.print {
            println!("{:>10}.{:03} {text}", now / 1000, now % 1000);
        }
    }

    /// Mixes raw bytes (message contents) into the hash.
    pub fn mix(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.hash ^= *b as u64;
            self.hash = self.hash.wrapping_mul(FNV_PRIME);
        }
    }

    pub fn hash(&self) -> u64 {
        self.hash
    }
}

/// A short description of a peer message for traces.
pub fn describe(msg: &rzk_core::peer::PeerMsg) -> String {
    use rzk_core::peer::PeerMsg;
    use rzk_core::zab::ZabMsg;
    match msg {
        PeerMsg::Election(n) => format!(
            "vote {} (0x{:x}, epoch {}) round {} {:?}",
            n.vote.leader, n.vote.zxid, n.vote.peer_epoch, n.election_epoch, n.state
        ),
        PeerMsg::Zab {
            msg: ZabMsg::Proposal { txn },
            ..
        } => format!("PROPOSAL {}", brief(txn)),
        PeerMsg::Zab {
            msg: ZabMsg::Diff { txns },
            ..
        } => {
            let all: Vec<String> = txns.iter().map(brief).collect();
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
fn brief(t: &rzk_core::txn::LoggedTxn) -> String {
    use rzk_core::txn::Txn;
    fn what(txn: &Txn) -> String {
        match txn {
            Txn::CreateSession { .. } => "createSession".into(),
            Txn::CloseSession => "closeSession".into(),
            Txn::Create { path, data, .. } => {
                format!("create {path} {}", String::from_utf8_lossy(data))
            }
            Txn::Delete { path } => format!("delete {path}"),
            Txn::SetData {
                path,
                data,
                version,
            } => {
                format!("set {path} {} v{version}", String::from_utf8_lossy(data))
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
