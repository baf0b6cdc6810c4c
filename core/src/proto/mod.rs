//! The ZooKeeper client wire protocol (jute), version 3.8/3.9.
//!
//! Every frame is a 4-byte big-endian length followed by that many bytes. The first frame of a connection is a
//! [`records::ConnectRequest`]; every later frame is a [`records::RequestHeader`] followed by the opcode's
//! request record. Replies are a [`records::ReplyHeader`] followed by the response record (none on error).

pub mod client;
pub mod error_code;
mod four_letter_word;
pub mod frame;
pub mod jute;
pub mod opcode;
pub mod path;
pub mod records;
pub mod request;
pub mod response;

pub use error_code::ErrorCode;
pub use four_letter_word::FourLetterWord;
pub use jute::{DecodeError, Reader, Record, Writer};
pub use opcode::OpCode;

/// ZooKeeper's default `jute.maxbuffer`: the largest frame accepted from a client.
pub const DEFAULT_MAX_BUFFER: usize = 0xfffff;

/// Special xids in request and reply headers.
pub mod xid {
    /// A watch notification pushed by the server.
    pub const NOTIFICATION: i32 = -1;
    /// A ping.
    pub const PING: i32 = -2;
    /// An authentication packet.
    pub const AUTH: i32 = -4;
    /// A setWatches packet sent on reconnect.
    pub const SET_WATCHES: i32 = -8;
}
