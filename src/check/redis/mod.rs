//! `probe redis`: connect, authenticate, select the database, PING; healthy on PONG. Error
//! replies are verdicts quoted as the server wrote them (redis-cli exits 0 on them; this does
//! not). URLs are read as redis-cli and redis-py read them (`url`); the protocol is spoken here
//! (`resp`), one command at a time, so each phase is timed and each reply is seen whole.

pub mod resp;
pub mod url;

use std::{io, net::TcpStream, os::unix::net::UnixStream, path::PathBuf, sync::Arc, time::Duration};

use rustls::{ClientConnection, StreamOwned, pki_types::ServerName};

use self::{
    resp::{Connection, Failure, Reply, Stream},
    url::{RedisUrl, Verify},
};
use super::{Check, Target};
use crate::{
    deadline::Deadline,
    env::Env,
    net::{self, HostPort},
    outcome::{Status, Verdict},
    secret::{Secret, read_password_file, redact_unparsed, redact_url},
    tls::{self, Tls, TlsArgs, has_scheme},
    trace::Trace,
};

/// Redis's words for a TLS port asked in plain text and the reverse.
const PROTOCOL: net::Protocol =
    net::Protocol { name: "Redis's protocol", use_tls: "use rediss://", drop_tls: "use redis://" };

#[derive(Debug, clap::Args)]
#[command(after_long_help = crate::docs::environment(&[("REDIS_URL", "the target when none is given"), ("REDISCLI_AUTH", "the password when the URL and --password-file give none, as redis-cli reads it"), ("SSL_CERT_FILE", "a PEM file of trusted CAs for rediss:// when --cacert is not given, as OpenSSL reads it")]))]
pub struct Args {
    /// redis://[[user:]password@]host[:port][/db], rediss:// (TLS) or unix:///path, as redis-cli
    /// and redis-py read them (?password=, ?db=, ?username= too); with none, REDIS_URL, else
    /// redis://127.0.0.1:6379.
    #[arg(value_name = "URL")]
    targets: Vec<String>,

    /// Read the password from FILE (a trailing newline is ignored); REDISCLI_AUTH also works.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,

    /// Healthy only on a server in this role (from ROLE, asked even under --alive).
    #[arg(long, value_enum, value_name = "ROLE")]
    expect_role: Option<Role>,

    /// For liveness probes: a server answering LOADING or MASTERDOWN is alive, hence healthy.
    #[arg(long)]
    alive: bool,

    #[command(flatten)]
    tls: TlsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Role {
    Master,
    Replica,
}

impl Args {
    /// The targets, or REDIS_URL, or the default; the password, when a URL has none, from
    /// --password-file, else REDISCLI_AUTH (as redis-cli). Every URL is read before any I/O.
    pub fn targets(self, env: &dyn Env) -> anyhow::Result<Vec<Target>> {
        let file_password = self.password_file.as_deref().map(read_password_file).transpose()?;
        let env_password = env.var("REDISCLI_AUTH").filter(|pw| !pw.is_empty()).map(Secret::new);
        let texts = match (self.targets.is_empty(), env.var("REDIS_URL").filter(|url| !url.is_empty())) {
            (false, _) => self.targets,
            (true, Some(url)) => vec![url],
            (true, None) => vec![DEFAULT_URL.to_owned()],
        };
        let fallback_password = file_password.or(env_password);
        let speaks_tls = texts.iter().any(|text| has_scheme(text, "rediss") || has_scheme(text, "valkeys"));
        let tls = Tls::load(&self.tls, env, speaks_tls)?;
        // One rustls configuration per kind of verification, built only if a target needs it.
        let mut configs: [Option<Arc<rustls::ClientConfig>>; 2] = [None, None];
        let mut targets = Vec::with_capacity(texts.len());
        for text in texts {
            let url = RedisUrl::parse(&text)
                .map_err(|why| anyhow::anyhow!("'{}': {why}", redact_unparsed(&text)))?;
            let address = match url.address {
                url::Address::Tcp { host, tls: None } => Address::Tcp(host),
                url::Address::Tcp { host, tls: Some(verify) } => {
                    let insecure = verify == Verify::Nothing || tls.insecure();
                    let config = match &mut configs[usize::from(insecure)] {
                        Some(config) => Arc::clone(config),
                        slot => Arc::clone(slot.insert(Arc::new(tls.for_rustls_verifying(!insecure)?))),
                    };
                    Address::Tls(host, config)
                }
                url::Address::Unix(path) => Address::Unix(path),
            };
            let redis = Redis {
                address,
                username: url.username,
                password: url.password.or_else(|| fallback_password.clone()),
                db: url.db,
                expect_role: self.expect_role,
                alive: self.alive,
            };
            targets.push(Target { label: redact_url(&text), check: Arc::new(redis) });
        }
        Ok(targets)
    }
}

/// The target when none is given and REDIS_URL is unset, as redis-cli's default.
const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// How long QUIT's `+OK` is waited for, at most: long enough for any server that answered the
/// rest, short enough never to turn a verdict into a timeout.
const QUIT_WAIT: Duration = Duration::from_millis(200);

struct Redis {
    address: Address,
    username: Option<String>,
    password: Option<Secret>,
    db: i64,
    expect_role: Option<Role>,
    alive: bool,
}

enum Address {
    Tcp(HostPort),
    Tls(HostPort, Arc<rustls::ClientConfig>),
    Unix(PathBuf),
}

/// Why the conversation stopped before its end.
enum Stop {
    /// LOADING or MASTERDOWN under --alive: the server is alive; ROLE may still be asked.
    Alive(String),
    Verdict(Verdict),
}

impl From<Verdict> for Stop {
    fn from(verdict: Verdict) -> Self {
        Stop::Verdict(verdict)
    }
}

impl Redis {
    fn connect(&self, deadline: Deadline, trace: &Trace) -> Result<Connection, Verdict> {
        let stream = match &self.address {
            Address::Tcp(host) | Address::Tls(host, _) => {
                trace.enter("resolve");
                let addrs = net::resolve(host).map_err(Verdict::unreachable)?;
                trace.enter("connect");
                let tcp = net::connect(&addrs, deadline).map_err(Verdict::unreachable)?;
                let _ = tcp.set_nodelay(true);
                match &self.address {
                    Address::Tls(_, config) => {
                        trace.enter("tls");
                        handshake(tcp, &host.host, Arc::clone(config), deadline)?
                    }
                    _ => Stream::Tcp(tcp),
                }
            }
            Address::Unix(path) => {
                trace.enter("connect");
                Stream::Unix(
                    UnixStream::connect(path).map_err(|err| Verdict::unreachable(net::describe(&err)))?,
                )
            }
        };
        Ok(Connection::new(stream))
    }

    /// AUTH, SELECT and PING: PONG, or why it stopped. `not_needed` is set when the server
    /// has no password and said so to AUTH.
    fn ping(
        &self,
        connection: &mut Connection,
        not_needed: &mut bool,
        deadline: Deadline,
        trace: &Trace,
    ) -> Result<String, Stop> {
        if let Some(password) = &self.password {
            let mut auth: Vec<&[u8]> = vec![b"AUTH"];
            auth.extend(self.username.as_deref().map(str::as_bytes));
            auth.push(password.expose().as_bytes());
            match send(connection, "auth", &auth, deadline, trace)? {
                Reply::Error(error) if self.username.is_none() && no_password_configured(&error) => {
                    *not_needed = true;
                }
                reply => self.expect_ok("AUTH", reply)?,
            }
        }
        if self.db != 0 {
            let db = self.db.to_string();
            let reply = send(connection, "select", &[b"SELECT", db.as_bytes()], deadline, trace)?;
            self.expect_ok("SELECT", reply)?;
        }
        let seen = match send(connection, "ping", &[b"PING"], deadline, trace)? {
            Reply::Status(pong) if pong == "PONG" => pong,
            Reply::Error(error) => return Err(self.refused(error)),
            other => {
                return Err(Verdict::unhealthy(format!("PING answered {}, not PONG", other.text())).into());
            }
        };
        Ok(seen)
    }

    /// +OK goes on; an error reply stops the conversation.
    fn expect_ok(&self, command: &str, reply: Reply) -> Result<(), Stop> {
        match reply {
            Reply::Status(_) => Ok(()),
            Reply::Error(error) => Err(self.refused(error)),
            other => Err(Verdict::unhealthy(format!("{command} answered {}, not OK", other.text())).into()),
        }
    }

    /// An error reply is the server's verdict, quoted; with --alive, LOADING and MASTERDOWN
    /// mean alive.
    fn refused(&self, error: String) -> Stop {
        match error.split(' ').next() {
            Some("LOADING" | "MASTERDOWN") if self.alive => Stop::Alive(error),
            _ => Stop::Verdict(Verdict::unhealthy(error)),
        }
    }

    /// Healthy with what was seen, unless --expect-role asks ROLE and the role is another. ROLE
    /// is asked after PONG, and after LOADING or MASTERDOWN under --alive: it answers then too.
    fn judge_role(
        &self,
        seen: &str,
        connection: &mut Connection,
        deadline: Deadline,
        trace: &Trace,
    ) -> Verdict {
        let Some(expected) = self.expect_role else { return Verdict::healthy(seen) };
        let role = match send(connection, "role", &[b"ROLE"], deadline, trace) {
            Ok(Reply::Array(Some(items))) => items.first().map(Reply::text).unwrap_or_default(),
            Ok(Reply::Error(error)) => return Verdict::unhealthy(error),
            Ok(other) => other.text(),
            Err(Stop::Verdict(verdict)) => return verdict,
            Err(Stop::Alive(error)) => return Verdict::unhealthy(error),
        };
        let shown = if role == "slave" { "replica" } else { role.as_str() };
        let wanted = match expected {
            Role::Master => "master",
            Role::Replica => "replica",
        };
        if shown == wanted {
            Verdict::healthy(format!("{seen}, role {shown}"))
        } else {
            Verdict::unhealthy(format!("{seen}, but the role is {shown}, not {wanted}"))
        }
    }
}

impl Check for Redis {
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        let mut connection = match self.connect(deadline, trace) {
            Ok(connection) => connection,
            Err(verdict) => return verdict,
        };
        let mut not_needed = false;
        let mut verdict = match self.ping(&mut connection, &mut not_needed, deadline, trace) {
            Ok(seen) => self.judge_role(&seen, &mut connection, deadline, trace),
            Err(Stop::Alive(error)) => {
                self.judge_role(&format!("alive: {error}"), &mut connection, deadline, trace)
            }
            Err(Stop::Verdict(verdict)) => verdict,
        };
        if not_needed && verdict.status == Status::Healthy {
            verdict.message.push_str("; the password was not needed: the server asks for none");
        }
        // A server that answered answers QUIT too; one that did not is left alone.
        if verdict.status != Status::Unreachable {
            quit(&mut connection, deadline);
        }
        connection.close();
        verdict
    }
}

/// Sends one command in its own phase; an error reply is a reply, a failure to get one is the
/// verdict.
fn send(
    connection: &mut Connection,
    phase: &'static str,
    args: &[&[u8]],
    deadline: Deadline,
    trace: &Trace,
) -> Result<Reply, Stop> {
    trace.enter(phase);
    connection
        .command(args, deadline.socket_timeout())
        .map_err(|failure| Stop::Verdict(unreachable(&failure)))
}

/// QUIT, as redis-cli leaves, and its `+OK` read before closing: a client that closes first
/// makes the server log "Error writing to client: Broken pipe".
fn quit(connection: &mut Connection, deadline: Deadline) {
    let left = deadline.remaining().saturating_sub(Duration::from_millis(5));
    if !left.is_zero() {
        let _ = connection.command(&[b"QUIT"], left.min(QUIT_WAIT));
    }
}

/// Redis 6+ and older servers, told AUTH with a password when they have none.
fn no_password_configured(error: &str) -> bool {
    error.starts_with("ERR AUTH <password> called without any password configured")
        || error.starts_with("ERR Client sent AUTH, but no password is set")
}

/// No usable answer: the socket's or TLS's complaint, or bytes that are not RESP.
fn unreachable(failure: &Failure) -> Verdict {
    Verdict::unreachable(match failure {
        Failure::NotRedis => "the answer is not Redis's protocol".to_owned(),
        Failure::SpeaksTls => PROTOCOL.speaks_tls(),
        Failure::Io(err) => describe_io(err),
    })
}

fn describe_io(err: &io::Error) -> String {
    match err.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(tls_error) => tls::describe(tls_error),
        None => net::describe(err),
    }
}

/// The TLS handshake, within the deadline, naming the server as the URL does (SNI and the
/// name the certificate must hold).
fn handshake(
    mut tcp: TcpStream,
    host: &str,
    config: Arc<rustls::ClientConfig>,
    deadline: Deadline,
) -> Result<Stream, Verdict> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| Verdict::unreachable(format!("TLS: '{host}' is not a name a certificate can hold")))?;
    let mut tls =
        ClientConnection::new(config, name).map_err(|err| Verdict::unreachable(tls::describe(&err)))?;
    let timeout = Some(deadline.socket_timeout());
    let _ = (tcp.set_read_timeout(timeout), tcp.set_write_timeout(timeout));
    while tls.is_handshaking() {
        match tls.complete_io(&mut tcp) {
            Ok((0, 0)) => return Err(Verdict::unreachable("connection closed by peer")),
            Ok(_) => {}
            Err(err) => return Err(Verdict::unreachable(describe_io(&err))),
        }
    }
    Ok(Stream::Tls(Box::new(StreamOwned::new(tls, tcp))))
}
