//! `rediss://` to a plain-text Redis port. Redis reads a command up to its newline, looking for
//! it as a C string, and a TLS ClientHello has a NUL byte before any newline: a plain server
//! never answers one, and the handshake would only time out. So a handshake that has had no
//! answer for a while is checked on a second connection with a plain-text PING; a Redis answer
//! there means the port speaks plain text, and the handshake is cut short to say so. A TLS
//! server that answers in time never sees the second connection.

use std::{
    io::{Read, Write},
    sync::{Arc, Condvar, Mutex},
    thread,
    time::Duration,
};

use super::PROTOCOL;
use crate::{
    deadline::Deadline,
    net::{self, Endpoint, Socket, Stream},
    tls,
    trace::Trace,
};

/// How long a handshake may go unanswered before the port is asked in plain text: a quarter of
/// the time left, at most this. A TLS server on a busy machine answers well within it.
const PATIENCE: Duration = Duration::from_millis(200);

/// Where the handshake stands, as the watcher and the handshake see it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Handshaking,
    Done,
    /// The port answered a plain PING: the handshake's socket was shut down.
    Plain,
}

/// `tls::handshake`, watched: when no answer has come after a while and the port answers a
/// plain-text PING, it ends at once with `PROTOCOL.speaks_plain()`.
pub fn handshake(
    socket: Socket,
    endpoint: &Endpoint,
    name: &str,
    config: Arc<rustls::ClientConfig>,
    deadline: Deadline,
) -> Result<Stream, String> {
    let Socket::Tcp(tcp) = &socket else {
        return tls::handshake(socket, name, config, deadline, &PROTOCOL);
    };
    let Ok(handle) = tcp.try_clone() else {
        return tls::handshake(socket, name, config, deadline, &PROTOCOL);
    };
    let state = Arc::new((Mutex::new(State::Handshaking), Condvar::new()));
    let watcher_state = Arc::clone(&state);
    let endpoint = endpoint.clone();
    let patience = (deadline.remaining() / 4).min(PATIENCE);
    thread::spawn(move || {
        let (lock, changed) = &*watcher_state;
        let Ok(guard) = lock.lock() else { return };
        let waited = changed.wait_timeout_while(guard, patience, |state| *state == State::Handshaking);
        if waited.is_ok_and(|(state, _)| *state != State::Handshaking) {
            return;
        }
        if answers_plain_ping(&endpoint, deadline)
            && let Ok(mut state) = lock.lock()
            && *state == State::Handshaking
        {
            *state = State::Plain;
            let _ = handle.shutdown(std::net::Shutdown::Both);
        }
    });
    let result = tls::handshake(socket, name, config, deadline, &PROTOCOL);
    let (lock, changed) = &*state;
    let mut guard = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if *guard == State::Plain {
        return Err(PROTOCOL.speaks_plain());
    }
    *guard = State::Done;
    changed.notify_all();
    result
}

/// True when `endpoint` answers `PING` in plain text as Redis does (`+PONG`, or an error such
/// as `-NOAUTH`), within the deadline.
fn answers_plain_ping(endpoint: &Endpoint, deadline: Deadline) -> bool {
    let Ok(mut socket) = net::open(endpoint, deadline, &Trace::default()) else { return false };
    let mut first = [0u8; 1];
    let answered = socket.write_all(b"PING\r\n").is_ok() && socket.read_exact(&mut first).is_ok();
    socket.shutdown_write();
    answered && matches!(first[0], b'+' | b'-')
}
