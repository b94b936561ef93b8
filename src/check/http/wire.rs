//! One HTTP/1.1 exchange on a fresh connection, read the way Go's `net/http` client (kubelet's)
//! reads it, within the attempt's deadline: every read and write waits at most the time left.
//!
//! Read from Go's `net/http`: `ReadResponse` and `ParseHTTPVersion` (response.go, request.go),
//! `readTransfer`, `parseTransferEncoding`, `fixLength`, `parseContentLength` and `body.readTrailer`
//! (transfer.go), the 1xx loop and `maxHeaderResponseSize` (transport.go), `Request.write`
//! (request.go), `internal/chunked.go`, and `net/textproto`'s `readMIMEHeader` and
//! `readContinuedLineSlice` (folded lines joined by one space).

use std::{
    io::{self, BufRead, BufReader, Read, Write},
    net::TcpStream,
    sync::Arc,
};

use rustls::{ClientConfig, ClientConnection, StreamOwned, pki_types::ServerName};

use crate::{deadline::Deadline, net, tls};

/// Go's transport refuses answer heads larger than this (`MaxResponseHeaderBytes` unset, as
/// kubelet leaves it). Only the longest line is held in memory, never the whole head.
pub const HEADER_CAP: u64 = 10 << 20;
/// Go's transport skips at most this many informational (1xx) answers before the final one.
const MAX_1XX: usize = 5;
/// Go's chunked reader refuses a chunk-size line longer than this.
const CHUNK_LINE_CAP: u64 = 4096;
/// Go refuses a trailer that does not end within its 4 KiB read buffer.
const TRAILER_CAP: u64 = 4096;

/// A connection, plain or TLS, whose every read and write waits at most the deadline's time left.
pub struct Connection {
    stream: Stream,
    deadline: Deadline,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Connection {
    pub fn plain(tcp: TcpStream, deadline: Deadline) -> Self {
        let _ = tcp.set_nodelay(true);
        Connection { stream: Stream::Plain(tcp), deadline }
    }

    /// Completes a TLS handshake with `host` (a name or an IP address) over `tcp`.
    pub fn tls(
        mut tcp: TcpStream,
        config: Arc<ClientConfig>,
        host: &str,
        deadline: Deadline,
    ) -> Result<Self, String> {
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| format!("'{host}' is not a TLS server name"))?;
        let mut tls = ClientConnection::new(config, name).map_err(|err| tls::describe(&err))?;
        while tls.is_handshaking() {
            set_timeouts(&tcp, deadline).map_err(|err| describe(&err))?;
            match tls.complete_io(&mut tcp) {
                Ok((0, 0)) if tls.is_handshaking() => return Err("connection closed by peer".to_owned()),
                Ok(_) => {}
                Err(err) => return Err(describe(&err)),
            }
        }
        Ok(Connection { stream: Stream::Tls(Box::new(StreamOwned::new(tls, tcp))), deadline })
    }

    fn tcp(&self) -> &TcpStream {
        match &self.stream {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => tls.get_ref(),
        }
    }
}

fn set_timeouts(tcp: &TcpStream, deadline: Deadline) -> io::Result<()> {
    tcp.set_read_timeout(Some(deadline.socket_timeout()))?;
    tcp.set_write_timeout(Some(deadline.socket_timeout()))
}

impl Read for Connection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        set_timeouts(self.tcp(), self.deadline)?;
        match &mut self.stream {
            Stream::Plain(tcp) => tcp.read(buf),
            Stream::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Connection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        set_timeouts(self.tcp(), self.deadline)?;
        match &mut self.stream {
            Stream::Plain(tcp) => tcp.write(buf),
            Stream::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.stream {
            Stream::Plain(tcp) => tcp.flush(),
            Stream::Tls(tls) => tls.flush(),
        }
    }
}

/// An I/O error as a short phrase; rustls's own errors (wrapped by its stream) as TLS ones.
pub fn describe(err: &io::Error) -> String {
    match err.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(tls_error) => tls::describe(tls_error),
        None if err.kind() == io::ErrorKind::InvalidData => err.to_string(),
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
    minor: u8,
    content_lengths: Vec<String>,
    transfer_encodings: Vec<String>,
    connection_close: bool,
}

/// Reads the final answer's head, skipping informational (1xx) answers as Go's transport does.
pub fn read_head(reader: &mut BufReader<Connection>) -> Result<Head, Failure> {
    let first = reader.fill_buf()?;
    if first.is_empty() {
        return Err(Failure::Nothing);
    }
    // A TLS record: handshake (22) or alert (21), then version 3.x.
    if matches!(first, [0x15 | 0x16, 0x03, ..]) {
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
    // textproto: a first header line that starts with white space is malformed.
    if matches!(reader.fill_buf()?.first(), Some(b' ' | b'\t')) {
        return Err(Failure::NotHttp("malformed header line".to_owned()));
    }
    let mut pending: Option<Vec<u8>> = None;
    loop {
        let line = read_line(reader, &mut budget, || Failure::TooLarge)?
            .ok_or(Failure::Io(io::ErrorKind::UnexpectedEof.into()))?;
        if let (Some(b' ' | b'\t'), Some(field)) = (line.first(), pending.as_mut()) {
            // Obsolete line folding (RFC 9112 §5.2): joined with a single space, as Go does.
            field.push(b' ');
            field.extend_from_slice(trim(&line));
            continue;
        }
        if let Some(field) = pending.take() {
            header(&mut head, &field)?;
        }
        if line.is_empty() {
            return Ok(head);
        }
        pending = Some(trimmed(line));
    }
}

/// Go's `ReadResponse` status line: `HTTP/d.d`, a space, three digits (any, as `strconv.Atoi`
/// takes them: `099` and `600` too), then any reason.
fn status(line: &[u8]) -> Result<Head, Failure> {
    let not_http = || Failure::NotHttp(String::new());
    let line = std::str::from_utf8(line).map_err(|_| not_http())?;
    let (proto, rest) = line.split_once(' ').ok_or_else(not_http)?;
    let code = rest.trim_start_matches(' ');
    let code = code.split_once(' ').map_or(code, |(code, _)| code);
    let minor = match proto.as_bytes() {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            minor - b'0'
        }
        _ => return Err(not_http()),
    };
    let status = match code.as_bytes() {
        [a, b, c] if [a, b, c].iter().all(|d| d.is_ascii_digit()) => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => return Err(not_http()),
    };
    Ok(Head { status, minor, ..Head::default() })
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

/// One header field as textproto checks it; only the ones that steer probe are kept.
fn header(head: &mut Head, field: &[u8]) -> Result<(), Failure> {
    let malformed = || Failure::NotHttp("malformed header line".to_owned());
    let colon = field.iter().position(|&b| b == b':').ok_or_else(malformed)?;
    let (name, value) = (&field[..colon], trim(&field[colon + 1..]));
    if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
        return Err(malformed());
    }
    if value.iter().any(|&b| b != b'\t' && (b < b' ' || b == 0x7f)) {
        return Err(malformed());
    }
    let value = || String::from_utf8_lossy(value).into_owned();
    if name.eq_ignore_ascii_case(b"location") {
        head.location.get_or_insert_with(value);
    } else if name.eq_ignore_ascii_case(b"content-length") {
        head.content_lengths.push(value());
    } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
        head.transfer_encodings.push(value());
    } else if name.eq_ignore_ascii_case(b"connection") {
        head.connection_close |= value().split(',').any(|token| token.trim().eq_ignore_ascii_case("close"));
    }
    Ok(())
}

/// An RFC 9110 token character, as a header name must be made of.
pub fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// How the body is delimited, as Go's `readTransfer` decides it.
#[derive(Debug, PartialEq, Eq)]
pub enum Framing {
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

impl Head {
    /// The body's framing for an answer to `method`; an error where Go refuses the answer.
    pub fn framing(&self, method: &str) -> Result<Framing, String> {
        let chunked = match self.transfer_encodings.as_slice() {
            // Go ignores Transfer-Encoding on HTTP/1.0.
            _ if self.minor == 0 => false,
            [] => false,
            [one] if one.eq_ignore_ascii_case("chunked") => true,
            [one] => return Err(format!("unsupported transfer encoding: {one:?}")),
            many => return Err(format!("too many transfer encodings: {many:?}")),
        };
        if let [first, rest @ ..] = self.content_lengths.as_slice()
            && rest.iter().any(|other| other.trim() != first.trim())
        {
            return Err("several different Content-Length headers".to_owned());
        }
        if method == "HEAD" || (100..=199).contains(&self.status) || matches!(self.status, 204 | 304) {
            return Ok(Framing::Empty);
        }
        if chunked {
            return Ok(Framing::Chunked);
        }
        match self.content_lengths.first().map(|text| text.trim()) {
            None => Ok(Framing::UntilClose),
            Some("") => Err("empty Content-Length".to_owned()),
            Some(text) => match text.parse::<u64>() {
                Ok(0) => Ok(Framing::Empty),
                Ok(length) if length < 1 << 63 && text.bytes().all(|b| b.is_ascii_digit()) => {
                    Ok(Framing::Length(length))
                }
                _ => Err(format!("bad Content-Length {text:?}")),
            },
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
    done: bool,
}

impl<'a> Body<'a> {
    pub fn new(reader: &'a mut BufReader<Connection>, framing: Framing) -> Self {
        let left = if let Framing::Length(length) = framing { length } else { 0 };
        let done = framing == Framing::Empty;
        Body { reader, framing, left, read: 0, chunk_end: false, done }
    }

    fn broken(why: impl Into<String>) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, why.into())
    }

    /// Starts the next chunk; false after the last one (and its trailer).
    fn next_chunk(&mut self) -> io::Result<bool> {
        if self.chunk_end {
            let mut crlf = [0u8; 2];
            self.reader.read_exact(&mut crlf).map_err(|err| self.cut(err))?;
            if &crlf != b"\r\n" {
                return Err(Self::broken("malformed chunked encoding"));
            }
            self.chunk_end = false;
        }
        let mut budget = CHUNK_LINE_CAP;
        let line = match read_line(self.reader, &mut budget, || Failure::TooLarge) {
            Ok(Some(line)) => line,
            Ok(None) => return Err(self.cut(io::ErrorKind::UnexpectedEof.into())),
            Err(Failure::Io(err)) => return Err(self.cut(err)),
            Err(_) => return Err(Self::broken("chunk size line too long")),
        };
        let size = line.split(|&b| b == b';').next().unwrap_or_default();
        let size = trim(size);
        let size = std::str::from_utf8(size)
            .ok()
            .filter(|hex| !hex.is_empty() && hex.len() <= 16)
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .ok_or_else(|| Self::broken("invalid chunk length"))?;
        if size > 0 {
            self.left = size;
            return Ok(true);
        }
        // The trailer: header lines up to an empty one, within Go's limit.
        let mut budget = TRAILER_CAP;
        loop {
            match read_line(self.reader, &mut budget, || Failure::TooLarge) {
                Ok(Some(line)) if line.is_empty() => return Ok(false),
                Ok(Some(_)) => {}
                Ok(None) => return Err(self.cut(io::ErrorKind::UnexpectedEof.into())),
                Err(Failure::Io(err)) => return Err(self.cut(err)),
                Err(_) => return Err(Self::broken("suspiciously long trailer after chunked body")),
            }
        }
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
    }
}
