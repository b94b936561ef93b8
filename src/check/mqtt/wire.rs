//! MQTT 3.1.1 and 5 packets, the part a probe speaks: CONNECT, SUBSCRIBE (QoS 0) and DISCONNECT
//! written; CONNACK, SUBACK and PUBLISH read, every other packet skipped; the name of every
//! CONNACK return code (3.1.1 §3.2.2.3) and reason code (5 §3.2.2.2). Bodies are bounded: what a
//! peer announces beyond `KEPT` is read and dropped, never held.

use std::io::{self, Read};

/// The protocol levels probe speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V311,
    V5,
}

impl Version {
    pub fn name(self) -> &'static str {
        match self {
            Version::V311 => "MQTT 3.1.1",
            Version::V5 => "MQTT 5",
        }
    }
}

pub const CONNACK: u8 = 2;
pub const PUBLISH: u8 = 3;
pub const SUBACK: u8 = 9;
pub const DISCONNECT: u8 = 14;

/// The most of a packet's body probe keeps: CONNACK and SUBACK are a few bytes, a message's
/// topic comes first.
pub const KEPT: usize = 64 * 1024;

/// A packet as read: its type, its flags, its body (cut at `KEPT`) and its announced length.
#[derive(Debug, PartialEq, Eq)]
pub struct Packet {
    pub kind: u8,
    pub flags: u8,
    pub body: Vec<u8>,
    pub length: usize,
}

#[derive(Debug)]
pub enum Failure {
    Io(io::Error),
    Closed,
    NotMqtt(String),
    SpeaksTls,
}

fn io_failure(err: io::Error) -> Failure {
    match err.kind() {
        io::ErrorKind::UnexpectedEof => Failure::Closed,
        _ => Failure::Io(err),
    }
}

/// The variable-length "remaining length" (at most four bytes).
pub fn encode_length(mut length: usize, out: &mut Vec<u8>) {
    loop {
        let mut byte = (length % 128) as u8;
        length /= 128;
        if length > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if length == 0 {
            break;
        }
    }
}

fn put_str(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len().min(0xffff) as u16).to_be_bytes());
    out.extend_from_slice(&bytes[..bytes.len().min(0xffff)]);
}

fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    encode_length(body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

/// CONNECT with a clean session (clean start), no will, the given keep-alive in seconds.
pub fn connect(version: Version, client_id: &str, user: Option<&str>, password: Option<&[u8]>, keep_alive: u16) -> Vec<u8> {
    let mut body = Vec::new();
    put_str(&mut body, b"MQTT");
    body.push(match version {
        Version::V311 => 4,
        Version::V5 => 5,
    });
    let flags = 0x02 | if user.is_some() { 0x80 } else { 0 } | if password.is_some() { 0x40 } else { 0 };
    body.push(flags);
    body.extend_from_slice(&keep_alive.to_be_bytes());
    if version == Version::V5 {
        body.push(0); // no properties
    }
    put_str(&mut body, client_id.as_bytes());
    if let Some(user) = user {
        put_str(&mut body, user.as_bytes());
    }
    if let Some(password) = password {
        put_str(&mut body, password);
    }
    packet(0x10, &body)
}

/// SUBSCRIBE to one topic filter at QoS 0.
pub fn subscribe(version: Version, packet_id: u16, topic: &str) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    if version == Version::V5 {
        body.push(0);
    }
    put_str(&mut body, topic.as_bytes());
    body.push(0);
    packet(0x82, &body)
}

/// PINGREQ, answered by PINGRESP.
pub const PINGREQ_PACKET: [u8; 2] = [0xC0, 0x00];

/// DISCONNECT: normal disconnection in both versions (5's reason code 0 may be left out).
pub const DISCONNECT_PACKET: [u8; 2] = [0xE0, 0x00];

/// Reads one packet. The first packet of a connection must be CONNACK (`first`): its first byte
/// and length are checked before any more is read, so another protocol is named at once.
pub fn read_packet(reader: &mut impl Read, first_packet: bool) -> Result<Packet, Failure> {
    let mut first = [0u8; 1];
    match reader.read(&mut first) {
        Ok(0) => return Err(Failure::Closed),
        Ok(_) => {}
        Err(err) => return Err(io_failure(err)),
    }
    let (kind, flags) = (first[0] >> 4, first[0] & 0x0f);
    if kind == 0 || kind == 1 || (kind == 8 || kind == 10 || kind == 12) {
        // Packets only a client sends: a TLS record (0x15, 0x16) or another protocol.
        let mut second = [0u8; 1];
        let next = reader.read_exact(&mut second).ok().map(|()| second[0]);
        if crate::net::is_tls_record(&[first[0], next.unwrap_or(0)]) {
            return Err(Failure::SpeaksTls);
        }
        return Err(Failure::NotMqtt(format!("a first byte 0x{:02x}, which no broker sends", first[0])));
    }
    if first_packet && first[0] != 0x20 {
        return Err(Failure::NotMqtt(format!("a first byte 0x{:02x} where CONNACK (0x20) was expected", first[0])));
    }
    let mut length = 0usize;
    for i in 0..4 {
        let mut byte = [0u8; 1];
        reader.read_exact(&mut byte).map_err(io_failure)?;
        length |= usize::from(byte[0] & 0x7f) << (7 * i);
        if byte[0] & 0x80 == 0 {
            if first_packet && length > KEPT {
                return Err(Failure::NotMqtt(format!("a CONNACK of {length} bytes")));
            }
            let mut body = vec![0u8; length.min(KEPT)];
            reader.read_exact(&mut body).map_err(io_failure)?;
            let mut rest = (length - body.len()) as u64;
            if rest > 0 {
                let skipped = io::copy(&mut reader.by_ref().take(rest), &mut io::sink()).map_err(io_failure)?;
                rest -= skipped;
                if rest > 0 {
                    return Err(Failure::Closed);
                }
            }
            return Ok(Packet { kind, flags, body, length });
        }
    }
    Err(Failure::NotMqtt("a remaining length of more than four bytes".to_owned()))
}

/// CONNACK, read.
#[derive(Debug, PartialEq, Eq)]
pub struct Connack {
    pub code: u8,
    /// MQTT 5's Reason String property, when the broker gave one.
    pub reason: Option<String>,
}

pub fn parse_connack(version: Version, body: &[u8]) -> Result<Connack, String> {
    let [flags, code, rest @ ..] = body else { return Err(format!("a CONNACK of {} bytes", body.len())) };
    if flags & 0xfe != 0 {
        return Err(format!("CONNACK flags 0x{flags:02x}"));
    }
    let reason = match version {
        // A 3.1.1 broker answers a 5 CONNECT with a 3.1.1 CONNACK (code 1): two bytes, no properties.
        Version::V5 if !rest.is_empty() => reason_string(properties(rest).ok_or("CONNACK properties cut short")?),
        _ => None,
    };
    Ok(Connack { code: *code, reason })
}

/// The reason codes a SUBACK grants or refuses, after its packet id (and 5's properties).
pub fn parse_suback(version: Version, body: &[u8]) -> Result<(u16, Option<String>, Vec<u8>), String> {
    let [hi, lo, rest @ ..] = body else { return Err("a SUBACK without a packet id".to_owned()) };
    let (reason, codes) = match version {
        Version::V311 => (None, rest),
        Version::V5 => {
            let (length, used) = varint(rest).ok_or("SUBACK properties cut short")?;
            let props = rest.get(used..used + length).ok_or("SUBACK properties cut short")?;
            (reason_string(props), &rest[used + length..])
        }
    };
    if codes.is_empty() {
        return Err("a SUBACK without a reason code".to_owned());
    }
    Ok((u16::from_be_bytes([*hi, *lo]), reason, codes.to_vec()))
}

/// A PUBLISH's topic and its payload's length.
pub fn parse_publish(version: Version, flags: u8, body: &[u8], length: usize) -> Result<(Vec<u8>, usize), String> {
    let [hi, lo, rest @ ..] = body else { return Err("a PUBLISH without a topic".to_owned()) };
    let topic_len = usize::from(u16::from_be_bytes([*hi, *lo]));
    let topic = rest.get(..topic_len).ok_or("a PUBLISH whose topic is cut short")?;
    let mut used = 2 + topic_len;
    if (flags >> 1) & 3 != 0 {
        used += 2;
    }
    if version == Version::V5 {
        let (props, n) = body.get(used..).and_then(varint).ok_or("PUBLISH properties cut short")?;
        used += n + props;
    }
    if used > length {
        return Err("a PUBLISH shorter than its header".to_owned());
    }
    Ok((topic.to_vec(), length - used))
}

/// A variable byte integer and how many bytes it took.
fn varint(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (i, &byte) in bytes.iter().take(4).enumerate() {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// MQTT 5 properties after their length: the slice holding them.
fn properties(bytes: &[u8]) -> Option<&[u8]> {
    let (length, used) = varint(bytes)?;
    bytes.get(used..used + length)
}

/// The Reason String property (0x1F) among `props`, when it is there and they are well formed.
fn reason_string(mut props: &[u8]) -> Option<String> {
    while let [id, rest @ ..] = props {
        let size = match id {
            0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A => 1,
            0x13 | 0x21 | 0x22 | 0x23 => 2,
            0x02 | 0x11 | 0x18 | 0x27 => 4,
            0x0B => varint(rest)?.1,
            0x03 | 0x08 | 0x09 | 0x12 | 0x15 | 0x16 | 0x1A | 0x1C | 0x1F => {
                let [hi, lo, ..] = rest else { return None };
                let n = usize::from(u16::from_be_bytes([*hi, *lo]));
                if *id == 0x1F {
                    return rest.get(2..2 + n).map(|text| String::from_utf8_lossy(text).into_owned());
                }
                2 + n
            }
            0x26 => {
                let [hi, lo, ..] = rest else { return None };
                let key = 2 + usize::from(u16::from_be_bytes([*hi, *lo]));
                let [hi, lo, ..] = rest.get(key..)? else { return None };
                key + 2 + usize::from(u16::from_be_bytes([*hi, *lo]))
            }
            _ => return None,
        };
        props = rest.get(size..)?;
    }
    None
}

/// The name of a CONNACK return code (3.1.1) or reason code (5, also SUBACK's and DISCONNECT's).
pub fn code_name(version: Version, code: u8) -> &'static str {
    match (version, code) {
        (_, 0) => "accepted",
        (Version::V311, 1) => "unacceptable protocol version",
        (Version::V311, 2) => "identifier rejected",
        (Version::V311, 3) => "server unavailable",
        (Version::V311, 4) => "bad user name or password",
        (Version::V311, 5) => "not authorized",
        (Version::V311, 0x80) => "failure",
        (Version::V5, 1) => "granted QoS 1",
        (Version::V5, 2) => "granted QoS 2",
        (Version::V5, 0x04) => "disconnect with will message",
        (Version::V5, 0x80) => "unspecified error",
        (Version::V5, 0x81) => "malformed packet",
        (Version::V5, 0x82) => "protocol error",
        (Version::V5, 0x83) => "implementation specific error",
        (Version::V5, 0x84) => "unsupported protocol version",
        (Version::V5, 0x85) => "client identifier not valid",
        (Version::V5, 0x86) => "bad user name or password",
        (Version::V5, 0x87) => "not authorized",
        (Version::V5, 0x88) => "server unavailable",
        (Version::V5, 0x89) => "server busy",
        (Version::V5, 0x8A) => "banned",
        (Version::V5, 0x8B) => "server shutting down",
        (Version::V5, 0x8C) => "bad authentication method",
        (Version::V5, 0x8D) => "keep alive timeout",
        (Version::V5, 0x8E) => "session taken over",
        (Version::V5, 0x8F) => "topic filter invalid",
        (Version::V5, 0x90) => "topic name invalid",
        (Version::V5, 0x91) => "packet identifier in use",
        (Version::V5, 0x93) => "receive maximum exceeded",
        (Version::V5, 0x94) => "topic alias invalid",
        (Version::V5, 0x95) => "packet too large",
        (Version::V5, 0x96) => "message rate too high",
        (Version::V5, 0x97) => "quota exceeded",
        (Version::V5, 0x98) => "administrative action",
        (Version::V5, 0x99) => "payload format invalid",
        (Version::V5, 0x9A) => "retain not supported",
        (Version::V5, 0x9B) => "QoS not supported",
        (Version::V5, 0x9C) => "use another server",
        (Version::V5, 0x9D) => "server moved",
        (Version::V5, 0x9E) => "shared subscriptions not supported",
        (Version::V5, 0x9F) => "connection rate exceeded",
        (Version::V5, 0xA0) => "maximum connect time",
        (Version::V5, 0xA1) => "subscription identifiers not supported",
        (Version::V5, 0xA2) => "wildcard subscriptions not supported",
        _ => "unknown code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_is_written_as_the_specification_shows() {
        let bytes = connect(Version::V311, "probe-x", Some("u"), Some(b"p"), 60);
        assert_eq!(
            bytes,
            [&[0x10, 25][..], b"\0\x04MQTT\x04\xc2\0\x3c\0\x07probe-x\0\x01u\0\x01p"].concat()
        );
        let v5 = connect(Version::V5, "c", None, None, 60);
        assert_eq!(v5, [&[0x10, 14][..], b"\0\x04MQTT\x05\x02\0\x3c\0\0\x01c"].concat());
        let mut long = Vec::new();
        encode_length(321, &mut long);
        assert_eq!(long, [0xC1, 0x02]);
    }

    #[test]
    fn answers_are_read() {
        let mut input: &[u8] = &[0x20, 2, 0, 5];
        let packet = read_packet(&mut input, true).unwrap();
        assert_eq!(parse_connack(Version::V311, &packet.body).unwrap(), Connack { code: 5, reason: None });
        let v5 = [0, 0x87, 8, 0x1F, 0, 5, b'n', b'o', b'p', b'e', b'!'];
        let connack = parse_connack(Version::V5, &v5).unwrap();
        assert_eq!((connack.code, connack.reason.as_deref()), (0x87, Some("nope!")));
        assert_eq!(parse_suback(Version::V311, &[0, 1, 0x80]).unwrap(), (1, None, vec![0x80]));
        assert_eq!(parse_publish(Version::V311, 0, b"\0\x03a/bxyz", 8).unwrap(), (b"a/b".to_vec(), 3));
        let mut tls: &[u8] = &[0x15, 0x03, 0x01];
        assert!(matches!(read_packet(&mut tls, true), Err(Failure::SpeaksTls)));
        let mut huge: &[u8] = &[0x30, 0xff, 0xff, 0xff, 0x7f, 1, 2];
        assert!(matches!(read_packet(&mut huge, false), Err(Failure::Closed)));
        assert_eq!(code_name(Version::V5, 0x88), "server unavailable");
        assert_eq!(code_name(Version::V311, 4), "bad user name or password");
    }
}
