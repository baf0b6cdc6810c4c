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

    pub fn read_int(&mut self) -> Result<i32, DecodeError> {
        todo!()
    }

    pub fn read_long(&mut self) -> Result<i64, DecodeError> {
        todo!()
    }

    pub fn read_bool(&mut self) -> Result<bool, DecodeError> {
        todo!()
    }

    /// A jute `buffer`: zero-copy slice of the frame; null reads as empty.
    pub fn read_buffer(&mut self) -> Result<Bytes, DecodeError> {
        todo!()
    }

    /// A jute `ustring`; null reads as empty.
    pub fn read_string(&mut self) -> Result<String, DecodeError> {
        todo!()
    }

    /// A jute `vector<T>`; null reads as empty.
    pub fn read_vec<T: Record>(&mut self) -> Result<Vec<T>, DecodeError> {
        todo!()
    }

    /// A jute `vector<ustring>`.
    pub fn read_string_vec(&mut self) -> Result<Vec<String>, DecodeError> {
        todo!()
    }

    /// Fails with [`DecodeError::TrailingBytes`] unless the whole frame was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        todo!()
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

    pub fn write_buffer(&mut self, v: &[u8]) {
        todo!("{}", v.len())
    }

    pub fn write_string(&mut self, v: &str) {
        todo!("{}", v.len())
    }

    pub fn write_vec<T: Record>(&mut self, v: &[T]) {
        todo!("{}", v.len())
    }

    pub fn write_string_vec(&mut self, v: &[String]) {
        todo!("{}", v.len())
    }
}

/// A jute record: encodes to and decodes from the wire.
pub trait Record: Sized {
    fn write(&self, w: &mut Writer<'_>);
    fn read(r: &mut Reader) -> Result<Self, DecodeError>;
}
