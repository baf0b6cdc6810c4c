//! Bytes on the quorum and election ports: frames of `length u32 LE | crc32c u32 LE | payload`, the CRC
//! covering the length bytes and the payload, the payload a serde value in bincode 2's standard
//! configuration. The first frame each way is a [`Hello`]; every later one is a `PeerMsg`.
//!
//! A frame is checked before its payload is decoded: a length of zero or above the port's limit is refused
//! as soon as the 4 length bytes are in (nothing that large is ever buffered), then the CRC. Any bad frame
//! closes the connection. docs/ensemble-transport.md has the full picture.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use rzk_core::peer::ServerId;

/// First bytes of every hello: "rzk peer".
pub const PEER_MAGIC: [u8; 4] = *b"RZKP";
/// The version of this protocol (framing, hello and `PeerMsg` encoding); both ends must speak the same.
/// Version 2: znode data may be null (in txns and SNAP syncs). Version 3: pings carry a round number (a
/// leader answers a sync only once a quorum answered a round sent after it). An older server is refused at
/// the hello with a clear error: an ensemble is upgraded by stopping it, not server by server.
pub const PEER_PROTOCOL_VERSION: u32 = 3;
/// Bytes before a frame's payload.
pub const FRAME_HEADER_LEN: usize = 8;

/// Which of a server's two peer ports a connection is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PortKind {
    Quorum,
    Election,
}

impl PortKind {
    pub(crate) const BOTH: [PortKind; 2] = [PortKind::Quorum, PortKind::Election];

    pub(crate) fn index(self) -> usize {
        match self {
            PortKind::Quorum => 0,
            PortKind::Election => 1,
        }
    }
}

/// The handshake: the dialer sends it first; the acceptor answers with its own only if it keeps the
/// connection (see the one-connection rule in `super`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub magic: [u8; 4],
    pub version: u32,
    /// The sender's myid.
    pub server_id: ServerId,
    /// The port the sender believes this connection is on (a cross-wired config is refused).
    pub port: PortKind,
}

impl Hello {
    pub fn new(server_id: ServerId, port: PortKind) -> Hello {
        Hello {
            magic: PEER_MAGIC,
            version: PEER_PROTOCOL_VERSION,
            server_id,
            port,
        }
    }
}

/// Why bytes from a peer are refused (the connection is then closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("frame length {len} is out of bounds (1..={max})")]
    BadLength { len: u32, max: usize },
    #[error("frame checksum does not match")]
    Crc,
    #[error("payload does not decode: {0}")]
    Decode(String),
    #[error("message does not encode: {0}")]
    Encode(String),
    #[error("not an rzk peer (magic {0:02x?})")]
    BadMagic([u8; 4]),
    #[error("peer protocol version {0}, this build speaks {PEER_PROTOCOL_VERSION}")]
    BadVersion(u32),
}

/// bincode's own bound on what a payload may claim: frames are bounded earlier, by the port's limit.
fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<{ u32::MAX as usize }>()
}

fn crc(len_bytes: [u8; 4], payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&len_bytes), payload)
}

/// One framed value, refusing a payload longer than `max`.
pub fn encode_frame<T: Serialize>(value: &T, max: usize) -> Result<Bytes, WireError> {
    let mut out = vec![0u8; FRAME_HEADER_LEN];
    let len = bincode::serde::encode_into_std_write(value, &mut out, config())
        .map_err(|e| WireError::Encode(e.to_string()))?;
    if len == 0 || len > max || len > u32::MAX as usize {
        return Err(WireError::BadLength {
            len: len.min(u32::MAX as usize) as u32,
            max,
        });
    }
    let len_bytes = (len as u32).to_le_bytes();
    let sum = crc(len_bytes, &out[FRAME_HEADER_LEN..]);
    out[..4].copy_from_slice(&len_bytes);
    out[4..8].copy_from_slice(&sum.to_le_bytes());
    Ok(Bytes::from(out))
}

/// What the start of a receive buffer holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A whole frame whose CRC checks out; `used` bytes make it up.
    Frame {
        payload: &'a [u8],
        used: usize,
    },
    /// Not a whole frame yet (and nothing wrong so far).
    Incomplete,
    Bad(WireError),
}

/// Parses the frame at the start of `buf`, with payloads bounded by `max`.
pub fn parse_frame(buf: &[u8], max: usize) -> Parsed<'_> {
    let Some(len_bytes) = buf.get(..4) else {
        return Parsed::Incomplete;
    };
    let len_bytes = [len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]];
    let len = u32::from_le_bytes(len_bytes);
    if len == 0 || len as usize > max {
        return Parsed::Bad(WireError::BadLength { len, max });
    }
    let used = FRAME_HEADER_LEN + len as usize;
    if buf.len() < used {
        return Parsed::Incomplete;
    }
    let sum = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
    let payload = &buf[FRAME_HEADER_LEN..used];
    if crc(len_bytes, payload) != sum {
        return Parsed::Bad(WireError::Crc);
    }
    Parsed::Frame { payload, used }
}

/// What decoding may claim per payload byte: bincode counts each value at its in-memory size (a 1-byte
/// varint u64 claims 8), so a real message claims at most 8x its encoding.
const DECODE_EXPANSION: usize = 16;

/// Decodes a payload that passed its CRC; trailing bytes make it invalid. What decoding may allocate is
/// bounded by the payload's size: a 26-byte message claiming a 4 GiB buffer is refused, not allocated
/// (found by the peer_wire fuzz target).
pub fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T, WireError> {
    let budget = payload.len().saturating_mul(DECODE_EXPANSION).max(1 << 16);
    // bincode takes its limit as a const: pick the smallest power of two that covers the budget.
    macro_rules! within {
        ($($shift:literal),*) => {
            $(
                if budget <= 1usize << $shift {
                    return decode_limited::<T, { 1usize << $shift }>(payload);
                }
            )*
        };
    }
    within!(16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38);
    decode_limited::<T, { usize::MAX }>(payload)
}

fn decode_limited<T: DeserializeOwned, const LIMIT: usize>(payload: &[u8]) -> Result<T, WireError> {
    let config = bincode::config::standard().with_limit::<LIMIT>();
    match bincode::serde::decode_from_slice::<T, _>(payload, config) {
        Ok((value, used)) if used == payload.len() => Ok(value),
        Ok((_, used)) => Err(WireError::Decode(format!(
            "{} bytes left over",
            payload.len() - used
        ))),
        Err(e) => Err(WireError::Decode(e.to_string())),
    }
}

/// Decodes and checks a hello.
pub fn decode_hello(payload: &[u8]) -> Result<Hello, WireError> {
    // The magic is the first 4 bytes of the encoding (a fixed array): check it before anything else so a
    // foreign client gets a clear message.
    if let Some(m) = payload.get(..4) {
        let magic = [m[0], m[1], m[2], m[3]];
        if magic != PEER_MAGIC {
            return Err(WireError::BadMagic(magic));
        }
    }
    let hello: Hello = decode(payload)?;
    if hello.version != PEER_PROTOCOL_VERSION {
        return Err(WireError::BadVersion(hello.version));
    }
    Ok(hello)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the peer_wire fuzz target: 26 bytes claiming a 4 GiB byte buffer.
    #[test]
    fn a_tiny_message_cannot_claim_a_huge_allocation() {
        let payload = [
            1u8, 65, 5, 5, 1, 0, 0, 91, 0, 0, 0, 0, 0, 0, 0, 252, 1, 33, 1, 252, 0, 67, 0, 7, 186,
            0,
        ];
        assert!(decode::<rzk_core::peer::PeerMsg>(&payload).is_err());
    }

    use proptest::prelude::*;
    use rzk_core::election::{Notification, PeerState, Vote};
    use rzk_core::peer::PeerMsg;
    use rzk_core::zab::ZabMsg;

    fn notification() -> PeerMsg {
        PeerMsg::Election(Notification {
            vote: Vote {
                leader: 3,
                zxid: 0x1_0000_0005,
                peer_epoch: 1,
            },
            election_epoch: 9,
            state: PeerState::Looking,
        })
    }

    #[test]
    fn messages_and_hellos_round_trip() {
        for msg in [
            notification(),
            PeerMsg::Zab {
                session: 7,
                msg: ZabMsg::Commit { zxid: 42 },
            },
        ] {
            let frame = encode_frame(&msg, 1 << 16).unwrap();
            let Parsed::Frame { payload, used } = parse_frame(&frame, 1 << 16) else {
                panic!("not a frame");
            };
            assert_eq!(used, frame.len());
            assert_eq!(decode::<PeerMsg>(payload).unwrap(), msg);
        }
        let hello = Hello::new(7, PortKind::Election);
        let frame = encode_frame(&hello, 64).unwrap();
        let Parsed::Frame { payload, .. } = parse_frame(&frame, 64) else {
            panic!()
        };
        assert_eq!(decode_hello(payload).unwrap(), hello);
    }

    #[test]
    fn every_prefix_is_incomplete_and_every_bit_flip_is_refused() {
        let frame = encode_frame(&notification(), 1 << 16).unwrap();
        for cut in 0..frame.len() {
            assert_eq!(parse_frame(&frame[..cut], 1 << 16), Parsed::Incomplete);
        }
        for i in 0..frame.len() {
            for bit in 0..8 {
                let mut b = frame.to_vec();
                b[i] ^= 1 << bit;
                let ok = match parse_frame(&b, 1 << 16) {
                    Parsed::Frame { payload, .. } => decode::<PeerMsg>(payload).is_ok(),
                    _ => false,
                };
                // A flipped length bit may make the frame look incomplete (waiting for more) or out of
                // bounds; never accepted.
                assert!(!ok, "flip byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn lengths_are_bounded_before_the_payload_arrives() {
        let mut header = ((1u32 << 16) + 1).to_le_bytes().to_vec();
        assert!(matches!(
            parse_frame(&header, 1 << 16),
            Parsed::Bad(WireError::BadLength { .. })
        ));
        header = 0u32.to_le_bytes().to_vec();
        assert!(matches!(parse_frame(&header, 1 << 16), Parsed::Bad(_)));
        let big = PeerMsg::Zab {
            session: 1,
            msg: ZabMsg::Ping {
                round: 1,
                sessions: vec![(1, 2); 100],
            },
        };
        assert!(encode_frame(&big, 16).is_err());
    }

    #[test]
    fn a_foreign_older_or_newer_hello_is_refused() {
        let mut hello = Hello::new(1, PortKind::Quorum);
        hello.magic = *b"HTTP";
        let frame = encode_frame(&hello, 64).unwrap();
        let Parsed::Frame { payload, .. } = parse_frame(&frame, 64) else {
            panic!()
        };
        assert_eq!(decode_hello(payload), Err(WireError::BadMagic(*b"HTTP")));
        for version in [PEER_PROTOCOL_VERSION - 1, PEER_PROTOCOL_VERSION + 1] {
            let mut hello = Hello::new(1, PortKind::Quorum);
            hello.version = version;
            let frame = encode_frame(&hello, 64).unwrap();
            let Parsed::Frame { payload, .. } = parse_frame(&frame, 64) else {
                panic!()
            };
            assert_eq!(decode_hello(payload), Err(WireError::BadVersion(version)));
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            if let Parsed::Frame { payload, .. } = parse_frame(&bytes, 1 << 16) {
                let _ = decode::<PeerMsg>(payload);
                let _ = decode_hello(payload);
            }
        }
    }
}
