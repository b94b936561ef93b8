//! The I/O types between h2 and the socket (plain or TLS): `Preface`, which tells a peer that
//! does not speak HTTP/2 at its first bytes (a TLS record among them), and `Linger`, which waits
//! for the server's close after probe's own; and an h2 failure in words.

use std::{
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::PROTOCOL;
use crate::net;

/// How the peer ended the connection, when it did before the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Closed,
    Reset,
}

/// How the peer ended the connection, if that is what `err` is.
pub fn ended(err: &h2::Error) -> Option<Ended> {
    match err.get_io()?.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe => Some(Ended::Closed),
        io::ErrorKind::ConnectionReset => Some(Ended::Reset),
        _ => None,
    }
}

/// An h2 failure as a short diagnosis.
pub fn describe_h2(err: &h2::Error) -> String {
    use h2::Reason;
    if let Some(io) = err.get_io() {
        if let Some(not_http2) = io.get_ref().and_then(|inner| inner.downcast_ref::<NotHttp2>()) {
            return not_http2.to_string();
        }
        return match ended(err) {
            Some(Ended::Closed) => "connection closed by peer".to_owned(),
            _ => net::describe(io),
        };
    }
    match err.reason() {
        Some(Reason::PROTOCOL_ERROR | Reason::FRAME_SIZE_ERROR | Reason::COMPRESSION_ERROR)
            if !err.is_remote() =>
        {
            "the answer is not HTTP/2".to_owned()
        }
        Some(reason) if err.is_go_away() => {
            format!("the server closed the connection (GOAWAY {reason:?})")
        }
        Some(reason) if err.is_reset() => format!("the server reset the stream ({reason:?})"),
        Some(reason) => format!("HTTP/2 error: {reason:?}"),
        None => format!("HTTP/2: {}", crate::quote::peer(err.to_string())),
    }
}

/// Watches the first nine bytes the server sends: HTTP/2 begins with the server's SETTINGS frame
/// (a length of at most 16384, type 4, no flags, stream 0). Anything else is said at once,
/// where h2 would wait for a garbage length's worth of bytes.
pub struct Preface<S> {
    inner: S,
    seen: usize,
    /// Set once the server has sent a byte.
    heard: Arc<AtomicBool>,
}

impl<S> Preface<S> {
    pub fn new(inner: S, heard: Arc<AtomicBool>) -> Self {
        Preface { inner, seen: 0, heard }
    }

    /// Whether `byte` can stand at `index` of a SETTINGS frame header.
    fn fits(index: usize, byte: u8) -> bool {
        match index {
            0 => byte == 0,
            1 => byte <= 0x40,
            3 => byte == 4,
            4..=8 => byte == 0,
            _ => true,
        }
    }
}

/// The error a read returns when the server does not speak HTTP/2.
#[derive(Debug)]
struct NotHttp2 {
    /// The server's first bytes are a TLS record: a TLS port asked in plain text.
    speaks_tls: bool,
}

impl std::fmt::Display for NotHttp2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.speaks_tls {
            true => f.write_str(&PROTOCOL.speaks_tls()),
            false => f.write_str("the answer is not HTTP/2"),
        }
    }
}

impl std::error::Error for NotHttp2 {}

impl<S: AsyncRead + Unpin> AsyncRead for Preface<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        std::task::ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            self.heard.store(true, Ordering::Relaxed);
        }
        for &byte in buf.filled()[before..].iter().take(9usize.saturating_sub(self.seen)) {
            if !Self::fits(self.seen, byte) {
                // A read may end after the record's first byte: that alone is no HTTP/2 either.
                let first = &buf.filled()[before..];
                let speaks_tls =
                    self.seen == 0 && (net::is_tls_record(first) || matches!(first, [0x15 | 0x16]));
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, NotHttp2 { speaks_tls })));
            }
            self.seen += 1;
        }
        Poll::Ready(Ok(()))
    }
}

crate::net::tokio::writes_pass_through!(Preface);

/// A stream whose shutdown, after sending its own end (FIN, or TLS close_notify and FIN), reads
/// and discards until the server closes too. Closing the socket while the server's last frames
/// are still arriving would answer them with a TCP reset, which servers log as an error.
pub struct Linger<S> {
    inner: S,
    shut: bool,
}

impl<S> Linger<S> {
    pub fn new(inner: S) -> Self {
        Linger { inner, shut: false }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Linger<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Linger<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.shut {
            std::task::ready!(Pin::new(&mut self.inner).poll_shutdown(cx))?;
            self.shut = true;
        }
        let mut scratch = [0u8; 512];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match std::task::ready!(Pin::new(&mut self.inner).poll_read(cx, &mut buf)) {
                Ok(()) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Ok(()) => continue,
                // A peer that resets or ends TLS untidily has closed all the same.
                Err(_) => return Poll::Ready(Ok(())),
            }
        }
    }
}

