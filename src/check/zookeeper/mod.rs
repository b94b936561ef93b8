//! `probe zookeeper`: opens a real session, as ZooKeeper's own client does (ConnectRequest,
//! ConnectResponse with a session id), then closes it with closeSession, so no session lingers
//! until its timeout. It needs no four-letter word, which ZooKeeper 3.5.3 turned off by default;
//! `--expect-mode` asks `srvr` (the one allowed by default) on a second connection. A connect
//! string is one target, healthy when any of its hosts is, tried in order (`target`); the
//! protocol is in `wire`, spoken over `net`'s stream.

#[cfg(any(test, fuzzing))]
pub mod fuzz;
pub mod target;
pub mod wire;

use std::{io::Write, sync::Arc, time::Duration};

use self::{
    target::ConnectString,
    wire::{Failure, Session, Srvr},
};
use super::{Check, Target};
use crate::{
    deadline::Deadline,
    env::Env,
    net::{self, Endpoint, HostPort, Stream},
    outcome::{Status, Verdict},
    tls::{self, Tls, TlsArgs},
    trace::Trace,
};

/// ZooKeeper's words for a TLS port asked in plain text and the reverse.
const PROTOCOL: net::Protocol =
    net::Protocol { name: "ZooKeeper's protocol", use_tls: "add --tls", drop_tls: "drop --tls" };

/// How long closeSession's reply is waited for, at most: the server writes a transaction for
/// it first. A reply that does not come leaves the verdict as it is: the server has the
/// request, and the session ends at its timeout anyway.
const CLOSE_WAIT: Duration = Duration::from_millis(500);

/// How long the server's close of the connection is awaited after closeSession's reply, at
/// most: ZooKeeper closes at once.
const SERVER_CLOSE_WAIT: Duration = Duration::from_millis(100);

/// How long srvr is given to tell a server that is not serving from a TLS port, at most.
const SRVR_PATIENCE: Duration = Duration::from_millis(300);

#[derive(Debug, clap::Args)]
#[command(after_long_help = crate::docs::environment(&[("SSL_CERT_FILE", "a PEM file of trusted CAs for --tls when --cacert is not given, as OpenSSL reads it")]))]
pub struct Args {
    /// host[:port] (port 2181 by default), or a ZooKeeper connect string
    /// host1:2181,host2:2181,host3:2181[/chroot] as one target, healthy when any host is (tried
    /// in order).
    #[arg(value_name = "TARGET", required = true)]
    targets: Vec<String>,

    /// Healthy only on a server in this mode, read from srvr's Mode: line (srvr must be in the
    /// server's 4lw.commands.whitelist, as it is by default).
    #[arg(long, value_enum, value_name = "MODE")]
    expect_mode: Option<Mode>,

    /// A read-only session (the server lost its quorum and serves reads only) is healthy.
    #[arg(long)]
    allow_read_only: bool,

    /// Speak TLS: the server's secureClientPort.
    #[arg(long = "tls")]
    use_tls: bool,

    #[command(flatten)]
    tls: TlsArgs,
}

/// A server's role, as srvr's `Mode:` line names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Leader,
    Follower,
    Observer,
    Standalone,
}

impl Mode {
    fn word(self) -> &'static str {
        match self {
            Mode::Leader => "leader",
            Mode::Follower => "follower",
            Mode::Observer => "observer",
            Mode::Standalone => "standalone",
        }
    }
}

impl Args {
    /// Every connect string read, and the TLS files, before any I/O.
    pub fn targets(self, env: &dyn Env) -> anyhow::Result<Vec<Target>> {
        let strings = self
            .targets
            .iter()
            .map(|text| ConnectString::parse(text).map_err(|why| anyhow::anyhow!("ZooKeeper target: {why}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let tls = Tls::load(&self.tls, env, self.use_tls)?;
        let config = match self.use_tls {
            true => Some(Arc::new(tls.for_rustls()?)),
            false => None,
        };
        Ok(strings
            .into_iter()
            .map(|string| {
                let check = ZooKeeper {
                    hosts: string.hosts,
                    tls: config.clone(),
                    expect_mode: self.expect_mode,
                    allow_read_only: self.allow_read_only,
                };
                Target { label: string.label, check: Arc::new(check) }
            })
            .collect())
    }
}

struct ZooKeeper {
    hosts: Vec<HostPort>,
    tls: Option<Arc<rustls::ClientConfig>>,
    expect_mode: Option<Mode>,
    allow_read_only: bool,
}

impl Check for ZooKeeper {
    /// Each host in turn, each given an equal share of the time left, until one passes. When
    /// none does, every host's verdict is told, and the status is the least severe of them: a
    /// server that answered "not serving" says more about the ensemble than one that is down.
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        if let [host] = self.hosts.as_slice() {
            return self.one_host(host, deadline, trace);
        }
        let mut failures = Vec::new();
        for (index, host) in self.hosts.iter().enumerate() {
            let left = u32::try_from(self.hosts.len() - index).unwrap_or(u32::MAX);
            let share = deadline.remaining() / left;
            let verdict = if share.is_zero() {
                Verdict::unreachable("no time left to try it")
            } else {
                self.one_host(host, Deadline::new(share, None), trace)
            };
            if verdict.status == Status::Healthy {
                return Verdict::healthy(format!("{host}: {}", verdict.message));
            }
            failures.push((host, verdict));
        }
        let status = failures.iter().map(|(_, verdict)| verdict.status).min().unwrap_or(Status::Unreachable);
        let message =
            failures.iter().map(|(host, verdict)| format!("{host}: {}", verdict.message)).collect::<Vec<_>>();
        Verdict { status, message: message.join("; ") }
    }
}

impl ZooKeeper {
    /// One server: a session opened and closed, then its mode if asked.
    fn one_host(&self, host: &HostPort, deadline: Deadline, trace: &Trace) -> Verdict {
        let session = match self.session(host, deadline, trace) {
            Ok(session) => session,
            Err(verdict) => return verdict,
        };
        let kind = if session.read_only { "read-only session" } else { "session" };
        let opened = format!("{kind} {:#x} opened and closed", session.id);
        if session.read_only && !self.allow_read_only {
            return Verdict::unhealthy(
                "the server is read-only (it has lost its quorum): it opened a read-only session \
                 (--allow-read-only accepts that)",
            );
        }
        match self.expect_mode {
            None => Verdict::healthy(opened),
            Some(expected) => self.judge_mode(&opened, expected, host, deadline, trace),
        }
    }

    fn connect(&self, host: &HostPort, deadline: Deadline, trace: &Trace) -> Result<Stream, Verdict> {
        let endpoint = Endpoint::Tcp(host.clone());
        let socket = net::open(&endpoint, deadline, trace).map_err(Verdict::unreachable)?;
        match &self.tls {
            None => Ok(socket.into()),
            Some(config) => {
                trace.enter("tls");
                tls::handshake(socket, &host.host, Arc::clone(config), deadline, &PROTOCOL).map_err(|why| {
                    // ZooKeeper's plain port reads a ClientHello as a frame far too long, and
                    // closes without a word.
                    match why.starts_with("connection closed by peer during") {
                        true => Verdict::unreachable(format!(
                            "{why}: a plain-text ZooKeeper port closes so ({})",
                            PROTOCOL.drop_tls
                        )),
                        false => Verdict::unreachable(why),
                    }
                })
            }
        }
    }

    /// ConnectRequest, ConnectResponse, then closeSession.
    fn session(&self, host: &HostPort, deadline: Deadline, trace: &Trace) -> Result<Session, Verdict> {
        let mut stream = self.connect(host, deadline, trace)?;
        trace.enter("session");
        stream.set_timeout(deadline.socket_timeout());
        let plain = !stream.is_tls();
        let answer = stream
            .write_all(&wire::connect_request(true))
            .map_err(Failure::Io)
            .and_then(|()| wire::read_frame(&mut stream));
        let body = match answer {
            Ok(body) => body,
            Err(Failure::Closed) => {
                drop(stream);
                return Err(self.closed_instead(plain, host, deadline, trace));
            }
            Err(failure) => return Err(unreachable(&failure)),
        };
        let session = match wire::parse_connect_response(&body) {
            Some(session) => session,
            None => {
                stream.close();
                return Err(refused_session(&body));
            }
        };
        if session.id == 0 {
            stream.close();
            return Err(Verdict::unhealthy("the server answered without a session (session id 0)"));
        }
        close_session(&mut stream, deadline);
        stream.close();
        Ok(session)
    }

    /// The verdict on a server that closed the connection instead of answering the
    /// ConnectRequest: what ZooKeeper does when it is not serving, and what a TLS port does to
    /// plain text. Over plain text, srvr tells the two apart when the server answers it.
    fn closed_instead(&self, plain: bool, host: &HostPort, deadline: Deadline, trace: &Trace) -> Verdict {
        let said = "the server closed the connection instead of opening a session: it is not serving";
        if !plain {
            return Verdict::unhealthy(format!("{said} (no quorum, or still starting)"));
        }
        // A TLS port waits for a whole TLS record and never answers four bytes: srvr gets a
        // short while.
        let patience = Deadline::new((deadline.remaining() / 2).min(SRVR_PATIENCE), None);
        match self.srvr(host, patience, trace) {
            Ok(Srvr::NotServing) => {
                Verdict::unhealthy(format!("{said} (srvr: \"This ZooKeeper instance is not currently serving requests\")"))
            }
            Ok(Srvr::Mode(_) | Srvr::NotAllowed | Srvr::Other(_)) => {
                Verdict::unhealthy(format!("{said} (no quorum, or still starting)"))
            }
            Ok(Srvr::Nothing) | Err(_) => Verdict::unhealthy(format!(
                "{said} (no quorum, or still starting), or the port speaks TLS ({})",
                PROTOCOL.use_tls
            )),
        }
    }

    /// srvr on a connection of its own: the answer, read to its end.
    fn srvr(&self, host: &HostPort, deadline: Deadline, trace: &Trace) -> Result<Srvr, Verdict> {
        let mut stream = self.connect(host, deadline, trace)?;
        trace.enter("mode");
        stream.set_timeout(deadline.socket_timeout());
        let answer = stream.write_all(b"srvr").and_then(|()| read_to_end(&mut stream, wire::LONGEST_SRVR));
        stream.close();
        answer.map(|answer| wire::parse_srvr(&answer)).map_err(|err| Verdict::unreachable(net::describe(&err)))
    }

    /// srvr's `Mode:` line against `expected`.
    fn judge_mode(&self, opened: &str, expected: Mode, host: &HostPort, deadline: Deadline, trace: &Trace) -> Verdict {
        let wanted = expected.word();
        match self.srvr(host, deadline, trace) {
            Err(verdict) => Verdict { message: format!("{opened}, but srvr failed: {}", verdict.message), ..verdict },
            Ok(Srvr::Mode(mode)) if mode == wanted => Verdict::healthy(format!("{opened}, mode {mode}")),
            Ok(Srvr::Mode(mode)) => Verdict::unhealthy(format!("{opened}, but the mode is {mode}, not {wanted}")),
            Ok(Srvr::NotAllowed) => Verdict::unhealthy(format!(
                "{opened}, but the server refuses srvr, which --expect-mode asks: allow it with the line \
                 4lw.commands.whitelist=srvr in zoo.cfg (added to the words already listed there)"
            )),
            Ok(Srvr::NotServing) => Verdict::unhealthy(format!("{opened}, but srvr says it is not serving requests")),
            Ok(Srvr::Nothing) => Verdict::unhealthy(format!(
                "{opened}, but srvr got no answer (ClickHouse Keeper closes so when srvr is not in its \
                 four_letter_word_white_list)"
            )),
            Ok(Srvr::Other(line)) => {
                Verdict::unhealthy(format!("{opened}, but srvr answered without a Mode: line: {line}"))
            }
        }
    }
}

/// closeSession, its reply read and the server's close of the connection awaited (within
/// [`CLOSE_WAIT`] and the deadline), so the session is gone when probe exits and the server
/// logs nothing.
fn close_session(stream: &mut Stream, deadline: Deadline) {
    let left = deadline.remaining().saturating_sub(Duration::from_millis(5));
    if left.is_zero() {
        return;
    }
    stream.set_timeout(left.min(CLOSE_WAIT));
    if stream.write_all(&wire::close_session()).is_err() {
        return;
    }
    // Watch notifications could come first in a reused session; a new one has none, but a
    // reply to another xid is skipped all the same.
    for _ in 0..4 {
        match wire::read_frame(stream).ok().and_then(|body| wire::parse_reply_header(&body)) {
            Some((xid, _)) if xid == wire::CLOSE_XID => {
                // The server closes the connection after the reply: let it close first, or a
                // close of ours that it reads before it has closed is logged as a warning
                // ("Unable to read additional data from client").
                // A server that keeps the connection open is not waited for long.
                stream.set_timeout(left.min(CLOSE_WAIT).min(SERVER_CLOSE_WAIT));
                let _ = std::io::Read::read(stream, &mut [0u8; 64]);
                return;
            }
            Some(_) => {}
            None => return,
        }
    }
}

/// Reads until the peer closes, at most `longest` bytes. A TLS peer that closes without
/// close_notify (ZooKeeper's Netty server, after a four-letter word) has still said it all.
fn read_to_end(stream: &mut Stream, longest: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while answer.len() < longest {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n.min(longest - answer.len())]),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof && stream.is_tls() => break,
            Err(err) => return Err(err),
        }
    }
    Ok(answer)
}

/// A ConnectRequest answered by a reply header instead of a ConnectResponse: the server
/// refused the session with an error code (a read-only server without local sessions answers
/// NOTREADONLY); anything else is not the protocol.
fn refused_session(body: &[u8]) -> Verdict {
    match wire::parse_reply_header(body) {
        Some((_, wire::NOT_READ_ONLY)) if body.len() == 16 => Verdict::unhealthy(
            "the server is read-only (it has lost its quorum) and refused the session: NOTREADONLY \
             (a read-only server opens sessions only with localSessionsEnabled=true)",
        ),
        Some((_, code)) if body.len() == 16 && code != 0 => {
            Verdict::unhealthy(format!("the server refused the session with error {code}"))
        }
        _ => Verdict::unreachable("the answer is not a ZooKeeper ConnectResponse"),
    }
}

/// No usable answer to the ConnectRequest.
fn unreachable(failure: &Failure) -> Verdict {
    Verdict::unreachable(match failure {
        Failure::Closed => "connection closed by peer".to_owned(),
        Failure::SpeaksTls => PROTOCOL.speaks_tls(),
        Failure::NotZooKeeper => "the answer is not ZooKeeper's protocol".to_owned(),
        Failure::Io(err) => net::describe(err),
    })
}
