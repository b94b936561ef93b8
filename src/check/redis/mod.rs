//! `probe redis`: connect, authenticate, select the database, PING; healthy on PONG. Error
//! replies are verdicts quoted as the server wrote them (redis-cli exits 0 on them; this does
//! not). The redis crate carries the connection and the protocol; the commands are sent here one
//! at a time, so each phase is timed and each error reply is seen whole.

use std::{io, path::PathBuf, sync::Arc};

use redis::{Client, Connection, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisError, Value};

use super::{Check, Target};
use crate::{
    deadline::Deadline,
    env::Env,
    net::{self, HostPort},
    outcome::Verdict,
    secret::{Secret, read_password_file, redact_url},
    tls::{self, Tls, TlsArgs, has_scheme},
    trace::Trace,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// redis://[user[:password]@]host[:port][/db], rediss:// (TLS) or unix:///path; with none,
    /// REDIS_URL, else redis://127.0.0.1:6379.
    #[arg(value_name = "URL")]
    targets: Vec<String>,

    /// Read the password from FILE (a trailing newline is ignored); REDISCLI_AUTH also works.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,

    /// Healthy only on a server in this role (from ROLE).
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

const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

impl Args {
    /// The targets, or REDIS_URL, or the default; the password, when a URL has none, from
    /// --password-file, else REDISCLI_AUTH (as redis-cli).
    pub fn targets(self, env: &dyn Env) -> anyhow::Result<Vec<Target>> {
        let file_password = self.password_file.as_deref().map(read_password_file).transpose()?;
        let env_password = env.var("REDISCLI_AUTH").filter(|pw| !pw.is_empty()).map(Secret::new);
        let urls = match (self.targets.is_empty(), env.var("REDIS_URL").filter(|url| !url.is_empty())) {
            (false, _) => self.targets,
            (true, Some(url)) => vec![url],
            (true, None) => vec![DEFAULT_URL.to_owned()],
        };
        let tls = Tls::load(&self.tls, env, urls.iter().any(|url| has_scheme(url, "rediss")))?;
        let shared = Arc::new(Shared { tls, expect_role: self.expect_role, alive: self.alive });
        let fallback_password = file_password.or(env_password);
        urls.iter()
            .map(|url| {
                let redis = Redis::parse(url, fallback_password.clone(), Arc::clone(&shared))?;
                Ok(Target { label: redact_url(url), check: Arc::new(redis) })
            })
            .collect()
    }
}

struct Shared {
    tls: Tls,
    expect_role: Option<Role>,
    alive: bool,
}

struct Redis {
    address: Address,
    username: Option<String>,
    password: Option<Secret>,
    db: i64,
    shared: Arc<Shared>,
}

enum Address {
    Tcp(HostPort),
    Tls { host: String, port: u16, insecure: bool },
    Unix(PathBuf),
}

impl Redis {
    /// Reads a URL with the redis crate's parser, keeping the credentials and database for the
    /// commands this check sends itself.
    fn parse(url: &str, fallback_password: Option<Secret>, shared: Arc<Shared>) -> anyhow::Result<Self> {
        let usage = "redis://[user[:password]@]host[:port][/db], rediss://… or unix:///path";
        let info: ConnectionInfo = url
            .into_connection_info()
            .map_err(|_| anyhow::anyhow!("'{}' is not a Redis URL; write it as {usage}", redact_url(url)))?;
        let address = match info.addr() {
            ConnectionAddr::Tcp(host, port) => Address::Tcp(HostPort { host: host.clone(), port: *port }),
            ConnectionAddr::TcpTls { host, port, insecure, .. } => {
                Address::Tls { host: host.clone(), port: *port, insecure: *insecure || shared.tls.insecure() }
            }
            ConnectionAddr::Unix(path) => Address::Unix(path.clone()),
            _ => anyhow::bail!("'{}': unsupported kind of Redis address", redact_url(url)),
        };
        if let Address::Tcp(HostPort { port: 0, .. }) | Address::Tls { port: 0, .. } = address {
            anyhow::bail!("'{}': the port is not a port (1 to 65535)", redact_url(url));
        }
        let settings = info.redis_settings();
        Ok(Redis {
            address,
            username: settings.username().map(str::to_owned),
            password: settings.password().map(Secret::new).or(fallback_password),
            db: settings.db(),
            shared,
        })
    }

    fn connect(&self, deadline: Deadline, trace: &Trace) -> Result<Connection, Verdict> {
        let client = |addr: ConnectionAddr| -> Result<Client, Verdict> {
            let info = addr.into_connection_info().map_err(|err| describe(&err))?;
            let info = info.set_redis_settings(redis::RedisConnectionInfo::default().set_skip_set_lib_name());
            let client = if matches!(info.addr(), ConnectionAddr::TcpTls { .. }) {
                Client::build_with_tls(info, self.shared.tls.for_redis())
            } else {
                Client::open(info)
            };
            client.map_err(|err| describe(&err))
        };
        match &self.address {
            Address::Tcp(target) => {
                trace.enter("resolve");
                let addrs = net::resolve(target).map_err(Verdict::unreachable)?;
                trace.enter("connect");
                let connected = net::first_to_answer(&addrs, deadline, |addr, share| {
                    let addr = ConnectionAddr::Tcp(addr.ip().to_string(), addr.port());
                    let client = client(addr).map_err(|verdict| verdict.message)?;
                    client.get_connection_with_timeout(share).map_err(|err| describe(&err).message)
                });
                connected.map_err(Verdict::unreachable)
            }
            Address::Tls { host, port, insecure } => {
                // The crate resolves and handshakes itself: it needs the name for SNI and verification.
                trace.enter("connect");
                let addr = ConnectionAddr::TcpTls {
                    host: host.clone(),
                    port: *port,
                    insecure: *insecure,
                    tls_params: None,
                };
                client(addr)?
                    .get_connection_with_timeout(deadline.socket_timeout())
                    .map_err(|err| describe(&err))
            }
            Address::Unix(path) => {
                trace.enter("connect");
                client(ConnectionAddr::Unix(path.clone()))?
                    .get_connection_with_timeout(deadline.socket_timeout())
                    .map_err(|err| describe(&err))
            }
        }
    }

    fn converse(
        &self,
        connection: &mut Connection,
        deadline: Deadline,
        trace: &Trace,
    ) -> Result<String, Verdict> {
        let mut send = |phase: &'static str, command: &redis::Cmd| -> Result<Value, Verdict> {
            trace.enter(phase);
            let timeout = Some(deadline.socket_timeout());
            let _ = (connection.set_read_timeout(timeout), connection.set_write_timeout(timeout));
            command.query::<Value>(connection).map_err(|err| self.judge_error(&err))
        };
        if let Some(password) = &self.password {
            let mut auth = redis::cmd("AUTH");
            if let Some(username) = &self.username {
                auth.arg(username);
            }
            send("auth", auth.arg(password.expose()))?;
        }
        if self.db != 0 {
            send("select", redis::cmd("SELECT").arg(self.db))?;
        }
        let pong = send("ping", &redis::cmd("PING"))?;
        if !matches!(&pong, Value::SimpleString(s) if s == "PONG") {
            return Err(Verdict::unhealthy(format!("PING answered {}, not PONG", show(&pong))));
        }
        let Some(expected) = self.shared.expect_role else { return Ok("PONG".to_owned()) };
        let role = send("role", &redis::cmd("ROLE"))?;
        let role = match &role {
            Value::Array(items) => items.first().map(show).unwrap_or_default(),
            other => show(other),
        };
        let wanted = match expected {
            Role::Master => "master",
            Role::Replica => "slave",
        };
        let shown = if role == "slave" { "replica" } else { role.as_str() };
        if role == wanted {
            Ok(format!("PONG, role {shown}"))
        } else {
            let wanted = if wanted == "slave" { "replica" } else { wanted };
            Err(Verdict::unhealthy(format!("PONG, but the role is {shown}, not {wanted}")))
        }
    }

    /// An error reply is the server's verdict; with --alive, LOADING and MASTERDOWN mean alive.
    fn judge_error(&self, err: &RedisError) -> Verdict {
        let verdict = describe(err);
        match err.code() {
            Some("LOADING" | "MASTERDOWN") if self.shared.alive => {
                Verdict::healthy(format!("alive: {}", verdict.message))
            }
            _ => verdict,
        }
    }
}

impl Check for Redis {
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        let mut connection = match self.connect(deadline, trace) {
            Ok(connection) => connection,
            Err(verdict) => return verdict,
        };
        let verdict = match self.converse(&mut connection, deadline, trace) {
            Ok(seen) => Verdict::healthy(seen),
            Err(verdict) => verdict,
        };
        // QUIT, as redis-cli leaves; its +OK is not worth waiting for.
        let _ = connection.send_packed_command(&redis::cmd("QUIT").get_packed_command());
        verdict
    }
}

/// A reply as text: a status or bulk string as is, anything else in the crate's words.
fn show(value: &Value) -> String {
    match value {
        Value::SimpleString(text) => text.clone(),
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        other => format!("{other:?}"),
    }
}

/// An error reply is unhealthy and quoted; anything else means no usable answer.
fn describe(err: &RedisError) -> Verdict {
    if let Some(code) = err.code() {
        return Verdict::unhealthy(match err.detail() {
            Some(detail) => format!("{code} {detail}"),
            None => code.to_owned(),
        });
    }
    // The crate keeps I/O errors as an `Arc<dyn Error>`, and that Arc is what `source()` returns.
    let io = std::error::Error::source(err)
        .and_then(|source| source.downcast_ref::<Arc<dyn std::error::Error + Send + Sync>>())
        .and_then(|inner| inner.downcast_ref::<io::Error>());
    let tls = io.and_then(|io| io.get_ref()).and_then(|inner| inner.downcast_ref::<rustls::Error>());
    Verdict::unreachable(match (tls, io) {
        (Some(tls_error), _) => tls::describe(tls_error),
        (None, Some(io)) => net::describe(io),
        (None, None) if err.kind() == redis::ErrorKind::Parse => {
            "the answer is not Redis's protocol".to_owned()
        }
        (None, None) if err.is_timeout() => "timed out".to_owned(),
        (None, None) if err.is_connection_refusal() => "connection refused".to_owned(),
        (None, None) => err.to_string(),
    })
}
