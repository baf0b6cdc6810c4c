//! Just enough HTTP/1.1 for the admin server: read one request head (bounded in size and time), answer it,
//! close. Hand-written rather than a crate: the admin server serves a handful of GETs to monitoring
//! tools, and a 60-line parser with hard limits is smaller to audit than an HTTP stack's dependencies.

use std::io::{self, Read, Write};

/// The most a request head may take; bodies are not read (GET only).
pub const MAX_HEAD: usize = 8 * 1024;

/// A parsed request line.
#[derive(Debug, PartialEq, Eq)]
pub struct RequestLine {
    pub method: String,
    pub target: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum HeadError {
    TooLarge,
    Malformed,
}

/// Reads until the blank line ending the head. Returns the head's bytes, or None on EOF before it ended.
pub fn read_head(stream: &mut impl Read) -> io::Result<Result<Vec<u8>, HeadError>> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = find_end(&head) {
            head.truncate(end);
            return Ok(Ok(head));
        }
        if head.len() >= MAX_HEAD {
            return Ok(Err(HeadError::TooLarge));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(Err(HeadError::Malformed));
        }
        head.extend_from_slice(&chunk[..n]);
    }
}

fn find_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| buf.windows(2).position(|w| w == b"\n\n"))
}

/// Parses `METHOD TARGET HTTP/x.y` from the head's first line.
pub fn parse_request_line(head: &[u8]) -> Result<RequestLine, HeadError> {
    let text = std::str::from_utf8(head).map_err(|_| HeadError::Malformed)?;
    let line = text.lines().next().ok_or(HeadError::Malformed)?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::Malformed);
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') || method.is_empty() {
        return Err(HeadError::Malformed);
    }
    Ok(RequestLine {
        method: method.to_string(),
        target: target.to_string(),
    })
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// Writes a complete response and asks the client to close.
pub fn write_response(
    stream: &mut impl Write,
    status: u16,
    content_type: &str,
    body: &str,
    head_only: bool,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\nServer: rzk\r\n\r\n",
        reason(status),
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(body.as_bytes())?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_get_request_line_parses() {
        let r = parse_request_line(b"GET /commands/ruok HTTP/1.1\r\nHost: x").unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.target, "/commands/ruok");
    }

    #[test]
    fn malformed_request_lines_are_refused() {
        for bad in [
            &b"GET /x"[..],
            b"GET x HTTP/1.1",
            b"GET /x HTTP/2 extra",
            b"\xff\xfe",
            b"",
        ] {
            assert_eq!(
                parse_request_line(bad),
                Err(HeadError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn heads_end_at_the_blank_line_and_are_bounded() {
        let mut input: &[u8] = b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody";
        assert_eq!(
            read_head(&mut input).unwrap().unwrap(),
            b"GET / HTTP/1.1\r\nA: b"
        );
        let big = vec![b'a'; MAX_HEAD + 10];
        assert_eq!(read_head(&mut &big[..]).unwrap(), Err(HeadError::TooLarge));
        assert_eq!(
            read_head(&mut &b"GET / HTTP/1.1\r\n"[..]).unwrap(),
            Err(HeadError::Malformed)
        );
    }

    #[test]
    fn responses_carry_length_and_close() {
        let mut out = Vec::new();
        write_response(&mut out, 200, "application/json", "{}", false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(text.contains("Content-Length: 2\r\n"));
        assert!(text.ends_with("\r\n\r\n{}"));
    }
}
