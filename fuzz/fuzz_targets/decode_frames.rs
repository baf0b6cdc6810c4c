//! Arbitrary client bytes through the whole client-side decoding path: framing (with a small max so the
//! length checks are reached), then the connect frame and request frames. Nothing may panic, and a decoded
//! connect request must survive a re-encode.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use rzk_core::proto::frame::FrameDecoder;
use rzk_core::proto::request::{decode_connect, decode_request, RequestBody};
use rzk_core::proto::{path, Reader, Record, Writer};

fuzz_target!(|data: &[u8]| {
    // The first byte picks how the stream is chunked, so frames split at every possible point.
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk % 16) + 1;
    let mut decoder = FrameDecoder::new(256);
    let mut first = true;
    for piece in stream.chunks(chunk) {
        decoder.push(piece);
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => {
                    assert!(frame.len() <= 256);
                    if first {
                        first = false;
                        check_connect(frame);
                    } else if let Ok(req) = decode_request(frame) {
                        if let Some(p) = request_path(&req.body) {
                            let _ = path::validate(p, false);
                            let _ = path::validate(p, true);
                        }
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});

fn check_connect(frame: Bytes) {
    let Ok(req) = decode_connect(frame.clone()) else {
        // Not a connect frame: it must at least not crash the request decoder either.
        let _ = decode_request(frame);
        return;
    };
    let mut buf = BytesMut::new();
    req.write(&mut Writer::new(&mut buf));
    let again = rzk_core::proto::records::ConnectRequest::read(&mut Reader::new(buf.freeze()));
    assert_eq!(again.as_ref(), Ok(&req));
}

/// Feeds decoded paths (arbitrary UTF-8 by now) to the path validator too.
fn request_path(body: &RequestBody) -> Option<&str> {
    match body {
        RequestBody::Create(r) => Some(&r.path),
        RequestBody::CreateTtl(r) => Some(&r.path),
        RequestBody::Delete(r) => Some(&r.path),
        RequestBody::GetData(r) => Some(&r.path),
        RequestBody::SetData(r) => Some(&r.path),
        RequestBody::GetChildren(r) => Some(&r.path),
        RequestBody::Multi(ops) => ops.first().map(|op| op.path()),
        _ => None,
    }
}
