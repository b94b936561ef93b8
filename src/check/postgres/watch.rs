//! Watches the server's side of a connection for what libpq's decisions need and
//! tokio-postgres does not tell: whether the server refused TLS (`N`), whether authentication
//! had succeeded before an error (libpq retries sslmode allow/prefer only before it), and
//! whether the first bytes are PostgreSQL's protocol at all.

use std::{
    future::Future,
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, TlsConnect, TlsStream};

use crate::trace::Trace;

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
}

/// The error a read returns when the peer is not speaking PostgreSQL's protocol.
#[derive(Debug)]
pub struct NotPostgres;

impl std::fmt::Display for NotPostgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the answer is not PostgreSQL's protocol")
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
            _ => return Err(NotPostgres),
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
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if self.expect != Expect::Nothing {
            for index in before..buf.filled().len() {
                let byte = buf.filled()[index];
                if self.see(byte).is_err() {
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, NotPostgres)));
                }
            }
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S: TlsStream + Unpin> TlsStream for Watched<S> {
    fn channel_binding(&self) -> ChannelBinding {
        self.inner.channel_binding()
    }
}

/// Marks the `tls` phase's end, and `auth`'s start, when the handshake completes, and watches
/// the messages inside TLS.
pub struct MarkTls<T> {
    pub inner: T,
    pub trace: Trace,
    pub progress: Arc<Progress>,
}

impl<S, T> TlsConnect<S> for MarkTls<T>
where
    T: TlsConnect<S>,
    T::Future: 'static,
    T::Stream: Unpin,
{
    type Stream = Watched<T::Stream>;
    type Error = T::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Watched<T::Stream>, T::Error>>>>;

    fn connect(self, stream: S) -> Self::Future {
        let handshake = self.inner.connect(stream);
        let (trace, progress) = (self.trace, self.progress);
        Box::pin(async move {
            let stream = handshake.await?;
            trace.enter("auth");
            progress.tls_used.store(true, Ordering::Relaxed);
            Ok(Watched::new_messages(stream, &trace, &progress))
        })
    }
}

impl<S> Watched<S> {
    fn new_messages(inner: S, trace: &Trace, progress: &Arc<Progress>) -> Self {
        Watched {
            inner,
            trace: trace.clone(),
            expect: Expect::Messages,
            progress: Arc::clone(progress),
            frames: Frames::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
