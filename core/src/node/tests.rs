//! Node-level tests: a client speaks the wire protocol to a bare `Node`, and the test plays the driver.

use std::net::SocketAddr;

use crate::Data;
use bytes::Bytes;

use super::*;
use crate::proto::client::{
    decode_connect_response, decode_notification, decode_reply, frame_connect, frame_request,
};
use crate::proto::records::*;
use crate::proto::request::{MultiOp, Request, RequestBody};
use crate::proto::response::{MultiResult, ResponseBody};
use crate::proto::{ErrorCode, OpCode};

/// Plays the driver: delivers inputs, collects outputs, and (unless told otherwise) reports every append
/// durable at once.
struct Harness {
    node: Node,
    now: u64,
    next_conn: ConnId,
    auto_sync: bool,
    appended: Zxid,
    /// The newest persistence op written.
    last_op: Option<PersistId>,
    /// Bytes sent to each connection, not yet read by the test.
    inbox: BTreeMap<ConnId, Vec<u8>>,
    closed: Vec<ConnId>,
    log: Vec<LoggedTxn>,
    /// The node is a member of an ensemble: messages to peers are expected (and dropped).
    member: bool,
}

fn config() -> NodeConfig {
    let mut server = ServerConfig::default_standalone();
    server.tick_time = 100;
    server.min_session_timeout = 200;
    server.max_session_timeout = 2000;
    server.extended_types_enabled = true;
    server.container_check_interval_ms = 1000;
    server.super_digest = Some(crate::acl::digest_id("super:test"));
    NodeConfig {
        server,
        server_id: 0,
        environment: Vec::new(),
    }
}

impl Harness {
    fn new() -> Harness {
        Harness::with_config(config())
    }

    fn with_config(config: NodeConfig) -> Harness {
        Harness {
            node: Node::new(config, Recovered::default(), 1_000_000, 7),
            now: 1_000_000,
            next_conn: 1,
            auto_sync: true,
            appended: 0,
            last_op: None,
            inbox: BTreeMap::new(),
            closed: Vec::new(),
            log: Vec::new(),
            member: false,
        }
    }

    fn step(&mut self, input: Input) {
        let mut out = Vec::new();
        self.node.step(self.now, input, &mut out);
        self.absorb(out);
    }

    fn absorb(&mut self, out: Vec<Output>) {
        let mut sync_to = None;
        for o in out {
            match o {
                Output::ToClient { conn, bytes } => self
                    .inbox
                    .entry(conn)
                    .or_default()
                    .extend_from_slice(&bytes),
                Output::CloseClient { conn } => self.closed.push(conn),
                Output::ReadInterest { .. }
                | Output::Snapshot { .. }
                | Output::AdminReply { .. } => {}
                Output::Persist {
                    id,
                    op: PersistOp::Append(txns),
                } => {
                    for t in txns {
                        assert!(t.header.zxid > self.appended, "appends come in zxid order");
                        self.appended = t.header.zxid;
                        self.log.push(t);
                    }
                    self.last_op = Some(id);
                    sync_to = Some(id);
                }
                Output::Persist { id, .. } if self.member => {
                    self.last_op = Some(id);
                    sync_to = Some(id);
                }
                Output::ToPeer { .. } if self.member => {}
                other => panic!("a standalone node emitted {other:?}"),
            }
        }
        if let (true, Some(id)) = (self.auto_sync, sync_to) {
            self.step(Input::Persisted { id });
        }
    }

    fn sync(&mut self) {
        let Some(id) = self.last_op else { return };
        self.step(Input::Persisted { id });
    }

    /// Lets time pass while `conn` keeps its session alive with pings.
    fn advance_pinging(&mut self, conn: ConnId, ms: u64) {
        for _ in 0..ms / 100 {
            self.advance(100);
            self.call(conn, OpCode::Ping, RequestBody::Ping);
        }
    }

    fn advance(&mut self, ms: u64) {
        let end = self.now + ms;
        while let Some(d) = self.node.next_deadline().filter(|d| *d <= end) {
            self.now = d.max(self.now);
            self.step(Input::Tick);
        }
        self.now = end;
    }

    fn open(&mut self) -> ConnId {
        let conn = self.next_conn;
        self.next_conn += 1;
        let addr: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        self.step(Input::ClientOpened {
            conn,
            addr,
            secret: [conn as u8; 32],
        });
        conn
    }

    fn send(&mut self, conn: ConnId, bytes: Bytes) {
        self.step(Input::ClientBytes { conn, bytes });
    }

    /// Complete frames received by `conn`.
    fn frames(&mut self, conn: ConnId) -> Vec<Bytes> {
        let buf = self.inbox.remove(&conn).unwrap_or_default();
        let mut frames = Vec::new();
        let mut rest = &buf[..];
        while rest.len() >= 4 {
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            assert!(rest.len() >= 4 + len, "partial frame");
            frames.push(Bytes::copy_from_slice(&rest[4..4 + len]));
            rest = &rest[4 + len..];
        }
        assert!(rest.is_empty(), "partial frame");
        frames
    }

    fn connect_as(&mut self, session_id: i64, passwd: Bytes) -> (ConnId, ConnectResponse) {
        let conn = self.open();
        let req = ConnectRequest {
            time_out: 1000,
            session_id,
            passwd,
            ..Default::default()
        };
        self.send(conn, frame_connect(&req));
        let frames = self.frames(conn);
        assert_eq!(frames.len(), 1, "one connect response");
        (conn, decode_connect_response(frames[0].clone()).unwrap())
    }

    fn connect(&mut self) -> (ConnId, i64) {
        let (conn, resp) = self.connect_as(0, Bytes::from_static(&[0; 16]));
        assert_ne!(resp.session_id, 0);
        (conn, resp.session_id)
    }

    fn call(&mut self, conn: ConnId, op: OpCode, body: RequestBody) -> (ErrorCode, ResponseBody) {
        self.send(conn, frame_request(&Request { xid: 1, op, body }));
        let frames = self.frames(conn);
        let reply = frames.last().expect("a reply").clone();
        let (h, body) = decode_reply(reply, op).unwrap();
        (ErrorCode::from_code(h.err).unwrap(), body)
    }

    fn create(
        &mut self,
        conn: ConnId,
        path: &str,
        data: &[u8],
        flags: i32,
    ) -> Result<String, ErrorCode> {
        let req = CreateRequest {
            path: path.into(),
            data: Data::copy_from_slice(data),
            acl: crate::acl::open_acl_unsafe(),
            flags,
        };
        match self.call(conn, OpCode::Create, RequestBody::Create(req)) {
            (ErrorCode::Ok, ResponseBody::Create(r)) => Ok(r.path),
            (err, _) => Err(err),
        }
    }

    fn get(&mut self, conn: ConnId, path: &str, watch: bool) -> Result<(Data, Stat), ErrorCode> {
        let req = GetDataRequest {
            path: path.into(),
            watch,
        };
        match self.call(conn, OpCode::GetData, RequestBody::GetData(req)) {
            (ErrorCode::Ok, ResponseBody::GetData(r)) => Ok((r.data, r.stat)),
            (err, _) => Err(err),
        }
    }

    fn set(
        &mut self,
        conn: ConnId,
        path: &str,
        data: &[u8],
        version: i32,
    ) -> Result<Stat, ErrorCode> {
        let req = SetDataRequest {
            path: path.into(),
            data: Data::copy_from_slice(data),
            version,
        };
        match self.call(conn, OpCode::SetData, RequestBody::SetData(req)) {
            (ErrorCode::Ok, ResponseBody::SetData(r)) => Ok(r.stat),
            (err, _) => Err(err),
        }
    }
}

#[test]
fn create_get_set_delete_maintain_stat() {
    let mut h = Harness::new();
    let (c, _) = h.connect();
    assert_eq!(h.create(c, "/a", b"one", 0), Ok("/a".into()));
    let (data, stat) = h.get(c, "/a", false).unwrap();
    assert_eq!(&data[..], b"one");
    assert_eq!(
        (stat.version, stat.data_length, stat.czxid),
        (0, 3, stat.mzxid)
    );
    let stat = h.set(c, "/a", b"two!", 0).unwrap();
    assert_eq!((stat.version, stat.data_length), (1, 4));
    assert_eq!(h.set(c, "/a", b"x", 0), Err(ErrorCode::BadVersion));
    let del = RequestBody::Delete(DeleteRequest {
        path: "/a".into(),
        version: -1,
    });
    assert_eq!(h.call(c, OpCode::Delete, del).0, ErrorCode::Ok);
    assert_eq!(h.get(c, "/a", false), Err(ErrorCode::NoNode));
}

#[test]
fn null_data_reads_back_null_apart_from_empty() {
    let mut h = Harness::new();
    let (c, _) = h.connect();
    let create = |path: &str, data: Data| {
        RequestBody::Create(CreateRequest {
            path: path.into(),
            data,
            acl: crate::acl::open_acl_unsafe(),
            flags: 0,
        })
    };
    assert_eq!(
        h.call(c, OpCode::Create, create("/null", Data::null())).0,
        ErrorCode::Ok
    );
    assert_eq!(
        h.call(c, OpCode::Create, create("/empty", Data::default()))
            .0,
        ErrorCode::Ok
    );
    let (data, stat) = h.get(c, "/null", false).unwrap();
    assert!(data.is_null());
    assert_eq!(stat.data_length, 0);
    let (data, _) = h.get(c, "/empty", false).unwrap();
    assert!(!data.is_null() && data.is_empty());
    // setData to null, and back through multiRead.
    let set = RequestBody::SetData(SetDataRequest {
        path: "/empty".into(),
        data: Data::null(),
        version: -1,
    });
    assert_eq!(h.call(c, OpCode::SetData, set).0, ErrorCode::Ok);
    let read = vec![MultiOp::GetData(GetDataRequest {
        path: "/empty".into(),
        watch: false,
    })];
    let (_, body) = h.call(c, OpCode::MultiRead, RequestBody::Multi(read));
    let ResponseBody::Multi(results) = body else {
        panic!("{body:?}")
    };
    assert!(matches!(&results[0], MultiResult::GetData { data, .. } if data.is_null()));
}

#[test]
fn a_client_deletecontainer_gets_zookeepers_answers() {
    let mut h = Harness::new();
    let (c, _) = h.connect();
    let container = RequestBody::Create(CreateRequest {
        path: "/box".into(),
        data: Data::default(),
        acl: crate::acl::open_acl_unsafe(),
        flags: 4,
    });
    assert_eq!(
        h.call(c, OpCode::CreateContainer, container).0,
        ErrorCode::Ok
    );
    h.create(c, "/box/x", b"", 0).unwrap();
    h.create(c, "/plain", b"", 0).unwrap();
    let mut del = |path: &str| {
        h.call(
            c,
            OpCode::DeleteContainer,
            RequestBody::DeleteContainer(path.into()),
        )
        .0
    };
    // ZooKeeper reads the whole packet as the path, header included: always BadArguments.
    for path in [
        "no slash",
        "/zookeeper",
        "/nothing",
        "/box",
        "/plain",
        "/box/x",
    ] {
        assert_eq!(del(path), ErrorCode::BadArguments, "{path}");
    }
    assert!(h.get(c, "/box/x", false).is_ok() && h.get(c, "/plain", false).is_ok());
}

#[test]
fn sasl_without_a_provider_is_answered_with_a_null_token() {
    let mut h = Harness::new();
    let (c, _) = h.connect();
    let sasl = RequestBody::Sasl(GetSaslRequest {
        token: Bytes::from_static(b"token"),
    });
    let (err, body) = h.call(c, OpCode::Sasl, sasl);
    assert_eq!(err, ErrorCode::Ok);
    assert_eq!(body, ResponseBody::Sasl(SetSaslResponse { token: None }));
    assert!(h.get(c, "/", false).is_ok(), "the connection stays open");
}

/// A server with a quota on /t (count hard limit 3: /t and two more), as zkCli's `setquota -N 3 /t`.
fn quota_server(enforce: bool) -> (Harness, ConnId) {
    let mut c = config();
    c.server.enforce_quota = enforce;
    let mut h = Harness::with_config(c);
    let (conn, _) = h.connect();
    h.create(conn, "/t", b"", 0).unwrap();
    h.create(conn, "/zookeeper/quota/t", b"", 0).unwrap();
    let limits = "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=3";
    let path = "/zookeeper/quota/t/zookeeper_limits";
    h.create(conn, path, limits.as_bytes(), 0).unwrap();
    h.create(
        conn,
        "/zookeeper/quota/t/zookeeper_stats",
        b"count=0,bytes=0",
        0,
    )
    .unwrap();
    (h, conn)
}

#[test]
fn with_enforce_quota_a_write_past_a_hard_limit_is_refused() {
    let (mut h, c) = quota_server(true);
    h.create(c, "/t/a", b"", 0).unwrap();
    h.create(c, "/t/b", b"", 0).unwrap();
    assert_eq!(h.create(c, "/t/c", b"", 0), Err(ErrorCode::QuotaExceeded));
    assert_eq!(h.get(c, "/t/c", false), Err(ErrorCode::NoNode));
    let (usage, _) = h
        .get(c, "/zookeeper/quota/t/zookeeper_stats", false)
        .unwrap();
    assert_eq!(&usage[..], b"count=3,bytes=0");
    // Elsewhere, and without enforcement, writes go on.
    h.create(c, "/u", b"", 0).unwrap();
    let (mut h, c) = quota_server(false);
    for name in ["a", "b", "c", "d"] {
        h.create(c, &format!("/t/{name}"), b"", 0).unwrap();
    }
    let (usage, _) = h
        .get(c, "/zookeeper/quota/t/zookeeper_stats", false)
        .unwrap();
    assert_eq!(&usage[..], b"count=5,bytes=0");
}

#[test]
fn writes_are_answered_only_after_the_log_is_synced_and_in_request_order() {
    let mut h = Harness::new();
    let (c, _) = h.connect();
    let (c2, _) = h.connect();
    h.auto_sync = false;
    let create = |xid, path: &str| Request {
        xid,
        op: OpCode::Create,
        body: RequestBody::Create(CreateRequest {
            path: path.into(),
            data: Data::default(),
            acl: crate::acl::open_acl_unsafe(),
            flags: 0,
        }),
    };
    h.send(c, frame_request(&create(10, "/x")));
    h.send(
        c,
        frame_request(&Request {
            xid: 11,
            op: OpCode::Exists,
            body: RequestBody::Exists(ExistsRequest {
                path: "/x".into(),
                watch: false,
            }),
        }),
    );
    h.send(c, frame_request(&create(12, "/y")));
    assert!(
        h.frames(c).is_empty(),
        "nothing is acknowledged before LogSynced"
    );
    // Another client does not see the unsynced write.
    let ex = RequestBody::Exists(ExistsRequest {
        path: "/x".into(),
        watch: false,
    });
    assert_eq!(h.call(c2, OpCode::Exists, ex).0, ErrorCode::NoNode);
    h.sync();
    let xids: Vec<(i32, i32)> = h
        .frames(c)
        .into_iter()
        .map(|f| {
            let op = if crate::proto::client::peek_xid(&f) == Some(11) {
                OpCode::Exists
            } else {
                OpCode::Create
            };
            let (hdr, _) = decode_reply(f, op).unwrap();
            (hdr.xid, hdr.err)
        })
        .collect();
    assert_eq!(
        xids,
        vec![(10, 0), (11, 0), (12, 0)],
        "FIFO, and the read sees the earlier write"
    );
}

#[test]
fn a_read_queued_between_two_writes_does_not_see_the_later_one() {
    let mut h = Harness::new();
    let (c, _) = h.connect();
    h.create(c, "/k", b"0", 0).unwrap();
    h.auto_sync = false;
    let set = |xid, v: &'static [u8]| Request {
        xid,
        op: OpCode::SetData,
        body: RequestBody::SetData(SetDataRequest {
            path: "/k".into(),
            data: Data::from_static(v),
            version: -1,
        }),
    };
    h.send(c, frame_request(&set(1, b"1")));
    h.send(
        c,
        frame_request(&Request {
            xid: 2,
            op: OpCode::GetData,
            body: RequestBody::GetData(GetDataRequest {
                path: "/k".into(),
                watch: false,
            }),
        }),
    );
    h.send(c, frame_request(&set(3, b"2")));
    h.sync(); // both writes become durable in one sync
    let frames = h.frames(c);
    let (_, body) = decode_reply(frames[1].clone(), OpCode::GetData).unwrap();
    let ResponseBody::GetData(r) = body else {
        panic!("getData reply")
    };
    assert_eq!(&r.data[..], b"1");
}

#[test]
fn sequential_nodes_get_ten_digit_suffixes_from_the_parent_cversion() {
    let mut h = Harness::new();
    let (c, _) = h.connect();
    h.create(c, "/q", b"", 0).unwrap();
    assert_eq!(h.create(c, "/q/n-", b"", 2), Ok("/q/n-0000000000".into()));
    assert_eq!(h.create(c, "/q/n-", b"", 2), Ok("/q/n-0000000001".into()));
    let del = RequestBody::Delete(DeleteRequest {
        path: "/q/n-0000000001".into(),
        version: -1,
    });
    h.call(c, OpCode::Delete, del);
    assert_eq!(h.create(c, "/q/n-", b"", 3), Ok("/q/n-0000000002".into()));
}

#[test]
fn failed_multi_applies_nothing_and_reports_each_op() {
    let mut h = Harness::new();
    let (c, _) = h.connect();
    let ops = vec![
        MultiOp::Create(
            OpCode::Create,
            CreateRequest {
                path: "/m".into(),
                data: Data::default(),
                acl: crate::acl::open_acl_unsafe(),
                flags: 0,
            },
        ),
        MultiOp::Check(CheckVersionRequest {
            path: "/m".into(),
            version: 5,
        }),
        MultiOp::Delete(DeleteRequest {
            path: "/m".into(),
            version: -1,
        }),
    ];
    let (err, body) = h.call(c, OpCode::Multi, RequestBody::Multi(ops));
    assert_eq!(err, ErrorCode::Ok);
    assert_eq!(
        body,
        ResponseBody::Multi(vec![
            MultiResult::Error(ErrorCode::Ok),
            MultiResult::Error(ErrorCode::BadVersion),
            MultiResult::Error(ErrorCode::RuntimeInconsistency),
        ])
    );
    assert_eq!(h.get(c, "/m", false), Err(ErrorCode::NoNode));
}

#[test]
fn data_watch_fires_once_before_the_read_that_follows() {
    let mut h = Harness::new();
    let (watcher, _) = h.connect();
    let (writer, _) = h.connect();
    h.create(writer, "/w", b"a", 0).unwrap();
    h.get(watcher, "/w", true).unwrap();
    h.set(writer, "/w", b"b", -1).unwrap();
    h.set(writer, "/w", b"c", -1).unwrap();
    let frames = h.frames(watcher);
    assert_eq!(
        frames.len(),
        1,
        "one-shot: a single notification for two changes"
    );
    let ev = decode_notification(frames[0].clone()).unwrap();
    assert_eq!((ev.event_type, ev.path.as_str()), (3, "/w"));
}

#[test]
fn session_expiry_deletes_ephemerals_and_fires_watches() {
    let mut h = Harness::new();
    let (owner, _) = h.connect();
    let (watcher, _) = h.connect();
    h.create(owner, "/e", b"", 1).unwrap();
    let ex = RequestBody::Exists(ExistsRequest {
        path: "/e".into(),
        watch: true,
    });
    assert_eq!(h.call(watcher, OpCode::Exists, ex).0, ErrorCode::Ok);
    // Only the watcher keeps pinging.
    for _ in 0..30 {
        h.advance(100);
        h.call(watcher, OpCode::Ping, RequestBody::Ping);
    }
    assert!(
        h.closed.contains(&owner),
        "the expired session's connection is closed"
    );
    let ev: Vec<_> = h
        .frames(watcher)
        .into_iter()
        .filter_map(|f| decode_notification(f).ok())
        .collect();
    assert!(ev.is_empty() || ev.iter().all(|e| e.path == "/e"));
    assert_eq!(h.get(watcher, "/e", false), Err(ErrorCode::NoNode));
}

#[test]
fn reconnect_keeps_the_session_and_a_wrong_password_is_refused() {
    let mut h = Harness::new();
    let (c, sid) = h.connect();
    h.create(c, "/eph", b"", 1).unwrap();
    let good = Bytes::copy_from_slice(&crate::session::password_for(sid));
    let (c2, resp) = h.connect_as(sid, good);
    assert_eq!(resp.session_id, sid);
    assert!(
        h.closed.contains(&c),
        "the old connection of the session is closed"
    );
    assert!(h.get(c2, "/eph", false).is_ok());
    let (c3, resp) = h.connect_as(sid, Bytes::from_static(&[1; 16]));
    assert_eq!((resp.session_id, resp.time_out), (0, 0));
    assert!(h.closed.contains(&c3));
}

#[test]
fn digest_acl_guards_reads_and_super_passes() {
    let mut h = Harness::new();
    let (c, _) = h.connect();
    let auth = |cred: &str| {
        RequestBody::Auth(AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: Bytes::copy_from_slice(cred.as_bytes()),
        })
    };
    assert_eq!(h.call(c, OpCode::Auth, auth("alice:pw")).0, ErrorCode::Ok);
    let acl = vec![Acl {
        perms: crate::acl::perms::ALL,
        id: Id {
            scheme: "auth".into(),
            id: String::new(),
        },
    }];
    let req = CreateRequest {
        path: "/secret".into(),
        data: Data::from_static(b"s"),
        acl,
        flags: 0,
    };
    assert_eq!(
        h.call(c, OpCode::Create, RequestBody::Create(req)).0,
        ErrorCode::Ok
    );
    let (other, _) = h.connect();
    assert_eq!(h.get(other, "/secret", false), Err(ErrorCode::NoAuth));
    let (root, _) = h.connect();
    assert_eq!(
        h.call(root, OpCode::Auth, auth("super:test")).0,
        ErrorCode::Ok
    );
    assert!(h.get(root, "/secret", false).is_ok());
}

/// Opens a connection that proved `subject` by certificate, then completes a handshake on it.
fn connect_with_certificate(h: &mut Harness, subject: &str) -> Option<ConnId> {
    let conn = h.open();
    h.step(Input::ClientCertificate {
        conn,
        subject: subject.to_string(),
    });
    if h.closed.contains(&conn) {
        return None;
    }
    let req = ConnectRequest {
        time_out: 1000,
        passwd: Bytes::from_static(&[0; 16]),
        ..Default::default()
    };
    h.send(conn, frame_connect(&req));
    assert_eq!(h.frames(conn).len(), 1, "one connect response");
    Some(conn)
}

fn who_am_i(h: &mut Harness, conn: ConnId) -> Vec<(String, String)> {
    match h.call(conn, OpCode::WhoAmI, RequestBody::WhoAmI) {
        (ErrorCode::Ok, ResponseBody::WhoAmI(r)) => {
            let mut ids: Vec<(String, String)> = r
                .client_info
                .into_iter()
                .map(|i| (i.auth_scheme, i.user))
                .collect();
            ids.sort();
            ids
        }
        other => panic!("whoAmI: {other:?}"),
    }
}

#[test]
fn a_client_certificate_gives_an_x509_id_only_with_the_x509_provider() {
    let mut cfg = config();
    cfg.server.x509_auth = true;
    cfg.server.x509_super_user = Some("CN=admin,O=rzk".into());
    let mut h = Harness::with_config(cfg);
    let app = connect_with_certificate(&mut h, "CN=app,O=rzk").expect("admitted");
    let ids = who_am_i(&mut h, app);
    assert!(
        ids.contains(&("x509".into(), "CN=app,O=rzk".into())),
        "{ids:?}"
    );
    assert!(!ids.iter().any(|(s, _)| s == "super"));
    let acl = vec![Acl {
        perms: crate::acl::perms::ALL,
        id: Id {
            scheme: "x509".into(),
            id: "CN=app,O=rzk".into(),
        },
    }];
    let req = CreateRequest {
        path: "/app".into(),
        data: Data::from_static(b"a"),
        acl,
        flags: 0,
    };
    assert_eq!(
        h.call(app, OpCode::Create, RequestBody::Create(req)).0,
        ErrorCode::Ok
    );
    assert!(h.get(app, "/app", false).is_ok());
    let (plain, _) = h.connect();
    assert_eq!(h.get(plain, "/app", false), Err(ErrorCode::NoAuth));
    let other = connect_with_certificate(&mut h, "CN=other,O=rzk").expect("admitted");
    assert_eq!(h.get(other, "/app", false), Err(ErrorCode::NoAuth));
    // The super user passes every ACL; whoAmI names it without a user, as ZooKeeper's AuthUtil does.
    let admin = connect_with_certificate(&mut h, "CN=admin,O=rzk").expect("admitted");
    assert!(h.get(admin, "/app", false).is_ok());
    let ids = who_am_i(&mut h, admin);
    assert!(ids.contains(&("super".into(), String::new())), "{ids:?}");
    assert!(
        ids.contains(&("x509".into(), "CN=admin,O=rzk".into())),
        "{ids:?}"
    );

    // Without the provider the connection is closed, as NettyServerCnxnFactory does.
    let mut h = Harness::new();
    assert_eq!(connect_with_certificate(&mut h, "CN=app,O=rzk"), None);
}

#[test]
fn enforced_schemes_refuse_every_request_before_authentication() {
    let mut cfg = config();
    cfg.server.enforce_auth_schemes = vec!["digest".into()];
    let mut h = Harness::with_config(cfg);
    let (c, _) = h.connect();
    // The handshake passed; the first request without a digest id is refused and the connection closed.
    assert_eq!(
        h.get(c, "/", false),
        Err(ErrorCode::SessionClosedRequireSaslAuth)
    );
    assert!(h.closed.contains(&c));
    let (c, _) = h.connect();
    let auth = RequestBody::Auth(AuthPacket {
        auth_type: 0,
        scheme: "digest".into(),
        auth: Bytes::from_static(b"alice:pw"),
    });
    assert_eq!(h.call(c, OpCode::Auth, auth).0, ErrorCode::Ok);
    assert!(h.get(c, "/", false).is_ok());
    assert!(!h.closed.contains(&c));
}

#[test]
fn bad_input_gets_an_error_or_a_clean_close() {
    let mut h = Harness::new();
    // A huge length prefix closes the connection before any body arrives.
    let c = h.open();
    h.send(c, Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff]));
    assert!(h.closed.contains(&c));
    // A garbage first frame (not a ConnectRequest) closes.
    let c = h.open();
    h.send(c, Bytes::from_static(&[0, 0, 0, 3, 1, 2, 3]));
    assert!(h.closed.contains(&c));
    // An unknown opcode gets Unimplemented and a close.
    let (c, _) = h.connect();
    h.send(
        c,
        Bytes::from_static(&[0, 0, 0, 8, 0, 0, 0, 5, 0, 0, 0x30, 0x39]),
    );
    let frames = h.frames(c);
    let (hdr, _) = decode_reply(frames[0].clone(), OpCode::Ping).unwrap();
    assert_eq!((hdr.xid, hdr.err), (5, ErrorCode::Unimplemented.code()));
    assert!(h.closed.contains(&c));
    // A truncated body gets MarshallingError and the connection lives on.
    let (c, _) = h.connect();
    h.send(
        c,
        Bytes::from_static(&[0, 0, 0, 10, 0, 0, 0, 6, 0, 0, 0, 4, 0, 0]),
    );
    let (hdr, _) = decode_reply(h.frames(c)[0].clone(), OpCode::GetData).unwrap();
    assert_eq!(hdr.err, ErrorCode::MarshallingError.code());
    assert!(!h.closed.contains(&c));
    // Non-canonical paths are refused for writes: BadArguments, or NoNode where ZooKeeper looks up the
    // (non-canonical) parent first.
    h.create(c, "/a", b"", 0).unwrap();
    for bad in ["/a/", "a", "/a\u{0}b", "/a\u{1}", "/a/.", "/a/.."] {
        assert_eq!(
            h.create(c, bad, b"", 0),
            Err(ErrorCode::BadArguments),
            "{bad:?}"
        );
    }
    for bad in ["/a//b", "/a/./b", "/a/../b"] {
        assert_eq!(h.create(c, bad, b"", 0), Err(ErrorCode::NoNode), "{bad:?}");
    }
    let kids = RequestBody::GetChildren(GetChildrenRequest {
        path: "/a".into(),
        watch: false,
    });
    assert_eq!(
        h.call(c, OpCode::GetChildren, kids).1,
        ResponseBody::GetChildren(GetChildrenResponse { children: vec![] })
    );
    assert!(h.get(c, "/", false).is_ok(), "the connection still works");
}

#[test]
fn a_connection_without_a_handshake_is_closed_at_the_sessionless_timeout() {
    let mut h = Harness::new();
    let timeout = h.node.config().server.sessionless_cnxn_timeout as u64;
    assert_eq!(timeout, 10_000, "ZooKeeper's default");
    let (established, _) = h.connect();
    let silent = h.open();
    h.advance_pinging(established, 1000);
    let trickling = h.open();
    // Half a ConnectRequest frame: bytes arrive, but no handshake completes.
    let connect = frame_connect(&ConnectRequest::default());
    h.send(trickling, connect.slice(..10));
    h.advance_pinging(established, timeout - 1100);
    h.advance(99);
    assert!(h.closed.is_empty(), "nobody is closed before the deadline");
    h.advance(1);
    assert_eq!(h.closed, vec![silent]);
    h.call(established, OpCode::Ping, RequestBody::Ping);
    h.send(trickling, connect.slice(10..12));
    h.advance_pinging(established, 900);
    h.advance(99);
    assert_eq!(h.closed, vec![silent], "bytes do not extend the deadline");
    h.advance(1);
    assert_eq!(h.closed, vec![silent, trickling]);
    // The established session is untouched, and pings keep it alive well past the timeout.
    h.advance_pinging(established, 3 * timeout);
    assert_eq!(h.closed, vec![silent, trickling]);
    assert_eq!(h.node.stats.sessionless_closed, 2);
}

#[test]
fn four_letter_words_are_answered_and_the_connection_closed() {
    let mut h = Harness::new();
    let c = h.open();
    h.send(c, Bytes::from_static(b"ruok"));
    assert_eq!(h.inbox.remove(&c).unwrap(), b"imok");
    assert!(h.closed.contains(&c));
}

#[test]
fn empty_containers_are_reaped_after_they_had_children() {
    let mut h = Harness::new();
    let (c, _) = h.connect();
    let req = CreateRequest {
        path: "/box".into(),
        data: Data::default(),
        acl: crate::acl::open_acl_unsafe(),
        flags: 4,
    };
    assert_eq!(
        h.call(c, OpCode::CreateContainer, RequestBody::Create(req))
            .0,
        ErrorCode::Ok
    );
    h.advance_pinging(c, 1500);
    assert!(h.get(c, "/box", false).is_ok(), "never had children: kept");
    h.create(c, "/box/x", b"", 0).unwrap();
    let del = RequestBody::Delete(DeleteRequest {
        path: "/box/x".into(),
        version: -1,
    });
    h.call(c, OpCode::Delete, del);
    h.advance_pinging(c, 1500);
    assert_eq!(h.get(c, "/box", false), Err(ErrorCode::NoNode));
}

/// Member 1 of a three-server ensemble whose peers never answer, so it keeps looking for a leader; its
/// tree holds /a = "x". `read_only` sets readonlymode.enabled.
fn cut_off_member(read_only: bool) -> Harness {
    let mut h = member_not_ticked(read_only);
    h.step(Input::Tick);
    h
}

/// Server 1 of a 3-server ensemble whose peers never answer, fresh from `Node::new` (not ticked yet).
fn member_not_ticked(read_only: bool) -> Harness {
    let mut standalone = Harness::new();
    let (c, _) = standalone.connect();
    standalone.create(c, "/a", b"x", 0).unwrap();
    let tree = standalone.node.tree().clone();
    let mut cfg = config();
    cfg.server.read_only_mode_enabled = read_only;
    cfg.server_id = 1;
    cfg.server.servers = (1..=3)
        .map(|id| crate::config::ServerSpec {
            id,
            host: format!("10.0.0.{id}"),
            quorum_port: 2888,
            election_port: 3888,
            peer_type: crate::config::PeerType::Participant,
            client_address: None,
            client_port: None,
        })
        .collect();
    let recovered = Recovered {
        tree: Some(tree),
        ..Recovered::default()
    };
    let mut h = Harness::new();
    h.node = Node::new(cfg, recovered, h.now, 7);
    h.member = true;
    h
}

/// Found by the simulator: a member restarted at the heal served a client before its first tick started the
/// election, as if it were standalone, and logged a zxid of epoch 0 after its recovered log.
#[test]
fn an_ensemble_member_serves_nobody_before_its_first_tick() {
    let mut h = member_not_ticked(false);
    assert!(
        h.connect_read_only(false, 0).is_none(),
        "refused, not served"
    );
    assert!(h.log.is_empty(), "nothing proposed");
    assert_eq!(
        h.four_letter("srvr"),
        "This ZooKeeper instance is not currently serving requests\n"
    );
}

impl Harness {
    /// A handshake asking for a read-only session (or not); None when the node closes the connection.
    fn connect_read_only(
        &mut self,
        read_only: bool,
        session_id: i64,
    ) -> Option<(ConnId, ConnectResponse)> {
        let conn = self.open();
        let req = ConnectRequest {
            time_out: 1000,
            session_id,
            passwd: Bytes::copy_from_slice(&crate::session::password_for(session_id)),
            read_only,
            ..Default::default()
        };
        self.send(conn, frame_connect(&req));
        let frames = self.frames(conn);
        if self.closed.contains(&conn) {
            assert!(frames.is_empty(), "a refused handshake gets no reply");
            return None;
        }
        assert_eq!(frames.len(), 1, "one connect response");
        Some((conn, decode_connect_response(frames[0].clone()).unwrap()))
    }

    fn four_letter(&mut self, word: &str) -> String {
        let c = self.open();
        self.send(c, Bytes::copy_from_slice(word.as_bytes()));
        String::from_utf8(self.inbox.remove(&c).unwrap_or_default()).unwrap()
    }
}

/// ZooKeeper's grace period before a looking server serves read-only: max(2 s, tickTime).
const READ_ONLY_GRACE_MS: u64 = 2000;

#[test]
fn a_cut_off_member_serves_read_only_clients_after_the_grace_period() {
    let mut h = cut_off_member(true);
    assert!(
        h.connect_read_only(true, 0).is_none(),
        "still within the grace period: an election may yet settle"
    );
    h.advance(READ_ONLY_GRACE_MS);
    let (c, resp) = h.connect_read_only(true, 0).expect("read-only session");
    assert!(resp.read_only);
    assert_ne!(resp.session_id, 0);
    assert_eq!(h.get(c, "/a", false).unwrap().0, Data::from_static(b"x"));
    let kids = RequestBody::GetChildren(GetChildrenRequest {
        path: "/".into(),
        watch: false,
    });
    let (err, body) = h.call(c, OpCode::GetChildren, kids);
    assert_eq!(err, ErrorCode::Ok);
    assert!(matches!(body, ResponseBody::GetChildren(r) if r.children.contains(&"a".to_string())));
    assert_eq!(h.call(c, OpCode::Ping, RequestBody::Ping).0, ErrorCode::Ok);
}

#[test]
fn writes_and_sync_on_a_read_only_session_get_not_read_only() {
    let mut h = cut_off_member(true);
    h.advance(READ_ONLY_GRACE_MS);
    let (c, _) = h.connect_read_only(true, 0).unwrap();
    assert_eq!(h.create(c, "/b", b"", 0), Err(ErrorCode::NotReadOnly));
    assert_eq!(h.set(c, "/a", b"y", -1), Err(ErrorCode::NotReadOnly));
    let del = RequestBody::Delete(DeleteRequest {
        path: "/a".into(),
        version: -1,
    });
    assert_eq!(h.call(c, OpCode::Delete, del).0, ErrorCode::NotReadOnly);
    let multi = RequestBody::Multi(vec![MultiOp::Check(CheckVersionRequest {
        path: "/a".into(),
        version: 0,
    })]);
    assert_eq!(h.call(c, OpCode::Multi, multi).0, ErrorCode::NotReadOnly);
    let sync = RequestBody::Sync(SyncRequest { path: "/a".into() });
    assert_eq!(h.call(c, OpCode::Sync, sync).0, ErrorCode::NotReadOnly);
    assert!(h.log.is_empty(), "nothing was logged");
    assert_eq!(h.get(c, "/a", false).unwrap().0, Data::from_static(b"x"));
}

#[test]
fn a_client_that_did_not_ask_for_read_only_is_refused() {
    let mut h = cut_off_member(true);
    h.advance(READ_ONLY_GRACE_MS);
    assert!(h.connect_read_only(false, 0).is_none());
}

#[test]
fn without_read_only_mode_a_looking_member_refuses_every_client() {
    let mut h = cut_off_member(false);
    h.advance(READ_ONLY_GRACE_MS);
    assert!(h.connect_read_only(true, 0).is_none());
    assert_eq!(
        h.four_letter("srvr"),
        "This ZooKeeper instance is not currently serving requests\n"
    );
}

#[test]
fn four_letter_words_report_read_only_mode() {
    let mut h = cut_off_member(true);
    assert_eq!(h.four_letter("isro"), "null", "looking, not serving yet");
    h.advance(READ_ONLY_GRACE_MS);
    assert_eq!(h.four_letter("isro"), "ro");
    let srvr = h.four_letter("srvr");
    assert!(srvr.contains("READ-ONLY mode; serving only read-only clients\n"));
    assert!(srvr.contains("\nMode: read-only\n"), "{srvr}");
    h.node.config.server.four_letter_whitelist = crate::config::FourLetterWhitelist::All;
    assert!(h
        .four_letter("mntr")
        .contains("zk_server_state\tread-only\n"));
}

#[test]
fn a_read_only_session_resumes_only_on_its_server_and_closes_locally() {
    let mut h = cut_off_member(true);
    h.advance(READ_ONLY_GRACE_MS);
    let (c, resp) = h.connect_read_only(true, 0).unwrap();
    h.step(Input::ClientClosed { conn: c });
    let (c2, again) = h
        .connect_read_only(true, resp.session_id)
        .expect("its own read-only session resumes");
    assert_eq!(again.session_id, resp.session_id);
    assert!(again.read_only);
    // A session this server did not hand out in read-only mode: only the leader could vouch for it.
    assert!(h.connect_read_only(true, resp.session_id + 1).is_none());
    let (err, _) = h.call(c2, OpCode::CloseSession, RequestBody::CloseSession);
    assert_eq!(err, ErrorCode::Ok);
    assert!(h.closed.contains(&c2));
    assert!(h.connect_read_only(true, resp.session_id).is_none());
    assert!(h.log.is_empty(), "read-only sessions are never logged");
}

#[test]
fn a_silent_read_only_session_expires() {
    let mut h = cut_off_member(true);
    h.advance(READ_ONLY_GRACE_MS);
    let (c, resp) = h.connect_read_only(true, 0).unwrap();
    h.advance(resp.time_out as u64 + 200);
    assert!(h.closed.contains(&c));
}

#[test]
fn rejoining_the_quorum_closes_read_only_connections() {
    use crate::election::{Notification, PeerState, Vote};
    let mut h = cut_off_member(true);
    h.advance(READ_ONLY_GRACE_MS);
    let (c, _) = h.connect_read_only(true, 0).unwrap();
    // Servers 2 and 3 are back, with 2 leading: a quorum of settled servers tells us so.
    let vote = Vote {
        leader: 2,
        zxid: h.node.tree().last_zxid(),
        peer_epoch: 1,
    };
    for (from, state) in [(2, PeerState::Leading), (3, PeerState::Following)] {
        let n = Notification {
            vote,
            election_epoch: 5,
            state,
        };
        h.step(Input::PeerMessage {
            from,
            msg: crate::peer::PeerMsg::Election(n),
        });
    }
    assert!(h.node.is_follower());
    assert!(h.closed.contains(&c), "the read-only connection is closed");
    assert_eq!(
        h.four_letter("srvr"),
        "This ZooKeeper instance is not currently serving requests\n",
        "syncing with the leader: not read-only any more"
    );
}
