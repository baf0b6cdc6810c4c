//! The recorder's side of redaction (`rzk.recordRedact`; what is zeroed and why: `rzk_core::redact`): each
//! input as it is recorded (a client's stream through its connection's [`StreamRedactor`], peer messages'
//! txns, SNAPs and forwarded requests), the tree of a checkpoint, and the shape the step digests keep.

use rzk_core::node::Input;
use rzk_core::peer::PeerMsg;
use rzk_core::redact::{is_system_path, redact_request, StreamRedactor};
use rzk_core::txn::{LoggedTxn, Txn};
use rzk_core::zab::ZabMsg;
use rzk_core::Data;

pub use rzk_core::redact::Redacted;

/// Data of the same length, zeroed (null stays null).
pub fn zeroed(d: &Data) -> Data {
    match d.as_option() {
        None => Data::null(),
        Some(b) => Data::copy_from_slice(&vec![0; b.len()]),
    }
}

fn redact_txn(t: &mut Txn) {
    match t {
        Txn::Create { path, data, .. } | Txn::SetData { path, data, .. }
            if !is_system_path(path.as_bytes()) =>
        {
            *data = zeroed(data)
        }
        Txn::Multi(txns) => txns.iter_mut().for_each(redact_txn),
        _ => {}
    }
}

/// Zeroes a logged txn's data (not under `/zookeeper/`).
pub fn redact_logged(t: &mut LoggedTxn) {
    redact_txn(&mut t.txn);
}

/// Zeroes a snapshot's data (but quota nodes' and the config's).
pub fn redact_snapshot(snapshot: &mut rzk_core::zab::SnapshotData) {
    for node in &mut snapshot.nodes {
        if !is_system_path(node.0.as_bytes()) {
            node.1 = zeroed(&node.1);
        }
    }
}

/// Zeroes the data a peer message carries; true if it carried any.
pub fn redact_peer(msg: &mut PeerMsg) -> bool {
    let PeerMsg::Zab { msg, .. } = msg else {
        return false;
    };
    match msg {
        ZabMsg::Proposal { txn } => redact_logged(txn),
        ZabMsg::Diff { txns } => txns.iter_mut().for_each(redact_logged),
        ZabMsg::Snap { snapshot } => redact_snapshot(snapshot),
        ZabMsg::Request(fwd) => fwd.frame = redact_request(&fwd.frame).into(),
        _ => return false,
    }
    true
}

/// Per-connection redactors for a recorder.
#[derive(Debug, Default)]
pub struct Redactor {
    streams: std::collections::BTreeMap<u64, StreamRedactor>,
}

impl Redactor {
    /// The input as it is recorded (`None`: as it is) and what was found in it.
    pub fn input(&mut self, input: &Input) -> (Option<Input>, Redacted) {
        match input {
            Input::ClientOpened { conn, .. } => {
                self.streams.insert(*conn, StreamRedactor::default());
                (None, Redacted::default())
            }
            Input::ClientClosed { conn } => {
                self.streams.remove(conn);
                (None, Redacted::default())
            }
            Input::ClientBytes { conn, bytes } => {
                let stream = self.streams.entry(*conn).or_default();
                let mut copy = bytes.to_vec();
                let found = stream.redact(&mut copy);
                let redacted = found.changed.then(|| Input::ClientBytes {
                    conn: *conn,
                    bytes: copy.into(),
                });
                (redacted, found)
            }
            Input::PeerMessage { from, msg } => {
                let mut msg = msg.clone();
                let changed = redact_peer(&mut msg);
                let redacted = changed.then(|| Input::PeerMessage { from: *from, msg });
                let found = Redacted {
                    changed,
                    ..Redacted::default()
                };
                (redacted, found)
            }
            Input::AdminCommand { target, .. } => {
                let found = Redacted {
                    shows_digest: rzk_core::admin::shows_tree_digest(target),
                    ..Redacted::default()
                };
                (None, found)
            }
            _ => (None, Redacted::default()),
        }
    }

    /// The node closed `conn`: its stream is over (the driver reports no `ClientClosed` for a close the
    /// node asked for).
    pub fn closed(&mut self, conn: u64) {
        self.streams.remove(&conn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use rzk_core::proto::client::{frame_connect, frame_request};
    use rzk_core::proto::records::{
        AuthPacket, ConnectRequest, CreateRequest, CreateTtlRequest, GetDataRequest,
        GetSaslRequest, SetDataRequest,
    };
    use rzk_core::proto::request::{decode_request, MultiOp, Request, RequestBody};
    use rzk_core::proto::OpCode;

    fn create(path: &str, data: &[u8]) -> CreateRequest {
        CreateRequest {
            path: path.into(),
            data: Data::copy_from_slice(data),
            acl: rzk_core::acl::open_acl_unsafe(),
            flags: 0,
        }
    }

    fn req(xid: i32, op: OpCode, body: RequestBody) -> Bytes {
        frame_request(&Request { xid, op, body })
    }

    /// A session's stream: handshake, then every kind of request that carries data or credentials, and some
    /// that do not.
    fn stream() -> Vec<u8> {
        let mut s = frame_connect(&ConnectRequest {
            time_out: 30_000,
            passwd: Bytes::from_static(&[7; 16]),
            ..Default::default()
        })
        .to_vec();
        let auth = AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: Bytes::from_static(b"alice:SECRETPW"),
        };
        let frames = [
            req(-4, OpCode::Auth, RequestBody::Auth(auth)),
            req(
                1,
                OpCode::Create,
                RequestBody::Create(create("/a", b"SECRETDATA1")),
            ),
            req(
                2,
                OpCode::GetData,
                RequestBody::GetData(GetDataRequest {
                    path: "/a".into(),
                    watch: true,
                }),
            ),
            req(
                3,
                OpCode::SetData,
                RequestBody::SetData(SetDataRequest {
                    path: "/a".into(),
                    data: Data::copy_from_slice(b"SECRETDATA2"),
                    version: -1,
                }),
            ),
            req(
                4,
                OpCode::CreateTtl,
                RequestBody::CreateTtl(CreateTtlRequest {
                    path: "/t".into(),
                    data: Data::copy_from_slice(b"SECRETDATA3"),
                    acl: rzk_core::acl::open_acl_unsafe(),
                    flags: 5,
                    ttl: 1000,
                }),
            ),
            req(
                5,
                OpCode::Multi,
                RequestBody::Multi(vec![
                    MultiOp::Create(OpCode::Create, create("/m", b"SECRETDATA4")),
                    MultiOp::SetData(SetDataRequest {
                        path: "/m".into(),
                        data: Data::copy_from_slice(b"SECRETDATA5"),
                        version: 0,
                    }),
                    MultiOp::Create(OpCode::Create2, create("/n", b"SECRETDATA6")),
                ]),
            ),
            req(
                6,
                OpCode::Sasl,
                RequestBody::Sasl(GetSaslRequest {
                    token: Bytes::from_static(b"SECRETTOKEN"),
                }),
            ),
            req(7, OpCode::Create, RequestBody::Create(create("/null", b""))),
        ];
        for f in frames {
            s.extend_from_slice(&f);
        }
        s
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    /// Redacts `s` cut at `cuts`.
    fn redacted(s: &[u8], cuts: &[usize]) -> (Vec<u8>, bool) {
        let mut r = StreamRedactor::default();
        let mut out = Vec::new();
        let mut credential = false;
        let mut from = 0;
        for &to in cuts.iter().chain([&s.len()]) {
            let mut chunk = s[from..to].to_vec();
            credential |= r.redact(&mut chunk).credential;
            out.extend_from_slice(&chunk);
            from = to;
        }
        (out, credential)
    }

    #[test]
    fn data_and_credentials_are_zeroed_and_everything_else_kept() {
        let s = stream();
        let (out, credential) = redacted(&s, &[]);
        assert!(credential);
        assert_eq!(out.len(), s.len());
        assert!(
            !contains(&out, b"SECRET"),
            "{:?}",
            String::from_utf8_lossy(&out)
        );
        // Exactly the secrets' bytes differ.
        let differing = s.iter().zip(&out).filter(|(a, b)| a != b).count();
        assert_eq!(
            differing,
            "alice:SECRETPW".len() + 6 * 11 + "SECRETTOKEN".len()
        );
        // Every frame still decodes, with its paths and structure.
        let mut rest = &out[4 + u32::from_be_bytes([out[0], out[1], out[2], out[3]]) as usize..];
        let mut ops = Vec::new();
        while !rest.is_empty() {
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let r = decode_request(Bytes::copy_from_slice(&rest[4..4 + len])).expect("decodes");
            ops.push(r.op);
            if let RequestBody::Create(c) = &r.body {
                assert!(c.path.starts_with('/'));
                assert!(c.data.iter().all(|b| *b == 0));
            }
            rest = &rest[4 + len..];
        }
        assert_eq!(ops.len(), 8);
    }

    #[test]
    fn any_chunking_redacts_the_same_bytes() {
        let s = stream();
        let (whole, _) = redacted(&s, &[]);
        for cut in 1..s.len() {
            assert_eq!(redacted(&s, &[cut]).0, whole, "cut at {cut}");
        }
        for step in [1, 2, 3, 7, 13] {
            let cuts: Vec<usize> = (step..s.len()).step_by(step).collect();
            assert_eq!(redacted(&s, &cuts).0, whole, "chunks of {step}");
        }
    }

    #[test]
    fn the_servers_own_data_under_zookeeper_is_kept() {
        let quota = req(
            1,
            OpCode::Create,
            RequestBody::Create(create(
                "/zookeeper/quota/a/zookeeper_limits",
                b"count=5,bytes=-1",
            )),
        );
        let mut s = frame_connect(&ConnectRequest::default()).to_vec();
        s.extend_from_slice(&quota);
        s.extend_from_slice(&req(
            2,
            OpCode::Create,
            RequestBody::Create(create("/zookeeperx", b"SECRET")),
        ));
        let (out, _) = redacted(&s, &[]);
        assert!(contains(&out, b"count=5,bytes=-1"));
        assert!(!contains(&out, b"SECRET"));
    }

    #[test]
    fn four_letter_words_pass_and_garbage_is_zeroed() {
        let (out, _) = redacted(b"srvr", &[]);
        assert_eq!(out, b"srvr");
        // `hash` prints the tree's digest over the data: its step is not checked.
        let mut r = StreamRedactor::default();
        assert!(!r.redact(&mut b"ha".to_vec()).shows_digest);
        assert!(r.redact(&mut b"sh".to_vec()).shows_digest);
        let mut r = Redactor::default();
        let admin = |target: &str| Input::AdminCommand {
            id: 1,
            target: target.into(),
        };
        assert!(r.input(&admin("/commands/hash")).1.shows_digest);
        assert!(!r.input(&admin("/commands/mntr")).1.shows_digest);
        let mut bad = stream();
        bad.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
        let (out, _) = redacted(&bad, &[]);
        // The bad length stays (the node refuses it the same way on replay); what follows is zeroed.
        assert!(out.ends_with(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0]));
    }

    #[test]
    fn peer_messages_lose_their_data() {
        let data = Data::copy_from_slice(b"SECRETDATA");
        let txn = LoggedTxn {
            header: rzk_core::txn::TxnHeader {
                session_id: 1,
                cxid: 1,
                zxid: 5,
                time: 0,
            },
            txn: Txn::Multi(vec![Txn::SetData {
                path: "/a".into(),
                data,
                version: 1,
            }]),
        };
        let mut msg = PeerMsg::Zab {
            session: 1,
            msg: ZabMsg::Proposal { txn },
        };
        assert!(redact_peer(&mut msg));
        assert!(!contains(format!("{msg:?}").as_bytes(), b"SECRET"));
        let frame = req(
            1,
            OpCode::Create,
            RequestBody::Create(create("/f", b"SECRETDATA")),
        );
        let mut msg = PeerMsg::Zab {
            session: 1,
            msg: ZabMsg::Request(rzk_core::zab::Forwarded {
                session_id: 1,
                frame: frame.slice(4..),
                auth: Vec::new(),
            }),
        };
        assert!(redact_peer(&mut msg));
        let PeerMsg::Zab {
            msg: ZabMsg::Request(f),
            ..
        } = &msg
        else {
            unreachable!()
        };
        assert_eq!(f.frame.len(), frame.len() - 4);
        assert!(!contains(&f.frame, b"SECRET"));
    }
}
