//! Encoding replies, the connect response and watch notifications, each as one length-prefixed frame.

use bytes::Bytes;

use super::frame::encode_frame;
use super::records::*;
use super::{DecodeError, ErrorCode, OpCode, Reader, Record, Writer};

/// The body of a successful reply, by opcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseBody {
    /// No body: ping, delete, setWatches, auth, check, close, removeWatches, addWatch, and every error reply.
    Empty,
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
    Create { op: OpCode, path: String, stat: Stat },
    Delete,
    SetData(Stat),
    Check,
    GetChildren(Vec<String>),
    GetData { data: Bytes, stat: Stat },
    /// A failed op, or in a failed multi an op that was rolled back (`Ok`) or never run
    /// (`RuntimeInconsistency`).
    Error(ErrorCode),
}

impl Record for MultiResult {
    fn write(&self, w: &mut Writer<'_>) {
        let header = |op: OpCode| MultiHeader { op: op.code(), done: false, err: 0 };
        match self {
            MultiResult::Create { op: OpCode::Create, path, .. } => {
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
                w.write_buffer(data);
                stat.write(w);
            }
            MultiResult::Error(code) => {
                MultiHeader { op: OpCode::Error.code(), done: false, err: code.code() }.write(w);
                ErrorResponse { err: code.code() }.write(w);
            }
        }
    }

    /// Reads one result (header and record) as a client would. A header with `done` set is not a result:
    /// use [`read_multi_results`] for a whole list.
    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let h = MultiHeader::read(r)?;
        if h.done {
            return Err(DecodeError::BadMulti("end of results where a result was expected"));
        }
        read_multi_result_body(h, r)
    }
}

fn read_multi_result_body(h: MultiHeader, r: &mut Reader) -> Result<MultiResult, DecodeError> {
    Ok(match OpCode::from_code(h.op) {
        Some(op @ OpCode::Create) => MultiResult::Create { op, path: r.read_string()?, stat: Stat::default() },
        Some(op @ OpCode::Create2) => {
            MultiResult::Create { op, path: r.read_string()?, stat: Stat::read(r)? }
        }
        Some(OpCode::Delete) => MultiResult::Delete,
        Some(OpCode::Check) => MultiResult::Check,
        Some(OpCode::SetData) => MultiResult::SetData(Stat::read(r)?),
        Some(OpCode::GetChildren) => MultiResult::GetChildren(r.read_string_vec()?),
        Some(OpCode::GetData) => MultiResult::GetData { data: r.read_buffer()?, stat: Stat::read(r)? },
        Some(OpCode::Error) => {
            let err = ErrorResponse::read(r)?.err;
            let code = ErrorCode::from_code(err).ok_or(DecodeError::BadMulti("unknown error code"))?;
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
    MultiHeader { op: -1, done: true, err: -1 }.write(w);
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

/// A watch notification frame: reply header (xid -1, zxid -1, err 0) and the event.
pub fn encode_notification(event: &WatcherEvent) -> Bytes {
    let header = ReplyHeader { xid: super::xid::NOTIFICATION, zxid: -1, err: 0 };
    encode_frame(|w| {
        header.write(w);
        event.write(w);
    })
}
