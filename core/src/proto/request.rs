//! Decoding a client frame into a typed request.

use bytes::Bytes;

use super::records::*;
use super::{DecodeError, OpCode};

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
    /// create, create2 or createContainer, with the op's own code.
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

/// Decodes a request frame (header and body). The whole frame must be consumed.
pub fn decode_request(frame: Bytes) -> Result<Request, RequestDecodeError> {
    let _ = frame;
    todo!()
}

/// Decodes the first frame of a connection. Trailing bytes are tolerated as ZooKeeper does; a missing
/// `read_only` byte reads as false.
pub fn decode_connect(frame: Bytes) -> Result<ConnectRequest, DecodeError> {
    let _ = frame;
    todo!()
}
