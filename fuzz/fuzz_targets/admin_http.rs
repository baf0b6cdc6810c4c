//! What a stranger can send to the admin HTTP port: the request head is read with a size bound and its
//! request line parsed. Nothing may panic or read past the bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rzk_io_mio::admin_http::{parse_request_line, read_head, MAX_HEAD};

/// Hands the bytes out in small reads, as a slow client would.
struct Trickle<'a>(&'a [u8], usize);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(buf.len()).min(self.1);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, bytes)) = data.split_first() else {
        return;
    };
    let mut input = Trickle(bytes, usize::from(step).max(1));
    if let Ok(Ok(head)) = read_head(&mut input) {
        assert!(head.len() <= MAX_HEAD + 1024);
        if let Ok(line) = parse_request_line(&head) {
            assert!(line.target.starts_with('/'));
        }
    }
    let _ = parse_request_line(bytes);
});
