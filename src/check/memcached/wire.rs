//! memcached's two protocols, as much as a probe speaks: the text protocol's `version` and its
//! one-line answer, and the binary protocol's packets (a 24-byte header, then extras, key and
//! value) for SASL PLAIN (memcached `-S`) and its own `version`. Every line and body a server
//! sends is bounded before it is read.

use std::io::{self, Read};

use crate::{net::is_tls_record, quote};

/// The text protocol's request, padded with spaces (which memcached's tokenizer skips) to the
/// 24 bytes of a binary header: a memcached started with `-S` speaks only the binary protocol
/// and waits for a whole header before it closes a connection that is not binary; padded, it
/// closes at once, and probe can say why instead of timing out.
pub const VERSION_LINE: &[u8] = b"version               \r\n";

/// The longest text line read: `VERSION 1.6.18` and error lines are short.
const LONGEST_LINE: usize = 1024;

/// The longest binary body read: probe's answers carry a version or an error's words.
const LONGEST_BODY: usize = 4096;

const REQUEST: u8 = 0x80;
const RESPONSE: u8 = 0x81;
pub const OP_VERSION: u8 = 0x0b;
pub const OP_SASL_AUTH: u8 = 0x21;
/// The status of a refused login ("Auth failure.").
pub const STATUS_AUTH_ERROR: u16 = 0x20;
/// The status of a command the server does not know (SASL in a server built without it).
pub const STATUS_UNKNOWN_COMMAND: u16 = 0x81;

/// What the text protocol answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// `VERSION …`: the version, quoted.
    Version(String),
    /// `ERROR`, `SERVER_ERROR …` or `CLIENT_ERROR …`, quoted whole.
    Error(String),
}

/// Why no usable answer was read.
#[derive(Debug)]
pub enum Failure {
    /// The connection ended before a byte came.
    Closed,
    SpeaksTls,
    NotMemcached,
    Io(io::Error),
}

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Self {
        Failure::Io(err)
    }
}

/// Reads one `\r\n`-ended line (a bare `\n` too), at most [`LONGEST_LINE`] bytes, and reads it.
pub fn read_line(reader: &mut impl Read) -> Result<Line, Failure> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match reader.read(&mut byte) {
            Ok(0) if line.is_empty() => return Err(Failure::Closed),
            Ok(0) => return Err(Failure::NotMemcached),
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(Failure::Io(err)),
        }
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
        if line.len() == 2 && is_tls_record(&line) {
            return Err(Failure::SpeaksTls);
        }
        if line.len() > LONGEST_LINE {
            return Err(Failure::NotMemcached);
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    parse_line(&line).ok_or(Failure::NotMemcached)
}

/// A text answer: `VERSION x`, or one of the three error lines; `None` for anything else.
pub fn parse_line(line: &[u8]) -> Option<Line> {
    if let Some(version) = line.strip_prefix(b"VERSION ") {
        return Some(Line::Version(quote::peer(version)));
    }
    let word = line.split(|&b| b == b' ').next().unwrap_or_default();
    matches!(word, b"ERROR" | b"SERVER_ERROR" | b"CLIENT_ERROR").then(|| Line::Error(quote::peer(line)))
}

/// A binary request: the header, then `key` and `value` (no extras).
pub fn request(opcode: u8, key: &[u8], value: &[u8]) -> Vec<u8> {
    let key_length = u16::try_from(key.len()).unwrap_or(u16::MAX);
    let body = u32::try_from(key.len() + value.len()).unwrap_or(u32::MAX);
    let mut packet = Vec::with_capacity(24 + key.len() + value.len());
    packet.extend([REQUEST, opcode]);
    packet.extend(key_length.to_be_bytes());
    packet.extend([0, 0]); // extras length, data type
    packet.extend(0u16.to_be_bytes()); // vbucket
    packet.extend(body.to_be_bytes());
    packet.extend(0u32.to_be_bytes()); // opaque
    packet.extend(0u64.to_be_bytes()); // cas
    packet.extend(key);
    packet.extend(value);
    packet
}

/// SASL PLAIN's message: no authorization identity, the user, the password.
pub fn plain(user: &str, password: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(user.len() + password.len() + 2);
    message.push(0);
    message.extend(user.as_bytes());
    message.push(0);
    message.extend(password.as_bytes());
    message
}

/// A binary response: its opcode, status and value (the body after extras and key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub opcode: u8,
    pub status: u16,
    pub value: Vec<u8>,
}

/// Reads one binary response, its body bounded.
pub fn read_response(reader: &mut impl Read) -> Result<Response, Failure> {
    let mut header = [0u8; 24];
    let mut got = 0;
    while got < header.len() {
        match reader.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Err(Failure::Closed),
            Ok(0) => return Err(Failure::NotMemcached),
            Ok(n) => got += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(Failure::Io(err)),
        }
        if got >= 2 && is_tls_record(&header[..got]) {
            return Err(Failure::SpeaksTls);
        }
    }
    let (fixed, body_length) = parse_header(&header).ok_or(Failure::NotMemcached)?;
    let mut body = vec![0u8; body_length];
    reader.read_exact(&mut body).map_err(|err| match err.kind() {
        io::ErrorKind::UnexpectedEof => Failure::NotMemcached,
        _ => Failure::Io(err),
    })?;
    let skip = fixed.value_offset;
    Ok(Response { opcode: fixed.opcode, status: fixed.status, value: body[skip..].to_vec() })
}

struct Header {
    opcode: u8,
    status: u16,
    value_offset: usize,
}

/// A response header: the magic checked, the extras and key within the body, the body bounded.
fn parse_header(header: &[u8; 24]) -> Option<(Header, usize)> {
    if header[0] != RESPONSE {
        return None;
    }
    let key_length = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let extras_length = usize::from(header[4]);
    let status = u16::from_be_bytes([header[6], header[7]]);
    let body_length = u32::from_be_bytes([header[8], header[9], header[10], header[11]]) as usize;
    if body_length > LONGEST_BODY || key_length + extras_length > body_length {
        return None;
    }
    Some((Header { opcode: header[1], status, value_offset: key_length + extras_length }, body_length))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_answers() {
        assert_eq!(read_line(&mut &b"VERSION 1.6.18\r\n"[..]).unwrap(), Line::Version("1.6.18".into()));
        assert_eq!(read_line(&mut &b"ERROR\r\n"[..]).unwrap(), Line::Error("ERROR".into()));
        let busy = read_line(&mut &b"SERVER_ERROR out of memory\x1b\r\n"[..]).unwrap();
        assert_eq!(busy, Line::Error("SERVER_ERROR out of memory\\x1b".into()));
        assert!(matches!(read_line(&mut &b""[..]), Err(Failure::Closed)));
        assert!(matches!(read_line(&mut &b"+PONG\r\n"[..]), Err(Failure::NotMemcached)));
        assert!(matches!(read_line(&mut &b"VERSION"[..]), Err(Failure::NotMemcached)));
        assert!(matches!(read_line(&mut &b"\x15\x03\x01\x00\x02"[..]), Err(Failure::SpeaksTls)));
        assert!(matches!(read_line(&mut &[b'V'; 4000][..]), Err(Failure::NotMemcached)));
    }

    #[test]
    fn binary_packets() {
        let auth = request(OP_SASL_AUTH, b"PLAIN", &plain("app", "pw"));
        assert_eq!(&auth[..12], &[0x80, 0x21, 0, 5, 0, 0, 0, 0, 0, 0, 0, 12]);
        assert_eq!(&auth[24..], b"PLAIN\0app\0pw");
        let mut answer = vec![0x81, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6];
        answer.extend([0; 12]);
        answer.extend(b"1.6.18");
        let response = read_response(&mut answer.as_slice()).unwrap();
        assert_eq!(response, Response { opcode: OP_VERSION, status: 0, value: b"1.6.18".to_vec() });
        answer[11] = 7;
        assert!(matches!(read_response(&mut answer.as_slice()), Err(Failure::NotMemcached)));
        answer[0] = 0x80;
        assert!(matches!(read_response(&mut answer.as_slice()), Err(Failure::NotMemcached)));
    }
}
