//! Watches the server's side of a connection for what libpq's decisions need and
//! tokio-postgres does not tell: whether the server refused TLS (`N`), whether authentication
//! had succeeded before an error (libpq retries sslmode allow/prefer only before it), and
//! whether the first bytes are PostgreSQL's protocol at all (or TLS, from a TLS-only port).

use std::{
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use tokio::io::{AsyncRead, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, TlsStream};

use super::tls::Plain;
use crate::{net::tokio::AsyncSocket, trace::Trace};

/// What was seen on one connection.
#[derive(Debug, Default)]
pub struct Progress {
    /// The server sent AuthenticationOk.
    pub auth_ok: AtomicBool,
    /// The server answered the SSLRequest with `N`.
    pub refused_tls: AtomicBool,
    /// The server answered the SSLRequest with `S` (or TLS began directly).
    pub tls_used: AtomicBool,
}

/// What the next byte from the server should be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The answer to an SSLRequest: `S`, `N` (then the startup answer), or an old server's `E`.
    SslAnswer,
    /// The answer to the startup packet: an authentication request `R`, an error `E` or a
    /// protocol negotiation `v`.
    StartupAnswer,
    /// Anything: messages are only framed, to see AuthenticationOk.
    Messages,
    /// Nothing is read here any more (TLS runs above).
    Nothing,
    /// The first answer began with a TLS record type (alert or handshake); a version byte
    /// 3 next makes it TLS.
    TlsVersion,
}

/// The error a read returns when the peer is not speaking PostgreSQL's protocol.
#[derive(Debug)]
pub enum NotPostgres {
    /// Something else altogether.
    Foreign,
    /// A TLS record: the port speaks TLS only (the http check's `SpeaksTls`).
    Tls,
}

impl std::fmt::Display for NotPostgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotPostgres::Foreign => f.write_str("the answer is not PostgreSQL's protocol"),
            NotPostgres::Tls => f.write_str(&super::PROTOCOL.speaks_tls()),
        }
    }
}

impl std::error::Error for NotPostgres {}

/// A stream whose reads are watched. Anything but PostgreSQL in the first answer is said at
/// once, where tokio-postgres would wait for a garbage length's worth.
pub struct Watched<S> {
    inner: S,
    trace: Trace,
    expect: Expect,
    progress: Arc<Progress>,
    frames: Frames,
    /// Bytes read past what the caller asked for (see `poll_read`), handed out first.
    stash: Vec<u8>,
}

impl<S> Watched<S> {
    pub fn new(inner: S, trace: &Trace, expect: Expect, progress: &Arc<Progress>) -> Self {
        if expect == Expect::Nothing {
            progress.tls_used.store(true, Ordering::Relaxed);
        }
        Watched {
            inner,
            trace: trace.clone(),
            expect,
            progress: Arc::clone(progress),
            frames: Frames::default(),
            stash: Vec::new(),
        }
    }

    fn see(&mut self, byte: u8) -> Result<(), NotPostgres> {
        self.expect = match (self.expect, byte) {
            (Expect::Nothing, _) => Expect::Nothing,
            (Expect::SslAnswer, b'S') => {
                self.progress.tls_used.store(true, Ordering::Relaxed);
                Expect::Nothing
            }
            (Expect::SslAnswer, b'E') => Expect::Nothing,
            (Expect::SslAnswer, b'N') => {
                self.progress.refused_tls.store(true, Ordering::Relaxed);
                self.trace.enter("auth");
                Expect::StartupAnswer
            }
            (Expect::StartupAnswer, b'R' | b'E' | b'v') => {
                self.frame(byte);
                Expect::Messages
            }
            (Expect::Messages, _) => {
                self.frame(byte);
                Expect::Messages
            }
            (Expect::SslAnswer | Expect::StartupAnswer, 0x15 | 0x16) => Expect::TlsVersion,
            (Expect::TlsVersion, 0x03) => return Err(NotPostgres::Tls),
            _ => return Err(NotPostgres::Foreign),
        };
        Ok(())
    }

    fn frame(&mut self, byte: u8) {
        if self.frames.feed(byte) {
            self.progress.auth_ok.store(true, Ordering::Relaxed);
        }
    }
}

/// Finds message boundaries in the server's stream, to spot AuthenticationOk (`R`, length 8,
/// code 0).
#[derive(Debug, Default)]
struct Frames {
    header: Vec<u8>,
    kind: u8,
    body_left: usize,
    body: Vec<u8>,
}

impl Frames {
    /// Takes one byte; true when it completes an AuthenticationOk.
    fn feed(&mut self, byte: u8) -> bool {
        if self.body_left == 0 {
            self.header.push(byte);
            if self.header.len() == 5 {
                self.kind = self.header[0];
                let length =
                    u32::from_be_bytes([self.header[1], self.header[2], self.header[3], self.header[4]]);
                self.body_left = (length as usize).saturating_sub(4);
                self.header.clear();
                self.body.clear();
            }
            return false;
        }
        self.body_left -= 1;
        if self.kind == b'R' && self.body.len() < 4 {
            self.body.push(byte);
        }
        self.body_left == 0 && self.kind == b'R' && self.body == [0, 0, 0, 0]
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.stash.is_empty() {
            let count = self.stash.len().min(buf.remaining());
            buf.put_slice(&self.stash[..count]);
            self.stash.drain(..count);
            return Poll::Ready(Ok(()));
        }
        if self.expect == Expect::SslAnswer && buf.remaining() > 0 {
            // tokio-postgres reads the SSLRequest's one-byte answer alone; reading a little more
            // lets a TLS record's version byte be seen with its type byte (a server's `S` or
            // `N` comes alone, since it then waits for us). What the caller has no room for is
            // kept for its next read.
            let mut bytes = [0u8; 64];
            let mut wide = ReadBuf::new(&mut bytes);
            if let Err(err) = std::task::ready!(Pin::new(&mut self.inner).poll_read(cx, &mut wide)) {
                return Poll::Ready(Err(err));
            }
            let read = wide.filled().to_vec();
            for byte in &read {
                if let Err(foreign) = self.see(*byte) {
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, foreign)));
                }
            }
            let count = read.len().min(buf.remaining());
            buf.put_slice(&read[..count]);
            self.stash.extend_from_slice(&read[count..]);
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if self.expect != Expect::Nothing {
            for index in before..buf.filled().len() {
                let byte = buf.filled()[index];
                if let Err(foreign) = self.see(byte) {
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, foreign)));
                }
            }
        }
        poll
    }
}

crate::net::tokio::writes_pass_through!(Watched);

impl<S: TlsStream + Unpin> TlsStream for Watched<S> {
    fn channel_binding(&self) -> ChannelBinding {
        self.inner.channel_binding()
    }
}

impl<S> Watched<S> {
    /// A stream inside TLS, whose messages are framed to see AuthenticationOk.
    pub fn messages(inner: S, trace: &Trace, progress: &Arc<Progress>) -> Self {
        Watched {
            inner,
            trace: trace.clone(),
            expect: Expect::Messages,
            progress: Arc::clone(progress),
            frames: Frames::default(),
            stash: Vec::new(),
        }
    }
}

impl Plain for Watched<AsyncSocket> {
    fn into_socket(self) -> Result<AsyncSocket, String> {
        // libpq refuses this too ("received unencrypted data after SSL response"): what the
        // server sends after its `S` and before the handshake would be read as if protected.
        match self.stash.is_empty() {
            true => Ok(self.inner),
            false => Err("the server sent unencrypted data after agreeing to TLS".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `answer` as tokio-postgres reads an SSLRequest's answer (one byte), then the rest.
    fn read_ssl_answer(answer: &[u8]) -> (io::Result<Vec<u8>>, Arc<Progress>) {
        use tokio::io::AsyncReadExt;
        let progress = Arc::new(Progress::default());
        let mut watched = Watched::new(answer, &Trace::default(), Expect::SslAnswer, &progress);
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let result = runtime.block_on(async {
            let mut first = [0u8; 1];
            watched.read_exact(&mut first).await?;
            let mut rest = Vec::new();
            watched.read_to_end(&mut rest).await?;
            Ok([&first[..], &rest].concat())
        });
        (result, progress)
    }

    #[test]
    fn a_tls_record_in_answer_to_the_ssl_request_is_named() {
        // A TLS alert, as a TLS-only port sends back to the 8 plain bytes of an SSLRequest.
        let (result, _) = read_ssl_answer(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32]);
        let err = result.unwrap_err();
        assert!(matches!(err.get_ref().and_then(|e| e.downcast_ref()), Some(NotPostgres::Tls)), "{err}");
        let (result, _) = read_ssl_answer(b"HTTP/1.1 400");
        let err = result.unwrap_err();
        assert!(matches!(err.get_ref().and_then(|e| e.downcast_ref()), Some(NotPostgres::Foreign)), "{err}");
        // What is read past the one byte asked for is handed out next, unchanged.
        let answer = [&b"N"[..], &[b'R', 0, 0, 0, 8, 0, 0, 0, 0]].concat();
        let (result, progress) = read_ssl_answer(&answer);
        assert_eq!(result.unwrap(), answer);
        assert!(progress.refused_tls.load(Ordering::Relaxed) && progress.auth_ok.load(Ordering::Relaxed));
    }

    #[test]
    fn authentication_ok_is_found_between_other_messages() {
        let mut frames = Frames::default();
        let sasl_final = [b'R', 0, 0, 0, 12, 0, 0, 0, 12, 1, 2, 3, 4];
        let ok = [b'R', 0, 0, 0, 8, 0, 0, 0, 0];
        assert!(!sasl_final.iter().any(|b| frames.feed(*b)));
        assert_eq!(ok.iter().filter(|b| frames.feed(**b)).count(), 1);
        let mut frames = Frames::default();
        let error = [b'E', 0, 0, 0, 8, 0, 0, 0, 0];
        assert!(!error.iter().any(|b| frames.feed(*b)));
    }
}
