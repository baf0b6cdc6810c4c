//! The digest of one step's outputs: recorded beside each input, so a replay finds a divergence at the first
//! step whose outputs differ, not later.
//!
//! A CRC-32C over a canonical stream: per output a tag byte, then its fields little-endian; bytes and strings
//! raw with their length; peer messages and txns in bincode (the peer wire's and the log's own encoding,
//! deterministic); a tree by its zxid, node count and incremental digest (O(1): never walked). Computed on the
//! event loop while the outputs are in cache; hardware CRC, so about one pass over the reply bytes.

use std::io::Write;

use rzk_core::node::{Output, PersistOp};

/// The digest of a batch of outputs, in order.
pub fn digest(outputs: &[Output]) -> u32 {
    let mut h = Crc(0);
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

/// A CRC-32C being extended; also a `Write`, so bincode can encode straight into it.
struct Crc(u32);

impl Crc {
    fn tag(&mut self, t: u8) -> &mut Crc {
        self.0 = crc32c::crc32c_append(self.0, &[t]);
        self
    }
    fn u64(&mut self, v: u64) -> &mut Crc {
        self.0 = crc32c::crc32c_append(self.0, &v.to_le_bytes());
        self
    }
    fn i64(&mut self, v: i64) -> &mut Crc {
        self.u64(v as u64)
    }
    fn bytes(&mut self, b: &[u8]) -> &mut Crc {
        self.u64(b.len() as u64);
        self.0 = crc32c::crc32c_append(self.0, b);
        self
    }
    fn tree(&mut self, tree: &rzk_core::tree::DataTree) -> &mut Crc {
        self.i64(tree.last_zxid())
            .u64(tree.node_count() as u64)
            .u64(tree.digest())
    }
    fn serde<T: serde::Serialize>(&mut self, value: &T) -> &mut Crc {
        // Encoding into a CRC cannot fail for these types; a failure still changes the digest.
        if bincode::serde::encode_into_std_write(value, &mut *self, bincode::config::standard())
            .is_err()
        {
            self.tag(0xff);
        }
        self
    }
}

impl Write for Crc {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = crc32c::crc32c_append(self.0, buf);
        Ok(buf.len())
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
    fn the_empty_batch_has_a_fixed_digest() {
        assert_eq!(digest(&[]), 0);
        // A golden value: the stream's layout is part of the format (version 1).
        assert_eq!(digest(&[to_client(7, b"x")]), {
            let mut c = crc32c::crc32c_append(0, &[1]);
            c = crc32c::crc32c_append(c, &7u64.to_le_bytes());
            c = crc32c::crc32c_append(c, &1u64.to_le_bytes());
            crc32c::crc32c_append(c, b"x")
        });
    }
}
