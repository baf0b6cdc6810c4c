//! The digest of one step's outputs: recorded beside each input, so a replay finds a divergence at the first
//! step whose outputs differ, not later.
//!
//! A 64-bit hash over a canonical stream: per output a tag, then its fields; bytes and strings with their
//! length; peer messages and txns in bincode (the peer wire's and the log's own encoding, deterministic); a
//! tree by its zxid, node count and incremental digest (O(1): never walked). Computed on the event loop while
//! the outputs are in cache. The hash is FxHash's multiply-rotate step over 8-byte words, a byte string
//! longer than 16 bytes entering it as one word, its rapidhash (V3: fixed, portable output; the `rapidhash`
//! crate): a divergence detector, not a checksum against an adversary. Cost history on `rzk bench get`: a
//! CRC-32C call per field cost the loop 3.4%; the chain alone over every reply byte 3.3% of the server's
//! CPU; rapidhash for the replies about a third of that.

use std::io::Write;

use rzk_core::node::{Output, PersistOp};

/// The digest of a batch of outputs, in order.
pub fn digest(outputs: &[Output]) -> u64 {
    let mut h = Hash(0);
    for output in outputs {
        match output {
            Output::ToClient { conn, bytes } => {
                h.tag(1).u64(*conn).bytes(bytes);
            }
            Output::Snapshot { zxid, tree } => {
                h.tag(2).i64(*zxid).tree(tree);
            }
            Output::CloseClient { conn } => {
                h.tag(3).u64(*conn);
            }
            Output::ToPeer { to, msg } => {
                h.tag(4).u64(*to).serde(msg);
            }
            Output::ReadInterest { conn, enabled } => {
                h.tag(5).u64(*conn).u64(*enabled as u64);
            }
            Output::Persist { id, op } => {
                h.tag(6).u64(id.0);
                match op {
                    PersistOp::Append(txns) => h.tag(1).serde(txns),
                    PersistOp::SaveEpochs { accepted, current } => {
                        h.tag(2).u64(*accepted as u64).u64(*current as u64)
                    }
                    PersistOp::Truncate { zxid } => h.tag(3).i64(*zxid),
                    PersistOp::Install { zxid, tree } => h.tag(4).i64(*zxid).tree(tree),
                };
            }
            Output::AdminReply { id, response } => {
                h.tag(7)
                    .u64(*id)
                    .u64(response.status as u64)
                    .bytes(response.content_type.as_bytes())
                    .bytes(response.body.as_bytes());
            }
        }
    }
    h.0
}

/// The digest of a redacted recording's step (`rzk.recordRedact`): what a replay from zeroed data must
/// reproduce. Replies to clients and admin answers by length (their data is zeroed on replay); peer
/// messages and logged txns whole, after the same redaction as the inputs; trees by zxid and node count
/// (their digest covers the data).
pub fn digest_shape(outputs: &[Output]) -> u64 {
    let mut h = Hash(0);
    for output in outputs {
        match output {
            Output::ToClient { conn, bytes } => {
                h.tag(1).u64(*conn).u64(bytes.len() as u64);
            }
            Output::Snapshot { zxid, tree } => {
                h.tag(2).i64(*zxid).u64(tree.node_count() as u64);
            }
            Output::CloseClient { conn } => {
                h.tag(3).u64(*conn);
            }
            Output::ToPeer { to, msg } => {
                let mut msg = msg.clone();
                crate::redact::redact_peer(&mut msg);
                h.tag(4).u64(*to).serde(&msg);
            }
            Output::ReadInterest { conn, enabled } => {
                h.tag(5).u64(*conn).u64(*enabled as u64);
            }
            Output::Persist { id, op } => {
                h.tag(6).u64(id.0);
                match op {
                    PersistOp::Append(txns) => {
                        let mut txns = txns.clone();
                        txns.iter_mut().for_each(crate::redact::redact_logged);
                        h.tag(1).serde(&txns)
                    }
                    PersistOp::SaveEpochs { accepted, current } => {
                        h.tag(2).u64(*accepted as u64).u64(*current as u64)
                    }
                    PersistOp::Truncate { zxid } => h.tag(3).i64(*zxid),
                    PersistOp::Install { zxid, tree } => {
                        h.tag(4).i64(*zxid).u64(tree.node_count() as u64)
                    }
                };
            }
            Output::AdminReply { id, response } => {
                h.tag(7)
                    .u64(*id)
                    .u64(response.status as u64)
                    .u64(response.body.len() as u64);
            }
        }
    }
    h.0
}

const K: u64 = 0x517c_c1b7_2722_0a95;

/// Byte strings longer than this are hashed with rapidhash (V3, whose output is fixed and portable) into one
/// word; shorter ones go through the chain word by word.
const LONG: usize = 16;

/// The hash being extended.
struct Hash(u64);

impl Hash {
    #[inline]
    fn word(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
    }
    fn tag(&mut self, t: u8) -> &mut Hash {
        self.word(t as u64 | 0x100);
        self
    }
    fn u64(&mut self, v: u64) -> &mut Hash {
        self.word(v);
        self
    }
    fn i64(&mut self, v: i64) -> &mut Hash {
        self.u64(v as u64)
    }
    fn raw(&mut self, b: &[u8]) {
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.word(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(w) ^ (rest.len() as u64) << 60);
        }
    }
    fn bytes(&mut self, b: &[u8]) -> &mut Hash {
        self.u64(b.len() as u64);
        if b.len() > LONG {
            // Replies are mostly longer than a few words: rapidhash takes them 16+ bytes per multiply where
            // the chain takes 8 per dependent multiply (measured: the digest was the loop's largest
            // recorder cost on `rzk bench get`, 3.3% of the server's CPU).
            self.word(rapidhash::v3::rapidhash_v3(b));
        } else {
            self.raw(b);
        }
        self
    }
    fn tree(&mut self, tree: &rzk_core::tree::DataTree) -> &mut Hash {
        self.i64(tree.last_zxid())
            .u64(tree.node_count() as u64)
            .u64(tree.digest())
    }
    fn serde<T: serde::Serialize>(&mut self, value: &T) -> &mut Hash {
        // bincode writes a value in many small pieces (a varint at a time); hashing each piece was the
        // loop's largest recorder cost on `rzk bench set` (the appended txns). So the encoding is cut into
        // chunks at fixed offsets of the whole stream, each hashed as one byte string: as cheap as one
        // rapidhash per chunk, and bounded in memory however large the value (a SNAP carries a tree).
        // Encoding cannot fail for these types; a failure still changes the digest. Most values are shorter
        // than a chunk: encoded straight into a slice first (bincode's slice writer is much cheaper per
        // piece), they hash exactly as the chunked path would hash them (one short last chunk).
        let mut first = [0u8; CHUNK];
        if let Ok(len) =
            bincode::serde::encode_into_slice(value, &mut first, bincode::config::standard())
        {
            if len < CHUNK {
                return self.bytes(&first[..len]);
            }
        }
        let mut chunks = Chunks {
            hash: self,
            buf: [0; CHUNK],
            len: 0,
        };
        let failed =
            bincode::serde::encode_into_std_write(value, &mut chunks, bincode::config::standard())
                .is_err();
        chunks.end();
        if failed {
            self.tag(0xff);
        }
        self
    }
}

/// The size of the pieces [`Hash::serde`] hashes an encoding in.
const CHUNK: usize = 1024;

/// An encoding on its way into a [`Hash`]: whole chunks of [`CHUNK`] bytes, then the rest.
struct Chunks<'a> {
    hash: &'a mut Hash,
    buf: [u8; CHUNK],
    len: usize,
}

impl Chunks<'_> {
    fn end(mut self) {
        let len = std::mem::take(&mut self.len);
        self.hash.bytes(&self.buf[..len]);
    }
}

impl Write for Chunks<'_> {
    fn write(&mut self, mut data: &[u8]) -> std::io::Result<usize> {
        let written = data.len();
        while !data.is_empty() {
            let n = data.len().min(CHUNK - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&data[..n]);
            self.len += n;
            data = &data[n..];
            if self.len == CHUNK {
                self.hash.bytes(&self.buf);
                self.len = 0;
            }
        }
        Ok(written)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use rzk_core::node::PersistId;

    fn to_client(conn: u64, b: &'static [u8]) -> Output {
        Output::ToClient {
            conn,
            bytes: Bytes::from_static(b),
        }
    }

    #[test]
    fn equal_batches_have_equal_digests_and_any_change_shows() {
        let a = vec![to_client(1, b"hello"), Output::CloseClient { conn: 1 }];
        let same = vec![to_client(1, b"hello"), Output::CloseClient { conn: 1 }];
        assert_eq!(digest(&a), digest(&same));
        let variants = [
            vec![to_client(2, b"hello"), Output::CloseClient { conn: 1 }],
            vec![to_client(1, b"hellp"), Output::CloseClient { conn: 1 }],
            vec![Output::CloseClient { conn: 1 }, to_client(1, b"hello")],
            vec![to_client(1, b"hello")],
            vec![
                to_client(1, b"hello"),
                Output::CloseClient { conn: 1 },
                Output::ReadInterest {
                    conn: 1,
                    enabled: false,
                },
            ],
        ];
        for v in variants {
            assert_ne!(digest(&a), digest(&v), "{v:?}");
        }
        // Lengths are part of the stream: moving a byte between two replies changes the digest.
        assert_ne!(
            digest(&[to_client(1, b"ab"), to_client(1, b"c")]),
            digest(&[to_client(1, b"a"), to_client(1, b"bc")])
        );
        let epochs = |accepted| Output::Persist {
            id: PersistId(3),
            op: PersistOp::SaveEpochs {
                accepted,
                current: 1,
            },
        };
        assert_ne!(digest(&[epochs(1)]), digest(&[epochs(2)]));
    }

    #[test]
    fn a_long_encoding_is_digested_whole_in_chunks() {
        let append = |data: Vec<u8>| Output::Persist {
            id: PersistId(1),
            op: PersistOp::Append(vec![rzk_core::txn::LoggedTxn {
                header: rzk_core::txn::TxnHeader {
                    session_id: 5,
                    cxid: 9,
                    zxid: 0x1_0000_0007,
                    time: 1_700_000_000_000,
                },
                txn: rzk_core::txn::Txn::SetData {
                    path: "/a".into(),
                    data: Bytes::from(data).into(),
                    version: 3,
                },
            }]),
        };
        // Over two chunks: equal values, equal digests; a byte changed anywhere (in the first chunk, around
        // the first chunk boundary, in the last chunk) shows.
        let data = vec![7u8; 2 * CHUNK + 100];
        assert_eq!(
            digest(&[append(data.clone())]),
            digest(&[append(data.clone())])
        );
        for at in [0, CHUNK - 40, CHUNK, 2 * CHUNK + 99] {
            let mut other = data.clone();
            other[at] ^= 1;
            assert_ne!(
                digest(&[append(data.clone())]),
                digest(&[append(other)]),
                "{at}"
            );
        }
        assert_ne!(
            digest(&[append(data.clone())]),
            digest(&[append(data[1..].to_vec())])
        );
    }

    #[test]
    fn the_empty_batch_has_a_fixed_digest() {
        assert_eq!(digest(&[]), 0);
        // A golden value: the stream's layout is part of the format.
        assert_eq!(digest(&[to_client(7, b"x")]), {
            let mut h = Hash(0);
            h.word(0x101);
            h.word(7);
            h.word(1);
            h.word(u64::from(b'x') ^ 1 << 60);
            h.0
        });
        // A reply longer than 16 bytes enters as its rapidhash (format version 2).
        let long = b"0123456789abcdefXYZ";
        assert_eq!(digest(&[to_client(7, long)]), {
            let mut h = Hash(0);
            h.word(0x101);
            h.word(7);
            h.word(long.len() as u64);
            h.word(rapidhash::v3::rapidhash_v3(long));
            h.0
        });
        // rapidhash V3's output is fixed: a crate release that changed it would break every recording.
        assert_eq!(rapidhash::v3::rapidhash_v3(long), 0x273b_2005_21ae_6b94);
    }
}
