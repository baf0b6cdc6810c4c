//! Encoding replies, the connect response and watch notifications, each as one length-prefixed frame.

use bytes::Bytes;

use super::records::*;
use super::{ErrorCode, OpCode};

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

/// One result of a multi or multiRead reply. Each is written as a [`MultiHeader`] (with the op's code, or -1
/// and the error for `Error`) followed by its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiResult {
    /// The op code is create or createContainer-without-stat (CreateResponse) vs. create2/TTL (Create2Response).
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
        data: Bytes,
        stat: Stat,
    },
    Error(ErrorCode),
}

/// A reply frame: header, then the body unless `header.err` is non-zero.
pub fn encode_reply(header: &ReplyHeader, body: &ResponseBody) -> Bytes {
    let _ = (header, body);
    todo!()
}

/// The handshake reply frame.
pub fn encode_connect_response(resp: &ConnectResponse) -> Bytes {
    let _ = resp;
    todo!()
}

/// A watch notification frame: reply header (xid -1, zxid -1, err 0) and the event.
pub fn encode_notification(event: &WatcherEvent) -> Bytes {
    let _ = event;
    todo!()
}
