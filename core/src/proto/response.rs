//! Encoding replies, the connect response and watch notifications, each as one length-prefixed frame.

use bytes::Bytes;

use super::frame::encode_frame;
use super::records::*;
use super::{DecodeError, ErrorCode, OpCode, Reader, Record, Writer};

/// The body of a successful reply, by opcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseBody {
    /// No body: ping, delete, setWatches, auth, check, close, removeWatches, and every error reply.
    Empty,
    /// addWatch: ZooKeeper 3.8 answers with an `ErrorResponse` holding 0 (FinalRequestProcessor), and the Java
    /// client reads those 4 bytes: without them it reads past the frame and drops the connection.
    AddWatch,
    /// create and createContainer without stat.
    Create(CreateResponse),
    /// create2, createTTL, createContainer (3.5+ clients ask for create2-shaped replies).
    Create2(Create2Response),
    Exists(ExistsResponse),
    GetData(GetDataResponse),
    SetData(SetDataResponse),
    GetAcl(GetAclResponse),
    SetAcl(SetAclResponse),
    GetChildren(GetChildrenResponse),
    GetChildren2(GetChildren2Response),
    Sync(SyncResponse),
    Multi(Vec<MultiResult>),
    GetEphemerals(GetEphemeralsResponse),
    GetAllChildrenNumber(GetAllChildrenNumberResponse),
    WhoAmI(WhoAmIResponse),
    Sasl(SetSaslResponse),
}

/// One result of a multi or multiRead reply. Each is written as a [`MultiHeader`] (with the result's code and
/// err 0, or -1 and the error for `Error`) followed by its record, as ZooKeeper's MultiResponse does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiResult {
    /// `op` create gives header type create and a CreateResponse (no stat); create2, createContainer and
    /// createTTL give header type create2 and a Create2Response, as ZooKeeper's FinalRequestProcessor does.
    /// Pass the code ZooKeeper would use (`request::MultiOp::zk_create_op`).
    Create {
        op: OpCode,
        path: String,
        stat: Stat,
    },
    Delete,
    SetData(Stat),
    Check,
    GetChildren(Vec<String>),
    GetData {
        data: crate::Data,
        stat: Stat,
    },
    /// A failed op, or in a failed multi an op that was rolled back (`Ok`) or never run
    /// (`RuntimeInconsistency`).
    Error(ErrorCode),
}

impl Record for MultiResult {
    fn write(&self, w: &mut Writer<'_>) {
        let header = |op: OpCode| MultiHeader {
            op: op.code(),
            done: false,
            err: 0,
        };
        match self {
            MultiResult::Create {
                op: OpCode::Create,
                path,
                ..
            } => {
                header(OpCode::Create).write(w);
                w.write_string(path);
            }
            MultiResult::Create { path, stat, .. } => {
                header(OpCode::Create2).write(w);
                w.write_string(path);
                stat.write(w);
            }
            MultiResult::Delete => header(OpCode::Delete).write(w),
            MultiResult::Check => header(OpCode::Check).write(w),
            MultiResult::SetData(stat) => {
                header(OpCode::SetData).write(w);
                stat.write(w);
            }
            MultiResult::GetChildren(children) => {
                header(OpCode::GetChildren).write(w);
                w.write_string_vec(children);
            }
            MultiResult::GetData { data, stat } => {
                header(OpCode::GetData).write(w);
                w.write_data(data);
                stat.write(w);
            }
            MultiResult::Error(code) => {
                MultiHeader {
                    op: OpCode::Error.code(),
                    done: false,
                    err: code.code(),
                }
                .write(w);
                ErrorResponse { err: code.code() }.write(w);
            }
        }
    }

    /// Reads one result (header and record) as a client would. A header with `done` set is not a result:
    /// use [`read_multi_results`] for a whole list.
    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let h = MultiHeader::read(r)?;
        if h.done {
            return Err(DecodeError::BadMulti(
                "end of results where a result was expected",
            ));
        }
        read_multi_result_body(h, r)
    }
}

fn read_multi_result_body(h: MultiHeader, r: &mut Reader) -> Result<MultiResult, DecodeError> {
    Ok(match OpCode::from_code(h.op) {
        Some(op @ OpCode::Create) => MultiResult::Create {
            op,
            path: r.read_string()?,
            stat: Stat::default(),
        },
        Some(op @ OpCode::Create2) => MultiResult::Create {
            op,
            path: r.read_string()?,
            stat: Stat::read(r)?,
        },
        Some(OpCode::Delete) => MultiResult::Delete,
        Some(OpCode::Check) => MultiResult::Check,
        Some(OpCode::SetData) => MultiResult::SetData(Stat::read(r)?),
        Some(OpCode::GetChildren) => MultiResult::GetChildren(r.read_string_vec()?),
        Some(OpCode::GetData) => MultiResult::GetData {
            data: r.read_data()?,
            stat: Stat::read(r)?,
        },
        Some(OpCode::Error) => {
            let err = ErrorResponse::read(r)?.err;
            let code =
                ErrorCode::from_code(err).ok_or(DecodeError::BadMulti("unknown error code"))?;
            MultiResult::Error(code)
        }
        _ => return Err(DecodeError::BadMulti("unknown result type")),
    })
}

/// Writes a multi reply body: each result, then the closing header {-1, done, -1}.
pub fn write_multi_results(w: &mut Writer<'_>, results: &[MultiResult]) {
    for result in results {
        result.write(w);
    }
    MultiHeader {
        op: -1,
        done: true,
        err: -1,
    }
    .write(w);
}

/// Reads a multi reply body up to its closing header (the client side; used by tests and tools).
pub fn read_multi_results(r: &mut Reader) -> Result<Vec<MultiResult>, DecodeError> {
    let mut results = Vec::new();
    loop {
        let h = MultiHeader::read(r)?;
        if h.done {
            return Ok(results);
        }
        results.push(read_multi_result_body(h, r)?);
    }
}

/// A reply frame: header, then the body unless `header.err` is non-zero.
pub fn encode_reply(header: &ReplyHeader, body: &ResponseBody) -> Bytes {
    encode_frame(|w| {
        header.write(w);
        if header.err == 0 {
            write_body(w, body);
        }
    })
}

fn write_body(w: &mut Writer<'_>, body: &ResponseBody) {
    match body {
        ResponseBody::Empty => {}
        ResponseBody::AddWatch => ErrorResponse { err: 0 }.write(w),
        ResponseBody::Create(r) => r.write(w),
        ResponseBody::Create2(r) => r.write(w),
        ResponseBody::Exists(r) => r.write(w),
        ResponseBody::GetData(r) => r.write(w),
        ResponseBody::SetData(r) => r.write(w),
        ResponseBody::GetAcl(r) => r.write(w),
        ResponseBody::SetAcl(r) => r.write(w),
        ResponseBody::GetChildren(r) => r.write(w),
        ResponseBody::GetChildren2(r) => r.write(w),
        ResponseBody::Sync(r) => r.write(w),
        ResponseBody::Multi(results) => write_multi_results(w, results),
        ResponseBody::GetEphemerals(r) => r.write(w),
        ResponseBody::GetAllChildrenNumber(r) => r.write(w),
        ResponseBody::WhoAmI(r) => r.write(w),
        ResponseBody::Sasl(r) => r.write(w),
    }
}

/// The handshake reply frame.
pub fn encode_connect_response(resp: &ConnectResponse) -> Bytes {
    encode_frame(|w| resp.write(w))
}

/// The handshake reply for clients that sent no readOnly byte: ZooKeeper leaves it out for them too.
pub fn encode_connect_response_without_read_only(resp: &ConnectResponse) -> Bytes {
    encode_frame(|w| {
        w.write_int(resp.protocol_version);
        w.write_int(resp.time_out);
        w.write_long(resp.session_id);
        w.write_buffer(&resp.passwd);
    })
}

/// A watch notification frame: reply header (xid -1, zxid -1, err 0) and the event.
pub fn encode_notification(event: &WatcherEvent) -> Bytes {
    let header = ReplyHeader {
        xid: super::xid::NOTIFICATION,
        zxid: -1,
        err: 0,
    };
    encode_frame(|w| {
        header.write(w);
        event.write(w);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Data;
    use proptest::prelude::*;

    fn stat_bytes(s: &Stat) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [s.czxid, s.mzxid, s.ctime, s.mtime] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        for v in [s.version, s.cversion, s.aversion] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&s.ephemeral_owner.to_be_bytes());
        for v in [s.data_length, s.num_children] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&s.pzxid.to_be_bytes());
        b
    }

    fn sample_stat() -> Stat {
        Stat {
            czxid: 0x10,
            mzxid: 0x11,
            ctime: 1_700_000_000_000,
            mtime: 1_700_000_000_001,
            version: 2,
            cversion: 3,
            aversion: 0,
            ephemeral_owner: 0x0100_0000_0000_0001,
            data_length: 5,
            num_children: 0,
            pzxid: 0x10,
        }
    }

    fn reply_header_bytes(xid: i32, zxid: i64, err: i32) -> Vec<u8> {
        [
            xid.to_be_bytes().as_slice(),
            &zxid.to_be_bytes(),
            &err.to_be_bytes(),
        ]
        .concat()
    }

    fn framed(body: Vec<u8>) -> Vec<u8> {
        [(body.len() as i32).to_be_bytes().to_vec(), body].concat()
    }

    #[test]
    fn exists_reply_is_header_then_stat() {
        let header = ReplyHeader {
            xid: 5,
            zxid: 0x100,
            err: 0,
        };
        let frame = encode_reply(
            &header,
            &ResponseBody::Exists(ExistsResponse {
                stat: sample_stat(),
            }),
        );
        let want = framed([reply_header_bytes(5, 0x100, 0), stat_bytes(&sample_stat())].concat());
        assert_eq!(want.len(), 4 + 16 + 68);
        assert_eq!(&frame[..], &want[..]);
    }

    #[test]
    fn error_reply_has_no_body() {
        let header = ReplyHeader {
            xid: 5,
            zxid: 0x100,
            err: ErrorCode::NoNode.code(),
        };
        let frame = encode_reply(
            &header,
            &ResponseBody::Exists(ExistsResponse {
                stat: sample_stat(),
            }),
        );
        assert_eq!(&frame[..], &framed(reply_header_bytes(5, 0x100, -101))[..]);
    }

    #[test]
    fn add_watch_reply_carries_a_zero_error_response() {
        let header = ReplyHeader {
            xid: 7,
            zxid: 0x42,
            err: 0,
        };
        let frame = encode_reply(&header, &ResponseBody::AddWatch);
        let want = framed([reply_header_bytes(7, 0x42, 0), vec![0, 0, 0, 0]].concat());
        assert_eq!(&frame[..], &want[..]);
        let (h, body) = crate::proto::client::decode_reply(frame.slice(4..), OpCode::AddWatch)
            .expect("decodes");
        assert_eq!((h, body), (header, ResponseBody::AddWatch));
    }

    #[test]
    fn notification_matches_fixture() {
        let event = WatcherEvent {
            event_type: 3,
            state: 3,
            path: "/w".into(),
        };
        let mut body = reply_header_bytes(-1, -1, 0);
        body.extend_from_slice(b"\x00\x00\x00\x03\x00\x00\x00\x03\x00\x00\x00\x02/w");
        assert_eq!(&encode_notification(&event)[..], &framed(body)[..]);
    }

    #[test]
    fn connect_response_always_carries_read_only() {
        let resp = ConnectResponse {
            protocol_version: 0,
            time_out: 4000,
            session_id: 0x42,
            passwd: Bytes::from_static(&[1; 16]),
            read_only: false,
        };
        let mut body = b"\x00\x00\x00\x00\x00\x00\x0f\xa0".to_vec();
        body.extend_from_slice(&0x42i64.to_be_bytes());
        body.extend_from_slice(&16i32.to_be_bytes());
        body.extend_from_slice(&[1; 16]);
        body.push(0);
        assert_eq!(&encode_connect_response(&resp)[..], &framed(body)[..]);
    }

    fn multi_header(op: i32, done: bool, err: i32) -> Vec<u8> {
        [
            op.to_be_bytes().as_slice(),
            &[done as u8],
            &err.to_be_bytes(),
        ]
        .concat()
    }

    #[test]
    fn multi_reply_matches_zookeeper_multi_response() {
        let stat = sample_stat();
        let results = vec![
            MultiResult::Create {
                op: OpCode::Create,
                path: "/a".into(),
                stat,
            },
            MultiResult::Create {
                op: OpCode::CreateContainer,
                path: "/c".into(),
                stat,
            },
            MultiResult::Delete,
            MultiResult::SetData(stat),
            MultiResult::Check,
            MultiResult::Error(ErrorCode::BadVersion),
        ];
        let frame = encode_reply(
            &ReplyHeader {
                xid: 3,
                zxid: 9,
                err: 0,
            },
            &ResponseBody::Multi(results),
        );
        let mut body = reply_header_bytes(3, 9, 0);
        body.extend(multi_header(1, false, 0));
        body.extend_from_slice(b"\x00\x00\x00\x02/a");
        body.extend(multi_header(15, false, 0)); // createContainer answers as create2, with a stat
        body.extend_from_slice(b"\x00\x00\x00\x02/c");
        body.extend(stat_bytes(&stat));
        body.extend(multi_header(2, false, 0));
        body.extend(multi_header(5, false, 0));
        body.extend(stat_bytes(&stat));
        body.extend(multi_header(13, false, 0));
        body.extend(multi_header(-1, false, -103));
        body.extend_from_slice(&(-103i32).to_be_bytes());
        body.extend(multi_header(-1, true, -1));
        assert_eq!(&frame[..], &framed(body)[..]);
    }

    #[test]
    fn multi_read_reply_matches_fixture() {
        let stat = sample_stat();
        let results = vec![
            MultiResult::GetChildren(vec!["x".into()]),
            MultiResult::GetData {
                data: Data::from_static(b"v"),
                stat,
            },
            MultiResult::Error(ErrorCode::NoNode),
        ];
        let mut buf = bytes::BytesMut::new();
        write_multi_results(&mut Writer::new(&mut buf), &results);
        let mut want = multi_header(8, false, 0);
        want.extend_from_slice(b"\x00\x00\x00\x01\x00\x00\x00\x01x");
        want.extend(multi_header(4, false, 0));
        want.extend_from_slice(b"\x00\x00\x00\x01v");
        want.extend(stat_bytes(&stat));
        want.extend(multi_header(-1, false, -101));
        want.extend_from_slice(&(-101i32).to_be_bytes());
        want.extend(multi_header(-1, true, -1));
        assert_eq!(&buf[..], &want[..]);
    }

    fn any_multi_result() -> impl Strategy<Value = MultiResult> {
        let create_op = proptest::sample::select(vec![
            OpCode::Create,
            OpCode::Create2,
            OpCode::CreateContainer,
            OpCode::CreateTtl,
        ]);
        prop_oneof![
            (create_op, ".{0,8}", Stat::arbitrary())
                .prop_map(|(op, path, stat)| MultiResult::Create { op, path, stat }),
            Just(MultiResult::Delete),
            Just(MultiResult::Check),
            Stat::arbitrary().prop_map(MultiResult::SetData),
            proptest::collection::vec(".{0,8}", 0..3).prop_map(MultiResult::GetChildren),
            (
                proptest::collection::vec(any::<u8>(), 0..8),
                Stat::arbitrary()
            )
                .prop_map(|(d, stat)| MultiResult::GetData {
                    data: Data::from(d),
                    stat
                }),
            proptest::sample::select(ErrorCode::ALL.to_vec()).prop_map(MultiResult::Error),
        ]
    }

    /// What a client reads back: a plain create has no stat; every other create reads as create2.
    fn as_client_sees(r: MultiResult) -> MultiResult {
        match r {
            MultiResult::Create {
                op: OpCode::Create,
                path,
                ..
            } => MultiResult::Create {
                op: OpCode::Create,
                path,
                stat: Stat::default(),
            },
            MultiResult::Create { path, stat, .. } => MultiResult::Create {
                op: OpCode::Create2,
                path,
                stat,
            },
            other => other,
        }
    }

    proptest! {
        #[test]
        fn multi_results_round_trip(results in proptest::collection::vec(any_multi_result(), 0..6)) {
            let mut buf = bytes::BytesMut::new();
            write_multi_results(&mut Writer::new(&mut buf), &results);
            let bytes = buf.freeze();
            let mut r = Reader::new(bytes.clone());
            let want: Vec<_> = results.into_iter().map(as_client_sees).collect();
            prop_assert_eq!(read_multi_results(&mut r), Ok(want));
            prop_assert_eq!(r.finish(), Ok(()));
            for cut in 0..bytes.len() {
                prop_assert!(read_multi_results(&mut Reader::new(bytes.slice(..cut))).is_err());
            }
        }

        #[test]
        fn replies_are_framed_headers(xid in any::<i32>(), zxid in any::<i64>(), err in any::<i32>(),
                                      resp in GetDataResponse::arbitrary()) {
            let header = ReplyHeader { xid, zxid, err };
            let frame = encode_reply(&header, &ResponseBody::GetData(resp.clone()));
            let mut r = Reader::new(frame);
            prop_assert_eq!(r.read_int().map(|n| n as usize), Ok(r.remaining()));
            prop_assert_eq!(ReplyHeader::read(&mut r), Ok(header));
            if err == 0 {
                prop_assert_eq!(GetDataResponse::read(&mut r), Ok(resp));
            }
            prop_assert_eq!(r.finish(), Ok(()));
        }

        #[test]
        fn random_multi_replies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = read_multi_results(&mut Reader::new(Bytes::from(bytes)));
        }
    }
}
