//! The little of Redis's protocol (RESP2) a probe speaks: commands out as arrays of bulk
//! strings, replies in, read with bounds so that a peer that is not Redis, or never stops, costs
//! a verdict and not memory. Every read and write waits at most until the attempt's deadline.

use std::{
    io::{self, BufRead, BufReader, Read, Write},
    time::Duration,
};

use crate::{net::Stream, quote};

/// The longest status or error line kept, the longest bulk string, the most array items, and
/// the deepest nesting: ROLE's reply is the largest a probe asks for, and far smaller.
const LONGEST_LINE: usize = 64 * 1024;
const LONGEST_BULK: usize = 1024 * 1024;
const MOST_ITEMS: usize = 100_000;
const DEEPEST: usize = 8;

/// A reply, as RESP2 has them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Status(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The reply as text: a status or bulk string as is, the rest in RESP's own terms.
    pub fn text(&self) -> String {
        match self {
            Reply::Status(text) | Reply::Error(text) => text.clone(),
            Reply::Integer(n) => n.to_string(),
            Reply::Bulk(Some(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
            Reply::Bulk(None) | Reply::Array(None) => "nil".to_owned(),
            Reply::Array(Some(items)) => {
                format!("[{}]", items.iter().map(Reply::text).collect::<Vec<_>>().join(", "))
            }
        }
    }

    /// The reply as a message quotes it: its kind said, its text escaped and bounded, so that
    /// `PING answered …, not PONG` never reads as if PONG came.
    pub fn describe(&self) -> String {
        match self {
            Reply::Status(text) => format!("the status '{}'", quote::peer(text)),
            Reply::Error(text) => format!("the error '{}'", quote::peer(text)),
            Reply::Integer(n) => format!("the integer {n}"),
            Reply::Bulk(Some(bytes)) => format!("the bulk string '{}'", quote::peer(bytes)),
            Reply::Bulk(None) | Reply::Array(None) => "nil".to_owned(),
            Reply::Array(Some(items)) => format!("an array of {} ({})", items.len(), quote::peer(self.text())),
        }
    }
}

/// Why a command got no reply.
#[derive(Debug)]
pub enum Failure {
    Io(io::Error),
    /// The bytes are not RESP2.
    NotRedis,
    /// The bytes are a TLS record: a TLS port asked in plain text.
    SpeaksTls,
}

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Self {
        Failure::Io(err)
    }
}

/// One connection to a server: commands go out, replies come back in order.
pub struct Connection {
    reader: BufReader<Stream>,
    /// A reply has come: the server speaks, whatever it says next.
    answered: bool,
}

impl Connection {
    pub fn new(stream: Stream) -> Self {
        Connection { reader: BufReader::with_capacity(4096, stream), answered: false }
    }

    /// True once a reply has been read whole.
    pub fn has_answered(&self) -> bool {
        self.answered
    }

    /// Sends `args` as one command and reads its reply, waiting at most `timeout` for each
    /// read and write.
    pub fn command(&mut self, args: &[&[u8]], timeout: Duration) -> Result<Reply, Failure> {
        self.reader.get_ref().set_timeout(timeout);
        let stream = self.reader.get_mut();
        stream.write_all(&encode(args))?;
        stream.flush()?;
        let reply = read_reply(&mut self.reader, 0)?;
        self.answered = true;
        Ok(reply)
    }

    /// True when the connection is TLS, or a unix socket: no TLS port can have reset it.
    pub fn is_tls_or_unix(&self) -> bool {
        let stream = self.reader.get_ref();
        stream.is_tls() || stream.socket().is_unix()
    }

    /// Ends a TLS session with its close_notify, then stops sending: the server sees a clean
    /// close.
    pub fn close(mut self) {
        self.reader.get_mut().close();
    }
}

/// A command as RESP writes it: an array of bulk strings.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads one reply. A peer that closes mid-reply is an I/O error; bytes that break the grammar,
/// or a reply beyond the bounds, are `NotRedis`.
pub fn read_reply(reader: &mut impl BufRead, depth: usize) -> Result<Reply, Failure> {
    let line = read_line(reader)?;
    let (&kind, rest) = line.split_first().ok_or(Failure::NotRedis)?;
    let text = || String::from_utf8_lossy(rest).into_owned();
    let number = || -> Result<i64, Failure> {
        std::str::from_utf8(rest).ok().and_then(|n| n.parse().ok()).ok_or(Failure::NotRedis)
    };
    match kind {
        b'+' => Ok(Reply::Status(text())),
        b'-' => Ok(Reply::Error(text())),
        b':' => Ok(Reply::Integer(number()?)),
        b'$' => match number()? {
            -1 => Ok(Reply::Bulk(None)),
            len if (0..=LONGEST_BULK as i64).contains(&len) => {
                let mut bytes = vec![0; len as usize + 2];
                reader.read_exact(&mut bytes)?;
                if !bytes.ends_with(b"\r\n") {
                    return Err(Failure::NotRedis);
                }
                bytes.truncate(len as usize);
                Ok(Reply::Bulk(Some(bytes)))
            }
            _ => Err(Failure::NotRedis),
        },
        b'*' => match number()? {
            -1 => Ok(Reply::Array(None)),
            len if (0..=MOST_ITEMS as i64).contains(&len) && depth < DEEPEST => {
                let items = (0..len).map(|_| read_reply(reader, depth + 1)).collect::<Result<_, _>>()?;
                Ok(Reply::Array(Some(items)))
            }
            _ => Err(Failure::NotRedis),
        },
        _ => Err(Failure::NotRedis),
    }
}

/// One line without its CRLF, at most `LONGEST_LINE` bytes.
fn read_line(reader: &mut impl BufRead) -> Result<Vec<u8>, Failure> {
    let mut line = Vec::new();
    let read = reader.take(LONGEST_LINE as u64 + 2).read_until(b'\n', &mut line)?;
    if read == 0 {
        return Err(Failure::Io(io::ErrorKind::UnexpectedEof.into()));
    }
    match line.strip_suffix(b"\r\n") {
        Some(content) => Ok(content.to_vec()),
        None if crate::net::is_tls_record(&line) => Err(Failure::SpeaksTls),
        None if line.ends_with(b"\n") || line.len() > LONGEST_LINE => Err(Failure::NotRedis),
        // Cut short: by a Redis server if it began as a reply does, else by something else.
        None if matches!(line[0], b'+' | b'-' | b':' | b'$' | b'*') => {
            Err(Failure::Io(io::ErrorKind::UnexpectedEof.into()))
        }
        None => Err(Failure::NotRedis),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<Reply, Failure> {
        read_reply(&mut &bytes[..], 0)
    }

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        assert_eq!(encode(&[b"AUTH", b"u", b"p w"]), b"*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$3\r\np w\r\n");
    }

    #[test]
    fn replies_of_every_kind() {
        assert_eq!(read(b"+PONG\r\n").unwrap(), Reply::Status("PONG".into()));
        assert_eq!(
            read(b"-LOADING Redis is loading\r\n").unwrap(),
            Reply::Error("LOADING Redis is loading".into())
        );
        assert_eq!(read(b":-3\r\n").unwrap(), Reply::Integer(-3));
        assert_eq!(read(b"$-1\r\n").unwrap(), Reply::Bulk(None));
        let role = b"*3\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:6379\r\n";
        let reply = read(role).unwrap();
        assert_eq!(reply.text(), "[slave, 127.0.0.1, 6379]");
        let nested = b"*2\r\n$6\r\nmaster\r\n*1\r\n*0\r\n";
        assert!(matches!(read(nested).unwrap(), Reply::Array(Some(items)) if items.len() == 2));
    }

    #[test]
    fn a_reply_is_described_by_its_kind_on_one_line() {
        assert_eq!(read(b"+OK\r\n").unwrap().describe(), "the status 'OK'");
        assert_eq!(read(b"$5\r\nPONG\n\r\n").unwrap().describe(), "the bulk string 'PONG\\n'");
        assert_eq!(read(b":1\r\n").unwrap().describe(), "the integer 1");
        assert_eq!(read(b"$-1\r\n").unwrap().describe(), "nil");
        assert_eq!(read(b"*1\r\n+a\x1bb\r\n").unwrap().describe(), "an array of 1 ([a\\x1bb])");
    }

    #[test]
    fn what_is_not_resp_says_so() {
        for bytes in [
            &b"HTTP/1.1 400 Bad Request\r\n"[..],
            b"+PONG\n",
            b"$5\r\nPONG\r\n\r\n",
            b"$99999999999\r\n",
            b"*-5\r\n",
            b":x\r\n",
            b"\r\n",
        ] {
            assert!(matches!(read(bytes), Err(Failure::NotRedis)), "{}", String::from_utf8_lossy(bytes));
        }
        let deep = "*1\r\n".repeat(20);
        assert!(matches!(read(deep.as_bytes()), Err(Failure::NotRedis)));
        let long = format!("+{}\r\n", "x".repeat(LONGEST_LINE + 10));
        assert!(matches!(read(long.as_bytes()), Err(Failure::NotRedis)));
        assert!(matches!(read(b"+PON"), Err(Failure::Io(_))));
        assert!(matches!(read(b""), Err(Failure::Io(_))));
        assert!(matches!(read(b"$4\r\nPO"), Err(Failure::Io(_))));
        // A TLS alert, then the end: a TLS port.
        assert!(matches!(read(b"\x15\x03\x03\x00\x02\x02\x0a"), Err(Failure::SpeaksTls)));
        assert!(matches!(read(b"\x15\x01"), Err(Failure::NotRedis)));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_bytes_give_a_reply_or_a_failure(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = read_reply(&mut &bytes[..], 0);
        }
    }
}
