//! pg_isready's check, spoken directly: send a startup packet, read the server's first answer,
//! close. No credentials are needed, and closing at the password prompt is what libpq does
//! too, which the server logs as nothing at all.

use std::io::{Read, Write};

use crate::{net, outcome::Verdict, quote};

/// Protocol version 3.0.
const PROTOCOL: u32 = 3 << 16;
/// More than any first answer a server sends; past it, the peer is not PostgreSQL.
const MAX_ANSWER: usize = 64 * 1024;

/// What the server's first message says.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// An authentication request, or a protocol-version negotiation: the server is up.
    Accepting,
    /// An ErrorResponse: SQLSTATE and message.
    Error { code: String, message: String },
    /// More bytes are needed to tell.
    Incomplete,
    /// Not PostgreSQL's protocol.
    Foreign,
    /// A TLS record: the port speaks TLS only.
    Tls,
}

pub fn startup_packet(user: &str, dbname: &str, application_name: &str) -> Vec<u8> {
    let mut body = PROTOCOL.to_be_bytes().to_vec();
    for (key, value) in [("user", user), ("database", dbname), ("application_name", application_name)] {
        for text in [key, value] {
            body.extend_from_slice(text.as_bytes());
            body.push(0);
        }
    }
    body.push(0);
    let length = u32::try_from(body.len() + 4).unwrap_or(u32::MAX);
    [length.to_be_bytes().as_slice(), &body].concat()
}

/// Reads the first message of `bytes`, the server's answer so far.
pub fn first_answer(bytes: &[u8]) -> Answer {
    let Some(&kind) = bytes.first() else { return Answer::Incomplete };
    // A TLS alert or handshake record (21 or 22, then version 3.x), as the http check reads it.
    if matches!(kind, 0x15 | 0x16) {
        return match bytes.get(1) {
            None => Answer::Incomplete,
            Some(_) if net::is_tls_record(bytes) => Answer::Tls,
            Some(_) => Answer::Foreign,
        };
    }
    if !matches!(kind, b'R' | b'E' | b'v') {
        return Answer::Foreign;
    }
    let Some(length) = bytes.get(1..5) else { return Answer::Incomplete };
    let length = u32::from_be_bytes([length[0], length[1], length[2], length[3]]) as usize;
    if !(4..=MAX_ANSWER).contains(&length) {
        return Answer::Foreign;
    }
    let Some(body) = bytes.get(5..1 + length) else { return Answer::Incomplete };
    match kind {
        b'E' => error_fields(body),
        _ => Answer::Accepting,
    }
}

/// An ErrorResponse body: fields of a type byte and a NUL-terminated text, ending with a NUL.
fn error_fields(mut body: &[u8]) -> Answer {
    let (mut code, mut message) = (None, None);
    while let Some((&field, rest)) = body.split_first() {
        if field == 0 {
            break;
        }
        let Some(end) = rest.iter().position(|&b| b == 0) else { return Answer::Foreign };
        let text = String::from_utf8_lossy(&rest[..end]).into_owned();
        match field {
            b'C' => code = Some(text),
            b'M' => message = Some(text),
            _ => {}
        }
        body = &rest[end + 1..];
    }
    match code {
        Some(code) if code.len() == 5 && code.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            Answer::Error { code, message: message.unwrap_or_default() }
        }
        _ => Answer::Foreign,
    }
}

/// pg_isready's verdicts: up on an authentication request or any error but 57P03.
pub fn verdict(answer: Answer) -> Verdict {
    match answer {
        Answer::Accepting => Verdict::healthy("accepting connections"),
        Answer::Error { code, message } if code == "57P03" => {
            Verdict::unhealthy(format!("{code} {}", quote::peer(message)))
        }
        Answer::Error { code, message } => {
            Verdict::healthy(format!("accepting connections (it answered {code} {})", quote::peer(message)))
        }
        Answer::Incomplete | Answer::Foreign => {
            Verdict::unreachable("the answer is not PostgreSQL's protocol")
        }
        Answer::Tls => Verdict::unreachable(super::PROTOCOL.speaks_tls()),
    }
}

/// Sends the startup packet on `stream` and judges the first answer. The stream's timeouts are
/// the caller's; the deadline guard ends a silent exchange anyway.
pub fn exchange(stream: &mut (impl Read + Write), packet: &[u8]) -> Verdict {
    if let Err(err) = stream.write_all(packet) {
        return Verdict::unreachable(net::describe(&err));
    }
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) if answer.is_empty() => return Verdict::unreachable("connection closed by peer"),
            Ok(0) => return verdict(Answer::Foreign),
            Ok(read) => answer.extend_from_slice(&chunk[..read]),
            Err(err) => return Verdict::unreachable(net::describe(&err)),
        }
        match first_answer(&answer) {
            Answer::Incomplete if answer.len() <= MAX_ANSWER => continue,
            Answer::Incomplete => return verdict(Answer::Foreign),
            done => return verdict(done),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        [&[kind][..], &u32::try_from(body.len() + 4).unwrap().to_be_bytes(), body].concat()
    }

    fn error(code: &str, text: &str) -> Vec<u8> {
        let body = [b"SFATAL\0C", code.as_bytes(), b"\0M", text.as_bytes(), b"\0\0"].concat();
        message(b'E', &body)
    }

    #[test]
    fn the_startup_packet_is_protocol_3() {
        let packet = startup_packet("app", "db", "probe");
        assert_eq!(&packet[..4], &u32::try_from(packet.len()).unwrap().to_be_bytes());
        assert_eq!(&packet[4..8], &[0, 3, 0, 0]);
        assert_eq!(&packet[8..], b"user\0app\0database\0db\0application_name\0probe\0\0");
    }

    #[test]
    fn first_answers_as_pg_isready_reads_them() {
        assert_eq!(first_answer(&message(b'R', &10u32.to_be_bytes())), Answer::Accepting);
        let starting = error("57P03", "the database system is starting up");
        assert_eq!(
            first_answer(&starting),
            Answer::Error { code: "57P03".into(), message: "the database system is starting up".into() }
        );
        assert_eq!(verdict(first_answer(&starting)).status, crate::outcome::Status::Unhealthy);
        assert_eq!(verdict(first_answer(&error("28P01", "bad"))).status, crate::outcome::Status::Healthy);
        assert_eq!(first_answer(&starting[..starting.len() - 3]), Answer::Incomplete);
        assert_eq!(first_answer(b""), Answer::Incomplete);
        assert_eq!(first_answer(b"HTTP/1.1 400 Bad Request\r\n"), Answer::Foreign);
        assert_eq!(first_answer(&message(b'E', b"C57\0\0")), Answer::Foreign);
        assert_eq!(first_answer(&[b'R', 0xff, 0xff, 0xff, 0xff]), Answer::Foreign);
        assert_eq!(first_answer(&[b'E', 0, 0, 0, 8, b'C', b'x', b'y', b'z']), Answer::Foreign);
        // A TLS alert (what a TLS server sends back to plain text) or handshake record.
        assert_eq!(first_answer(&[0x15, 0x03, 0x03, 0, 2, 2, 70]), Answer::Tls);
        assert_eq!(first_answer(&[0x16, 0x03, 0x01]), Answer::Tls);
        assert_eq!(first_answer(&[0x15]), Answer::Incomplete);
        assert_eq!(first_answer(&[0x15, 0x01]), Answer::Foreign);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The server's first answer is the one wire format probe reads itself: no bytes may
        /// make it panic, and a complete message is always judged.
        #[test]
        fn any_bytes_are_judged_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let answer = first_answer(&bytes);
            if answer == Answer::Incomplete {
                prop_assert!(bytes.len() < 5 + MAX_ANSWER);
            }
            let _ = verdict(answer);
        }

        #[test]
        fn any_error_response_is_read(code in "[0-9A-Z]{5}", message in "[ -~]{0,200}") {
            let body = [b"SFATAL\0C", code.as_bytes(), b"\0M", message.as_bytes(), b"\0\0"].concat();
            let bytes = [&[b'E'][..], &u32::try_from(body.len() + 4).unwrap().to_be_bytes(), &body].concat();
            prop_assert_eq!(first_answer(&bytes), Answer::Error { code, message });
        }
    }
}
