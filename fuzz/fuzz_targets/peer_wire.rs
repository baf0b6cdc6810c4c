//! What a stranger can send to the quorum and election ports: frames (length, CRC), the hello that opens a
//! connection, and peer messages. The CRC stops random bytes at the frame, so payloads are also decoded
//! directly. Nothing may panic, hang or allocate beyond the frame bound; a hello or message that decodes
//! must re-encode to a frame that parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rzk_core::peer::PeerMsg;
use rzk_io_mio::peer::wire::{decode, decode_hello, encode_frame, parse_frame, Parsed};

/// The election port's frame bound (PeerLimits::max_election_frame); the quorum port's is larger but the
/// parsing is the same.
const MAX: usize = 64 << 10;

fuzz_target!(|data: &[u8]| {
    // As a stream: frames one after another, as links.rs parses them.
    let mut rest = data;
    let mut first = true;
    while let Parsed::Frame { payload, used } = parse_frame(rest, MAX) {
        assert!(used <= rest.len() && payload.len() <= MAX);
        if first {
            first = false;
            let _ = decode_hello(payload);
        } else {
            let _ = decode::<PeerMsg>(payload);
        }
        rest = &rest[used..];
    }
    // As payloads that passed their CRC.
    if let Ok(hello) = decode_hello(data) {
        let frame = encode_frame(&hello, MAX).expect("a decoded hello re-encodes");
        assert!(matches!(parse_frame(&frame, MAX), Parsed::Frame { .. }));
    }
    if let Ok(msg) = decode::<PeerMsg>(data) {
        if let Ok(frame) = encode_frame(&msg, MAX) {
            assert!(matches!(parse_frame(&frame, MAX), Parsed::Frame { .. }));
        }
    }
});
