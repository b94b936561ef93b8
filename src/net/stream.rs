//! Opening a connection: a TCP or unix socket within the attempt's deadline, its phases marked,
//! and the one stream type every synchronous check talks through, with or without TLS on it.

use std::{
    fmt,
    io::{self, Read, Write},
    net::TcpStream,
    os::unix::net::UnixStream,
    path::PathBuf,
    time::Duration,
};

use super::{HostPort, connect, describe, resolve};
use crate::{deadline::Deadline, quote, trace::Trace};

/// Where a server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Tcp(HostPort),
    /// A unix socket's path.
    Unix(PathBuf),
    /// A Linux abstract unix socket's name (`@name`, without the `@`).
    Abstract(String),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(host) => host.fmt(f),
            Endpoint::Unix(path) => f.write_str(&quote::escaped(&path.to_string_lossy())),
            Endpoint::Abstract(name) => write!(f, "@{}", quote::escaped(name)),
        }
    }
}

/// Opens `endpoint` within the deadline: the phases `resolve` and `connect` for TCP (every
/// address in turn, as `net::connect` does), `connect` for a unix socket. The socket's read and
/// write timeouts are the time left; a check sets them again before each exchange.
pub fn open(endpoint: &Endpoint, deadline: Deadline, trace: &Trace) -> Result<Socket, String> {
    let socket = match endpoint {
        Endpoint::Tcp(host) => {
            trace.enter("resolve");
            let addrs = resolve(host)?;
            trace.enter("connect");
            let tcp = connect(&addrs, deadline)?;
            let _ = tcp.set_nodelay(true);
            Socket::Tcp(tcp)
        }
        Endpoint::Unix(path) => {
            trace.enter("connect");
            Socket::Unix(UnixStream::connect(path).map_err(|err| format!("{endpoint}: {}", describe(&err)))?)
        }
        Endpoint::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt;
            trace.enter("connect");
            let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
                .map_err(|err| format!("{endpoint}: {}", describe(&err)))?;
            Socket::Unix(
                UnixStream::connect_addr(&address)
                    .map_err(|err| format!("{endpoint}: {}", describe(&err)))?,
            )
        }
    };
    socket.set_timeout(deadline.socket_timeout());
    Ok(socket)
}

/// A connected socket, TCP or unix: the same to every protocol above it.
#[derive(Debug)]
pub enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Socket {
    /// Bounds every read and write from now on (a zero duration counts as 1 ms).
    pub fn set_timeout(&self, timeout: Duration) {
        let timeout = Some(timeout.max(Duration::from_millis(1)));
        let _ = match self {
            Socket::Tcp(s) => s.set_read_timeout(timeout).and(s.set_write_timeout(timeout)),
            Socket::Unix(s) => s.set_read_timeout(timeout).and(s.set_write_timeout(timeout)),
        };
    }

    /// Stops sending: the peer reads an end of stream, as after a client's orderly close.
    pub fn shutdown_write(&self) {
        let _ = match self {
            Socket::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
            Socket::Unix(s) => s.shutdown(std::net::Shutdown::Write),
        };
    }

    /// True for a unix socket, which some protocols treat as secure without TLS.
    pub fn is_unix(&self) -> bool {
        matches!(self, Socket::Unix(_))
    }

    /// The same socket, for tokio (the async checks open their sockets here too).
    #[cfg(feature = "async")]
    pub fn into_async(self) -> io::Result<super::tokio::AsyncSocket> {
        super::tokio::AsyncSocket::from_std(self)
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.read(buf),
            Socket::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.write(buf),
            Socket::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.flush(),
            Socket::Unix(s) => s.flush(),
        }
    }
}

/// What a synchronous check reads and writes: the socket, or a TLS session on it
/// (`tls::handshake` makes one).
pub enum Stream {
    Plain(Socket),
    #[cfg(feature = "tls")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, Socket>>),
}

impl Stream {
    /// The socket under the stream.
    pub fn socket(&self) -> &Socket {
        match self {
            Stream::Plain(socket) => socket,
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => &tls.sock,
        }
    }

    /// Bounds every read and write from now on (a zero duration counts as 1 ms).
    pub fn set_timeout(&self, timeout: Duration) {
        self.socket().set_timeout(timeout);
    }

    pub fn is_tls(&self) -> bool {
        !matches!(self, Stream::Plain(_))
    }

    /// Ends a TLS session with its close_notify alert, so the server logs an orderly close, then
    /// stops sending.
    pub fn close(&mut self) {
        #[cfg(feature = "tls")]
        if let Stream::Tls(tls) = self {
            tls.conn.send_close_notify();
            let _ = tls.conn.complete_io(&mut tls.sock);
        }
        self.socket().shutdown_write();
    }
}

impl From<Socket> for Stream {
    fn from(socket: Socket) -> Self {
        Stream::Plain(socket)
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// How a check names its protocol, and the fix for each way TLS and plain text can meet on one
/// port; the words are the same in every check.
#[derive(Clone, Copy, Debug)]
pub struct Protocol {
    /// As in "the answer is TLS, not {name}": `Redis's protocol`, `HTTP/2`, `AMQP 0-9-1`.
    pub name: &'static str,
    /// How to ask in TLS: `use rediss://`, `use grpcs:// or --tls`.
    pub use_tls: &'static str,
    /// How to ask in plain text: `use redis://`, `drop --tls`, `use sslmode=disable`.
    pub drop_tls: &'static str,
}

impl Protocol {
    /// A plain request answered by a TLS record (TLS servers answer with an alert).
    pub fn speaks_tls(&self) -> String {
        format!("the answer is TLS, not {}: the port speaks TLS ({})", self.name, self.use_tls)
    }

    /// A TLS ClientHello answered by something that is not TLS.
    pub fn speaks_plain(&self) -> String {
        format!("the answer is not TLS: the port speaks plain text ({})", self.drop_tls)
    }

    /// A connection that ended (`how`: closed, reset) right after the first plain request,
    /// before any answer, from a server of a protocol whose plain servers always answer: what
    /// TLS ports do (OpenSSL and BoringSSL close or reset without an alert).
    pub fn ended_by_tls_port(&self, how: &str) -> String {
        format!("{how}: the port may speak TLS ({})", self.use_tls)
    }

    /// [`Self::ended_by_tls_port`] for a reset.
    pub fn reset_by_tls_port(&self) -> String {
        self.ended_by_tls_port("connection reset by peer at the first request")
    }
}

/// True when a peer's first bytes are a TLS record (an alert, 21, or a handshake, 22, then
/// version 3.x): a TLS port asked in plain text.
pub fn is_tls_record(first: &[u8]) -> bool {
    matches!(first, [0x15 | 0x16, 0x03, ..])
}
