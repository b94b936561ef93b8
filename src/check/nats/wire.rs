//! NATS's client protocol, the part a probe speaks: lines ending in CRLF, the server's
//! `INFO {json}`, `+OK`, `-ERR '…'`, `PING` and `PONG`, and the client's `CONNECT {json}`. The
//! JSON of INFO is read by a small reader that keeps the top-level fields probe uses and skips the
//! rest, bounded in depth and size; CONNECT's is written here with its strings escaped.

use std::io::{self, Read};

use crate::quote::json_string;

/// The longest line probe reads: nats-server's INFO stays far below (its control lines are at
/// most 4 KiB by default, INFO with a cluster's connect_urls a few more).
pub const LONGEST_LINE: usize = 64 * 1024;

/// One line from the server, as probe tells them apart.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Info(Info),
    Ok,
    /// `-ERR` and its text, quotes removed.
    Err(String),
    Ping,
    Pong,
    /// A message, which probe never subscribes to (skipped).
    Other(String),
}

/// What probe reads of INFO.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Info {
    pub server_name: Option<String>,
    pub version: Option<String>,
    pub tls_required: bool,
    pub tls_available: bool,
    pub auth_required: bool,
    pub nonce: Option<String>,
    pub headers: bool,
}

/// Why no line could be read.
#[derive(Debug)]
pub enum Failure {
    Io(io::Error),
    /// The peer closed the connection.
    Closed,
    /// Bytes that are not a NATS line: what they were, in a few words.
    NotNats(String),
    /// The first bytes are a TLS record.
    SpeaksTls,
}

/// Reads lines from a stream, keeping what follows a line for the next.
#[derive(Default)]
pub struct Lines {
    buffer: Vec<u8>,
}

impl Lines {
    /// The next line, without its CRLF (a lone LF ends one too, as nats-server reads them).
    pub fn next_line(&mut self, reader: &mut impl Read) -> Result<Vec<u8>, Failure> {
        let mut searched = 0;
        loop {
            // Before any line is cut: a TLS record holding a newline byte is TLS all the same,
            // however the reads split it.
            if crate::net::is_tls_record(&self.buffer) {
                return Err(Failure::SpeaksTls);
            }
            if let Some(at) = self.buffer[searched..].iter().position(|&b| b == b'\n') {
                let end = searched + at;
                let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            searched = self.buffer.len();
            if self.buffer.len() >= LONGEST_LINE {
                return Err(Failure::NotNats(format!("a line longer than {} KiB", LONGEST_LINE / 1024)));
            }
            let mut chunk = [0u8; 4096];
            let want = chunk.len().min(LONGEST_LINE - self.buffer.len());
            match reader.read(&mut chunk[..want]) {
                Ok(0) if self.buffer.is_empty() => return Err(Failure::Closed),
                Ok(0) => {
                    return Err(Failure::NotNats("an unfinished line, then the connection closed".to_owned()));
                }
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(Failure::Io(err)),
            }
        }
    }

    /// The next line, read as the protocol's.
    pub fn next(&mut self, reader: &mut impl Read) -> Result<Line, Failure> {
        let line = self.next_line(reader)?;
        parse_line(&line)
    }
}

/// One line as NATS's: its operation (any case, as nats-server reads it) and its arguments.
pub fn parse_line(line: &[u8]) -> Result<Line, Failure> {
    let text = std::str::from_utf8(line).map_err(|_| not_nats(line))?;
    let (op, rest) = text.split_once([' ', '\t']).unwrap_or((text, ""));
    match op.to_ascii_uppercase().as_str() {
        "INFO" => parse_info(rest.trim()).map(Line::Info).ok_or_else(|| Failure::NotNats("INFO without a JSON object".to_owned())),
        "+OK" => Ok(Line::Ok),
        "-ERR" => {
            let text = rest.trim();
            let text = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')).unwrap_or(text);
            Ok(Line::Err(text.to_owned()))
        }
        "PING" => Ok(Line::Ping),
        "PONG" => Ok(Line::Pong),
        "MSG" | "HMSG" => Ok(Line::Other(op.to_owned())),
        _ => Err(not_nats(line)),
    }
}

fn not_nats(line: &[u8]) -> Failure {
    Failure::NotNats(format!("{} where INFO, PONG or -ERR was expected", crate::quote::peer(&line[..line.len().min(60)])))
}

/// A JSON value, as far as probe looks into one.
#[derive(Debug, PartialEq)]
enum Value {
    Str(String),
    Bool(bool),
    Other,
}

/// INFO's JSON object, or `None` when it is not one.
pub fn parse_info(json: &str) -> Option<Info> {
    let mut reader = Json { bytes: json.as_bytes(), at: 0 };
    let mut info = Info::default();
    reader.skip_space();
    reader.expect(b'{')?;
    reader.skip_space();
    if reader.peek() == Some(b'}') {
        return Some(info);
    }
    loop {
        reader.skip_space();
        let key = reader.string()?;
        reader.skip_space();
        reader.expect(b':')?;
        reader.skip_space();
        let value = reader.value()?;
        match (key.as_str(), value) {
            ("server_name", Value::Str(text)) => info.server_name = Some(text),
            ("version", Value::Str(text)) => info.version = Some(text),
            ("nonce", Value::Str(text)) => info.nonce = Some(text),
            ("tls_required", Value::Bool(set)) => info.tls_required = set,
            ("tls_available", Value::Bool(set)) => info.tls_available = set,
            ("auth_required", Value::Bool(set)) => info.auth_required = set,
            ("headers", Value::Bool(set)) => info.headers = set,
            _ => {}
        }
        reader.skip_space();
        match reader.next()? {
            b',' => continue,
            b'}' => break,
            _ => return None,
        }
    }
    reader.skip_space();
    (reader.at == reader.bytes.len()).then_some(info)
}

/// How deep nested arrays and objects may go in what probe skips.
const DEEPEST: usize = 32;

struct Json<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Json<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.at += 1;
        }
    }

    fn value(&mut self) -> Option<Value> {
        match self.peek()? {
            b'"' => self.string().map(Value::Str),
            b't' => self.word(b"true").map(|()| Value::Bool(true)),
            b'f' => self.word(b"false").map(|()| Value::Bool(false)),
            b'n' => self.word(b"null").map(|()| Value::Other),
            b'{' | b'[' => self.skip_nested().map(|()| Value::Other),
            b'-' | b'0'..=b'9' => {
                let start = self.at;
                while matches!(self.peek(), Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')) {
                    self.at += 1;
                }
                std::str::from_utf8(&self.bytes[start..self.at]).ok()?.parse::<f64>().ok()?;
                Some(Value::Other)
            }
            _ => None,
        }
    }

    fn word(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// An array or object, skipped whole: its strings read (a bracket in one counts for nothing).
    fn skip_nested(&mut self) -> Option<()> {
        let mut open = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.string()?;
                    continue;
                }
                b @ (b'{' | b'[') => {
                    open.push(if b == b'{' { b'}' } else { b']' });
                    if open.len() > DEEPEST {
                        return None;
                    }
                }
                b @ (b'}' | b']') => {
                    if open.pop()? != b {
                        return None;
                    }
                    if open.is_empty() {
                        self.at += 1;
                        return Some(());
                    }
                }
                _ => {}
            }
            self.at += 1;
        }
    }

    fn string(&mut self) -> Option<String> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            let start = self.at;
            while !matches!(self.peek()?, b'"' | b'\\') {
                self.at += 1;
            }
            out.push_str(std::str::from_utf8(&self.bytes[start..self.at]).ok()?);
            match self.next()? {
                b'"' => return Some(out),
                _ => match self.next()? {
                    b'n' => out.push('\n'),
                    b't' => out.push('\t'),
                    b'r' => out.push('\r'),
                    b'b' => out.push('\u{8}'),
                    b'f' => out.push('\u{c}'),
                    b'u' => {
                        let hex = std::str::from_utf8(self.bytes.get(self.at..self.at + 4)?).ok()?;
                        let unit = u32::from_str_radix(hex, 16).ok()?;
                        self.at += 4;
                        out.push(char::from_u32(unit).unwrap_or('\u{fffd}'));
                    }
                    c @ (b'"' | b'\\' | b'/') => out.push(char::from(c)),
                    _ => return None,
                },
            }
        }
    }
}

/// CONNECT's fields beyond the fixed ones, in order: each name and its value as JSON.
pub fn connect(tls_required: bool, fields: &[(&str, String)]) -> Vec<u8> {
    let mut json = format!(
        "{{\"verbose\":false,\"pedantic\":false,\"tls_required\":{tls_required},\"name\":\"probe\",\
         \"lang\":\"rust\",\"version\":{},\"protocol\":1,\"echo\":false",
        json_string(env!("CARGO_PKG_VERSION"))
    );
    for (name, value) in fields {
        json.push_str(&format!(",\"{name}\":{value}"));
    }
    json.push('}');
    format!("CONNECT {json}\r\nPING\r\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nats_server_info_is_read() {
        let line = br#"INFO {"server_id":"NAB","server_name":"n1","version":"2.9.10","proto":1,"go":"go1.19","host":"0.0.0.0","port":4222,"headers":true,"auth_required":true,"tls_required":true,"max_payload":1048576,"nonce":"abc-_","connect_urls":["a:1","b\"]:2"],"x":{"y":[{}]}}"#;
        let Line::Info(info) = parse_line(line).map_err(|_| ()).unwrap() else { panic!() };
        assert_eq!(info.server_name.as_deref(), Some("n1"));
        assert_eq!(info.version.as_deref(), Some("2.9.10"));
        assert_eq!(info.nonce.as_deref(), Some("abc-_"));
        assert!(info.tls_required && info.auth_required && info.headers && !info.tls_available);
        assert!(parse_info("{}").is_some());
        assert!(parse_info("{\"a\":").is_none());
        assert!(parse_info(&"[".repeat(100)).is_none());
    }

    #[test]
    fn lines_are_told_apart() {
        assert_eq!(parse_line(b"-ERR 'Authorization Violation'").ok(), Some(Line::Err("Authorization Violation".into())));
        assert_eq!(parse_line(b"PONG").ok(), Some(Line::Pong));
        assert_eq!(parse_line(b"ping").ok(), Some(Line::Ping));
        assert!(matches!(parse_line(b"HTTP/1.1 400 Bad Request"), Err(Failure::NotNats(_))));
        let mut lines = Lines::default();
        let mut input: &[u8] = b"+OK\r\nPONG\nrest";
        assert!(matches!(lines.next(&mut input), Ok(Line::Ok)));
        assert!(matches!(lines.next(&mut input), Ok(Line::Pong)));
        assert!(matches!(lines.next(&mut input), Err(Failure::NotNats(_))));
    }

    #[test]
    fn connect_escapes_what_it_carries() {
        let bytes = connect(false, &[("user", json_string("a\"b")), ("pass", json_string("p\\\n"))]);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("CONNECT {\"verbose\":false"));
        assert!(text.contains(r#""user":"a\"b","pass":"p\\\n"}"#), "{text}");
        assert!(text.ends_with("}\r\nPING\r\n"));
    }
}
