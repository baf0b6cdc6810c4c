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
            return Err(DecodeError::Truncated { offset: self.pos, needed: n - remaining });
        }
        let out = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(out)
    }

    fn take_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let remaining = self.remaining();
        if N > remaining {
            return Err(DecodeError::Truncated { offset: self.pos, needed: N - remaining });
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
            Some(n) if n > self.remaining() => {
                Err(DecodeError::Truncated { offset, needed: n - self.remaining() })
            }
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

    /// A jute `ustring`; null reads as empty.
    pub fn read_string(&mut self) -> Result<String, DecodeError> {
        let offset = self.pos;
        let bytes = self.read_buffer()?;
        match std::str::from_utf8(&bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(DecodeError::BadUtf8 { offset }),
        }
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
