//! The client/server protocol's wire formats, as MySQL documents them ("Client/Server Protocol",
//! dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html) and MariaDB
//! (mariadb.com/kb/en/clientserver-protocol/): packet framing with sequence ids, length-encoded
//! integers and strings, the initial handshake v10, SSLRequest and HandshakeResponse41, and the
//! OK, ERR and EOF packets. Everything the server sends is bounded: no packet over `MAX_PACKET`.

use std::io::{self, Read, Write};

use crate::quote;

/// A packet larger than this is refused: far more than any handshake, status or row probe
/// reads. The protocol allows 16 MiB per frame and more in continuation frames.
pub const MAX_PACKET: usize = 1 << 20;

// Capability flags ("Capabilities Flags", group__group__cs__capabilities__flags.html).
pub const CLIENT_LONG_PASSWORD: u32 = 1;
pub const CLIENT_LONG_FLAG: u32 = 1 << 2;
pub const CLIENT_CONNECT_WITH_DB: u32 = 1 << 3;
pub const CLIENT_PROTOCOL_41: u32 = 1 << 9;
pub const CLIENT_SSL: u32 = 1 << 11;
pub const CLIENT_TRANSACTIONS: u32 = 1 << 13;
pub const CLIENT_SECURE_CONNECTION: u32 = 1 << 15;
pub const CLIENT_MULTI_RESULTS: u32 = 1 << 17;
pub const CLIENT_PLUGIN_AUTH: u32 = 1 << 19;
pub const CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA: u32 = 1 << 21;

/// The status flag saying another result set follows (SERVER_MORE_RESULTS_EXISTS).
pub const SERVER_MORE_RESULTS_EXISTS: u16 = 0x0008;

/// utf8mb4_general_ci: known to MySQL 5.5+ and every MariaDB.
pub const CHARSET_UTF8MB4: u8 = 45;

/// What went wrong in a conversation with the server.
#[derive(Debug)]
pub enum Failure {
    /// The socket failed (or TLS under it): unreachable.
    Io(io::Error),
    /// The peer does not speak the protocol as documented: unreachable.
    Protocol(String),
    /// An ERR packet: the server's verdict, unhealthy.
    Server(ServerError),
    /// An ERR packet the server sent after probe could not answer its question (a plugin probe
    /// does not speak, or one that would send the password in clear): why, and the answer.
    Unanswerable { why: String, answer: ServerError },
    /// Probe's own refusal to go on, with the reason: unhealthy.
    Refused(String),
    /// The server stopped `--query` when the time probe gave it was up: probe's deadline.
    OutOfTime,
    /// The TLS handshake failed, in the shared handshake's words: unreachable.
    Tls(String),
}

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Self {
        Failure::Io(err)
    }
}

fn foreign(what: impl Into<String>) -> Failure {
    Failure::Protocol(what.into())
}

/// An ERR packet's contents ("ERR_Packet", page_protocol_basic_err_packet.html).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerError {
    pub code: u16,
    /// The SQLSTATE; absent in an ERR sent instead of the greeting, before capabilities exist.
    pub state: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let message = quote::peer(&self.message);
        match &self.state {
            Some(state) => write!(f, "{} ({}) {message}", self.code, quote::peer(state)),
            None => write!(f, "{} {message}", self.code),
        }
    }
}

/// Reads one packet's payload, joining 16 MiB continuation frames, and checks its sequence id.
/// ("MySQL Packets", page_protocol_basic_packets.html: 3-byte little-endian length, 1-byte
/// sequence id, payload.)
pub fn read_packet(stream: &mut impl Read, seq: &mut u8) -> Result<Vec<u8>, Failure> {
    let mut payload = Vec::new();
    loop {
        let mut header = [0u8; 4];
        stream.read_exact(&mut header)?;
        let length = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
        if header[3] != *seq {
            return Err(foreign(format!("a packet out of sequence ({} where {} was due)", header[3], *seq)));
        }
        *seq = seq.wrapping_add(1);
        if payload.len() + length > MAX_PACKET {
            return Err(foreign(format!("a packet larger than {} KiB", MAX_PACKET / 1024)));
        }
        let before = payload.len();
        stream.by_ref().take(length as u64).read_to_end(&mut payload)?;
        if payload.len() - before < length {
            return Err(Failure::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        if length < 0xff_ffff {
            return Ok(payload);
        }
    }
}

/// Writes one packet (probe's packets are all far below 16 MiB).
pub fn write_packet(stream: &mut impl Write, seq: &mut u8, payload: &[u8]) -> Result<(), Failure> {
    let length = u32::try_from(payload.len()).ok().filter(|&n| n < 0xff_ffff);
    let length = length.ok_or_else(|| Failure::Refused("a command over 16 MiB".to_owned()))?;
    let mut packet = Vec::with_capacity(4 + payload.len());
    packet.extend_from_slice(&length.to_le_bytes()[..3]);
    packet.push(*seq);
    packet.extend_from_slice(payload);
    *seq = seq.wrapping_add(1);
    stream.write_all(&packet)?;
    stream.flush()?;
    Ok(())
}

/// A cursor over a payload; every read is checked.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    pub fn rest(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Failure> {
        if n > self.bytes.len() {
            return Err(foreign("a packet shorter than its contents say"));
        }
        let (taken, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(taken)
    }

    pub fn u8(&mut self) -> Result<u8, Failure> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, Failure> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self) -> Result<u32, Failure> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A NUL-terminated string; at the end of the payload the terminator may be missing (MySQL
    /// 5.5.7 and some proxies omit the plugin name's).
    pub fn null_terminated(&mut self) -> &'a [u8] {
        match self.bytes.iter().position(|&b| b == 0) {
            Some(end) => {
                let text = &self.bytes[..end];
                self.bytes = &self.bytes[end + 1..];
                text
            }
            None => std::mem::take(&mut self.bytes),
        }
    }

    /// A length-encoded integer ("Integer: LengthEncoded", page_protocol_basic_dt_integers.html);
    /// None for 0xFB, which marks NULL in a row.
    pub fn lenenc(&mut self) -> Result<Option<u64>, Failure> {
        Ok(Some(match self.u8()? {
            0xfb => return Ok(None),
            0xfc => u64::from(self.u16()?),
            0xfd => {
                let b = self.take(3)?;
                u64::from(b[0]) | u64::from(b[1]) << 8 | u64::from(b[2]) << 16
            }
            0xfe => {
                let b = self.take(8)?;
                u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            }
            0xff => return Err(foreign("an invalid length-encoded integer")),
            small => u64::from(small),
        }))
    }

    /// A length-encoded string; None for NULL.
    pub fn lenenc_bytes(&mut self) -> Result<Option<&'a [u8]>, Failure> {
        match self.lenenc()? {
            None => Ok(None),
            Some(n) => {
                let n = usize::try_from(n).map_err(|_| foreign("a string longer than the packet"))?;
                self.take(n).map(Some)
            }
        }
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Reads an ERR packet (first byte 0xFF). With CLIENT_PROTOCOL_41 the code is followed by `#`
/// and a five-character SQLSTATE; in an ERR sent before the greeting it is not.
pub fn parse_err(payload: &[u8]) -> Result<ServerError, Failure> {
    let mut r = Reader::new(payload);
    if r.u8()? != 0xff {
        return Err(foreign("not an error packet"));
    }
    let code = r.u16()?;
    let state = match r.rest() {
        [b'#', state @ ..] if state.len() >= 5 => {
            r.take(6)?;
            Some(text(&state[..5]))
        }
        _ => None,
    };
    let message = text(r.rest()).trim_end().to_owned();
    Ok(ServerError { code, state, message })
}

/// The status flags of an OK packet ("OK_Packet": header, affected rows, last insert id,
/// status flags, warnings).
pub fn ok_status(payload: &[u8]) -> Result<u16, Failure> {
    let mut r = Reader::new(payload);
    r.u8()?;
    r.lenenc()?;
    r.lenenc()?;
    r.u16()
}

/// True for an EOF packet: 0xFE and shorter than 9 bytes ("EOF_Packet").
pub fn is_eof(payload: &[u8]) -> bool {
    payload.first() == Some(&0xfe) && payload.len() < 9
}

/// The status flags of an EOF packet (header, warnings, status flags); 4.0's bare EOF has none.
pub fn eof_status(payload: &[u8]) -> u16 {
    match payload {
        [0xfe, _, _, lo, hi, ..] => u16::from_le_bytes([*lo, *hi]),
        _ => 0,
    }
}

/// The server's first packet, "Protocol::HandshakeV10"
/// (page_protocol_connection_phase_packets_protocol_handshake_v10.html; MariaDB's
/// "Initial Handshake Packet" puts extended capabilities in the reserved bytes, unused here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Greeting {
    pub version: String,
    pub connection_id: u32,
    pub capabilities: u32,
    /// The auth-plugin-data, both parts, without the trailing NUL: 20 bytes from any real server.
    pub nonce: Vec<u8>,
    /// The server's default authentication plugin.
    pub plugin: String,
}

impl Greeting {
    pub fn is_mariadb(&self) -> bool {
        self.version.contains("MariaDB")
    }

    /// The version as people say it: `MariaDB 10.11.6`, `MySQL 8.0.36`. MariaDB before 11
    /// prefixes `5.5.5-` for old replicas' sake. The server's text, quoted as a peer's.
    pub fn product(&self) -> String {
        quote::peer(self.product_unquoted())
    }

    fn product_unquoted(&self) -> String {
        let version = self.version.strip_prefix("5.5.5-").unwrap_or(&self.version);
        match version.split_once("-MariaDB") {
            Some((number, _)) => format!("MariaDB {number}"),
            None if self.is_mariadb() => format!("MariaDB {version}"),
            None => format!("MySQL {}", version.split('-').next().unwrap_or(version)),
        }
    }
}

/// What the server's first packet says: a greeting, or an error instead (1040 too many
/// connections, 1129 host blocked).
pub fn parse_greeting(payload: &[u8]) -> Result<Greeting, Failure> {
    match payload.first() {
        Some(0xff) => return Err(Failure::Server(parse_err(payload)?)),
        Some(10) => {}
        Some(other) if payload.len() > 1 => {
            return Err(foreign(format!("a greeting of protocol version {other}, not 10")));
        }
        _ => return Err(foreign("an empty greeting")),
    }
    let mut r = Reader::new(&payload[1..]);
    let version = text(r.null_terminated());
    let connection_id = r.u32()?;
    let mut nonce = r.take(8)?.to_vec();
    r.u8()?; // filler
    let mut capabilities = u32::from(r.u16()?);
    let mut plugin = String::from("mysql_native_password");
    if !r.is_empty() {
        r.u8()?; // character set
        r.u16()?; // status flags
        capabilities |= u32::from(r.u16()?) << 16;
        let data_length = usize::from(r.u8()?);
        r.take(10)?; // reserved (MariaDB: filler and extended capabilities)
        if capabilities & CLIENT_SECURE_CONNECTION != 0 {
            let part2 = data_length.saturating_sub(8).max(13);
            let part2 = r.take(part2.min(r.rest().len()))?;
            let part2 = part2.strip_suffix(&[0]).unwrap_or(part2);
            nonce.extend_from_slice(part2);
        }
        if capabilities & CLIENT_PLUGIN_AUTH != 0 {
            plugin = text(r.null_terminated());
        }
    }
    if capabilities & CLIENT_PROTOCOL_41 == 0 {
        return Err(Failure::Refused(format!(
            "the server ({}) speaks only the protocol before MySQL 4.1, which probe does not",
            quote::peer(&version)
        )));
    }
    Ok(Greeting { version, connection_id, capabilities, nonce, plugin })
}

/// The capabilities probe asks for, of those the server offers.
pub fn client_capabilities(server: u32, database: bool, tls: bool) -> u32 {
    let mut wanted = CLIENT_LONG_PASSWORD
        | CLIENT_LONG_FLAG
        | CLIENT_PROTOCOL_41
        | CLIENT_TRANSACTIONS
        | CLIENT_SECURE_CONNECTION
        | CLIENT_MULTI_RESULTS
        | CLIENT_PLUGIN_AUTH
        | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
    if database {
        wanted |= CLIENT_CONNECT_WITH_DB;
    }
    if tls {
        wanted |= CLIENT_SSL;
    }
    wanted & server
}

/// The fixed first 32 bytes of the response, which alone are the SSLRequest
/// ("Protocol::SSLRequest", page_protocol_connection_phase_packets_protocol_ssl_request.html).
pub fn ssl_request(capabilities: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(32);
    out.extend_from_slice(&capabilities.to_le_bytes());
    out.extend_from_slice(&(MAX_PACKET as u32).to_le_bytes());
    out.push(CHARSET_UTF8MB4);
    out.extend_from_slice(&[0; 23]);
    out
}

/// "Protocol::HandshakeResponse41"
/// (page_protocol_connection_phase_packets_protocol_handshake_response.html).
pub fn handshake_response(
    capabilities: u32,
    user: &str,
    auth: &[u8],
    database: Option<&str>,
    plugin: &str,
) -> Vec<u8> {
    let mut out = ssl_request(capabilities);
    out.extend_from_slice(user.as_bytes());
    out.push(0);
    if capabilities & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA != 0 {
        put_lenenc(&mut out, auth.len() as u64);
        out.extend_from_slice(auth);
    } else {
        // CLIENT_SECURE_CONNECTION: a one-byte length (every scramble here is under 256 bytes).
        let auth = &auth[..auth.len().min(255)];
        out.push(auth.len() as u8);
        out.extend_from_slice(auth);
    }
    if let Some(database) = database.filter(|_| capabilities & CLIENT_CONNECT_WITH_DB != 0) {
        out.extend_from_slice(database.as_bytes());
        out.push(0);
    }
    if capabilities & CLIENT_PLUGIN_AUTH != 0 {
        out.extend_from_slice(plugin.as_bytes());
        out.push(0);
    }
    out
}

pub fn put_lenenc(out: &mut Vec<u8>, n: u64) {
    match n {
        0..0xfb => out.push(n as u8),
        0xfb..0x1_0000 => {
            out.push(0xfc);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..0x100_0000 => {
            out.push(0xfd);
            out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        }
        _ => {
            out.push(0xfe);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

/// A server's answer to an authentication step ("Authentication Phase",
/// page_protocol_connection_phase.html).
#[derive(Debug, PartialEq, Eq)]
pub enum AuthReply<'a> {
    Ok,
    Err(ServerError),
    /// "Protocol::AuthSwitchRequest": another plugin, with its own data.
    Switch {
        plugin: String,
        data: &'a [u8],
    },
    /// "Protocol::AuthMoreData": the plugin's own next step.
    More(&'a [u8]),
}

pub fn parse_auth_reply(payload: &[u8]) -> Result<AuthReply<'_>, Failure> {
    match payload.first() {
        Some(0x00) => Ok(AuthReply::Ok),
        Some(0xff) => Ok(AuthReply::Err(parse_err(payload)?)),
        Some(0xfe) if payload.len() == 1 => Err(Failure::Refused(
            "the server asks for the pre-4.1 password hash (old_passwords), which probe does not send"
                .to_owned(),
        )),
        Some(0xfe) => {
            let mut r = Reader::new(&payload[1..]);
            let plugin = text(r.null_terminated());
            let data = r.rest();
            Ok(AuthReply::Switch { plugin, data: data.strip_suffix(&[0]).unwrap_or(data) })
        }
        Some(0x01) => Ok(AuthReply::More(&payload[1..])),
        _ => Err(foreign("an answer to the login that is no known packet")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seq: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = (payload.len() as u32).to_le_bytes()[..3].to_vec();
        out.push(seq);
        out.extend_from_slice(payload);
        out
    }

    /// A MariaDB 10.11 greeting as captured from `mariadbd`.
    pub fn mariadb_greeting() -> Vec<u8> {
        let mut g = vec![10];
        g.extend_from_slice(b"5.5.5-10.11.6-MariaDB-0+deb12u1\0");
        g.extend_from_slice(&42u32.to_le_bytes());
        g.extend_from_slice(b"abcdefgh\0");
        g.extend_from_slice(&0xf7feu16.to_le_bytes());
        g.push(45);
        g.extend_from_slice(&2u16.to_le_bytes());
        g.extend_from_slice(&0x81bfu16.to_le_bytes());
        g.push(21);
        g.extend_from_slice(&[0; 6]);
        g.extend_from_slice(&[0x1d, 0, 0, 0]);
        g.extend_from_slice(b"ijklmnopqrst\0");
        g.extend_from_slice(b"mysql_native_password\0");
        g
    }

    #[test]
    fn packets_frame_with_sequence_ids() {
        let mut wire = Vec::new();
        let mut seq = 3;
        write_packet(&mut wire, &mut seq, b"\x0e").unwrap();
        assert_eq!(wire, [1, 0, 0, 3, 0x0e]);
        assert_eq!(seq, 4);
        let mut seq = 3;
        assert_eq!(read_packet(&mut wire.as_slice(), &mut seq).unwrap(), [0x0e]);
        let mut seq = 0;
        assert!(matches!(read_packet(&mut wire.as_slice(), &mut seq), Err(Failure::Protocol(_))));
        let truncated = [5, 0, 0, 0, 1, 2];
        assert!(matches!(read_packet(&mut truncated.as_slice(), &mut 0), Err(Failure::Io(_))));
        let huge = [0xff, 0xff, 0xff, 0];
        assert!(matches!(read_packet(&mut huge.as_slice(), &mut 0), Err(Failure::Protocol(_))));
    }

    #[test]
    fn a_mariadb_greeting() {
        let g = parse_greeting(&mariadb_greeting()).unwrap();
        assert_eq!(g.nonce, b"abcdefghijklmnopqrst");
        assert_eq!(g.plugin, "mysql_native_password");
        assert_eq!(g.connection_id, 42);
        assert!(g.capabilities & CLIENT_SSL == 0 && g.capabilities & CLIENT_PLUGIN_AUTH != 0);
        assert_eq!(g.product(), "MariaDB 10.11.6");
        let mysql = Greeting { version: "8.0.36-0ubuntu0.22.04.1".into(), ..g };
        assert_eq!(mysql.product(), "MySQL 8.0.36");
    }

    #[test]
    fn errors_before_and_after_the_greeting() {
        let early = b"\xff\x10\x04Too many connections";
        assert!(matches!(
            parse_greeting(early),
            Err(Failure::Server(ServerError { code: 1040, state: None, .. }))
        ));
        let late = b"\xff\x15\x04#28000Access denied for user 'x'@'localhost' (using password: YES)";
        let err = parse_err(late).unwrap();
        assert_eq!(
            err.to_string(),
            "1045 (28000) Access denied for user 'x'@'localhost' (using password: YES)"
        );
        assert!(matches!(parse_greeting(b"HTTP/1.1 400"), Err(Failure::Protocol(_))));
    }

    #[test]
    fn the_handshake_response_as_documented() {
        let caps = client_capabilities(u32::MAX, true, false);
        let packet = handshake_response(caps, "app", &[1, 2, 3], Some("shop"), "mysql_native_password");
        assert_eq!(&packet[..4], &caps.to_le_bytes());
        assert_eq!(packet[8], CHARSET_UTF8MB4);
        assert_eq!(&packet[32..], b"app\0\x03\x01\x02\x03shop\0mysql_native_password\0");
        assert_eq!(ssl_request(caps | CLIENT_SSL).len(), 32);
        let frames = frame(1, &ssl_request(caps));
        assert_eq!(frames.len(), 36);
    }

    #[test]
    fn lengths_encode_and_decode() {
        for n in [0, 250, 251, 0xffff, 0x1_0000, 0xff_ffff, 0x100_0000, u64::MAX] {
            let mut out = Vec::new();
            put_lenenc(&mut out, n);
            assert_eq!(Reader::new(&out).lenenc().unwrap(), Some(n), "{n}");
        }
        assert_eq!(Reader::new(&[0xfb]).lenenc().unwrap(), None);
    }

    #[test]
    fn auth_replies() {
        assert_eq!(parse_auth_reply(&[0, 0, 0, 2, 0, 0, 0]).unwrap(), AuthReply::Ok);
        assert_eq!(
            parse_auth_reply(b"\xfeclient_ed25519\0nonce").unwrap(),
            AuthReply::Switch { plugin: "client_ed25519".into(), data: b"nonce" }
        );
        assert_eq!(parse_auth_reply(b"\x01\x03").unwrap(), AuthReply::More(b"\x03"));
        assert!(matches!(parse_auth_reply(b"\xfe"), Err(Failure::Refused(_))));
        assert!(matches!(parse_auth_reply(b"\x07"), Err(Failure::Protocol(_))));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever a peer sends, reading it ends in a value or an error, and never allocates
        /// past the cap (the reader only grows the buffer as bytes arrive).
        #[test]
        fn any_bytes_read_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut seq = 0;
            if let Ok(payload) = read_packet(&mut bytes.as_slice(), &mut seq) {
                prop_assert!(payload.len() <= MAX_PACKET);
            }
            let _ = parse_greeting(&bytes);
            let _ = parse_err(&bytes);
            let _ = parse_auth_reply(&bytes);
            let _ = ok_status(&bytes);
            let _ = eof_status(&bytes);
            let mut r = Reader::new(&bytes);
            while let Ok(Some(_)) = r.lenenc_bytes() {}
        }

        #[test]
        fn any_greeting_with_a_valid_header_parses_or_says_why(
            version in "[ -~]{0,40}",
            tail in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            let mut g = vec![10];
            g.extend_from_slice(version.as_bytes());
            g.push(0);
            g.extend_from_slice(&tail);
            match parse_greeting(&g) {
                Ok(greeting) => prop_assert_eq!(greeting.version, version),
                Err(Failure::Protocol(why) | Failure::Refused(why)) => prop_assert!(!why.contains('\n')),
                Err(other) => prop_assert!(false, "{other:?}"),
            }
        }
    }
}
