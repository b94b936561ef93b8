//! `probe postgres`: connect, authenticate and, with `--query`, run it; or with `--ping`,
//! pg_isready's credential-free check. Settings follow libpq (URLs, conninfo, PG* variables,
//! sslmode). The socket is opened here, so every phase is timed and under the deadline, and
//! tokio-postgres speaks the protocol over it. A session ends with Terminate, so the server's
//! log stays clean.

pub mod conninfo;
mod ping;

use std::{
    future::Future,
    io,
    net::TcpStream,
    os::unix::net::UnixStream,
    path::PathBuf,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::{SimpleQueryMessage, tls::TlsConnect};
use tokio_postgres_rustls::MakeRustlsConnect;

use self::conninfo::{Host, PostgresEnv, Settings, SslMode};
use super::{Check, Target};
use crate::{
    deadline::Deadline,
    env::Env,
    net::{self, HostPort},
    outcome::Verdict,
    secret::read_password_file,
    tls::{self, Verify},
    trace::Trace,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// postgres:// URL or "key=value ..." conninfo; with none, the PG* environment variables.
    #[arg(value_name = "URL|CONNINFO")]
    targets: Vec<String>,

    /// Run this SQL after connecting; an SQL error is unhealthy.
    #[arg(long, value_name = "SQL", conflicts_with = "ping")]
    query: Option<String>,

    /// Healthy only on a server in this role (from pg_is_in_recovery()).
    #[arg(long, value_enum, value_name = "ROLE", conflicts_with = "ping")]
    expect_role: Option<Role>,

    /// pg_isready's check: no credentials needed, only whether the server accepts connections.
    #[arg(long)]
    ping: bool,

    /// Read the password from FILE (a trailing newline is ignored).
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Role {
    Primary,
    Replica,
}

impl Args {
    pub fn targets(self, env: &dyn Env) -> anyhow::Result<Vec<Target>> {
        let password_file = self.password_file.as_deref().map(read_password_file).transpose()?;
        let var = |name: &str| env.var(name);
        let os_user = || env.os_user();
        let passfile = || passfile(env);
        let env = PostgresEnv { var: &var, os_user: &os_user, passfile: &passfile };
        let mode = Arc::new(if self.ping {
            Mode::Ping
        } else {
            Mode::Login { query: self.query, expect_role: self.expect_role }
        });
        let texts = if self.targets.is_empty() { vec![String::new()] } else { self.targets };
        texts
            .iter()
            .map(|text| {
                let shown = conninfo::label(text);
                let pairs = if text.is_empty() { Ok(Vec::new()) } else { conninfo::parse(text) };
                let settings = pairs
                    .and_then(|pairs| conninfo::settings(&pairs, &env, password_file.as_ref()))
                    .map_err(|why| anyhow::anyhow!("'{shown}': {why}"))?;
                let tls = tls_config(&settings)?;
                let label = if text.is_empty() { describe_settings(&settings) } else { shown };
                let check = Postgres { settings, tls, mode: Arc::clone(&mode) };
                Ok(Target { label, check: Arc::new(check) })
            })
            .collect()
    }
}

/// The text of libpq's password file, PGPASSFILE or else ~/.pgpass, when it is there and, as
/// libpq insists, readable by its owner only.
fn passfile(env: &dyn Env) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let path = match env.var("PGPASSFILE") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env.var("HOME")?).join(".pgpass"),
    };
    let private = std::fs::metadata(&path).ok()?.permissions().mode() & 0o077 == 0;
    private.then(|| std::fs::read_to_string(&path).ok()).flatten()
}

/// How a target given only by the environment is shown: libpq's settings as a URL.
fn describe_settings(settings: &Settings) -> String {
    let hosts: Vec<String> = settings
        .hosts
        .iter()
        .map(|host| match host {
            Host::Tcp { name, port, .. } => HostPort { host: name.clone(), port: *port }.to_string(),
            Host::Unix { dir, port } => format!("{}:{port}", dir.display().to_string().replace('/', "%2F")),
        })
        .collect();
    format!("postgres://{}@{}/{}", settings.user, hosts.join(","), settings.dbname)
}

/// libpq's sslmode as a rustls configuration: prefer and require verify nothing unless a root
/// certificate is given (then the chain), verify-ca the chain, verify-full chain and name.
fn tls_config(settings: &Settings) -> anyhow::Result<Option<Arc<rustls::ClientConfig>>> {
    let verify = match (settings.sslmode, &settings.sslrootcert) {
        (SslMode::Disable, _) => return Ok(None),
        (SslMode::VerifyFull, _) => Verify::Full,
        (SslMode::VerifyCa, _) | (_, Some(_)) => Verify::Chain,
        (SslMode::Allow | SslMode::Prefer | SslMode::Require, None) => Verify::Nothing,
    };
    let identity = match (&settings.sslcert, &settings.sslkey) {
        (Some(cert), Some(key)) => Some((cert.as_path(), key.as_path())),
        (None, None) => None,
        _ => anyhow::bail!("sslcert and sslkey go together"),
    };
    Ok(Some(Arc::new(tls::client_config(settings.sslrootcert.as_deref(), identity, verify)?)))
}

enum Mode {
    Ping,
    Login { query: Option<String>, expect_role: Option<Role> },
}

struct Postgres {
    settings: Settings,
    tls: Option<Arc<rustls::ClientConfig>>,
    mode: Arc<Mode>,
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

enum TokioStream {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

impl Stream {
    /// The same socket, handed to tokio (which wants it non-blocking).
    fn into_tokio(self) -> io::Result<TokioStream> {
        Ok(match self {
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
}

impl Check for Postgres {
    /// Each host in turn until one answers, as libpq does with a host list.
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        let mut failures = Vec::new();
        for host in &self.settings.hosts {
            match self.open(host, deadline, trace) {
                Ok(stream) => return self.converse(stream, host, deadline, trace),
                Err(why) if self.settings.hosts.len() == 1 => return Verdict::unreachable(why),
                Err(why) => failures.push(format!("{}: {why}", host_name(host))),
            }
        }
        Verdict::unreachable(failures.join("; "))
    }
}

fn host_name(host: &Host) -> String {
    match host {
        Host::Tcp { name, port, .. } => HostPort { host: name.clone(), port: *port }.to_string(),
        Host::Unix { dir, port } => dir.join(format!(".s.PGSQL.{port}")).display().to_string(),
    }
}

impl Postgres {
    fn open(&self, host: &Host, deadline: Deadline, trace: &Trace) -> Result<Stream, String> {
        match host {
            Host::Tcp { name, addr, port } => {
                trace.enter("resolve");
                let addrs = match addr {
                    Some(ip) => vec![std::net::SocketAddr::new(*ip, *port)],
                    None => net::resolve(&HostPort { host: name.clone(), port: *port })?,
                };
                trace.enter("connect");
                let stream = net::connect(&addrs, deadline)?;
                let _ = stream.set_nodelay(true);
                Ok(Stream::Tcp(stream))
            }
            Host::Unix { dir, port } => {
                trace.enter("connect");
                let path = dir.join(format!(".s.PGSQL.{port}"));
                UnixStream::connect(&path)
                    .map(Stream::Unix)
                    .map_err(|err| format!("{}: {}", path.display(), net::describe(&err)))
            }
        }
    }

    fn converse(&self, stream: Stream, host: &Host, deadline: Deadline, trace: &Trace) -> Verdict {
        match &*self.mode {
            Mode::Ping => {
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
            Mode::Login { query, expect_role } => {
                let runtime =
                    match tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build() {
                        Ok(runtime) => runtime,
                        Err(err) => {
                            return Verdict::unreachable(format!("cannot start the I/O runtime: {err}"));
                        }
                    };
                let session = async {
                    let work = self.login(stream, host, trace, query.as_deref(), *expect_role);
                    tokio::time::timeout(deadline.remaining(), work)
                        .await
                        .unwrap_or_else(|_| deadline.timed_out(trace))
                };
                runtime.block_on(session)
            }
        }
    }

    async fn login(
        &self,
        stream: Stream,
        host: &Host,
        trace: &Trace,
        query: Option<&str>,
        expect_role: Option<Role>,
    ) -> Verdict {
        let s = &self.settings;
        let mut config = tokio_postgres::Config::new();
        config.user(&s.user).dbname(&s.dbname).application_name(&s.application_name);
        if let Some(password) = &s.password {
            config.password(password.expose());
        }
        if let Some(options) = &s.options {
            config.options(options);
        }
        // libpq never uses TLS on a unix socket.
        let tls = match (host, &self.tls) {
            (Host::Tcp { name, .. }, Some(tls)) => Some((Arc::clone(tls), name.as_str())),
            _ => None,
        };
        config.ssl_mode(match (tls.is_some(), s.sslmode) {
            (false, _) => tokio_postgres::config::SslMode::Disable,
            (true, SslMode::Allow | SslMode::Prefer) => tokio_postgres::config::SslMode::Prefer,
            (true, _) => tokio_postgres::config::SslMode::Require,
        });
        let login = Login { config, trace, query, expect_role };
        let stream = match stream.into_tokio() {
            Ok(stream) => stream,
            Err(err) => return Verdict::unreachable(net::describe(&err)),
        };
        match (stream, tls) {
            (TokioStream::Tcp(tcp), Some((tls, server_name))) => {
                use tokio_postgres::tls::MakeTlsConnect;
                let mut make = MakeRustlsConnect::new((*tls).clone());
                match MakeTlsConnect::<Watched<tokio::net::TcpStream>>::make_tls_connect(
                    &mut make,
                    server_name,
                ) {
                    Ok(inner) => {
                        trace.enter("tls");
                        let tcp = Watched::new(tcp, trace, Expect::SslAnswer);
                        self.session(login, tcp, MarkTls { inner, trace: trace.clone() }).await
                    }
                    Err(err) => Verdict::unreachable(format!("TLS: {err}")),
                }
            }
            (TokioStream::Tcp(tcp), None) => {
                trace.enter("auth");
                self.session(login, Watched::new(tcp, trace, Expect::StartupAnswer), tokio_postgres::NoTls)
                    .await
            }
            (TokioStream::Unix(unix), _) => {
                trace.enter("auth");
                self.session(login, Watched::new(unix, trace, Expect::StartupAnswer), tokio_postgres::NoTls)
                    .await
            }
        }
    }

    async fn session<S, T>(&self, login: Login<'_>, stream: S, tls: T) -> Verdict
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        T: TlsConnect<S>,
        T::Stream: Send + 'static,
    {
        let Login { config, trace, query, expect_role } = login;
        let (client, connection) = match config.connect_raw(stream, tls).await {
            Ok(pair) => pair,
            Err(err) => return self.describe(&err),
        };
        let running = tokio::spawn(connection);
        let verdict = self.queries(&client, trace, query, expect_role).await;
        // Dropping the client sends Terminate; waiting for the connection lets it reach the server.
        drop(client);
        let _ = running.await;
        verdict
    }

    async fn queries(
        &self,
        client: &tokio_postgres::Client,
        trace: &Trace,
        query: Option<&str>,
        expect_role: Option<Role>,
    ) -> Verdict {
        let s = &self.settings;
        let mut seen = format!("logged in as {} to {}", s.user, s.dbname);
        if expect_role.is_some() || query.is_some() {
            trace.enter("query");
        }
        if let Some(expected) = expect_role {
            let in_recovery = match first_value(client.simple_query("SELECT pg_is_in_recovery()").await) {
                Ok(value) => value.as_deref() == Some("t"),
                Err(err) => return self.describe_query(&err, "pg_is_in_recovery()"),
            };
            let (role, wanted) = (if in_recovery { "replica" } else { "primary" }, expected == Role::Replica);
            if in_recovery != wanted {
                let wanted = if wanted { "replica" } else { "primary" };
                return Verdict::unhealthy(format!("{seen}, but it is a {role}, not a {wanted}"));
            }
            seen.push_str(&format!(", {role}"));
        }
        if let Some(sql) = query {
            match client.simple_query(sql).await {
                Ok(messages) => {
                    let rows = messages.iter().filter(|m| matches!(m, SimpleQueryMessage::Row(_))).count();
                    seen.push_str(&format!(
                        ", query returned {rows} row{}",
                        if rows == 1 { "" } else { "s" }
                    ));
                }
                Err(err) => return self.describe_query(&err, "the query"),
            }
        }
        Verdict::healthy(seen)
    }

    /// A server's error is unhealthy and quoted with its SQLSTATE; anything else is unreachable.
    fn describe(&self, err: &tokio_postgres::Error) -> Verdict {
        if let Some(db) = err.as_db_error() {
            return Verdict::unhealthy(format!("{} {}", db.code().code(), db.message()));
        }
        // tokio-postgres has no public error kind; this is its exact cause for a server that
        // asks for a password when none was given (pinned by a test against a real server).
        let cause = std::error::Error::source(err).map(ToString::to_string);
        if self.settings.password.is_none() && cause.as_deref() == Some("password missing") {
            return Verdict::unhealthy(
                "the server asks for a password and none was given (PGPASSWORD, --password-file or the URL)",
            );
        }
        Verdict::unreachable(describe_transport(err))
    }

    fn describe_query(&self, err: &tokio_postgres::Error, what: &str) -> Verdict {
        match err.as_db_error() {
            Some(db) => Verdict::unhealthy(format!("{what} failed: {} {}", db.code().code(), db.message())),
            None => Verdict::unreachable(describe_transport(err)),
        }
    }
}

/// What went wrong below the protocol: a TLS failure, an I/O error, or a peer that does not
/// speak PostgreSQL.
fn describe_transport(err: &tokio_postgres::Error) -> String {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(tls_error) = cause.downcast_ref::<rustls::Error>() {
            return tls::describe(tls_error);
        }
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            let inner = io.get_ref();
            if inner.is_some_and(|inner| inner.is::<NotPostgres>()) {
                return NotPostgres.to_string();
            }
            match inner.and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                Some(tls_error) => return tls::describe(tls_error),
                None if io.kind() == io::ErrorKind::UnexpectedEof => {
                    return "connection closed by peer".to_owned();
                }
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

/// What a session needs besides the stream.
struct Login<'a> {
    config: tokio_postgres::Config,
    trace: &'a Trace,
    query: Option<&'a str>,
    expect_role: Option<Role>,
}

/// Watches the first byte of the server's first answers. To the SSLRequest a server answers `S`
/// or `N` (then authentication begins, so the phase becomes `auth`); to the startup packet, an
/// authentication request `R`, an error `E` or a protocol negotiation `v`. Anything else is not
/// PostgreSQL, and is said at once, where tokio-postgres would wait for a garbage length's worth.
struct Watched<S> {
    inner: S,
    trace: Trace,
    expect: Expect,
}

impl<S> Watched<S> {
    fn new(inner: S, trace: &Trace, expect: Expect) -> Self {
        Watched { inner, trace: trace.clone(), expect }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    SslAnswer,
    StartupAnswer,
    Nothing,
}

/// The error a read returns when the peer is not speaking PostgreSQL's protocol.
#[derive(Debug)]
struct NotPostgres;

impl std::fmt::Display for NotPostgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the answer is not PostgreSQL's protocol")
    }
}

impl std::error::Error for NotPostgres {}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        for index in before..buf.filled().len() {
            let byte = buf.filled()[index];
            self.expect = match (self.expect, byte) {
                (Expect::Nothing, _) => break,
                (Expect::SslAnswer, b'S' | b'E') | (Expect::StartupAnswer, b'R' | b'E' | b'v') => {
                    Expect::Nothing
                }
                (Expect::SslAnswer, b'N') => {
                    self.trace.enter("auth");
                    Expect::StartupAnswer
                }
                _ => return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, NotPostgres))),
            };
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

/// Marks the `tls` phase's end, and `auth`'s start, when the handshake completes.
struct MarkTls<T> {
    inner: T,
    trace: Trace,
}

impl<S, T> TlsConnect<S> for MarkTls<T>
where
    T: TlsConnect<S>,
    T::Future: 'static,
{
    type Stream = T::Stream;
    type Error = T::Error;
    type Future = Pin<Box<dyn Future<Output = Result<T::Stream, T::Error>>>>;

    fn connect(self, stream: S) -> Self::Future {
        let handshake = self.inner.connect(stream);
        let trace = self.trace;
        Box::pin(async move {
            let stream = handshake.await;
            trace.enter("auth");
            stream
        })
    }
}
