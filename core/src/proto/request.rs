//! Decoding a client frame into a typed request.

use bytes::Bytes;

use super::records::*;
use super::{DecodeError, OpCode, Reader, Record};

/// One decoded client request.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub xid: i32,
    pub op: OpCode,
    pub body: RequestBody,
}

/// The body of a request, by opcode. Opcodes that share a record share a variant; `Request::op` tells them
/// apart (create/create2/createContainer, getChildren/getChildren2, setWatches/setWatches2, multi/multiRead).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum RequestBody {
    Ping,
    CloseSession,
    /// create, create2, createContainer.
    Create(CreateRequest),
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    /// deleteContainer: its body is not a jute record but the path's UTF-8 bytes, unprefixed (ZooKeeper's
    /// ContainerManager submits it so, and PrepRequestProcessor reads the whole body as the path).
    DeleteContainer(String),
    Exists(ExistsRequest),
    GetData(GetDataRequest),
    SetData(SetDataRequest),
    GetAcl(GetAclRequest),
    SetAcl(SetAclRequest),
    /// getChildren and getChildren2.
    GetChildren(GetChildrenRequest),
    Sync(SyncRequest),
    Check(CheckVersionRequest),
    /// multi and multiRead: the ops in order.
    Multi(Vec<MultiOp>),
    Reconfig(ReconfigRequest),
    CheckWatches(CheckWatchesRequest),
    RemoveWatches(RemoveWatchesRequest),
    Auth(AuthPacket),
    /// setWatches is decoded into the setWatches2 shape with no persistent watches.
    SetWatches(SetWatches2),
    Sasl(GetSaslRequest),
    GetEphemerals(GetEphemeralsRequest),
    GetAllChildrenNumber(GetAllChildrenNumberRequest),
    AddWatch(AddWatchRequest),
    WhoAmI,
}

/// One op inside a multi (writes) or multiRead (reads) request. ZooKeeper ignores the `watch` flag of the
/// read ops (it rebuilds them from the path alone), so a multiRead never sets watches.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    /// create, create2 or createContainer, with the code the client sent. ZooKeeper itself types a multi
    /// create by its flags instead (see [`MultiOp::zk_create_op`]).
    Create(OpCode, CreateRequest),
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    SetData(SetDataRequest),
    Check(CheckVersionRequest),
    GetChildren(GetChildrenRequest),
    GetData(GetDataRequest),
}

impl MultiOp {
    pub fn op_code(&self) -> OpCode {
        match self {
            MultiOp::Create(op, _) => *op,
            MultiOp::CreateTtl(_) => OpCode::CreateTtl,
            MultiOp::Delete(_) => OpCode::Delete,
            MultiOp::SetData(_) => OpCode::SetData,
            MultiOp::Check(_) => OpCode::Check,
            MultiOp::GetChildren(_) => OpCode::GetChildren,
            MultiOp::GetData(_) => OpCode::GetData,
        }
    }

    /// The op code ZooKeeper gives a create inside a multi: its server rebuilds each create from the request
    /// record's flags, so create2 becomes create, a container flag makes createContainer and a TTL flag
    /// makes createTTL (for a createTTL op) whatever code the client sent. That code decides the result shape
    /// (see `response::MultiResult::Create`). `None` for ops that are not creates.
    pub fn zk_create_op(&self) -> Option<OpCode> {
        const CONTAINER: i32 = 4;
        const PERSISTENT_WITH_TTL: i32 = 5;
        const PERSISTENT_SEQUENTIAL_WITH_TTL: i32 = 6;
        let is_ttl = |flags| matches!(flags, PERSISTENT_WITH_TTL | PERSISTENT_SEQUENTIAL_WITH_TTL);
        match self {
            MultiOp::CreateTtl(r) if is_ttl(r.flags) => Some(OpCode::CreateTtl),
            MultiOp::Create(_, CreateRequest { flags, .. })
            | MultiOp::CreateTtl(CreateTtlRequest { flags, .. }) => Some(match *flags {
                CONTAINER => OpCode::CreateContainer,
                f if is_ttl(f) => OpCode::CreateTtl,
                _ => OpCode::Create,
            }),
            _ => None,
        }
    }

    pub fn path(&self) -> &str {
        match self {
            MultiOp::Create(_, r) => &r.path,
            MultiOp::CreateTtl(r) => &r.path,
            MultiOp::Delete(r) => &r.path,
            MultiOp::SetData(r) => &r.path,
            MultiOp::Check(r) => &r.path,
            MultiOp::GetChildren(r) => &r.path,
            MultiOp::GetData(r) => &r.path,
        }
    }
}

/// A frame that could not be decoded. With a header, the client gets an error reply for that xid
/// (`Unimplemented` for an unknown opcode, `MarshallingError` for a bad body); without one the connection closes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad request (header {header:?}): {error}")]
pub struct RequestDecodeError {
    pub header: Option<RequestHeader>,
    pub error: DecodeError,
}

/// Decodes a request frame (header and body).
///
/// A truncated body is an error, but bytes after a complete body are ignored: ZooKeeper deserializes request
/// records from a stream over the frame and never checks that it was used up, and clients rely on nothing else.
pub fn decode_request(frame: Bytes) -> Result<Request, RequestDecodeError> {
    let mut r = Reader::new(frame);
    let header = RequestHeader::read(&mut r).map_err(|error| RequestDecodeError {
        header: None,
        error,
    })?;
    let fail = |error| RequestDecodeError {
        header: Some(header),
        error,
    };
    let op = OpCode::from_code(header.op).ok_or(fail(DecodeError::UnknownOpCode(header.op)))?;
    let body = decode_body(op, &mut r).map_err(fail)?;
    Ok(Request {
        xid: header.xid,
        op,
        body,
    })
}

/// The body record for `op`; opcodes a client may not send are [`DecodeError::UnknownOpCode`].
fn decode_body(op: OpCode, r: &mut Reader) -> Result<RequestBody, DecodeError> {
    use OpCode as O;
    use RequestBody as B;
    Ok(match op {
        O::Ping => B::Ping,
        O::CloseSession => B::CloseSession,
        O::WhoAmI => B::WhoAmI,
        O::Create | O::Create2 | O::CreateContainer => B::Create(Record::read(r)?),
        O::CreateTtl => B::CreateTtl(Record::read(r)?),
        O::Delete => B::Delete(Record::read(r)?),
        O::DeleteContainer => {
            B::DeleteContainer(String::from_utf8_lossy(&r.read_rest()).into_owned())
        }
        O::Exists => B::Exists(Record::read(r)?),
        O::GetData => B::GetData(Record::read(r)?),
        O::SetData => B::SetData(Record::read(r)?),
        O::GetAcl => B::GetAcl(Record::read(r)?),
        O::SetAcl => B::SetAcl(Record::read(r)?),
        O::GetChildren | O::GetChildren2 => B::GetChildren(Record::read(r)?),
        O::Sync => B::Sync(Record::read(r)?),
        O::Check => B::Check(Record::read(r)?),
        O::Multi => B::Multi(decode_multi(r, MultiKind::Write)?),
        O::MultiRead => B::Multi(decode_multi(r, MultiKind::Read)?),
        O::Reconfig => B::Reconfig(Record::read(r)?),
        O::CheckWatches => B::CheckWatches(Record::read(r)?),
        O::RemoveWatches => B::RemoveWatches(Record::read(r)?),
        O::Auth => B::Auth(Record::read(r)?),
        O::SetWatches => {
            let w = SetWatches::read(r)?;
            B::SetWatches(SetWatches2 {
                relative_zxid: w.relative_zxid,
                data_watches: w.data_watches,
                exist_watches: w.exist_watches,
                child_watches: w.child_watches,
                persistent_watches: Vec::new(),
                persistent_recursive_watches: Vec::new(),
            })
        }
        O::SetWatches2 => B::SetWatches(Record::read(r)?),
        O::Sasl => B::Sasl(Record::read(r)?),
        O::GetEphemerals => B::GetEphemerals(Record::read(r)?),
        O::GetAllChildrenNumber => B::GetAllChildrenNumber(Record::read(r)?),
        O::AddWatch => B::AddWatch(Record::read(r)?),
        // Server-internal or reply-only codes.
        O::Notification | O::CreateSession | O::Error => {
            return Err(DecodeError::UnknownOpCode(op.code()))
        }
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum MultiKind {
    Write,
    Read,
}

/// A multi body: (MultiHeader, op record) pairs until a header with `done` set. Like ZooKeeper, only `done`
/// ends the list (the closing header's type and err are not checked), and reads and writes do not mix.
/// The op count needs no separate limit: each op consumes at least a 9-byte header from the frame.
fn decode_multi(r: &mut Reader, kind: MultiKind) -> Result<Vec<MultiOp>, DecodeError> {
    let mut ops = Vec::new();
    loop {
        let h = MultiHeader::read(r)?;
        if h.done {
            return Ok(ops);
        }
        let op = match (kind, OpCode::from_code(h.op)) {
            (
                MultiKind::Write,
                Some(c @ (OpCode::Create | OpCode::Create2 | OpCode::CreateContainer)),
            ) => MultiOp::Create(c, Record::read(r)?),
            (MultiKind::Write, Some(OpCode::CreateTtl)) => MultiOp::CreateTtl(Record::read(r)?),
            (MultiKind::Write, Some(OpCode::Delete)) => MultiOp::Delete(Record::read(r)?),
            (MultiKind::Write, Some(OpCode::SetData)) => MultiOp::SetData(Record::read(r)?),
            (MultiKind::Write, Some(OpCode::Check)) => MultiOp::Check(Record::read(r)?),
            (MultiKind::Read, Some(OpCode::GetChildren)) => MultiOp::GetChildren(Record::read(r)?),
            (MultiKind::Read, Some(OpCode::GetData)) => MultiOp::GetData(Record::read(r)?),
            (MultiKind::Write, _) => return Err(DecodeError::BadMulti("op not allowed in multi")),
            (MultiKind::Read, _) => {
                return Err(DecodeError::BadMulti("op not allowed in multiRead"))
            }
        };
        ops.push(op);
    }
}

/// Decodes the first frame of a connection. Trailing bytes are tolerated as ZooKeeper does; a missing
/// `read_only` byte reads as false.
pub fn decode_connect(frame: Bytes) -> Result<ConnectRequest, DecodeError> {
    ConnectRequest::read(&mut Reader::new(frame))
}

/// The client side of [`decode_request`]: a request's frame body (without the length prefix). Used by rzk's own
/// clients (simulator, benchmark, shell) and by tests checking `decode_request(encode_request(x)) == x`.
pub fn encode_request(req: &Request) -> Bytes {
    use super::Writer;
    fn write_multi(w: &mut Writer<'_>, ops: &[MultiOp]) {
        for op in ops {
            MultiHeader {
                op: op.op_code().code(),
                done: false,
                err: -1,
            }
            .write(w);
            match op {
                MultiOp::Create(_, r) => r.write(w),
                MultiOp::CreateTtl(r) => r.write(w),
                MultiOp::Delete(r) => r.write(w),
                MultiOp::SetData(r) => r.write(w),
                MultiOp::Check(r) => r.write(w),
                MultiOp::GetChildren(r) => r.write(w),
                MultiOp::GetData(r) => r.write(w),
            }
        }
        MultiHeader {
            op: -1,
            done: true,
            err: -1,
        }
        .write(w);
    }
    let mut buf = bytes::BytesMut::new();
    let w = &mut Writer::new(&mut buf);
    RequestHeader {
        xid: req.xid,
        op: req.op.code(),
    }
    .write(w);
    match &req.body {
        RequestBody::Ping | RequestBody::CloseSession | RequestBody::WhoAmI => {}
        RequestBody::Create(r) => r.write(w),
        RequestBody::CreateTtl(r) => r.write(w),
        RequestBody::Delete(r) => r.write(w),
        RequestBody::DeleteContainer(path) => w.write_raw(path.as_bytes()),
        RequestBody::Exists(r) => r.write(w),
        RequestBody::GetData(r) => r.write(w),
        RequestBody::SetData(r) => r.write(w),
        RequestBody::GetAcl(r) => r.write(w),
        RequestBody::SetAcl(r) => r.write(w),
        RequestBody::GetChildren(r) => r.write(w),
        RequestBody::Sync(r) => r.write(w),
        RequestBody::Check(r) => r.write(w),
        RequestBody::Multi(ops) => write_multi(w, ops),
        RequestBody::Reconfig(r) => r.write(w),
        RequestBody::CheckWatches(r) => r.write(w),
        RequestBody::RemoveWatches(r) => r.write(w),
        RequestBody::Auth(r) => r.write(w),
        RequestBody::SetWatches(r) if req.op == OpCode::SetWatches => SetWatches {
            relative_zxid: r.relative_zxid,
            data_watches: r.data_watches.clone(),
            exist_watches: r.exist_watches.clone(),
            child_watches: r.child_watches.clone(),
        }
        .write(w),
        RequestBody::SetWatches(r) => r.write(w),
        RequestBody::Sasl(r) => r.write(w),
        RequestBody::GetEphemerals(r) => r.write(w),
        RequestBody::GetAllChildrenNumber(r) => r.write(w),
        RequestBody::AddWatch(r) => r.write(w),
    }
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Data;
    use proptest::prelude::*;
    use proptest::sample::select;

    fn write_ops() -> impl Strategy<Value = MultiOp> {
        let create_op = select(vec![
            OpCode::Create,
            OpCode::Create2,
            OpCode::CreateContainer,
        ]);
        prop_oneof![
            (create_op, CreateRequest::arbitrary()).prop_map(|(op, r)| MultiOp::Create(op, r)),
            CreateTtlRequest::arbitrary().prop_map(MultiOp::CreateTtl),
            DeleteRequest::arbitrary().prop_map(MultiOp::Delete),
            SetDataRequest::arbitrary().prop_map(MultiOp::SetData),
            CheckVersionRequest::arbitrary().prop_map(MultiOp::Check),
        ]
    }

    fn read_ops() -> impl Strategy<Value = MultiOp> {
        prop_oneof![
            GetChildrenRequest::arbitrary().prop_map(MultiOp::GetChildren),
            GetDataRequest::arbitrary().prop_map(MultiOp::GetData),
        ]
    }

    /// Every request a client can send, with each opcode that shares a body.
    fn any_request() -> impl Strategy<Value = Request> {
        use OpCode as O;
        use RequestBody as B;
        let no_persistent = SetWatches::arbitrary().prop_map(|w| SetWatches2 {
            relative_zxid: w.relative_zxid,
            data_watches: w.data_watches,
            exist_watches: w.exist_watches,
            child_watches: w.child_watches,
            ..SetWatches2::default()
        });
        let body = prop_oneof![
            Just((O::Ping, B::Ping)),
            Just((O::CloseSession, B::CloseSession)),
            Just((O::WhoAmI, B::WhoAmI)),
            (
                select(vec![O::Create, O::Create2, O::CreateContainer]),
                CreateRequest::arbitrary()
            )
                .prop_map(|(op, r)| (op, B::Create(r))),
            CreateTtlRequest::arbitrary().prop_map(|r| (O::CreateTtl, B::CreateTtl(r))),
            DeleteRequest::arbitrary().prop_map(|r| (O::Delete, B::Delete(r))),
            crate::proto::records::test_strategies::string()
                .prop_map(|p| (O::DeleteContainer, B::DeleteContainer(p))),
            ExistsRequest::arbitrary().prop_map(|r| (O::Exists, B::Exists(r))),
            GetDataRequest::arbitrary().prop_map(|r| (O::GetData, B::GetData(r))),
            SetDataRequest::arbitrary().prop_map(|r| (O::SetData, B::SetData(r))),
            GetAclRequest::arbitrary().prop_map(|r| (O::GetAcl, B::GetAcl(r))),
            SetAclRequest::arbitrary().prop_map(|r| (O::SetAcl, B::SetAcl(r))),
            (
                select(vec![O::GetChildren, O::GetChildren2]),
                GetChildrenRequest::arbitrary()
            )
                .prop_map(|(op, r)| (op, B::GetChildren(r))),
            SyncRequest::arbitrary().prop_map(|r| (O::Sync, B::Sync(r))),
            CheckVersionRequest::arbitrary().prop_map(|r| (O::Check, B::Check(r))),
            proptest::collection::vec(write_ops(), 0..4).prop_map(|ops| (O::Multi, B::Multi(ops))),
            proptest::collection::vec(read_ops(), 0..4)
                .prop_map(|ops| (O::MultiRead, B::Multi(ops))),
            ReconfigRequest::arbitrary().prop_map(|r| (O::Reconfig, B::Reconfig(r))),
            CheckWatchesRequest::arbitrary().prop_map(|r| (O::CheckWatches, B::CheckWatches(r))),
            RemoveWatchesRequest::arbitrary().prop_map(|r| (O::RemoveWatches, B::RemoveWatches(r))),
            AuthPacket::arbitrary().prop_map(|r| (O::Auth, B::Auth(r))),
            no_persistent.prop_map(|r| (O::SetWatches, B::SetWatches(r))),
            SetWatches2::arbitrary().prop_map(|r| (O::SetWatches2, B::SetWatches(r))),
            GetSaslRequest::arbitrary().prop_map(|r| (O::Sasl, B::Sasl(r))),
            GetEphemeralsRequest::arbitrary().prop_map(|r| (O::GetEphemerals, B::GetEphemerals(r))),
            GetAllChildrenNumberRequest::arbitrary()
                .prop_map(|r| (O::GetAllChildrenNumber, B::GetAllChildrenNumber(r))),
            AddWatchRequest::arbitrary().prop_map(|r| (O::AddWatch, B::AddWatch(r))),
        ];
        (any::<i32>(), body).prop_map(|(xid, (op, body))| Request { xid, op, body })
    }

    fn be(v: i32) -> [u8; 4] {
        v.to_be_bytes()
    }

    fn ustring(s: &str) -> Vec<u8> {
        let mut b = be(s.len() as i32).to_vec();
        b.extend_from_slice(s.as_bytes());
        b
    }

    fn multi_header(op: i32, done: bool, err: i32) -> Vec<u8> {
        let mut b = be(op).to_vec();
        b.push(done as u8);
        b.extend_from_slice(&be(err));
        b
    }

    #[test]
    fn get_data_request_matches_fixture() {
        let frame = Bytes::from_static(b"\x00\x00\x00\x07\x00\x00\x00\x04\x00\x00\x00\x02/a\x01");
        let want = Request {
            xid: 7,
            op: OpCode::GetData,
            body: RequestBody::GetData(GetDataRequest {
                path: "/a".into(),
                watch: true,
            }),
        };
        assert_eq!(decode_request(frame.clone()), Ok(want.clone()));
        assert_eq!(encode_request(&want), frame);
    }

    fn create_with_acl_fixture() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&be(1)); // xid
        b.extend_from_slice(&be(1)); // create
        b.extend(ustring("/n")); // path
        b.extend(ustring("hi")); // data
        b.extend_from_slice(&be(2)); // two ACL entries
        b.extend_from_slice(&be(31));
        b.extend(ustring("world"));
        b.extend(ustring("anyone"));
        b.extend_from_slice(&be(1));
        b.extend(ustring("digest"));
        b.extend(ustring("u:h"));
        b.extend_from_slice(&be(3)); // flags: EPHEMERAL_SEQUENTIAL
        b
    }

    #[test]
    fn create_request_with_acl_matches_fixture() {
        let acl = vec![
            Acl {
                perms: 31,
                id: Id {
                    scheme: "world".into(),
                    id: "anyone".into(),
                },
            },
            Acl {
                perms: 1,
                id: Id {
                    scheme: "digest".into(),
                    id: "u:h".into(),
                },
            },
        ];
        let want = Request {
            xid: 1,
            op: OpCode::Create,
            body: RequestBody::Create(CreateRequest {
                path: "/n".into(),
                data: Data::from_static(b"hi"),
                acl,
                flags: 3,
            }),
        };
        assert_eq!(
            decode_request(Bytes::from(create_with_acl_fixture())),
            Ok(want)
        );
    }

    fn multi_fixture() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&be(3));
        b.extend_from_slice(&be(14));
        b.extend(multi_header(1, false, -1));
        b.extend(ustring("/m"));
        b.extend_from_slice(&be(-1)); // null data
        b.extend_from_slice(&be(-1)); // null ACL list
        b.extend_from_slice(&be(0));
        b.extend(multi_header(13, false, -1));
        b.extend(ustring("/m"));
        b.extend_from_slice(&be(4));
        b.extend(multi_header(2, false, -1));
        b.extend(ustring("/m"));
        b.extend_from_slice(&be(-1));
        b.extend(multi_header(-1, true, -1));
        b
    }

    #[test]
    fn multi_request_matches_fixture() {
        let want = Request {
            xid: 3,
            op: OpCode::Multi,
            body: RequestBody::Multi(vec![
                MultiOp::Create(
                    OpCode::Create,
                    CreateRequest {
                        path: "/m".into(),
                        data: Data::null(),
                        ..Default::default()
                    },
                ),
                MultiOp::Check(CheckVersionRequest {
                    path: "/m".into(),
                    version: 4,
                }),
                MultiOp::Delete(DeleteRequest {
                    path: "/m".into(),
                    version: -1,
                }),
            ]),
        };
        assert_eq!(decode_request(Bytes::from(multi_fixture())), Ok(want));
    }

    #[test]
    fn only_done_ends_a_multi() {
        let mut b = [be(3), be(14)].concat();
        b.extend(multi_header(2, true, 0));
        b.extend_from_slice(b"ignored");
        assert_eq!(
            decode_request(Bytes::from(b)).map(|r| r.body),
            Ok(RequestBody::Multi(vec![]))
        );
    }

    #[test]
    fn reads_and_writes_do_not_mix() {
        let mut write_in_read = [be(3), be(22)].concat();
        write_in_read.extend(multi_header(2, false, -1));
        write_in_read.extend(ustring("/m"));
        write_in_read.extend_from_slice(&be(-1));
        write_in_read.extend(multi_header(-1, true, -1));
        let err = decode_request(Bytes::from(write_in_read)).unwrap_err();
        assert_eq!(err.header, Some(RequestHeader { xid: 3, op: 22 }));
        assert!(matches!(err.error, DecodeError::BadMulti(_)));

        let mut read_in_write = [be(3), be(14)].concat();
        read_in_write.extend(multi_header(4, false, -1));
        read_in_write.extend(ustring("/m"));
        read_in_write.push(0);
        read_in_write.extend(multi_header(-1, true, -1));
        assert!(matches!(
            decode_request(Bytes::from(read_in_write))
                .unwrap_err()
                .error,
            DecodeError::BadMulti(_)
        ));
    }

    #[test]
    fn zk_create_op_follows_flags() {
        let create = |op, flags| {
            MultiOp::Create(
                op,
                CreateRequest {
                    flags,
                    ..Default::default()
                },
            )
        };
        assert_eq!(
            create(OpCode::Create2, 0).zk_create_op(),
            Some(OpCode::Create)
        );
        assert_eq!(
            create(OpCode::Create, 4).zk_create_op(),
            Some(OpCode::CreateContainer)
        );
        let ttl = |flags| {
            MultiOp::CreateTtl(CreateTtlRequest {
                flags,
                ttl: 5,
                ..Default::default()
            })
        };
        assert_eq!(ttl(5).zk_create_op(), Some(OpCode::CreateTtl));
        assert_eq!(ttl(1).zk_create_op(), Some(OpCode::Create));
        assert_eq!(
            MultiOp::Delete(DeleteRequest::default()).zk_create_op(),
            None
        );
    }

    #[test]
    fn set_watches_decodes_into_the_set_watches2_shape() {
        let mut b = [be(-8), be(101)].concat();
        b.extend_from_slice(&5i64.to_be_bytes());
        b.extend_from_slice(&be(1));
        b.extend(ustring("/d"));
        b.extend_from_slice(&be(0));
        b.extend_from_slice(&be(-1));
        let want = SetWatches2 {
            relative_zxid: 5,
            data_watches: vec!["/d".into()],
            ..Default::default()
        };
        let got = decode_request(Bytes::from(b)).unwrap();
        assert_eq!(
            (got.op, got.body),
            (OpCode::SetWatches, RequestBody::SetWatches(want))
        );
    }

    #[test]
    fn unknown_opcode_keeps_the_header() {
        for op in [10, 0, -10, 999] {
            let frame = Bytes::from([be(9), be(op)].concat());
            assert_eq!(
                decode_request(frame),
                Err(RequestDecodeError {
                    header: Some(RequestHeader { xid: 9, op }),
                    error: DecodeError::UnknownOpCode(op)
                })
            );
        }
    }

    #[test]
    fn short_header_has_no_header() {
        let err = decode_request(Bytes::from_static(&[0, 0, 0, 1, 0, 0])).unwrap_err();
        assert_eq!(err.header, None);
        assert!(matches!(err.error, DecodeError::Truncated { .. }));
    }

    #[test]
    fn trailing_bytes_after_a_body_are_ignored_like_zookeeper() {
        let mut b = create_with_acl_fixture();
        b.extend_from_slice(b"extra");
        assert!(decode_request(Bytes::from(b)).is_ok());
        let ping = Bytes::from([be(-2), be(11), be(0)].concat());
        assert_eq!(decode_request(ping).map(|r| r.body), Ok(RequestBody::Ping));
    }

    #[test]
    fn every_truncation_of_a_fixture_is_an_error() {
        for fixture in [create_with_acl_fixture(), multi_fixture()] {
            for cut in 0..fixture.len() {
                let err = decode_request(Bytes::copy_from_slice(&fixture[..cut])).unwrap_err();
                assert_eq!(err.header.is_some(), cut >= 8, "cut at {cut}");
            }
        }
    }

    #[test]
    fn huge_multi_string_length_fails_fast() {
        let mut b = [be(3), be(14)].concat();
        b.extend(multi_header(2, false, -1));
        b.extend_from_slice(&be(i32::MAX));
        b.extend_from_slice(b"/x");
        assert!(matches!(
            decode_request(Bytes::from(b)).unwrap_err().error,
            DecodeError::Truncated { .. }
        ));
    }

    #[test]
    fn connect_tolerates_trailing_bytes_and_a_missing_flag() {
        let mut b = [
            be(0).as_slice(),
            &0i64.to_be_bytes(),
            &be(4000),
            &0i64.to_be_bytes(),
            &be(0),
        ]
        .concat();
        assert_eq!(
            decode_connect(Bytes::from(b.clone())).map(|c| c.read_only),
            Ok(false)
        );
        b.extend_from_slice(&[1, 9, 9]);
        assert_eq!(
            decode_connect(Bytes::from(b.clone())).map(|c| c.read_only),
            Ok(true)
        );
        for cut in 0..b.len() - 4 {
            assert!(
                decode_connect(Bytes::copy_from_slice(&b[..cut])).is_err(),
                "cut at {cut}"
            );
        }
    }

    proptest! {
        #[test]
        fn requests_round_trip(req in any_request()) {
            let frame = encode_request(&req);
            prop_assert_eq!(decode_request(frame.clone()), Ok(req.clone()));
            // A truncated request never decodes (bodyless ones have nothing to cut past the header; a
            // deleteContainer's raw path has no length that a cut could contradict).
            let cuttable = if req.op == OpCode::DeleteContainer { 8 } else { frame.len() };
            for cut in 0..cuttable {
                prop_assert!(decode_request(frame.slice(..cut)).is_err(), "cut at {}", cut);
            }
        }

        #[test]
        fn random_frames_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_request(Bytes::from(bytes.clone()));
            let _ = decode_connect(Bytes::from(bytes));
        }

        /// Random bodies behind every valid opcode, to reach each decoder rather than stopping at the header.
        #[test]
        fn random_bodies_never_panic(op in -12i32..110, body in proptest::collection::vec(any::<u8>(), 0..120)) {
            let mut frame = [be(1), be(op)].concat();
            frame.extend_from_slice(&body);
            if let Err(e) = decode_request(Bytes::from(frame)) {
                prop_assert_eq!(e.header, Some(RequestHeader { xid: 1, op }));
            }
        }
    }
}
