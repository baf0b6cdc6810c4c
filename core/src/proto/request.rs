//! Decoding a client frame into a typed request.

use bytes::Bytes;

use super::records::*;
use super::{DecodeError, OpCode, Reader, Record};

/// One decoded client request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub xid: i32,
    pub op: OpCode,
    pub body: RequestBody,
}

/// The body of a request, by opcode. Opcodes that share a record share a variant; `Request::op` tells them
/// apart (create/create2/createContainer, getChildren/getChildren2, setWatches/setWatches2, multi/multiRead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestBody {
    Ping,
    CloseSession,
    /// create, create2, createContainer.
    Create(CreateRequest),
    CreateTtl(CreateTtlRequest),
    /// delete and deleteContainer.
    Delete(DeleteRequest),
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

/// One op inside a multi (writes) or multiRead (reads) request.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    let header = RequestHeader::read(&mut r).map_err(|error| RequestDecodeError { header: None, error })?;
    let fail = |error| RequestDecodeError { header: Some(header), error };
    let op = OpCode::from_code(header.op).ok_or(fail(DecodeError::UnknownOpCode(header.op)))?;
    let body = decode_body(op, &mut r).map_err(fail)?;
    Ok(Request { xid: header.xid, op, body })
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
        O::Delete | O::DeleteContainer => B::Delete(Record::read(r)?),
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
        O::Notification | O::CreateSession | O::Error => return Err(DecodeError::UnknownOpCode(op.code())),
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
            (MultiKind::Write, Some(c @ (OpCode::Create | OpCode::Create2 | OpCode::CreateContainer))) => {
                MultiOp::Create(c, Record::read(r)?)
            }
            (MultiKind::Write, Some(OpCode::CreateTtl)) => MultiOp::CreateTtl(Record::read(r)?),
            (MultiKind::Write, Some(OpCode::Delete)) => MultiOp::Delete(Record::read(r)?),
            (MultiKind::Write, Some(OpCode::SetData)) => MultiOp::SetData(Record::read(r)?),
            (MultiKind::Write, Some(OpCode::Check)) => MultiOp::Check(Record::read(r)?),
            (MultiKind::Read, Some(OpCode::GetChildren)) => MultiOp::GetChildren(Record::read(r)?),
            (MultiKind::Read, Some(OpCode::GetData)) => MultiOp::GetData(Record::read(r)?),
            (MultiKind::Write, _) => return Err(DecodeError::BadMulti("op not allowed in multi")),
            (MultiKind::Read, _) => return Err(DecodeError::BadMulti("op not allowed in multiRead")),
        };
        ops.push(op);
    }
}

/// Decodes the first frame of a connection. Trailing bytes are tolerated as ZooKeeper does; a missing
/// `read_only` byte reads as false.
pub fn decode_connect(frame: Bytes) -> Result<ConnectRequest, DecodeError> {
    ConnectRequest::read(&mut Reader::new(frame))
}
