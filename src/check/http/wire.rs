//! One HTTP/1.1 exchange on a fresh connection, read the way Go's `net/http` client (kubelet's)
//! reads it, within the attempt's deadline: every read and write waits at most the time left.
//!
//! Read from Go's `net/http`: `ReadResponse` (response.go: the status code as `strconv.Atoi`
//! reads three characters) and `ParseHTTPVersion` (request.go), `readTransfer`,
//! `determineBodyLength`, `parseContentLength`, `fixTrailer`, `body.readTrailer` and
//! `seeUpcomingDoubleCRLF` (transfer.go), the 1xx loop and `maxHeaderResponseSize`
//! (transport.go), `Request.write` (request.go), `internal/chunked.go` (`readChunkLine`: CRLF
//! only; `parseHexUint`; the excess-overhead rule), and `net/textproto`'s `readMIMEHeader`,
//! `canonicalMIMEHeaderKey` (a name with a space is kept, not canonicalised) and
//! `readContinuedLineSlice` (folded lines joined by one space).

use std::{
    fmt,
    io::{self, BufRead, BufReader, Read, Write},
};

use crate::{deadline::Deadline, net, quote};

/// Go's transport refuses answer heads larger than this (`MaxResponseHeaderBytes` unset, as
/// kubelet leaves it). Only the longest line is held in memory, never the whole head.
pub const HEADER_CAP: u64 = 10 << 20;
/// Go's transport skips at most this many informational (1xx) answers before the final one.
const MAX_1XX: usize = 5;
/// Go's chunked reader refuses a chunk-size line longer than this (its 4 KiB read buffer).
const CHUNK_LINE_CAP: u64 = 4096;
/// Go refuses a trailer that does not end within its 4 KiB read buffer.
const TRAILER_CAP: u64 = 4096;
/// Go's chunked reader fails once the chunk-size lines outweigh the data by this much (16 bytes
/// a chunk and twice its data are free).
const CHUNK_EXCESS_CAP: u64 = 16 << 10;

/// The stream of one exchange (`net::Stream`, plain or TLS), every read and write of which
/// waits at most the deadline's time left.
pub struct Connection {
    stream: net::Stream,
    deadline: Deadline,
}

impl Connection {
    pub fn new(stream: net::Stream, deadline: Deadline) -> Self {
        Connection { stream, deadline }
    }
}

impl Read for Connection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_timeout(self.deadline.socket_timeout());
        self.stream.read(buf)
    }
}

impl Write for Connection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_timeout(self.deadline.socket_timeout());
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// A body Go's reader refuses (cut short, a broken chunk, a bad trailer), in Go's words.
#[derive(Debug)]
struct Broken(String);

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Broken {}

/// Why reading a body failed: what was wrong with its framing, or what the socket or TLS met.
pub fn body_failure(err: &io::Error) -> String {
    match err.get_ref().and_then(|inner| inner.downcast_ref::<Broken>()) {
        Some(broken) => broken.to_string(),
        None => net::describe(err),
    }
}

/// Writes the request head: the request line, then `headers` in the order given.
pub fn send(
    conn: &mut Connection,
    method: &str,
    target: &str,
    headers: &[(String, String)],
) -> io::Result<()> {
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    for (name, value) in headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes())?;
    conn.flush()
}

/// Why an answer could not be read.
#[derive(Debug)]
pub enum Failure {
    Io(io::Error),
    /// Not HTTP as Go reads it; says what was wrong, or nothing for a status line that is not one.
    NotHttp(String),
    /// The peer's first bytes are a TLS record: a TLS port asked in plain text.
    SpeaksTls,
    /// The head outgrew `HEADER_CAP`.
    TooLarge,
    /// Closed before a single byte of an answer.
    Nothing,
}

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Self {
        Failure::Io(err)
    }
}

/// What probe needs of an answer's head: the status and the few headers that steer it.
#[derive(Debug, Default)]
pub struct Head {
    pub status: u16,
    /// The first `Location` value, as Go's `Header.Get` gives it.
    pub location: Option<String>,
    major: u8,
    minor: u8,
    content_lengths: Vec<String>,
    transfer_encodings: Vec<String>,
    /// The `Trailer` header's values: the trailer fields announced.
    trailers: Vec<String>,
    connection_close: bool,
}

/// Reads the final answer's head, skipping informational (1xx) answers as Go's transport does.
pub fn read_head(reader: &mut BufReader<Connection>) -> Result<Head, Failure> {
    let first = reader.fill_buf()?;
    if first.is_empty() {
        return Err(Failure::Nothing);
    }
    if net::is_tls_record(first) {
        return Err(Failure::SpeaksTls);
    }
    let mut informational = 0;
    loop {
        let head = read_one_head(reader)?;
        if (100..=199).contains(&head.status) && head.status != 101 {
            informational += 1;
            if informational > MAX_1XX {
                return Err(Failure::NotHttp("too many 1xx informational answers".to_owned()));
            }
            continue;
        }
        return Ok(head);
    }
}

/// Reads one line of at most `*budget` bytes (the newline included), without its `\r\n` or `\n`.
/// None at the end of the stream before any byte.
fn read_line(
    reader: &mut impl BufRead,
    budget: &mut u64,
    too_long: fn() -> Failure,
) -> Result<Option<Vec<u8>>, Failure> {
    let mut line = Vec::new();
    let read = reader.by_ref().take(*budget).read_until(b'\n', &mut line)?;
    *budget -= read as u64;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return if *budget == 0 {
            Err(too_long())
        } else {
            Err(Failure::Io(io::ErrorKind::UnexpectedEof.into()))
        };
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(line))
}

fn read_one_head(reader: &mut BufReader<Connection>) -> Result<Head, Failure> {
    let mut budget = HEADER_CAP;
    let status_line = read_line(reader, &mut budget, || Failure::TooLarge)?
        .ok_or(Failure::Io(io::ErrorKind::UnexpectedEof.into()))?;
    let mut head = status(&status_line)?;
    read_fields(reader, &mut budget, |name, value| head.keep(name, value))?;
    Ok(head)
}

/// Reads header fields up to the empty line, as textproto's `readMIMEHeader` does, handing each
/// `(name, value)` to `field`.
fn read_fields(
    reader: &mut impl BufRead,
    budget: &mut u64,
    mut field: impl FnMut(&[u8], &[u8]),
) -> Result<(), Failure> {
    let malformed = || Failure::NotHttp("malformed header line".to_owned());
    // textproto: a first header line that starts with white space is malformed.
    if matches!(reader.fill_buf()?.first(), Some(b' ' | b'\t')) {
        return Err(malformed());
    }
    let mut pending: Option<Vec<u8>> = None;
    loop {
        let line = read_line(reader, budget, || Failure::TooLarge)?
            .ok_or(Failure::Io(io::ErrorKind::UnexpectedEof.into()))?;
        if let (Some(b' ' | b'\t'), Some(field)) = (line.first(), pending.as_mut()) {
            // Obsolete line folding (RFC 9112 §5.2): joined with a single space, as Go does.
            field.push(b' ');
            field.extend_from_slice(trim(&line));
            continue;
        }
        if let Some(whole) = pending.take() {
            let (name, value) = split_field(&whole).ok_or_else(malformed)?;
            field(name, value);
        }
        if line.is_empty() {
            return Ok(());
        }
        // textproto's mustHaveFieldNameColon: the name is on the field's first line.
        if !line.contains(&b':') {
            return Err(malformed());
        }
        pending = Some(trimmed(line));
    }
}

/// Go's `ReadResponse` status line: `HTTP/d.d`, a space, then a code of three characters that
/// `strconv.Atoi` reads as a number not below zero (`200`, `099`, `600`, `+12`, `-00`), then any
/// reason, in any bytes.
fn status(line: &[u8]) -> Result<Head, Failure> {
    let not_http = || Failure::NotHttp(String::new());
    let space = line.iter().position(|&b| b == b' ').ok_or_else(not_http)?;
    let (proto, rest) = (&line[..space], &line[space + 1..]);
    let code = &rest[rest.iter().position(|&b| b != b' ').unwrap_or(rest.len())..];
    let code = &code[..code.iter().position(|&b| b == b' ').unwrap_or(code.len())];
    let (negative, digits) = match code {
        [b'+', digits @ ..] => (false, digits),
        [b'-', digits @ ..] => (true, digits),
        digits => (false, digits),
    };
    if code.len() != 3 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(not_http());
    }
    let status = digits.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    if negative && status != 0 {
        return Err(not_http());
    }
    let (major, minor) = match proto {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            (major - b'0', minor - b'0')
        }
        _ => return Err(not_http()),
    };
    Ok(Head { status, major, minor, ..Head::default() })
}

/// `trim`, in place: a head line may be megabytes long, and is not copied.
fn trimmed(mut line: Vec<u8>) -> Vec<u8> {
    let end = line.iter().rposition(|b| !matches!(b, b' ' | b'\t')).map_or(0, |i| i + 1);
    line.truncate(end);
    let start = line.iter().position(|b| !matches!(b, b' ' | b'\t')).unwrap_or(line.len());
    line.drain(..start);
    line
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !matches!(b, b' ' | b'\t')).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !matches!(b, b' ' | b'\t')).map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// A field's name and value as textproto checks them: the name up to the first colon, made of
/// token characters (or spaces, which Go accepts but never canonicalises), the value's leading
/// white space dropped and no control character in it. None where Go refuses the line.
fn split_field(field: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = field.iter().position(|&b| b == b':')?;
    let (name, value) = (&field[..colon], &field[colon + 1..]);
    let value = &value[value.iter().position(|b| !matches!(b, b' ' | b'\t')).unwrap_or(value.len())..];
    let name_ok = !name.is_empty() && name.iter().all(|&b| is_token(b) || b == b' ');
    let value_ok = value.iter().all(|&b| b == b'\t' || (b >= b' ' && b != 0x7f));
    (name_ok && value_ok).then_some((name, value))
}

impl Head {
    /// Keeps the few fields that steer probe. A name with a space is Go's non-canonical key,
    /// which `Header.Get` never finds.
    fn keep(&mut self, name: &[u8], value: &[u8]) {
        let value = || String::from_utf8_lossy(value).into_owned();
        if name.eq_ignore_ascii_case(b"location") {
            self.location.get_or_insert_with(value);
        } else if name.eq_ignore_ascii_case(b"content-length") {
            self.content_lengths.push(value());
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.transfer_encodings.push(value());
        } else if name.eq_ignore_ascii_case(b"trailer") {
            self.trailers.push(value());
        } else if name.eq_ignore_ascii_case(b"connection") {
            self.connection_close |=
                value().split(',').any(|token| token.trim().eq_ignore_ascii_case("close"));
        }
    }
}

/// An RFC 9110 token character, as a header name must be made of.
pub fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// How the body is delimited, as Go's `readTransfer` decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

impl Head {
    /// The body's framing for an answer to `method`, as Go's `determineBodyLength` decides it;
    /// an error where Go refuses the answer, whatever its status.
    pub fn framing(&self, method: &str) -> Result<Framing, String> {
        // Go ignores Transfer-Encoding before HTTP/1.1 (and reads HTTP/0.0 as 1.1).
        let at_least_1_1 =
            (self.major, self.minor) == (0, 0) || self.major > 1 || (self.major == 1 && self.minor >= 1);
        let chunked = match self.transfer_encodings.as_slice() {
            _ if !at_least_1_1 => false,
            [] => false,
            [one] if one.eq_ignore_ascii_case("chunked") => true,
            [one] => return Err(format!("unsupported transfer encoding: \"{}\"", quote::peer(one))),
            many => return Err(format!("too many transfer encodings: \"{}\"", quote::peer(many.join(", ")))),
        };
        // parseContentLength: checked even where the length is not used.
        let ascii_space: &[char] = &[' ', '\t', '\r', '\n'];
        let length = match self.content_lengths.split_first() {
            None => None,
            Some((first, rest)) => {
                let first = first.trim_matches(ascii_space);
                if rest.iter().any(|other| other.trim_matches(ascii_space) != first) {
                    return Err("several different Content-Length headers".to_owned());
                }
                if first.is_empty() {
                    return Err("empty Content-Length".to_owned());
                }
                match first.parse::<u64>() {
                    Ok(length) if length < 1 << 63 && first.bytes().all(|b| b.is_ascii_digit()) => {
                        Some(length)
                    }
                    _ => return Err(format!("bad Content-Length \"{}\"", quote::peer(first))),
                }
            }
        };
        // fixTrailer: a chunked answer may not announce framing fields as trailers.
        if chunked {
            let announced = self.trailers.iter().flat_map(|value| value.split(',')).map(str::trim);
            for key in announced {
                if ["Transfer-Encoding", "Trailer", "Content-Length"]
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(key))
                {
                    return Err(format!("bad trailer key \"{}\"", quote::peer(key)));
                }
            }
        }
        if method == "HEAD" || (100..=199).contains(&self.status) || matches!(self.status, 204 | 304) {
            return Ok(Framing::Empty);
        }
        Ok(match (chunked, length) {
            (true, _) => Framing::Chunked,
            (false, None) => Framing::UntilClose,
            (false, Some(0)) => Framing::Empty,
            (false, Some(length)) => Framing::Length(length),
        })
    }
}

impl Framing {
    /// Bytes Go's `Client.do` reads of a redirect's body before the next hop, errors ignored: up
    /// to 2 KiB, unless the body is declared longer (`maxBodySlurpSize`).
    pub fn redirect_slurp(&self) -> u64 {
        const MAX_BODY_SLURP: u64 = 2 << 10;
        match self {
            Framing::Empty => 0,
            Framing::Length(length) if *length > MAX_BODY_SLURP => 0,
            _ => MAX_BODY_SLURP,
        }
    }
}

/// The body as a reader: the bytes the framing delimits, or an error where Go's body reader
/// fails (cut short, a broken chunk, a missing trailer).
pub struct Body<'a> {
    reader: &'a mut BufReader<Connection>,
    framing: Framing,
    /// Bytes left: of the body (Length), or of the current chunk (Chunked).
    left: u64,
    /// Bytes of the body read so far, for messages.
    read: u64,
    /// A chunk's data has ended; its CRLF comes next.
    chunk_end: bool,
    /// Go's count of chunk-line bytes beyond what the data pays for.
    excess: u64,
    done: bool,
}

impl<'a> Body<'a> {
    pub fn new(reader: &'a mut BufReader<Connection>, framing: Framing) -> Self {
        let left = if let Framing::Length(length) = framing { length } else { 0 };
        let done = framing == Framing::Empty;
        Body { reader, framing, left, read: 0, chunk_end: false, excess: 0, done }
    }

    fn broken(why: impl Into<String>) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, Broken(why.into()))
    }

    /// Starts the next chunk; false after the last one (and its trailer).
    fn next_chunk(&mut self) -> io::Result<bool> {
        if self.chunk_end {
            // A chunk's data ends with CRLF.
            let mut crlf = [0u8; 2];
            self.reader.read_exact(&mut crlf).map_err(|err| self.cut(err))?;
            if &crlf != b"\r\n" {
                return Err(Self::broken("malformed chunked encoding"));
            }
            self.chunk_end = false;
        }
        // readChunkLine: the line ends in CRLF, with no other CR in it.
        let mut line = Vec::new();
        let read = self.reader.by_ref().take(CHUNK_LINE_CAP).read_until(b'\n', &mut line);
        match read.map_err(|err| self.cut(err))? {
            0 => return Err(self.cut(io::ErrorKind::UnexpectedEof.into())),
            _ if line.last() != Some(&b'\n') && line.len() as u64 == CHUNK_LINE_CAP => {
                return Err(Self::broken("chunk size line too long"));
            }
            _ if line.last() != Some(&b'\n') => return Err(self.cut(io::ErrorKind::UnexpectedEof.into())),
            _ => {}
        }
        match line.iter().position(|&b| b == b'\r') {
            None => return Err(Self::broken("chunked line ends with bare LF")),
            Some(cr) if cr != line.len() - 2 => return Err(Self::broken("invalid CR in chunked line")),
            Some(_) => line.truncate(line.len() - 2),
        }
        self.excess += line.len() as u64 + 2;
        // Trailing white space trimmed, then the extension cut; nothing else is forgiven.
        let end = line.iter().rposition(|b| !matches!(b, b' ' | b'\t')).map_or(0, |i| i + 1);
        let line = &line[..end];
        let hex = &line[..line.iter().position(|&b| b == b';').unwrap_or(line.len())];
        if hex.is_empty() {
            return Err(Self::broken("empty hex number for chunk length"));
        }
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            return Err(Self::broken("invalid byte in chunk length"));
        }
        if hex.len() > 16 {
            return Err(Self::broken("http chunk length too large"));
        }
        let size = hex.iter().fold(0u64, |n, &d| n << 4 | u64::from((d as char).to_digit(16).unwrap_or(0)));
        self.excess = self.excess.saturating_sub(size.saturating_mul(2).saturating_add(16));
        if self.excess > CHUNK_EXCESS_CAP {
            return Err(Self::broken("chunked encoding contains too much non-data"));
        }
        if size > 0 {
            self.left = size;
            return Ok(true);
        }
        self.read_trailer()?;
        Ok(false)
    }

    /// The trailer after the last chunk, as Go's `body.readTrailer` takes it: CRLF at once, or
    /// header lines that end in CRLF CRLF within 4 KiB, with no bare CR or LF.
    fn read_trailer(&mut self) -> io::Result<()> {
        let mut trailer = Vec::new();
        loop {
            let budget = TRAILER_CAP - trailer.len() as u64;
            let read = self.reader.by_ref().take(budget).read_until(b'\n', &mut trailer)?;
            if trailer == b"\r\n" {
                return Ok(());
            }
            if read == 0 || trailer.last() != Some(&b'\n') {
                if trailer.len() < 2 {
                    return Err(Self::broken("unexpected EOF reading trailer"));
                }
                return Err(Self::broken("suspiciously long trailer after chunked body"));
            }
            if trailer.ends_with(b"\r\n\r\n") {
                break;
            }
        }
        let bare = trailer.iter().enumerate().any(|(i, &b)| {
            (b == b'\r' && trailer.get(i + 1) != Some(&b'\n'))
                || (b == b'\n' && (i == 0 || trailer[i - 1] != b'\r'))
        });
        if bare {
            return Err(Self::broken("invalid trailer"));
        }
        let mut budget = TRAILER_CAP;
        read_fields(&mut io::Cursor::new(&trailer), &mut budget, |_, _| {})
            .map_err(|_| Self::broken("malformed trailer line"))
    }

    /// An end of stream where more body was due, said as such.
    fn cut(&self, err: io::Error) -> io::Error {
        if err.kind() != io::ErrorKind::UnexpectedEof {
            return err;
        }
        let read = self.read;
        match self.framing {
            Framing::Length(length) => {
                Self::broken(format!("the body ends after {read} of its {length} bytes"))
            }
            _ => Self::broken(format!("the chunked body ends after {read} bytes, before its last chunk")),
        }
    }
}

impl Read for Body<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.framing == Framing::Chunked && self.left == 0 && !self.next_chunk()? {
            self.done = true;
            return Ok(0);
        }
        let want = match self.framing {
            Framing::UntilClose => buf.len(),
            _ => buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX)),
        };
        let n = match self.reader.read(&mut buf[..want]) {
            // rustls reports a close without close_notify so; Go's TLS takes it as the end.
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof && self.framing == Framing::UntilClose => {
                0
            }
            read => read?,
        };
        if n == 0 {
            if self.framing == Framing::UntilClose {
                self.done = true;
                return Ok(0);
            }
            return Err(self.cut(io::ErrorKind::UnexpectedEof.into()));
        }
        self.read += n as u64;
        if self.framing != Framing::UntilClose {
            self.left -= n as u64;
            match self.framing {
                Framing::Length(_) if self.left == 0 => self.done = true,
                Framing::Chunked if self.left == 0 => self.chunk_end = true,
                _ => {}
            }
        }
        Ok(n)
    }
}

/// Canonical reason phrases, for the status shown (the server's own may say anything).
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        421 => "Misdirected Request",
        425 => "Too Early",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_as_go_reads_them() {
        assert_eq!(status(b"HTTP/1.1 200 OK").unwrap().status, 200);
        assert_eq!(status(b"HTTP/1.0 600").unwrap().status, 600);
        assert_eq!(status(b"HTTP/1.1 099 Odd").unwrap().status, 99);
        assert_eq!(status(b"HTTP/1.1  204 extra spaces").unwrap().status, 204);
        // strconv.Atoi takes a sign: `+12` is 12, `-00` is 0; the reason may be any bytes.
        assert_eq!(status(b"HTTP/1.1 +12 Odd").unwrap().status, 12);
        assert_eq!(status(b"HTTP/1.1 -00").unwrap().status, 0);
        assert_eq!(status(b"HTTP/1.1 200 \xff").unwrap().status, 200);
        for bad in [
            &b"HTTP/1.1 20 OK"[..],
            b"HTTP/1.1 2000",
            b"HTTP/11 200",
            b"SSH-2.0-OpenSSH",
            b"HTTP/1.1 -12",
            b"ICY 200 OK",
        ] {
            assert!(status(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn framing_follows_go() {
        let head = |status, te: &[&str], cl: &[&str], minor| Head {
            status,
            major: 1,
            minor,
            transfer_encodings: te.iter().map(|s| s.to_string()).collect(),
            content_lengths: cl.iter().map(|s| s.to_string()).collect(),
            ..Head::default()
        };
        assert_eq!(head(200, &["chunked"], &["5"], 1).framing("GET"), Ok(Framing::Chunked));
        assert_eq!(head(200, &["chunked"], &[], 0).framing("GET"), Ok(Framing::UntilClose));
        assert_eq!(head(200, &[], &["5", " 5"], 1).framing("GET"), Ok(Framing::Length(5)));
        assert_eq!(head(204, &[], &["5"], 1).framing("GET"), Ok(Framing::Empty));
        assert_eq!(head(200, &[], &["5"], 1).framing("HEAD"), Ok(Framing::Empty));
        assert!(head(200, &["gzip"], &[], 1).framing("GET").is_err());
        assert!(head(200, &[], &["5", "6"], 1).framing("GET").is_err());
        assert!(head(200, &[], &["+5"], 1).framing("GET").is_err());
        assert!(head(200, &[], &[""], 1).framing("GET").is_err());
        // Transfer-Encoding counts from HTTP/1.1 on, and HTTP/0.0 reads as 1.1 (readTransfer).
        let mut old = head(200, &["gzip"], &[], 9);
        old.major = 0;
        assert_eq!(old.framing("GET"), Ok(Framing::UntilClose));
        old.minor = 0;
        assert!(old.framing("GET").is_err());
        // The Content-Length is checked where it is not used (HEAD, 204, chunked).
        assert!(head(200, &[], &["x"], 1).framing("HEAD").is_err());
        assert!(head(204, &[], &["x"], 1).framing("GET").is_err());
        assert!(head(200, &["chunked"], &["x"], 1).framing("GET").is_err());
        assert_eq!(Framing::Length(3000).redirect_slurp(), 0);
        assert_eq!(Framing::Length(2048).redirect_slurp(), 2048);
        assert_eq!(Framing::Chunked.redirect_slurp(), 2048);
    }
}
