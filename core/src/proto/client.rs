//! The client side of the protocol, for rzk's own clients (the simulator's clients, `rzk bench`, `rzk cli`)
//! and tests: frame requests, decode replies by the opcode that was sent.

use bytes::{BufMut, Bytes, BytesMut};

use super::records::*;
use super::request::{encode_request, Request};
use super::response::{read_multi_results, ResponseBody};
use super::{DecodeError, OpCode, Reader, Record, Writer};

/// A length-prefixed request frame.
pub fn frame_request(req: &Request) -> Bytes {
    let body = encode_request(req);
    let mut buf = BytesMut::with_capacity(body.len() + 4);
    buf.put_u32(body.len() as u32);
    buf.extend_from_slice(&body);
    buf.freeze()
}

/// A length-prefixed ConnectRequest frame.
pub fn frame_connect(req: &ConnectRequest) -> Bytes {
    let mut body = BytesMut::new();
    req.write(&mut Writer::new(&mut body));
    let mut buf = BytesMut::with_capacity(body.len() + 4);
    buf.put_u32(body.len() as u32);
    buf.extend_from_slice(&body);
    buf.freeze()
}

/// Decodes the handshake reply (frame body without its length).
pub fn decode_connect_response(frame: Bytes) -> Result<ConnectResponse, DecodeError> {
    ConnectResponse::read(&mut Reader::new(frame))
}

/// Decodes a reply frame's header, and its body as the reply to `op` when the header carries no error.
/// Notifications (xid -1) decode as `WatcherEvent`s through [`decode_notification`] instead.
pub fn decode_reply(frame: Bytes, op: OpCode) -> Result<(ReplyHeader, ResponseBody), DecodeError> {
    let r = &mut Reader::new(frame);
    let header = ReplyHeader::read(r)?;
    if header.err != 0 {
        return Ok((header, ResponseBody::Empty));
    }
    let body = match op {
        OpCode::Create => ResponseBody::Create(CreateResponse::read(r)?),
        OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
            ResponseBody::Create2(Create2Response::read(r)?)
        }
        OpCode::Exists => ResponseBody::Exists(ExistsResponse::read(r)?),
        OpCode::GetData => ResponseBody::GetData(GetDataResponse::read(r)?),
        OpCode::SetData => ResponseBody::SetData(SetDataResponse::read(r)?),
        OpCode::GetAcl => ResponseBody::GetAcl(GetAclResponse::read(r)?),
        OpCode::SetAcl => ResponseBody::SetAcl(SetAclResponse::read(r)?),
        OpCode::GetChildren => ResponseBody::GetChildren(GetChildrenResponse::read(r)?),
        OpCode::GetChildren2 => ResponseBody::GetChildren2(GetChildren2Response::read(r)?),
        OpCode::Sync => ResponseBody::Sync(SyncResponse::read(r)?),
        OpCode::Multi | OpCode::MultiRead => ResponseBody::Multi(read_multi_results(r)?),
        OpCode::GetEphemerals => ResponseBody::GetEphemerals(GetEphemeralsResponse::read(r)?),
        OpCode::GetAllChildrenNumber => {
            ResponseBody::GetAllChildrenNumber(GetAllChildrenNumberResponse::read(r)?)
        }
        OpCode::WhoAmI => ResponseBody::WhoAmI(WhoAmIResponse::read(r)?),
        OpCode::Sasl => ResponseBody::Sasl(SetSaslResponse::read(r)?),
        OpCode::AddWatch => {
            ErrorResponse::read(r)?;
            ResponseBody::AddWatch
        }
        _ => ResponseBody::Empty,
    };
    Ok((header, body))
}

/// Decodes a notification frame (reply header with xid -1, then the event).
pub fn decode_notification(frame: Bytes) -> Result<WatcherEvent, DecodeError> {
    let r = &mut Reader::new(frame);
    ReplyHeader::read(r)?;
    WatcherEvent::read(r)
}

/// The xid of a reply frame, to tell notifications (-1), pings (-2) and replies apart before decoding.
pub fn peek_xid(frame: &[u8]) -> Option<i32> {
    frame
        .get(..4)
        .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}
