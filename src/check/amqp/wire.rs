//! AMQP 0-9-1 on the wire, as much as a connection's handshake needs: the protocol header, frames,
//! the connection-class methods (Start, StartOk, Tune, TuneOk, Open, OpenOk, Close, CloseOk,
//! Blocked, Unblocked), short and long strings and field tables. Section numbers are those of
//! the AMQP 0-9-1 specification (amqp0-9-1.pdf, "4.2 Protocol Wire Format"); method and class
//! numbers are from its machine-readable form (amqp0-9-1.xml), field-value types from RabbitMQ's
//! errata (rabbitmq.com/amqp-0-9-1-errata.html, "Field types"), which every broker follows.
//! Everything read from a broker is bounded: a frame's size is capped before it is read, tables
//! nest at most `MAX_DEPTH` deep, and no length is trusted beyond the bytes actually there.

use std::{fmt, io};

use crate::quote;

/// §4.2.2: the protocol header a client opens with: "AMQP", 0, then the version 0-9-1.
pub const PROTOCOL_HEADER: [u8; 8] = *b"AMQP\x00\x00\x09\x01";

/// §4.2.3: every frame ends with this octet.
const FRAME_END: u8 = 0xCE;

/// §4.2.3 frame types (amqp0-9-1.xml: frame-method, frame-header, frame-body, frame-heartbeat).
pub const FRAME_METHOD: u8 = 1;
const FRAME_HEADER: u8 = 2;
const FRAME_BODY: u8 = 3;
pub const FRAME_HEARTBEAT: u8 = 8;

/// The largest frame read from a broker: RabbitMQ's default frame_max. The connection methods
/// a broker sends before and after the handshake are a few hundred bytes.
pub const MAX_FRAME: u32 = 131_072;

/// How deep field tables and arrays may nest in server-properties (RabbitMQ's nest two deep).
const MAX_DEPTH: usize = 16;

/// The connection class and its methods (amqp0-9-1.xml, class "connection", index 10).
const CONNECTION: u16 = 10;
const START: u16 = 10;
const START_OK: u16 = 11;
const SECURE: u16 = 20;
const TUNE: u16 = 30;
const TUNE_OK: u16 = 31;
const OPEN: u16 = 40;
const OPEN_OK: u16 = 41;
const CLOSE: u16 = 50;
const CLOSE_OK: u16 = 51;
/// RabbitMQ's extension (rabbitmq.com/connection-blocked.html).
const BLOCKED: u16 = 60;
const UNBLOCKED: u16 = 61;

/// Why bytes from the broker are not a usable frame.
#[derive(Debug)]
pub enum WireError {
    Io(io::Error),
    /// The peer answered the protocol header with its own: it speaks another AMQP version.
    Version([u8; 8]),
    /// The bytes are not AMQP 0-9-1; says what was wrong.
    Malformed(String),
    /// The bytes are a TLS record: an AMQPS port asked in plain text.
    SpeaksTls,
}

impl From<io::Error> for WireError {
    fn from(err: io::Error) -> Self {
        WireError::Io(err)
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Io(err) => write!(f, "{err}"),
            WireError::Version(header) => write_version(f, header),
            WireError::Malformed(why) => write!(f, "the answer is not AMQP 0-9-1 ({why})"),
            WireError::SpeaksTls => f.write_str(&super::PROTOCOL.speaks_tls()),
        }
    }
}

/// What a protocol header sent back says: the version it names, and the header as it came
/// (`AMQP 0-1-0-0`), so that an echo of the client's own header is not read as a broker of the
/// same version refusing it.
fn write_version(f: &mut fmt::Formatter<'_>, header: &[u8; 8]) -> fmt::Result {
    let numbers: Vec<String> = header[4..].iter().map(u8::to_string).collect();
    let sent = quote::peer(format!("AMQP {}", numbers.join("-")));
    match version_name(header) {
        _ if *header == PROTOCOL_HEADER => write!(
            f,
            "the peer sent back the protocol header it was sent ({sent}) instead of Connection.Start: \
             an echo, not an AMQP broker"
        ),
        Some(name) => write!(f, "the broker speaks {name}, not AMQP 0-9-1 (its protocol header: {sent})"),
        None => write!(f, "the peer answered with the protocol header {sent}, which names no AMQP version"),
    }
}

/// The version a protocol header names: 1.0's (protocol id 0, 2 or 3, version 1.0.0), 0-9's
/// and 0-8's (class 1, instance 1, then the version), 0-9-1's own.
fn version_name(header: &[u8; 8]) -> Option<&'static str> {
    match header[4..] {
        [0 | 2 | 3, 1, 0, 0] => Some("AMQP 1.0"),
        [1, 1, 0, 9] => Some("AMQP 0-9"),
        [1, 1, 8, 0] => Some("AMQP 0-8"),
        [0, 0, 9, 1] => Some("AMQP 0-9-1"),
        _ => None,
    }
}

fn malformed(why: impl Into<String>) -> WireError {
    WireError::Malformed(why.into())
}

/// One frame (§4.2.3): its type, channel and payload; the frame-end octet has been checked.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub kind: u8,
    pub channel: u16,
    pub payload: Vec<u8>,
}

/// Reads one frame. A peer that answers the protocol header with its own (§4.2.2: "the server
/// MUST ... write a valid protocol header and then close the socket") gets `Version`.
pub fn read_frame(input: &mut impl io::Read) -> Result<Frame, WireError> {
    let mut head = [0u8; 7];
    input.read_exact(&mut head[..1])?;
    if head[0] == b'A' {
        let mut header = [0u8; 8];
        header[0] = b'A';
        read_or_malformed(input, &mut header[1..], "a cut-off protocol header")?;
        return if header[..4] == *b"AMQP" {
            Err(WireError::Version(header))
        } else {
            Err(malformed(format!("it begins '{}'", quote::peer(header))))
        };
    }
    if ![FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT].contains(&head[0]) {
        if matches!(head[0], 0x15 | 0x16)
            && read_or_malformed(input, &mut head[1..2], "").is_ok()
            && crate::net::is_tls_record(&head[..2])
        {
            return Err(WireError::SpeaksTls);
        }
        return Err(malformed(format!("frame type {}", head[0])));
    }
    read_or_malformed(input, &mut head[1..], "a cut-off frame header")?;
    let channel = u16::from_be_bytes([head[1], head[2]]);
    let size = u32::from_be_bytes([head[3], head[4], head[5], head[6]]);
    if size > MAX_FRAME {
        return Err(malformed(format!("a frame of {size} bytes")));
    }
    let mut payload = vec![0u8; size as usize + 1];
    input.read_exact(&mut payload)?;
    if payload.pop() != Some(FRAME_END) {
        return Err(malformed("a frame without its frame-end octet"));
    }
    Ok(Frame { kind: head[0], channel, payload })
}

/// `read_exact`, except that bytes which stop short of a whole header are not AMQP: a peer that
/// sends a few bytes and closes is some other protocol.
fn read_or_malformed(input: &mut impl io::Read, buf: &mut [u8], why: &str) -> Result<(), WireError> {
    match input.read_exact(buf) {
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => Err(malformed(why)),
        other => Ok(other?),
    }
}

/// The connection methods a broker sends, as far as a client in the handshake cares.
#[derive(Debug, PartialEq, Eq)]
pub enum Method {
    Start {
        version: (u8, u8),
        server: ServerProperties,
        mechanisms: Vec<String>,
    },
    Secure,
    Tune {
        channel_max: u16,
        frame_max: u32,
        heartbeat: u16,
    },
    OpenOk,
    Close {
        code: u16,
        text: String,
    },
    CloseOk,
    Blocked {
        reason: String,
    },
    Unblocked,
    /// Any other method, on any class.
    Other {
        class: u16,
        method: u16,
    },
}

/// What the broker says about itself in Connection.Start's server-properties.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ServerProperties {
    pub product: Option<String>,
    pub version: Option<String>,
    pub cluster_name: Option<String>,
    /// The capabilities table's names whose value is true.
    pub capabilities: Vec<String>,
}

impl ServerProperties {
    /// `RabbitMQ 3.13.7`, or whatever part of it the broker said.
    pub fn describe(&self) -> Option<String> {
        match (&self.product, &self.version) {
            (Some(product), Some(version)) => Some(format!("{product} {version}")),
            (Some(product), None) => Some(product.clone()),
            (None, _) => None,
        }
    }
}

/// Decodes a method frame's payload (§4.2.4: class-id, method-id, arguments).
pub fn parse_method(payload: &[u8]) -> Result<Method, WireError> {
    let mut at = Cursor { bytes: payload };
    let class = at.short()?;
    let method = at.short()?;
    if class != CONNECTION {
        return Ok(Method::Other { class, method });
    }
    Ok(match method {
        START => {
            let version = (at.octet()?, at.octet()?);
            let server = server_properties(&at.table(0)?);
            let mechanisms = String::from_utf8_lossy(at.long_string()?);
            let _locales = at.long_string()?;
            let mechanisms = mechanisms.split_ascii_whitespace().map(str::to_owned).collect();
            Method::Start { version, server, mechanisms }
        }
        SECURE => Method::Secure,
        TUNE => Method::Tune { channel_max: at.short()?, frame_max: at.long()?, heartbeat: at.short()? },
        OPEN_OK => Method::OpenOk,
        CLOSE => {
            let code = at.short()?;
            let text = String::from_utf8_lossy(at.short_string()?).into_owned();
            Method::Close { code, text }
        }
        CLOSE_OK => Method::CloseOk,
        BLOCKED => Method::Blocked { reason: String::from_utf8_lossy(at.short_string()?).into_owned() },
        UNBLOCKED => Method::Unblocked,
        method => Method::Other { class, method },
    })
}

fn server_properties(table: &[(String, Value)]) -> ServerProperties {
    let text = |name: &str| {
        table.iter().find(|(key, _)| key == name).and_then(|(_, value)| match value {
            Value::Text(text) => Some(text.clone()),
            _ => None,
        })
    };
    let capabilities = table
        .iter()
        .find_map(|(key, value)| match value {
            Value::Table(entries) if key == "capabilities" => Some(entries),
            _ => None,
        })
        .map(|entries| {
            entries
                .iter()
                .filter(|(_, value)| *value == Value::Bool(true))
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default();
    ServerProperties {
        product: text("product"),
        version: text("version"),
        cluster_name: text("cluster_name"),
        capabilities,
    }
}

/// A field value (§4.2.5.5), kept when it is text, a boolean or a table; the rest is skipped.
#[derive(Debug, PartialEq, Eq)]
pub enum Value {
    Bool(bool),
    Text(String),
    Table(Vec<(String, Value)>),
    Other,
}

/// Reads the data types of §4.2.5 from a payload, never past its end.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if n > self.bytes.len() {
            return Err(malformed("a method cut short"));
        }
        let (taken, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(taken)
    }

    fn octet(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    fn short(&mut self) -> Result<u16, WireError> {
        let bytes = self.take(2)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn long(&mut self) -> Result<u32, WireError> {
        let bytes = self.take(4)?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// §4.2.5.3: an octet of length, then that many octets.
    fn short_string(&mut self) -> Result<&'a [u8], WireError> {
        let len = self.octet()?;
        self.take(len.into())
    }

    /// §4.2.5.3: a long of length, then that many octets.
    fn long_string(&mut self) -> Result<&'a [u8], WireError> {
        let len = self.long()?;
        self.take(usize::try_from(len).unwrap_or(usize::MAX))
    }

    /// §4.2.5.5: a field table is a long-string whose content is name/value pairs.
    fn table(&mut self, depth: usize) -> Result<Vec<(String, Value)>, WireError> {
        if depth > MAX_DEPTH {
            return Err(malformed("tables nested too deep"));
        }
        let mut inner = Cursor { bytes: self.long_string()? };
        let mut entries = Vec::new();
        while !inner.bytes.is_empty() {
            let name = String::from_utf8_lossy(inner.short_string()?).into_owned();
            let value = inner.value(depth)?;
            entries.push((name, value));
        }
        Ok(entries)
    }

    /// One field value: a type octet and the value. The types are RabbitMQ's (its errata), plus
    /// the specification's own `U` and `L`, which no broker sends but cost nothing to skip.
    fn value(&mut self, depth: usize) -> Result<Value, WireError> {
        let kind = self.octet()?;
        let skip = |cursor: &mut Self, n: usize| cursor.take(n).map(|_| Value::Other);
        match kind {
            b't' => Ok(Value::Bool(self.octet()? != 0)),
            b'b' | b'B' => skip(self, 1),
            b's' | b'u' | b'U' => skip(self, 2),
            b'I' | b'i' | b'f' => skip(self, 4),
            b'D' => skip(self, 5),
            b'l' | b'L' | b'd' | b'T' => skip(self, 8),
            b'V' => Ok(Value::Other),
            b'S' => Ok(Value::Text(String::from_utf8_lossy(self.long_string()?).into_owned())),
            b'x' => self.long_string().map(|_| Value::Other),
            b'F' => Ok(Value::Table(self.table(depth + 1)?)),
            b'A' => {
                if depth >= MAX_DEPTH {
                    return Err(malformed("tables nested too deep"));
                }
                let mut inner = Cursor { bytes: self.long_string()? };
                while !inner.bytes.is_empty() {
                    inner.value(depth + 1)?;
                }
                Ok(Value::Other)
            }
            other => Err(malformed(format!("a field of unknown type {other:#04x}"))),
        }
    }
}

/// Builds one frame: type, channel, size, payload, frame-end (§4.2.3).
fn frame(kind: u8, channel: u16, payload: &[u8]) -> Vec<u8> {
    let size = u32::try_from(payload.len()).expect("a method the client builds fits a frame");
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.push(kind);
    out.extend_from_slice(&channel.to_be_bytes());
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(payload);
    out.push(FRAME_END);
    out
}

/// A connection method on channel 0 with its arguments already encoded.
fn connection_method(method: u16, arguments: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(arguments.len() + 4);
    payload.extend_from_slice(&CONNECTION.to_be_bytes());
    payload.extend_from_slice(&method.to_be_bytes());
    payload.extend_from_slice(arguments);
    frame(FRAME_METHOD, 0, &payload)
}

/// Writes §4.2.5's data types. Short strings longer than 255 bytes are cut (the URL parser
/// refuses such vhosts first; everything else the client writes is its own constant).
#[derive(Default)]
struct Writer {
    out: Vec<u8>,
}

impl Writer {
    fn octet(&mut self, value: u8) -> &mut Self {
        self.out.push(value);
        self
    }

    fn short(&mut self, value: u16) -> &mut Self {
        self.out.extend_from_slice(&value.to_be_bytes());
        self
    }

    fn long(&mut self, value: u32) -> &mut Self {
        self.out.extend_from_slice(&value.to_be_bytes());
        self
    }

    fn short_string(&mut self, text: &[u8]) -> &mut Self {
        let text = &text[..text.len().min(255)];
        self.octet(text.len() as u8);
        self.out.extend_from_slice(text);
        self
    }

    fn long_string(&mut self, bytes: &[u8]) -> &mut Self {
        self.long(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        self.out.extend_from_slice(bytes);
        self
    }

    /// A field table of text, boolean and table values.
    fn table(&mut self, entries: &[(&str, Field<'_>)]) -> &mut Self {
        let mut inner = Writer::default();
        inner.entries(entries);
        self.long_string(&inner.out)
    }

    /// A table's entries without the table's length: AMQPLAIN's response is written this way.
    fn entries(&mut self, entries: &[(&str, Field<'_>)]) -> &mut Self {
        for (name, value) in entries {
            self.short_string(name.as_bytes());
            match value {
                Field::Bool(value) => self.octet(b't').octet(u8::from(*value)),
                Field::Text(text) => self.octet(b'S').long_string(text.as_bytes()),
                Field::Table(entries) => self.octet(b'F').table(entries),
            };
        }
        self
    }
}

/// A field value the client writes.
pub enum Field<'a> {
    Bool(bool),
    Text(&'a str),
    Table(&'a [(&'a str, Field<'a>)]),
}

/// Connection.StartOk: client-properties, mechanism, response, locale.
pub fn start_ok(properties: &[(&str, Field<'_>)], mechanism: &str, response: &[u8]) -> Vec<u8> {
    let mut w = Writer::default();
    w.table(properties).short_string(mechanism.as_bytes()).long_string(response).short_string(b"en_US");
    connection_method(START_OK, &w.out)
}

/// The PLAIN mechanism's response (RFC 4616): no authorization identity, then user and password.
pub fn plain_response(user: &str, password: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(user.len() + password.len() + 2);
    out.push(0);
    out.extend_from_slice(user.as_bytes());
    out.push(0);
    out.extend_from_slice(password.as_bytes());
    out
}

/// RabbitMQ's AMQPLAIN: LOGIN and PASSWORD as a field table without its length.
pub fn amqplain_response(user: &str, password: &str) -> Vec<u8> {
    let mut w = Writer::default();
    w.entries(&[("LOGIN", Field::Text(user)), ("PASSWORD", Field::Text(password))]);
    w.out
}

/// Connection.TuneOk: channel-max, frame-max, heartbeat.
pub fn tune_ok(channel_max: u16, frame_max: u32, heartbeat: u16) -> Vec<u8> {
    let mut w = Writer::default();
    w.short(channel_max).long(frame_max).short(heartbeat);
    connection_method(TUNE_OK, &w.out)
}

/// Connection.Open: virtual-host, then reserved-1 (an empty short string) and reserved-2 (a bit).
pub fn open(vhost: &str) -> Vec<u8> {
    let mut w = Writer::default();
    w.short_string(vhost.as_bytes()).short_string(b"").octet(0);
    connection_method(OPEN, &w.out)
}

/// Connection.Close: reply-code, reply-text, and the class and method that failed (none: 0, 0).
pub fn close(code: u16, text: &str) -> Vec<u8> {
    let mut w = Writer::default();
    w.short(code).short_string(text.as_bytes()).short(0).short(0);
    connection_method(CLOSE, &w.out)
}

/// Connection.CloseOk: no arguments.
pub fn close_ok() -> Vec<u8> {
    connection_method(CLOSE_OK, &[])
}

#[cfg(test)]
pub mod tests;

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever a broker sends, reading a frame and its method ends in a value or an error.
        #[test]
        fn arbitrary_broker_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(frame) = read_frame(&mut &bytes[..]) {
                prop_assert!(frame.payload.len() <= MAX_FRAME as usize);
                let _ = parse_method(&frame.payload);
            }
            let _ = parse_method(&bytes);
        }

        /// A valid Start with arbitrary bytes in place of server-properties' contents.
        #[test]
        fn arbitrary_server_properties_never_panic(table in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut w = Writer::default();
            w.short(CONNECTION).short(START).octet(0).octet(9).long_string(&table);
            w.long_string(b"PLAIN").long_string(b"en_US");
            let _ = parse_method(&w.out);
        }

        /// Field tables made of valid pieces in arbitrary order read back.
        #[test]
        fn written_tables_read_back(names in proptest::collection::vec("[a-z_]{1,20}", 0..8), text in ".{0,40}") {
            let entries: Vec<(&str, Field<'_>)> =
                names.iter().map(|name| (name.as_str(), Field::Text(&text))).collect();
            let mut w = Writer::default();
            w.table(&entries);
            let table = Cursor { bytes: &w.out }.table(0).unwrap();
            prop_assert_eq!(table.len(), names.len());
            for ((name, value), expected) in table.iter().zip(&names) {
                prop_assert_eq!(name, expected);
                prop_assert_eq!(value, &Value::Text(text.clone()));
            }
        }
    }
}
