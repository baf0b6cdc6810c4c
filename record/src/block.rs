//! A block: a run of entries compressed together, framed as `[len: u32 LE][crc32c: u32 LE][snappy bytes]`.
//! The CRC covers the compressed bytes, so a damaged block is found before it is decompressed. Blocks are
//! the unit the recorder flushes (every ~100 ms or 256 KB), so a kill -9 loses at most the one being filled.

use thiserror::Error;

/// The frame header's length.
pub const FRAME_HEADER_LEN: usize = 8;

/// The largest compressed block a reader accepts: a recorder never writes more (a checkpoint's tree goes
/// in several entries), and a damaged length cannot make a reader allocate more.
pub const MAX_BLOCK_LEN: usize = 64 << 20;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BlockError {
    #[error("block of {0} bytes is over the limit of {MAX_BLOCK_LEN}")]
    TooLong(usize),
    #[error("checksum mismatch")]
    Checksum,
    #[error("cannot decompress: {0}")]
    Decompress(String),
}

/// Compresses `raw` into one framed block appended to `out`.
pub fn encode_block(raw: &[u8], out: &mut Vec<u8>) -> Result<(), BlockError> {
    let compressed = snap::raw::Encoder::new()
        .compress_vec(raw)
        .map_err(|e| BlockError::Decompress(e.to_string()))?;
    if compressed.len() > MAX_BLOCK_LEN {
        return Err(BlockError::TooLong(compressed.len()));
    }
    out.extend_from_slice(&(compressed.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(&compressed).to_le_bytes());
    out.extend_from_slice(&compressed);
    Ok(())
}

/// What is at `at` in `buf`.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole, checked block: its decompressed bytes, and where the next frame starts.
    Block { raw: Vec<u8>, next: usize },
    /// Nothing: the buffer ends here.
    End,
    /// The buffer ends inside a frame (a write that did not finish).
    Torn,
    /// A whole frame that is wrong.
    Bad(BlockError),
}

/// Reads the frame at `at`.
pub fn read_frame(buf: &[u8], at: usize) -> Frame {
    let rest = &buf[at.min(buf.len())..];
    if rest.is_empty() {
        return Frame::End;
    }
    if rest.len() < FRAME_HEADER_LEN {
        return Frame::Torn;
    }
    let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
    if len > MAX_BLOCK_LEN {
        return Frame::Bad(BlockError::TooLong(len));
    }
    let Some(body) = rest.get(FRAME_HEADER_LEN..FRAME_HEADER_LEN + len) else {
        return Frame::Torn;
    };
    if crc32c::crc32c(body) != crc {
        return Frame::Bad(BlockError::Checksum);
    }
    // The declared length is checked before any allocation: a small block cannot ask for gigabytes.
    match snap::raw::decompress_len(body) {
        Ok(n) if n <= MAX_BLOCK_LEN => {}
        Ok(n) => return Frame::Bad(BlockError::TooLong(n)),
        Err(e) => return Frame::Bad(BlockError::Decompress(e.to_string())),
    }
    match snap::raw::Decoder::new().decompress_vec(body) {
        Ok(raw) => Frame::Block {
            raw,
            next: at + FRAME_HEADER_LEN + len,
        },
        Err(e) => Frame::Bad(BlockError::Decompress(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_and_damage_is_found() {
        let mut buf = Vec::new();
        encode_block(b"hello hello hello hello", &mut buf).unwrap();
        encode_block(b"", &mut buf).unwrap();
        let Frame::Block { raw, next } = read_frame(&buf, 0) else {
            panic!("first block");
        };
        assert_eq!(raw, b"hello hello hello hello");
        assert_eq!(
            read_frame(&buf, next),
            Frame::Block {
                raw: Vec::new(),
                next: buf.len()
            }
        );
        assert_eq!(read_frame(&buf, buf.len()), Frame::End);
        // Cut short: torn; a flipped byte: bad.
        assert_eq!(read_frame(&buf[..next - 1], 0), Frame::Torn);
        assert_eq!(read_frame(&buf[..3], 0), Frame::Torn);
        let mut flipped = buf.clone();
        flipped[FRAME_HEADER_LEN + 1] ^= 0x40;
        assert_eq!(read_frame(&flipped, 0), Frame::Bad(BlockError::Checksum));
        let mut long = buf.clone();
        long[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            read_frame(&long, 0),
            Frame::Bad(BlockError::TooLong(_))
        ));
    }
}
