//! Length-prefixed framing: each frame is a 4-byte big-endian length and then that many bytes.

use bytes::{Bytes, BytesMut};

/// Why the byte stream cannot be framed; the connection must be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame length {len} exceeds jute.maxbuffer {max}")]
    TooLarge { len: i64, max: usize },
    #[error("negative frame length {len}")]
    Negative { len: i32 },
}

/// Accumulates bytes from a connection and splits them into frames, never buffering more than one
/// oversized-length check ahead: a length above `max` is rejected before its body arrives.
pub struct FrameDecoder {
    buf: BytesMut,
    max: usize,
}

impl FrameDecoder {
    pub fn new(max: usize) -> FrameDecoder {
        FrameDecoder {
            buf: BytesMut::new(),
            max,
        }
    }

    /// Appends bytes read from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered and not yet returned as frames.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// The next complete frame body (without its length prefix), `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        todo!("{}", self.max)
    }
}

/// Encodes one frame: reserves the 4-byte length, lets `body` write the payload, then fills in the length.
pub fn encode_frame(body: impl FnOnce(&mut super::Writer<'_>)) -> Bytes {
    let _ = body;
    todo!()
}
