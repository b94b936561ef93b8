//! One attempt at a target, as libpq makes a connection: each host of the list in turn (shuffled
//! with load_balance_hosts=random), each under connect_timeout; TLS as sslmode says, with
//! libpq's retries (allow: plain, then TLS if the server refuses; prefer: TLS, then plain if
//! the handshake fails or the server refuses); a host that is not what target_session_attrs
//! asks for is left for the next. Then the role check and the query, which is cancelled on the
//! server (a CancelRequest) if the deadline comes first.

use std::{
    io,
    net::{SocketAddr, TcpStream},
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use tokio_postgres::{SimpleQueryMessage, config::SslMode as WireSsl, tls::MakeTlsConnect};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{
    Role, ping,
    settings::{Address, DEFAULT_SOCKET_DIR, Host, SessionAttrs, Settings, SslMode},
    watch::{Expect, MarkTls, NotPostgres, Progress, TlsSetup, Watched},
};
use crate::{
    check::Check,
    deadline::Deadline,
    net::{self, HostPort},
    outcome::{Status, Verdict},
    tls,
    trace::Trace,
};

pub enum Mode {
    Ping,
    Login { query: Option<String>, expect_role: Option<Role> },
}

pub struct Postgres {
    pub settings: Settings,
    pub mode: Arc<Mode>,
}

/// What one host came to.
enum Step {
    /// The target's verdict: libpq stops here too.
    Done(Verdict),
    /// Not this host (down, starting up, or not the session asked for): try the next one.
    Next(Status, String),
}

/// Where a connection went, to open a second one for a CancelRequest.
#[derive(Clone)]
enum Peer {
    Tcp(SocketAddr),
    Unix(PathBuf),
    Abstract(String),
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Check for Postgres {
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build() {
            Ok(runtime) => runtime,
            Err(err) => return Verdict::unreachable(format!("cannot start the I/O runtime: {err}")),
        };
        runtime.block_on(async {
            tokio::time::timeout(deadline.remaining(), self.hosts(deadline, trace))
                .await
                .unwrap_or_else(|_| deadline.timed_out(trace))
        })
    }
}

impl Postgres {
    async fn hosts(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        let s = &self.settings;
        let mut order: Vec<&Host> = s.hosts.iter().collect();
        if s.load_balance {
            shuffle(&mut order);
        }
        let passes: &[SessionAttrs] = match s.target {
            // libpq: a standby if there is one, else any.
            SessionAttrs::PreferStandby => &[SessionAttrs::Standby, SessionAttrs::Any],
            ref target => std::slice::from_ref(target),
        };
        let mut failures = Vec::new();
        for want in passes {
            for host in &order {
                let step = self.host(host, *want, deadline, trace).await;
                match step {
                    Step::Done(verdict) => return verdict,
                    Step::Next(status, why) => failures.push((status, host_name(host), why)),
                }
            }
        }
        let status = if failures.iter().any(|(status, ..)| *status == Status::Unhealthy) {
            Status::Unhealthy
        } else {
            Status::Unreachable
        };
        let message = match failures.as_slice() {
            [(_, _, why)] => why.clone(),
            many => many.iter().map(|(_, host, why)| format!("{host}: {why}")).collect::<Vec<_>>().join("; "),
        };
        Verdict { status, message }
    }

    /// One host: connect (with libpq's TLS retries), check the session, then the work.
    async fn host(&self, host: &Host, want: SessionAttrs, deadline: Deadline, trace: &Trace) -> Step {
        // connect_timeout bounds each host's connection (not the query), under -t.
        let capped = self.settings.connect_timeout.filter(|cap| *cap < deadline.remaining());
        let host_deadline = capped.map_or(deadline, |cap| Deadline::new(cap, None));
        let too_slow = || {
            let cap = crate::duration::setting(capped.unwrap_or_default());
            Step::Next(Status::Unreachable, format!("timed out after {cap} (connect_timeout)"))
        };
        let tls_possible = matches!(host.address, Address::Tcp { .. } | Address::Default)
            && self.settings.sslmode != SslMode::Disable;
        if let Mode::Ping = *self.mode {
            let (stream, _) = match self.open(host, host_deadline, trace) {
                Ok(opened) => opened,
                Err(why) => return Step::Next(Status::Unreachable, why),
            };
            let verdict = self.ping(stream, host_deadline, trace);
            if capped.is_some()
                && host_deadline.remaining().is_zero()
                && verdict.status == Status::Unreachable
            {
                return too_slow();
            }
            // As libpq: a server that cannot take connections now sends us on to the next host.
            return match verdict.status {
                Status::Healthy => Step::Done(verdict),
                status => Step::Next(status, verdict.message),
            };
        }
        let first = match (self.settings.sslmode, tls_possible) {
            (_, false) | (SslMode::Disable | SslMode::Allow, _) => Wire::Plain,
            (SslMode::Prefer, true) => Wire::PreferTls,
            (_, true) => Wire::RequireTls,
        };
        let (mut wire, mut retried) = (first, false);
        loop {
            let (stream, peer) = match self.open(host, host_deadline, trace) {
                Ok(opened) => opened,
                Err(why) => return Step::Next(Status::Unreachable, why),
            };
            let progress = Arc::new(Progress::default());
            let connecting = self.connect(stream, host, wire, &progress, trace);
            let result = match capped {
                Some(_) => match tokio::time::timeout(host_deadline.remaining(), connecting).await {
                    Ok(result) => result,
                    Err(_) => return too_slow(),
                },
                None => connecting.await,
            };
            let err = match result {
                Ok(session) => return self.session(session, host, want, peer, deadline, trace).await,
                Err(Failure::Local(why)) => return Step::Done(Verdict::unreachable(why)),
                Err(Failure::Pg(err)) => err,
            };
            let code = err.as_db_error().map(|db| db.code().code().to_owned());
            // libpq: a server starting up or shutting down sends us on to the next host.
            if code.as_deref() == Some("57P03") {
                return Step::Next(Status::Unhealthy, self.describe(&err, host, wire, &progress));
            }
            let refused = code.is_some() && !progress.auth_ok.load(Ordering::Relaxed);
            let tls_used = progress.tls_used.load(Ordering::Relaxed);
            let retry = match wire {
                // allow: the server refused a plain session; try TLS (plain again if it has none).
                Wire::Plain if self.settings.sslmode == SslMode::Allow && tls_possible && refused => {
                    Some(Wire::PreferTls)
                }
                // prefer: the handshake failed, or the server refused the TLS session; try plain.
                Wire::PreferTls
                    if tls_used
                        && (refused || code.is_none())
                        && !progress.auth_ok.load(Ordering::Relaxed) =>
                {
                    Some(Wire::Plain)
                }
                _ => None,
            };
            match retry {
                Some(next) if !retried => (wire, retried) = (next, true),
                _ => return Step::Done(self.describe_verdict(&err, host, wire, &progress)),
            }
        }
    }

    fn open(&self, host: &Host, deadline: Deadline, trace: &Trace) -> Result<(Stream, Peer), String> {
        let tcp = |name: &str, hostaddr: Option<std::net::IpAddr>| -> Result<(Stream, Peer), String> {
            trace.enter("resolve");
            let addrs = match hostaddr {
                Some(ip) => vec![SocketAddr::new(ip, host.port)],
                None => net::resolve(&HostPort { host: name.to_owned(), port: host.port })?,
            };
            trace.enter("connect");
            let stream = net::connect(&addrs, deadline)?;
            let _ = stream.set_nodelay(true);
            let peer = stream.peer_addr().map_or(Peer::Tcp(addrs[0]), Peer::Tcp);
            Ok((Stream::Tcp(stream), peer))
        };
        match &host.address {
            Address::Tcp { name, hostaddr } => tcp(name, *hostaddr),
            Address::Default => {
                let socket = Path::new(DEFAULT_SOCKET_DIR).join(format!(".s.PGSQL.{}", host.port));
                if socket.exists() { self.unix(&Peer::Unix(socket), trace) } else { tcp("localhost", None) }
            }
            Address::Unix(dir) => self.unix(&Peer::Unix(dir.join(format!(".s.PGSQL.{}", host.port))), trace),
            Address::Abstract(name) => {
                self.unix(&Peer::Abstract(format!("{name}/.s.PGSQL.{}", host.port)), trace)
            }
        }
    }

    fn unix(&self, peer: &Peer, trace: &Trace) -> Result<(Stream, Peer), String> {
        trace.enter("connect");
        connect_unix(peer).map(|stream| (Stream::Unix(stream), peer.clone()))
    }

    fn ping(&self, stream: Stream, deadline: Deadline, trace: &Trace) -> Verdict {
        trace.enter("ping");
        let s = &self.settings;
        let packet = ping::startup_packet(&s.user, &s.dbname, &s.application_name);
        let timeout = Some(deadline.socket_timeout());
        match stream {
            Stream::Tcp(mut tcp) => {
                let _ = (tcp.set_read_timeout(timeout), tcp.set_write_timeout(timeout));
                ping::exchange(&mut tcp, &packet)
            }
            Stream::Unix(mut unix) => {
                let _ = (unix.set_read_timeout(timeout), unix.set_write_timeout(timeout));
                ping::exchange(&mut unix, &packet)
            }
        }
    }

    fn config(&self, host: &Host, wire: Wire) -> tokio_postgres::Config {
        let s = &self.settings;
        let mut config = tokio_postgres::Config::new();
        config.user(&s.user).dbname(&s.dbname).application_name(&s.application_name);
        if let Some(password) = &host.password {
            config.password(password.expose());
        }
        if let Some(options) = &s.options {
            config.options(options);
        }
        config.channel_binding(s.channel_binding);
        config.ssl_mode(match wire {
            Wire::Plain => WireSsl::Disable,
            Wire::PreferTls => WireSsl::Prefer,
            Wire::RequireTls => WireSsl::Require,
        });
        if s.direct_tls {
            config.ssl_negotiation(tokio_postgres::config::SslNegotiation::Direct);
        }
        config
    }

    /// The TLS connector for this host, named as the certificate must name it. The TLS files
    /// are read here, when TLS starts, as libpq reads them.
    fn tls_connect(&self, host: &Host) -> Result<Connector, String> {
        let server_name = match &host.address {
            Address::Tcp { name, .. } if !name.is_empty() => name.clone(),
            Address::Tcp { hostaddr: Some(addr), .. } => addr.to_string(),
            _ => "localhost".to_owned(),
        };
        let config = super::tls_config(&self.settings)?;
        let mut make = MakeRustlsConnect::new((*config).clone());
        MakeTlsConnect::<tokio::net::TcpStream>::make_tls_connect(&mut make, &server_name)
            .map_err(|err| format!("TLS: {err}"))
    }

    async fn connect(
        &self,
        stream: Stream,
        host: &Host,
        wire: Wire,
        progress: &Arc<Progress>,
        trace: &Trace,
    ) -> Result<Session, Failure> {
        let config = self.config(host, wire);
        let stream = into_tokio(stream).map_err(|err| Failure::Local(net::describe(&err)))?;
        match (stream, wire) {
            (TokioStream::Tcp(tcp), Wire::PreferTls | Wire::RequireTls) => {
                trace.enter("tls");
                let expect = if self.settings.direct_tls { Expect::Nothing } else { Expect::SslAnswer };
                let tcp = Watched::new(tcp, trace, expect, progress);
                let build = || self.tls_connect(host);
                let tls = MarkTls { build, trace: trace.clone(), progress: Arc::clone(progress) };
                let (client, connection) = config.connect_raw(tcp, tls).await.map_err(Failure::Pg)?;
                Ok(Session::spawn(client, connection, progress.tls_used.load(Ordering::Relaxed)))
            }
            (TokioStream::Tcp(tcp), Wire::Plain) => {
                trace.enter("auth");
                let tcp = Watched::new(tcp, trace, Expect::StartupAnswer, progress);
                let (client, connection) =
                    config.connect_raw(tcp, tokio_postgres::NoTls).await.map_err(Failure::Pg)?;
                Ok(Session::spawn(client, connection, false))
            }
            (TokioStream::Unix(unix), _) => {
                trace.enter("auth");
                let unix = Watched::new(unix, trace, Expect::StartupAnswer, progress);
                let (client, connection) =
                    config.connect_raw(unix, tokio_postgres::NoTls).await.map_err(Failure::Pg)?;
                Ok(Session::spawn(client, connection, false))
            }
        }
    }

    /// A session is open: is it the one target_session_attrs asks for, then the role and query.
    #[allow(clippy::too_many_arguments)]
    async fn session(
        &self,
        session: Session,
        host: &Host,
        want: SessionAttrs,
        peer: Peer,
        deadline: Deadline,
        trace: &Trace,
    ) -> Step {
        let Session { client, running, parameters, tls } = session;
        let step = async {
            if want != SessionAttrs::Any {
                trace.enter("query");
                if let Some(why) = mismatch(&client, &parameters, want).await {
                    return why;
                }
            }
            Step::Done(self.work(&client, host, peer, tls, deadline, trace).await)
        }
        .await;
        // Dropping the client sends Terminate; waiting for the connection lets it reach the server.
        drop(client);
        let _ = running.await;
        step
    }

    #[allow(clippy::too_many_arguments)]
    async fn work(
        &self,
        client: &tokio_postgres::Client,
        host: &Host,
        peer: Peer,
        tls: bool,
        deadline: Deadline,
        trace: &Trace,
    ) -> Verdict {
        let Mode::Login { query, expect_role } = &*self.mode else {
            return Verdict::healthy("accepting connections");
        };
        let s = &self.settings;
        let mut seen = format!("logged in as {} to {}", s.user, s.dbname);
        if expect_role.is_some() || query.is_some() {
            trace.enter("query");
        }
        if let Some(expected) = expect_role {
            let in_recovery =
                match first_value(client.simple_query("SELECT pg_catalog.pg_is_in_recovery()").await) {
                    Ok(value) => value.as_deref() == Some("t"),
                    Err(err) => return describe_query(&err, "pg_is_in_recovery()"),
                };
            let (role, wanted) =
                (if in_recovery { "replica" } else { "primary" }, *expected == Role::Replica);
            if in_recovery != wanted {
                let wanted = if wanted { "replica" } else { "primary" };
                return Verdict::unhealthy(format!("{seen}, but it is a {role}, not a {wanted}"));
            }
            seen.push_str(&format!(", {role}"));
        }
        if let Some(sql) = query {
            // Leave time to cancel the query on the server before the deadline: a probe that
            // gives up must not leave its query running.
            let left = deadline.remaining();
            let budget = left.saturating_sub((left / 4).min(Duration::from_millis(200)));
            match tokio::time::timeout(budget, client.simple_query(sql)).await {
                Ok(Ok(messages)) => {
                    let rows = messages.iter().filter(|m| matches!(m, SimpleQueryMessage::Row(_))).count();
                    seen.push_str(&format!(
                        ", query returned {rows} row{}",
                        if rows == 1 { "" } else { "s" }
                    ));
                }
                Ok(Err(err)) => return describe_query(&err, "the query"),
                Err(_) => {
                    self.cancel(client, host, &peer, tls).await;
                    return deadline.timed_out(trace);
                }
            }
        }
        Verdict::healthy(seen)
    }

    /// Sends a CancelRequest for the running query over a new connection to the same server.
    async fn cancel(&self, client: &tokio_postgres::Client, host: &Host, peer: &Peer, tls: bool) {
        let token = client.cancel_token();
        match peer {
            Peer::Tcp(addr) => {
                let Ok(stream) = tokio::net::TcpStream::connect(addr).await else { return };
                match (tls, self.tls_connect(host)) {
                    (true, Ok(connect)) => {
                        let _ = token.cancel_query_raw(stream, connect).await;
                    }
                    _ => {
                        let _ = token.cancel_query_raw(stream, tokio_postgres::NoTls).await;
                    }
                }
            }
            unix => {
                let Ok(stream) = connect_unix(unix).and_then(|s| {
                    s.set_nonblocking(true).map_err(|e| e.to_string())?;
                    tokio::net::UnixStream::from_std(s).map_err(|e| e.to_string())
                }) else {
                    return;
                };
                let _ = token.cancel_query_raw(stream, tokio_postgres::NoTls).await;
            }
        }
    }

    fn describe_verdict(
        &self,
        err: &tokio_postgres::Error,
        host: &Host,
        wire: Wire,
        progress: &Progress,
    ) -> Verdict {
        let message = self.describe(err, host, wire, progress);
        match err.as_db_error() {
            Some(_) => Verdict::unhealthy(message),
            None if message.starts_with("the server asks for a password") => Verdict::unhealthy(message),
            None if message.starts_with("channel_binding=require") => Verdict::unhealthy(message),
            None => Verdict::unreachable(message),
        }
    }

    /// A server's error is quoted with its SQLSTATE; anything else is said in probe's words.
    fn describe(&self, err: &tokio_postgres::Error, host: &Host, wire: Wire, progress: &Progress) -> String {
        if let Some(db) = err.as_db_error() {
            return format!("{} {}", db.code().code(), db.message());
        }
        // tokio-postgres has no public error kind; this is its exact cause for a server that
        // asks for a password when none was given (pinned by a test against a real server).
        let cause = std::error::Error::source(err).map(ToString::to_string);
        if host.password.is_none() && cause.as_deref() == Some("password missing") {
            let mut message =
                "the server asks for a password and none was given (PGPASSWORD, --password-file, the URL or ~/.pgpass)".to_owned();
            if let Some(note) = &self.settings.passfile_note {
                message.push_str("; ");
                message.push_str(note);
            }
            return message;
        }
        // tokio-postgres's cause for libpq's three "channel binding required" refusals: the
        // server logged us in without SCRAM (trust, md5, password) or offered SCRAM without
        // channel binding (no TLS, or a server without SCRAM-SHA-256-PLUS).
        if cause.as_deref() == Some("server did not use channel binding") {
            return "channel_binding=require, but the server authenticated without channel binding (it needs SCRAM over TLS)".to_owned();
        }
        if wire == Wire::RequireTls && progress.refused_tls.load(Ordering::Relaxed) {
            return format!(
                "the server does not support TLS, but sslmode={} requires it",
                match self.settings.sslmode {
                    SslMode::VerifyCa => "verify-ca",
                    SslMode::VerifyFull => "verify-full",
                    _ => "require",
                }
            );
        }
        describe_transport(err)
    }
}

/// How the next connection to a host starts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wire {
    Plain,
    /// SSLRequest; plain if the server says no.
    PreferTls,
    RequireTls,
}

/// An open session: the client, its connection running, and what the server reported at startup.
struct Session {
    client: tokio_postgres::Client,
    running: tokio::task::JoinHandle<()>,
    parameters: Parameters,
    tls: bool,
}

/// The startup parameters libpq reads for target_session_attrs (PostgreSQL 14 and later send them).
struct Parameters {
    in_hot_standby: Option<bool>,
    default_transaction_read_only: Option<bool>,
}

impl Session {
    fn spawn<S, T>(
        client: tokio_postgres::Client,
        connection: tokio_postgres::Connection<S, T>,
        tls: bool,
    ) -> Session
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let flag = |name: &str| connection.parameter(name).map(|value| value == "on");
        let parameters = Parameters {
            in_hot_standby: flag("in_hot_standby"),
            default_transaction_read_only: flag("default_transaction_read_only"),
        };
        let running = tokio::spawn(async move {
            let _ = connection.await;
        });
        Session { client, running, parameters, tls }
    }
}

/// Why this session is not the one target_session_attrs asks for, as libpq words it, or None.
async fn mismatch(
    client: &tokio_postgres::Client,
    parameters: &Parameters,
    want: SessionAttrs,
) -> Option<Step> {
    let query_flag = |sql: &'static str| async move {
        match first_value(client.simple_query(sql).await) {
            Ok(value) => Ok(matches!(value.as_deref(), Some("on" | "t"))),
            Err(err) => Err(describe_query(&err, sql)),
        }
    };
    let read_only = || async {
        match (parameters.default_transaction_read_only, parameters.in_hot_standby) {
            (Some(read_only), Some(standby)) => Ok(read_only || standby),
            _ => query_flag("SHOW transaction_read_only").await,
        }
    };
    let standby = || async {
        match parameters.in_hot_standby {
            Some(standby) => Ok(standby),
            None => query_flag("SELECT pg_catalog.pg_is_in_recovery()").await,
        }
    };
    let (ok, why) = match want {
        SessionAttrs::Any => return None,
        SessionAttrs::ReadWrite => {
            (read_only().await.map(|ro| !ro), "session is read-only (target_session_attrs=read-write)")
        }
        SessionAttrs::ReadOnly => {
            (read_only().await, "session is not read-only (target_session_attrs=read-only)")
        }
        SessionAttrs::Primary => {
            (standby().await.map(|s| !s), "server is in hot standby mode (target_session_attrs=primary)")
        }
        SessionAttrs::Standby | SessionAttrs::PreferStandby => {
            (standby().await, "server is not in hot standby mode (target_session_attrs=standby)")
        }
    };
    match ok {
        Ok(true) => None,
        Ok(false) => Some(Step::Next(Status::Unhealthy, why.to_owned())),
        Err(verdict) => Some(Step::Done(verdict)),
    }
}

fn describe_query(err: &tokio_postgres::Error, what: &str) -> Verdict {
    match err.as_db_error() {
        Some(db) => Verdict::unhealthy(format!("{what} failed: {} {}", db.code().code(), db.message())),
        None => Verdict::unreachable(describe_transport(err)),
    }
}

/// What went wrong below the protocol: a TLS failure, an I/O error, or a peer that does not
/// speak PostgreSQL.
fn describe_transport(err: &tokio_postgres::Error) -> String {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(setup) = cause.downcast_ref::<TlsSetup>() {
            return setup.to_string();
        }
        if let Some(tls_error) = cause.downcast_ref::<rustls::Error>() {
            return tls::describe(tls_error);
        }
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            let inner = io.get_ref();
            if let Some(foreign) = inner.and_then(|inner| inner.downcast_ref::<NotPostgres>()) {
                return foreign.to_string();
            }
            match inner.and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                Some(tls_error) => return tls::describe(tls_error),
                None if io.kind() == io::ErrorKind::UnexpectedEof => {
                    return "connection closed by peer".to_owned();
                }
                None if io.kind() == io::ErrorKind::Other => return io.to_string(),
                None => return net::describe(io),
            }
        }
        source = cause.source();
    }
    if err.is_closed() {
        return "connection closed by peer".to_owned();
    }
    "the answer is not PostgreSQL's protocol".to_owned()
}

fn first_value(
    result: Result<Vec<SimpleQueryMessage>, tokio_postgres::Error>,
) -> Result<Option<String>, tokio_postgres::Error> {
    Ok(result?
        .iter()
        .find_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_owned)),
            _ => None,
        })
        .flatten())
}

/// How a host is named in a message.
pub fn host_name(host: &Host) -> String {
    match &host.address {
        Address::Tcp { name, hostaddr } => {
            let shown = if name.is_empty() {
                hostaddr.map(|a| a.to_string()).unwrap_or_default()
            } else {
                name.clone()
            };
            HostPort { host: shown, port: host.port }.to_string()
        }
        Address::Unix(dir) => dir.join(format!(".s.PGSQL.{}", host.port)).display().to_string(),
        Address::Abstract(name) => format!("@{name}/.s.PGSQL.{}", host.port),
        Address::Default => HostPort { host: "localhost".to_owned(), port: host.port }.to_string(),
    }
}

fn connect_unix(peer: &Peer) -> Result<UnixStream, String> {
    match peer {
        Peer::Unix(path) => {
            UnixStream::connect(path).map_err(|err| format!("{}: {}", path.display(), net::describe(&err)))
        }
        Peer::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
                .map_err(|err| format!("@{name}: {}", net::describe(&err)))?;
            UnixStream::connect_addr(&addr).map_err(|err| format!("@{name}: {}", net::describe(&err)))
        }
        Peer::Tcp(addr) => Err(format!("{addr} is not a socket path")),
    }
}

enum TokioStream {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

/// The same socket, handed to tokio (which wants it non-blocking).
fn into_tokio(stream: Stream) -> io::Result<TokioStream> {
    Ok(match stream {
        Stream::Tcp(tcp) => {
            tcp.set_nonblocking(true)?;
            TokioStream::Tcp(tokio::net::TcpStream::from_std(tcp)?)
        }
        Stream::Unix(unix) => {
            unix.set_nonblocking(true)?;
            TokioStream::Unix(tokio::net::UnixStream::from_std(unix)?)
        }
    })
}

/// tokio-postgres-rustls's connector for one server name (its type is not public by name).
type Connector = <MakeRustlsConnect as MakeTlsConnect<tokio::net::TcpStream>>::TlsConnect;

/// Why a connection failed: tokio-postgres's error, or one of probe's own before it had the stream.
enum Failure {
    Pg(tokio_postgres::Error),
    Local(String),
}

/// load_balance_hosts=random: the hosts in a random order (randomness from the hasher's keys).
fn shuffle<T>(items: &mut [T]) {
    use std::hash::{BuildHasher, RandomState};
    let state = RandomState::new();
    for index in (1..items.len()).rev() {
        let pick = (state.hash_one(index) % (index as u64 + 1)) as usize;
        items.swap(index, pick);
    }
}
