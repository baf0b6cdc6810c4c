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
#[derive(serde::Serialize, serde::Deserialize)]
pub struct FrameDecoder {
    #[serde(serialize_with = "crate::redact::unread_input")]
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
            return Err(FrameError::TooLarge {
                len: i64::from(len),
                max: self.max,
            });
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn frames_split_across_pushes() {
        let mut d = FrameDecoder::new(100);
        let stream = b"\x00\x00\x00\x03abc\x00\x00\x00\x00\x00\x00\x00\x01z";
        let mut frames = Vec::new();
        for byte in stream {
            d.push(&[*byte]);
            while let Some(f) = d.next_frame().unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(
            frames,
            vec![
                Bytes::from_static(b"abc"),
                Bytes::new(),
                Bytes::from_static(b"z")
            ]
        );
        assert!(d.buffered().is_empty());
    }

    #[test]
    fn oversized_length_is_rejected_before_the_body() {
        let mut d = FrameDecoder::new(10);
        d.push(&[0, 0, 0]);
        assert_eq!(d.next_frame(), Ok(None));
        d.push(&[11]);
        assert_eq!(
            d.next_frame(),
            Err(FrameError::TooLarge { len: 11, max: 10 })
        );
        // The error sticks.
        assert_eq!(
            d.next_frame(),
            Err(FrameError::TooLarge { len: 11, max: 10 })
        );
    }

    #[test]
    fn a_frame_of_exactly_max_is_accepted() {
        let mut d = FrameDecoder::new(2);
        d.push(b"\x00\x00\x00\x02hi");
        assert_eq!(d.next_frame(), Ok(Some(Bytes::from_static(b"hi"))));
    }

    #[test]
    fn negative_length_is_an_error() {
        let mut d = FrameDecoder::new(10);
        d.push(&[0xff, 0xff, 0xff, 0xfe]);
        assert_eq!(d.next_frame(), Err(FrameError::Negative { len: -2 }));
    }

    #[test]
    fn four_letter_words_are_too_large_for_the_default_max() {
        let mut d = FrameDecoder::new(crate::proto::DEFAULT_MAX_BUFFER);
        d.push(b"ruok");
        assert!(matches!(d.next_frame(), Err(FrameError::TooLarge { .. })));
        assert_eq!(
            d.buffered(),
            b"ruok",
            "the bytes stay available to a 4lw check"
        );
    }

    #[test]
    fn encode_frame_prefixes_the_length() {
        let f = encode_frame(|w| {
            w.write_int(7);
            w.write_bool(true);
        });
        assert_eq!(&f[..], b"\x00\x00\x00\x05\x00\x00\x00\x07\x01");
        assert_eq!(&encode_frame(|_| {})[..], b"\x00\x00\x00\x00");
    }

    proptest! {
        #[test]
        fn encoded_frames_decode_back(bodies in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..20), 0..6), chunk in 1usize..9) {
            let mut stream = Vec::new();
            for body in &bodies {
                stream.extend_from_slice(&encode_frame(|w| {
                    for b in body {
                        w.write_bool(*b != 0);
                    }
                }));
            }
            let mut d = FrameDecoder::new(20);
            let mut got = Vec::new();
            for piece in stream.chunks(chunk) {
                d.push(piece);
                while let Some(f) = d.next_frame().unwrap() {
                    got.push(f.len());
                }
            }
            prop_assert_eq!(got, bodies.iter().map(Vec::len).collect::<Vec<_>>());
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128), max in 0usize..64) {
            let mut d = FrameDecoder::new(max);
            d.push(&bytes);
            while let Ok(Some(f)) = d.next_frame() {
                prop_assert!(f.len() <= max);
            }
        }
    }
}
