//! The socket of `stream::open` for the checks that run on tokio (grpc's HTTP/2, postgres's
//! driver): the same connection, handed over once it is open.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::Socket;

/// A connected TCP or unix socket, for tokio.
#[derive(Debug)]
pub enum AsyncSocket {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

impl AsyncSocket {
    /// Hands an open socket to tokio (it must be called inside a runtime).
    pub fn from_std(socket: Socket) -> io::Result<Self> {
        Ok(match socket {
            Socket::Tcp(tcp) => {
                tcp.set_nonblocking(true)?;
                AsyncSocket::Tcp(tokio::net::TcpStream::from_std(tcp)?)
            }
            Socket::Unix(unix) => {
                unix.set_nonblocking(true)?;
                AsyncSocket::Unix(tokio::net::UnixStream::from_std(unix)?)
            }
        })
    }
}

impl AsyncRead for AsyncSocket {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            AsyncSocket::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            AsyncSocket::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for AsyncSocket {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            AsyncSocket::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            AsyncSocket::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            AsyncSocket::Tcp(s) => Pin::new(s).poll_flush(cx),
            AsyncSocket::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            AsyncSocket::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            AsyncSocket::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// `AsyncWrite` for a wrapper that only watches what is read: writes, flushes and shutdowns go
/// to its `inner` stream unchanged.
macro_rules! writes_pass_through {
    ($wrapper:ident) => {
        impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for $wrapper<S> {
            fn poll_write(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
            }

            fn poll_flush(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.inner).poll_flush(cx)
            }

            fn poll_shutdown(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
            }
        }
    };
}
pub(crate) use writes_pass_through;
