//! Length-prefixed framing: each frame is a 4-byte big-endian length and then that many bytes.

use bytes::{Buf, BufMut, Bytes, BytesMut};

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
        FrameDecoder { buf: BytesMut::new(), max }
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
    /// After an error the buffered bytes are left as they are, so every later call returns the same error.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        let Some(prefix) = self.buf.first_chunk::<4>() else {
            return Ok(None);
        };
        let len = i32::from_be_bytes(*prefix);
        if len < 0 {
            return Err(FrameError::Negative { len });
        }
        // Non-negative i32 always fits in usize on the targets we support.
        let body_len = len as usize;
        if body_len > self.max {
            return Err(FrameError::TooLarge { len: i64::from(len), max: self.max });
        }
        if self.buf.len() - 4 < body_len {
            // Reserve for the rest of this frame now that its length is known to be acceptable.
            self.buf.reserve(4 + body_len - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(4);
        Ok(Some(self.buf.split_to(body_len).freeze()))
    }
}

/// Encodes one frame: reserves the 4-byte length, lets `body` write the payload, then fills in the length.
pub fn encode_frame(body: impl FnOnce(&mut super::Writer<'_>)) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    body(&mut super::Writer::new(&mut buf));
    let len = i32::try_from(buf.len() - 4).unwrap_or(i32::MAX);
    buf[..4].copy_from_slice(&len.to_be_bytes());
    buf.freeze()
}
