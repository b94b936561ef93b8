//! TCP sockets in the states a probe meets: listening, refusing, black-holed, opening later.
//! Each one holds its port for as long as it lives, so no other test can take it.

use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    thread,
    time::Duration,
};

use socket2::{Domain, Socket, Type};

fn bound(addr: &str) -> Socket {
    let addr: SocketAddr = addr.parse().expect("a socket address");
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).expect("a socket");
    socket.bind(&addr.into()).expect("bind");
    socket
}

fn local_addr(socket: &Socket) -> SocketAddr {
    socket.local_addr().expect("local address").as_socket().expect("an IP socket")
}

/// A port that accepts connections (the kernel completes the handshake; nobody reads).
pub struct Open {
    pub listener: TcpListener,
    pub addr: SocketAddr,
}

pub fn open(addr: &str) -> Open {
    let listener = TcpListener::bind(addr).expect("bind");
    let addr = listener.local_addr().expect("local address");
    Open { listener, addr }
}

/// A port that refuses connections: bound, so no one else can have it, but not listening.
pub struct Refusing {
    _socket: Socket,
    pub addr: SocketAddr,
}

pub fn refusing() -> Refusing {
    let socket = bound("127.0.0.1:0");
    let addr = local_addr(&socket);
    Refusing { _socket: socket, addr }
}

/// A port whose SYNs are dropped, as behind a firewall: a listener with a backlog of zero whose
/// one queue slot is taken by a connection nobody accepts. Linux drops SYNs to a full queue.
pub struct BlackHole {
    _socket: Socket,
    _queued: TcpStream,
    pub addr: SocketAddr,
}

pub fn black_hole() -> BlackHole {
    let socket = bound("127.0.0.1:0");
    socket.listen(0).expect("listen");
    let addr = local_addr(&socket);
    let queued = TcpStream::connect(addr).expect("the first connection fills the queue");
    // Make sure the queue really is full: a further connection must not complete.
    let overflow = TcpStream::connect_timeout(&addr, Duration::from_millis(200));
    assert!(overflow.is_err(), "the black hole let a connection through");
    BlackHole { _socket: socket, _queued: queued, addr }
}

/// A port that refuses connections now and starts listening after `delay`.
pub fn listening_after(delay: Duration) -> (SocketAddr, thread::JoinHandle<Socket>) {
    let socket = bound("127.0.0.1:0");
    let addr = local_addr(&socket);
    let opener = thread::spawn(move || {
        thread::sleep(delay);
        socket.listen(16).expect("listen");
        socket
    });
    (addr, opener)
}

/// A fake server on an ephemeral port: `each` runs on every connection, in a thread of its own,
/// with reads given up after `patience`, for as long as the tests run. The accept loop of every
/// hand-made peer here.
pub fn serving<F>(patience: Duration, each: F) -> SocketAddr
where
    F: Fn(TcpStream) + Clone + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(patience));
            let each = each.clone();
            thread::spawn(move || each(stream));
        }
    });
    addr
}

/// A server that writes `bytes` to every connection as soon as it is accepted (whatever the
/// client says), then holds the connection open for a while: a peer speaking another protocol.
pub fn answering(bytes: &'static [u8]) -> SocketAddr {
    use std::io::Write;
    serving(Duration::from_secs(5), move |mut stream| {
        let _ = stream.write_all(bytes);
        thread::sleep(Duration::from_secs(5));
    })
}

/// How a hand-made hostile peer behaves once it has read what the client sent first.
#[derive(Clone, Copy)]
pub enum Script {
    /// Never answers.
    Silent,
    /// Answers these bytes, then holds the connection open without a word more.
    Say(&'static [u8]),
    /// Answers these bytes one at a time, `Duration` apart.
    Trickle(&'static [u8], Duration),
    /// Answers a header line, then an endless header of `X`s.
    EndlessHeader,
    /// Resets the connection (RST, not FIN) as soon as the client has spoken.
    Reset,
}

/// A peer that follows `script` on every connection: for faults a real server cannot produce.
pub fn scripted(script: Script) -> SocketAddr {
    use std::io::{Read, Write};
    serving(Duration::from_millis(200), move |mut stream| {
        let _ = stream.read(&mut [0u8; 4096]);
        match script {
            Script::Silent => thread::sleep(Duration::from_secs(10)),
            Script::Say(bytes) => {
                let _ = stream.write_all(bytes);
                thread::sleep(Duration::from_secs(10));
            }
            Script::Trickle(bytes, gap) => {
                for byte in bytes {
                    if stream.write_all(&[*byte]).is_err() {
                        return;
                    }
                    thread::sleep(gap);
                }
            }
            Script::EndlessHeader => {
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nX-Padding: ");
                let chunk = [b'X'; 64 * 1024];
                for _ in 0..(64 * 16) {
                    if stream.write_all(&chunk).is_err() {
                        return;
                    }
                }
            }
            Script::Reset => {
                let socket = socket2::SockRef::from(&stream);
                let _ = socket.set_linger(Some(Duration::ZERO));
            }
        }
    })
}

/// A port that accepts every connection and closes it at once, with a deep accept queue: for
/// many clients at the same time.
pub fn accepting() -> SocketAddr {
    let socket = bound("127.0.0.1:0");
    socket.listen(4096).expect("listen");
    let addr = local_addr(&socket);
    let listener: TcpListener = socket.into();
    thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream);
        }
    });
    addr
}
