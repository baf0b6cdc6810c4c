//! Jute's binary encoding: big-endian ints and longs, one-byte booleans, length-prefixed buffers, strings and
//! vectors (length -1 means null). [`Reader`] never panics on short or hostile input; it returns a
//! [`DecodeError`] instead, and it never allocates more than the bytes actually present.

use bytes::{BufMut, Bytes, BytesMut};

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("record truncated: needed {needed} more bytes at offset {offset}")]
    Truncated { offset: usize, needed: usize },
    #[error("negative or oversized length {len} at offset {offset}")]
    BadLength { offset: usize, len: i32 },
    #[error("string at offset {offset} is not valid UTF-8")]
    BadUtf8 { offset: usize },
    #[error("{extra} trailing bytes after the record")]
    TrailingBytes { extra: usize },
    #[error("unknown opcode {0}")]
    UnknownOpCode(i32),
    #[error("malformed multi request: {0}")]
    BadMulti(&'static str),
}

/// A cursor over one frame's bytes.
pub struct Reader {
    buf: Bytes,
    pos: usize,
}

impl Reader {
    pub fn new(buf: Bytes) -> Reader {
        Reader { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Takes the next `n` bytes as a zero-copy slice, or fails without consuming anything.
    fn take(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        let remaining = self.remaining();
        if n > remaining {
            return Err(DecodeError::Truncated {
                offset: self.pos,
                needed: n - remaining,
            });
        }
        let out = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(out)
    }

    fn take_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let remaining = self.remaining();
        if N > remaining {
            return Err(DecodeError::Truncated {
                offset: self.pos,
                needed: N - remaining,
            });
        }
        let mut out = [0u8; N];
        out.copy_from_slice(&self.buf[self.pos..self.pos + N]);
        self.pos += N;
        Ok(out)
    }

    /// Reads a length prefix: `None` for null (-1); any other negative value is [`DecodeError::BadLength`].
    fn read_len(&mut self) -> Result<Option<usize>, DecodeError> {
        let offset = self.pos;
        let len = self.read_int()?;
        match len {
            -1 => Ok(None),
            n if n < 0 => Err(DecodeError::BadLength { offset, len }),
            // i32 -> usize cannot fail for non-negative values on 32- and 64-bit targets.
            n => Ok(Some(n as usize)),
        }
    }

    /// Reads a vector's element count and checks it against the bytes left: every element of every jute record
    /// takes at least one byte, so a count above `remaining()` is a lie we can reject before allocating.
    fn read_count(&mut self) -> Result<usize, DecodeError> {
        let offset = self.pos;
        match self.read_len()? {
            None => Ok(0),
            Some(n) if n > self.remaining() => Err(DecodeError::Truncated {
                offset,
                needed: n - self.remaining(),
            }),
            Some(n) => Ok(n),
        }
    }

    pub fn read_int(&mut self) -> Result<i32, DecodeError> {
        self.take_array().map(i32::from_be_bytes)
    }

    pub fn read_long(&mut self) -> Result<i64, DecodeError> {
        self.take_array().map(i64::from_be_bytes)
    }

    /// Any non-zero byte is true, as Java's `DataInput.readBoolean`.
    pub fn read_bool(&mut self) -> Result<bool, DecodeError> {
        self.take_array::<1>().map(|[b]| b != 0)
    }

    /// A jute `buffer`: zero-copy slice of the frame; null reads as empty.
    pub fn read_buffer(&mut self) -> Result<Bytes, DecodeError> {
        match self.read_len()? {
            None => Ok(Bytes::new()),
            Some(n) => self.take(n),
        }
    }

    /// A jute `buffer` that may be null (-1), as znode data and SASL tokens are.
    pub fn read_nullable_buffer(&mut self) -> Result<Option<Bytes>, DecodeError> {
        match self.read_len()? {
            None => Ok(None),
            Some(n) => self.take(n).map(Some),
        }
    }

    /// A znode's data: null stays null.
    pub fn read_data(&mut self) -> Result<crate::Data, DecodeError> {
        self.read_nullable_buffer().map(crate::Data::from)
    }

    /// Every byte left in the frame (a body that is not a jute record, as deleteContainer's raw path).
    pub fn read_rest(&mut self) -> Bytes {
        let rest = self.buf.slice(self.pos..);
        self.pos = self.buf.len();
        rest
    }

    /// A jute `ustring`; null reads as empty.
    pub fn read_string(&mut self) -> Result<String, DecodeError> {
        // Java decodes invalid UTF-8 leniently (replacement characters); so do we, so a bad path gets
        // ZooKeeper's answer (NoNode, BadArguments) rather than a decoding error.
        let bytes = self.read_buffer()?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A jute `vector<T>`; null reads as empty.
    pub fn read_vec<T: Record>(&mut self) -> Result<Vec<T>, DecodeError> {
        let n = self.read_count()?;
        // Grow as elements actually decode rather than trusting `n` for capacity.
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(T::read(self)?);
        }
        Ok(out)
    }

    /// A jute `vector<ustring>`.
    pub fn read_string_vec(&mut self) -> Result<Vec<String>, DecodeError> {
        let n = self.read_count()?;
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(self.read_string()?);
        }
        Ok(out)
    }

    /// Fails with [`DecodeError::TrailingBytes`] unless the whole frame was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(DecodeError::TrailingBytes { extra }),
        }
    }
}

/// Appends jute encodings to a buffer.
pub struct Writer<'a> {
    buf: &'a mut BytesMut,
}

impl<'a> Writer<'a> {
    pub fn new(buf: &'a mut BytesMut) -> Writer<'a> {
        Writer { buf }
    }

    pub fn write_int(&mut self, v: i32) {
        self.buf.put_i32(v);
    }

    pub fn write_long(&mut self, v: i64) {
        self.buf.put_i64(v);
    }

    pub fn write_bool(&mut self, v: bool) {
        self.buf.put_u8(v as u8);
    }

    /// Writes a length prefix. Callers keep payloads under `jute.maxbuffer`, far below `i32::MAX`; a longer
    /// one would be cut off by every reader anyway, so it is clamped rather than allowed to panic.
    fn write_len(&mut self, len: usize) {
        self.write_int(i32::try_from(len).unwrap_or(i32::MAX));
    }

    /// A jute `buffer`; empty is written as length 0, never as null.
    pub fn write_buffer(&mut self, v: &[u8]) {
        self.write_len(v.len());
        self.buf.put_slice(v);
    }

    /// A jute `buffer` that may be null: `None` is written as length -1.
    pub fn write_nullable_buffer(&mut self, v: Option<&[u8]>) {
        match v {
            None => self.write_int(-1),
            Some(v) => self.write_buffer(v),
        }
    }

    /// A znode's data: null is written as length -1.
    pub fn write_data(&mut self, v: &crate::Data) {
        self.write_nullable_buffer(v.as_option().map(|b| &b[..]));
    }

    /// Bytes as they are, with no length prefix.
    pub fn write_raw(&mut self, v: &[u8]) {
        self.buf.put_slice(v);
    }

    pub fn write_string(&mut self, v: &str) {
        self.write_buffer(v.as_bytes());
    }

    pub fn write_vec<T: Record>(&mut self, v: &[T]) {
        self.write_len(v.len());
        for item in v {
            item.write(self);
        }
    }

    pub fn write_string_vec(&mut self, v: &[String]) {
        self.write_len(v.len());
        for s in v {
            self.write_string(s);
        }
    }
}

/// A jute record: encodes to and decodes from the wire.
pub trait Record: Sized {
    fn write(&self, w: &mut Writer<'_>);
    fn read(r: &mut Reader) -> Result<Self, DecodeError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reader(bytes: &[u8]) -> Reader {
        Reader::new(Bytes::copy_from_slice(bytes))
    }

    #[test]
    fn numbers_are_big_endian() {
        let mut r = reader(&[
            0, 0, 1, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0, 7,
        ]);
        assert_eq!(r.read_int(), Ok(0x102));
        assert_eq!(r.read_long(), Ok(-2));
        assert_eq!(r.read_bool(), Ok(false));
        assert_eq!(r.read_bool(), Ok(true), "any non-zero byte is true");
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn short_read_fails_without_consuming() {
        let mut r = reader(&[0, 0, 1]);
        assert_eq!(
            r.read_int(),
            Err(DecodeError::Truncated {
                offset: 0,
                needed: 1
            })
        );
        assert_eq!(r.position(), 0);
        assert_eq!(
            r.read_long(),
            Err(DecodeError::Truncated {
                offset: 0,
                needed: 5
            })
        );
    }

    #[test]
    fn null_reads_as_empty() {
        let mut r = reader(&[0xff; 12]);
        assert_eq!(r.read_buffer(), Ok(Bytes::new()));
        assert_eq!(r.read_string(), Ok(String::new()));
        assert_eq!(r.read_string_vec(), Ok(Vec::new()));
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn other_negative_lengths_are_bad() {
        let minus_two = (-2i32).to_be_bytes();
        assert_eq!(
            reader(&minus_two).read_buffer(),
            Err(DecodeError::BadLength { offset: 0, len: -2 })
        );
        assert!(matches!(
            reader(&minus_two).read_string(),
            Err(DecodeError::BadLength { .. })
        ));
        assert!(matches!(
            reader(&minus_two).read_string_vec(),
            Err(DecodeError::BadLength { .. })
        ));
        let min = i32::MIN.to_be_bytes();
        assert!(matches!(
            reader(&min).read_vec::<Probe>(),
            Err(DecodeError::BadLength { .. })
        ));
    }

    #[test]
    fn huge_lengths_fail_fast() {
        let mut b = 1_000_000_000i32.to_be_bytes().to_vec();
        b.extend_from_slice(&[0; 10]);
        assert_eq!(
            reader(&b).read_buffer(),
            Err(DecodeError::Truncated {
                offset: 4,
                needed: 999_999_990
            })
        );
        assert!(matches!(
            reader(&b).read_string_vec(),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(matches!(
            reader(&b).read_vec::<Probe>(),
            Err(DecodeError::Truncated { .. })
        ));
        let max = i32::MAX.to_be_bytes();
        assert!(matches!(
            reader(&max).read_string(),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn buffer_is_a_slice_of_the_frame() {
        let frame = Bytes::from_static(b"\x00\x00\x00\x03abcZ");
        let mut r = Reader::new(frame.clone());
        let got = r.read_buffer().unwrap();
        assert_eq!(&got[..], b"abc");
        assert_eq!(
            got.as_ptr(),
            frame[4..].as_ptr(),
            "read_buffer copied the bytes"
        );
        assert_eq!(r.finish(), Err(DecodeError::TrailingBytes { extra: 1 }));
    }

    #[test]
    fn invalid_utf8_decodes_leniently_like_java() {
        assert_eq!(
            reader(b"\x00\x00\x00\x02\xc3\x28").read_string(),
            Ok("\u{fffd}(".to_string())
        );
        assert_eq!(
            reader(b"\x00\x00\x00\x02\xc3\xa9").read_string(),
            Ok("é".to_string())
        );
    }

    #[test]
    fn writer_uses_lengths_and_never_null() {
        let mut buf = BytesMut::new();
        let mut w = Writer::new(&mut buf);
        w.write_buffer(b"");
        w.write_string("hé");
        w.write_string_vec(&["a".to_string()]);
        w.write_vec::<Probe>(&[Probe(7)]);
        w.write_bool(true);
        let want: &[u8] =
            b"\x00\x00\x00\x00\x00\x00\x00\x03h\xc3\xa9\x00\x00\x00\x01\x00\x00\x00\x01a\
                            \x00\x00\x00\x01\x00\x00\x00\x07\x01";
        assert_eq!(&buf[..], want);
    }

    /// The smallest record: one int.
    #[derive(Debug, PartialEq)]
    struct Probe(i32);

    impl Record for Probe {
        fn write(&self, w: &mut Writer<'_>) {
            w.write_int(self.0);
        }
        fn read(r: &mut Reader) -> Result<Self, DecodeError> {
            r.read_int().map(Probe)
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let frame = Bytes::from(bytes);
            for step in 0..7 {
                let mut r = Reader::new(frame.clone());
                while r.remaining() > 0 {
                    let before = r.position();
                    let ok = match step {
                        0 => r.read_int().is_ok(),
                        1 => r.read_long().is_ok(),
                        2 => r.read_bool().is_ok(),
                        3 => r.read_buffer().is_ok(),
                        4 => r.read_string().is_ok(),
                        5 => r.read_string_vec().is_ok(),
                        _ => r.read_vec::<Probe>().is_ok(),
                    };
                    prop_assert!(r.position() <= frame.len());
                    if !ok || r.position() == before {
                        break;
                    }
                }
            }
        }

        #[test]
        fn values_round_trip(i in any::<i32>(), l in any::<i64>(), b in any::<bool>(),
                             data in proptest::collection::vec(any::<u8>(), 0..40), s in ".*",
                             v in proptest::collection::vec(".*", 0..5)) {
            let mut buf = BytesMut::new();
            let mut w = Writer::new(&mut buf);
            w.write_int(i);
            w.write_long(l);
            w.write_bool(b);
            w.write_buffer(&data);
            w.write_string(&s);
            w.write_string_vec(&v);
            let mut r = Reader::new(buf.freeze());
            prop_assert_eq!(r.read_int(), Ok(i));
            prop_assert_eq!(r.read_long(), Ok(l));
            prop_assert_eq!(r.read_bool(), Ok(b));
            prop_assert_eq!(r.read_buffer(), Ok(Bytes::from(data)));
            prop_assert_eq!(r.read_string(), Ok(s));
            prop_assert_eq!(r.read_string_vec(), Ok(v));
            prop_assert_eq!(r.finish(), Ok(()));
        }
    }
}
