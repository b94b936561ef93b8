//! ZooKeeper's client protocol, as much of it as a probe speaks: the jute ConnectRequest and
//! ConnectResponse (each framed by a 4-byte big-endian length), the closeSession request and
//! its reply header, and the `srvr` four-letter word's answer. Every length a server sends is
//! bounded before anything is read for it.

use std::io::{self, Read};

use crate::{net::is_tls_record, quote};

/// The session timeout asked for, in milliseconds: ZooKeeper's least by default (two ticks of
/// 2 s), so that a session whose closeSession was lost ends as soon as the server allows.
pub const SESSION_TIMEOUT_MS: i32 = 4000;

/// closeSession's request type (ZooDefs.OpCode.closeSession).
const CLOSE_SESSION: i32 = -11;

/// The xid of the first request of a session, as the Java client numbers them.
const FIRST_XID: i32 = 1;

/// The longest frame probe reads: a ConnectResponse is 37 bytes, a reply header 16.
const LONGEST_FRAME: usize = 1024;

/// The most of `srvr`'s answer read (it is a dozen short lines).
pub const LONGEST_SRVR: usize = 16 * 1024;

/// The ConnectRequest of a new session: protocol version 0, no zxid seen, session id 0 and an
/// empty (16 zero bytes) password, as the Java client sends them, and `read_only`, its
/// `canBeReadOnly` flag, so that a server that lost its quorum says it is read-only.
pub fn connect_request(read_only: bool) -> Vec<u8> {
    let mut body = Vec::with_capacity(49);
    body.extend(0i32.to_be_bytes()); // protocolVersion
    body.extend(0i64.to_be_bytes()); // lastZxidSeen
    body.extend(SESSION_TIMEOUT_MS.to_be_bytes()); // timeOut
    body.extend(0i64.to_be_bytes()); // sessionId
    body.extend(16i32.to_be_bytes()); // passwd's length
    body.extend([0u8; 16]);
    body.push(u8::from(read_only));
    framed(&body)
}

/// closeSession, the session's first request.
pub fn close_session() -> Vec<u8> {
    let mut body = Vec::with_capacity(8);
    body.extend(FIRST_XID.to_be_bytes());
    body.extend(CLOSE_SESSION.to_be_bytes());
    framed(&body)
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend(u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
    frame.extend(body);
    frame
}

/// What a ConnectResponse says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: i64,
    /// The session timeout the server settled on, in milliseconds.
    pub timeout_ms: i32,
    /// The server runs read-only (it lost its quorum); absent from servers before 3.4: false.
    pub read_only: bool,
}

/// Why no answer could be read.
#[derive(Debug)]
pub enum Failure {
    /// The server closed the connection before sending a byte: what ZooKeeper does when it is
    /// not serving.
    Closed,
    /// A TLS record: the port speaks TLS.
    SpeaksTls,
    /// Bytes that are not ZooKeeper's protocol (a length out of bounds, a short body).
    NotZooKeeper,
    Io(io::Error),
}

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Self {
        Failure::Io(err)
    }
}

/// Reads one frame: its length, then its body. An end of stream before the first byte is
/// [`Failure::Closed`]; one within the frame is not the protocol.
pub fn read_frame(reader: &mut impl Read) -> Result<Vec<u8>, Failure> {
    let mut length = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match reader.read(&mut length[got..]) {
            Ok(0) if got == 0 => return Err(Failure::Closed),
            Ok(0) => return Err(Failure::NotZooKeeper),
            Ok(n) => got += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) if got == 0 && err.kind() == io::ErrorKind::UnexpectedEof => return Err(Failure::Closed),
            Err(err) => return Err(Failure::Io(err)),
        }
        if got >= 2 && is_tls_record(&length[..got]) {
            return Err(Failure::SpeaksTls);
        }
    }
    let length = u32::from_be_bytes(length) as usize;
    if length > LONGEST_FRAME {
        return Err(Failure::NotZooKeeper);
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).map_err(|err| match err.kind() {
        io::ErrorKind::UnexpectedEof => Failure::NotZooKeeper,
        _ => Failure::Io(err),
    })?;
    Ok(body)
}

/// A ConnectResponse's body: protocolVersion, timeOut, sessionId, passwd (a length-prefixed
/// buffer), then readOnly when the server sends it. `None` when it is not one.
pub fn parse_connect_response(body: &[u8]) -> Option<Session> {
    let mut at = Cursor(body);
    let _protocol_version = at.i32()?;
    let timeout_ms = at.i32()?;
    let id = at.i64()?;
    let password = at.i32()?;
    // -1 is jute's null buffer.
    if password >= 0 {
        at.take(usize::try_from(password).ok()?)?;
    } else if password != -1 {
        return None;
    }
    let read_only = match at.take(1) {
        Some([flag]) => *flag != 0,
        _ => false,
    };
    Some(Session { id, timeout_ms, read_only })
}

/// A reply header (xid, zxid, err): the error code, when it is the reply to `xid`.
pub fn parse_reply_header(body: &[u8]) -> Option<(i32, i32)> {
    let mut at = Cursor(body);
    let xid = at.i32()?;
    let _zxid = at.i64()?;
    let err = at.i32()?;
    Some((xid, err))
}

/// KeeperException.Code.NOTREADONLY: a state-changing request to a read-only server.
pub const NOT_READ_ONLY: i32 = -119;

/// The xid closeSession is sent with, to match its reply.
pub const CLOSE_XID: i32 = FIRST_XID;

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn i32(&mut self) -> Option<i32> {
        self.take(4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i64(&mut self) -> Option<i64> {
        let b = self.take(8)?;
        Some(i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }
}

/// What `srvr` answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Srvr {
    /// The `Mode:` line's word (`leader`, `follower`, `observer`, `standalone`, `read-only`),
    /// quoted as the server wrote it.
    Mode(String),
    /// The server does not run four-letter words it was not told to (`4lw.commands.whitelist`).
    NotAllowed,
    /// "This ZooKeeper instance is not currently serving requests".
    NotServing,
    /// Nothing at all: the connection closed without a word.
    Nothing,
    /// Something else, quoted: its first line.
    Other(String),
}

/// Reads `srvr`'s answer.
pub fn parse_srvr(answer: &[u8]) -> Srvr {
    let text = String::from_utf8_lossy(answer);
    if let Some(mode) = text.lines().find_map(|line| line.strip_prefix("Mode:")) {
        return Srvr::Mode(quote::peer(mode.trim()));
    }
    if text.contains("is not executed because it is not in the whitelist") {
        return Srvr::NotAllowed;
    }
    if text.contains("not currently serving requests") {
        return Srvr::NotServing;
    }
    match text.lines().map(str::trim).find(|line| !line.is_empty()) {
        None => Srvr::Nothing,
        Some(line) => Srvr::Other(quote::peer(line)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_as_the_java_client_frames_them() {
        let request = connect_request(true);
        assert_eq!(request.len(), 4 + 45);
        assert_eq!(&request[..4], &45u32.to_be_bytes());
        assert_eq!(request[16..20], SESSION_TIMEOUT_MS.to_be_bytes());
        assert_eq!(request.last(), Some(&1));
        assert_eq!(close_session(), [0, 0, 0, 8, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xf5]);
    }

    #[test]
    fn connect_responses_with_and_without_the_read_only_flag() {
        let mut body = Vec::new();
        body.extend(0i32.to_be_bytes());
        body.extend(4000i32.to_be_bytes());
        body.extend(0x1234i64.to_be_bytes());
        body.extend(16i32.to_be_bytes());
        body.extend([7u8; 16]);
        let old = parse_connect_response(&body).unwrap();
        assert_eq!(old, Session { id: 0x1234, timeout_ms: 4000, read_only: false });
        body.push(1);
        assert!(parse_connect_response(&body).unwrap().read_only);
        assert_eq!(parse_connect_response(&body[..30]), None);
    }

    #[test]
    fn frames_are_bounded_and_a_close_is_told_apart() {
        assert!(matches!(read_frame(&mut &b""[..]), Err(Failure::Closed)));
        assert!(matches!(read_frame(&mut &b"\0\0"[..]), Err(Failure::NotZooKeeper)));
        assert!(matches!(read_frame(&mut &b"HTTP/1.1 400"[..]), Err(Failure::NotZooKeeper)));
        assert!(matches!(read_frame(&mut &b"\x15\x03\x03\x00\x02\x02\x46"[..]), Err(Failure::SpeaksTls)));
        assert_eq!(read_frame(&mut &b"\0\0\0\x02ab"[..]).unwrap(), b"ab");
    }

    #[test]
    fn srvr_answers() {
        let standalone = b"Zookeeper version: 3.8.0\nLatency min/avg/max: 0/0.0/0\nMode: standalone\nNode count: 5\n";
        assert_eq!(parse_srvr(standalone), Srvr::Mode("standalone".into()));
        assert_eq!(parse_srvr(b"srvr is not executed because it is not in the whitelist.\n"), Srvr::NotAllowed);
        assert_eq!(parse_srvr(b"This ZooKeeper instance is not currently serving requests\n"), Srvr::NotServing);
        assert_eq!(parse_srvr(b""), Srvr::Nothing);
        assert_eq!(parse_srvr(b"\n huh\x1b\n"), Srvr::Other("huh\\x1b".into()));
    }
}
