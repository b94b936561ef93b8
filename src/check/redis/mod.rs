//! `probe redis`: connect, authenticate, select the database, PING; healthy on PONG. Error
//! replies are verdicts quoted as the server wrote them (redis-cli exits 0 on them; this does
//! not). URLs are read as redis-cli and redis-py read them (`url`, on `uri`); the protocol is
//! spoken here (`resp`), one command at a time over `net`'s stream, so each phase is timed and
//! each reply is seen whole.

#[cfg(any(test, fuzzing))]
pub mod fuzz;
mod plain_port;
pub mod resp;
pub mod url;

use std::{sync::Arc, time::Duration};

use self::{
    resp::{Connection, Failure, Reply},
    url::{RedisUrl, Verify},
};
use super::{Check, Target};
use crate::{
    deadline::Deadline,
    env::Env,
    login::{PasswordArgs, Role},
    net::{self, Endpoint, HostPort},
    outcome::{Status, Verdict},
    quote,
    secret::Secret,
    tls::{Tls, TlsArgs},
    trace::Trace,
    uri,
};

/// Redis's words for a TLS port asked in plain text and the reverse.
const PROTOCOL: net::Protocol =
    net::Protocol { name: "Redis's protocol", use_tls: "use rediss://", drop_tls: "use redis://" };

#[derive(Debug, clap::Args)]
#[command(after_long_help = crate::docs::environment(&[("REDIS_URL", "the target when none is given"), ("REDISCLI_AUTH", "the password when the URL and --password-file give none, as redis-cli reads it"), ("SSL_CERT_FILE", "a PEM file of trusted CAs for rediss:// when --cacert is not given, as OpenSSL reads it")]))]
pub struct Args {
    /// redis://[[user:]password@]host[:port][/db], rediss:// (TLS) or unix:///path, as redis-cli
    /// and redis-py read them (?password=, ?db=, ?username= too); with none, REDIS_URL, else
    /// redis://127.0.0.1:6379. A URL without a password takes --password-file's, else
    /// REDISCLI_AUTH's.
    #[arg(value_name = "URL")]
    targets: Vec<String>,

    #[command(flatten)]
    password: PasswordArgs,

    /// Healthy only on a server in this role (from ROLE, asked even under --alive); master is
    /// primary's other name.
    #[arg(long, value_enum, value_name = "ROLE")]
    expect_role: Option<Role>,

    /// For liveness probes: a server answering LOADING or MASTERDOWN is alive, hence healthy.
    #[arg(long)]
    alive: bool,

    #[command(flatten)]
    tls: TlsArgs,
}

impl Args {
    /// The targets, or REDIS_URL, or the default; the password, when a URL has none, from
    /// --password-file, else REDISCLI_AUTH (as redis-cli). Every URL is read before any I/O.
    pub fn targets(self, env: &dyn Env) -> anyhow::Result<Vec<Target>> {
        let env_password = env.var("REDISCLI_AUTH").filter(|pw| !pw.is_empty()).map(Secret::new);
        let fallback_password = self.password.read()?.or(env_password);
        let texts = match (self.targets.is_empty(), env.var("REDIS_URL").filter(|url| !url.is_empty())) {
            (false, _) => self.targets,
            (true, Some(url)) => vec![url],
            (true, None) => vec![DEFAULT_URL.to_owned()],
        };
        let urls = texts
            .iter()
            .map(|text| RedisUrl::parse(text).map_err(|why| anyhow::anyhow!("'{}': {why}", uri::unparsed(text))))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let speaks_tls = urls.iter().any(|url| matches!(url.address, url::Address::Tcp { tls: Some(_), .. }));
        let tls = Tls::load(&self.tls, env, speaks_tls)?;
        // One rustls configuration per kind of verification, built only if a target needs it.
        let mut configs: [Option<Arc<rustls::ClientConfig>>; 2] = [None, None];
        let mut targets = Vec::with_capacity(urls.len());
        for url in urls {
            let address = match url.address {
                url::Address::Tcp { host, tls: None } => Address::Plain(Endpoint::Tcp(host)),
                url::Address::Tcp { host, tls: Some(verify) } => {
                    let insecure = verify == Verify::Nothing || tls.insecure();
                    let config = match &mut configs[usize::from(insecure)] {
                        Some(config) => Arc::clone(config),
                        slot => Arc::clone(slot.insert(Arc::new(tls.for_rustls_verifying(!insecure)?))),
                    };
                    Address::Tls(host, config)
                }
                url::Address::Unix(path) => Address::Plain(Endpoint::Unix(path)),
            };
            let redis = Redis {
                address,
                username: url.username,
                password: url.password.or_else(|| fallback_password.clone()),
                db: url.db,
                expect_role: self.expect_role,
                alive: self.alive,
            };
            targets.push(Target { label: url.label, check: Arc::new(redis) });
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
    /// TCP or a unix socket, in plain text.
    Plain(Endpoint),
    Tls(HostPort, Arc<rustls::ClientConfig>),
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
            Address::Plain(endpoint) => net::open(endpoint, deadline, trace).map_err(Verdict::unreachable)?.into(),
            Address::Tls(host, config) => {
                let endpoint = Endpoint::Tcp(host.clone());
                let socket = net::open(&endpoint, deadline, trace).map_err(Verdict::unreachable)?;
                trace.enter("tls");
                plain_port::handshake(socket, &endpoint, &host.host, Arc::clone(config), deadline)
                    .map_err(Verdict::unreachable)?
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
        match send(connection, "ping", &[b"PING"], deadline, trace)? {
            // A bulk string too, as redis-py's ping() reads it (proxies answer so).
            Reply::Status(pong) if pong == "PONG" => Ok(pong),
            Reply::Bulk(Some(pong)) if pong == b"PONG" => Ok("PONG".to_owned()),
            Reply::Error(error) => Err(self.refused(&error)),
            other => Err(Verdict::unhealthy(format!("PING answered {}, not PONG", other.describe())).into()),
        }
    }

    /// +OK goes on; an error reply stops the conversation.
    fn expect_ok(&self, command: &str, reply: Reply) -> Result<(), Stop> {
        match reply {
            Reply::Status(_) => Ok(()),
            Reply::Error(error) => Err(self.refused(&error)),
            other => Err(Verdict::unhealthy(format!("{command} answered {}, not OK", other.describe())).into()),
        }
    }

    /// An error reply is the server's verdict, quoted; with --alive, LOADING and MASTERDOWN
    /// mean alive.
    fn refused(&self, error: &str) -> Stop {
        match error.split(' ').next() {
            Some("LOADING" | "MASTERDOWN") if self.alive => Stop::Alive(quote::peer(error)),
            _ => Stop::Verdict(Verdict::unhealthy(quote::peer(error))),
        }
    }

    /// Healthy with what was seen, unless --expect-role asks ROLE and the role is another. ROLE
    /// is asked after PONG, and after LOADING or MASTERDOWN under --alive: it answers then too.
    fn judge_role(&self, seen: &str, connection: &mut Connection, deadline: Deadline, trace: &Trace) -> Verdict {
        let Some(expected) = self.expect_role else { return Verdict::healthy(seen) };
        let role = match send(connection, "role", &[b"ROLE"], deadline, trace) {
            Ok(Reply::Array(Some(items))) => items.first().map(Reply::text).unwrap_or_default(),
            Ok(Reply::Error(error)) => return Verdict::unhealthy(quote::peer(error)),
            Ok(other) => other.text(),
            Err(Stop::Verdict(verdict)) => return verdict,
            Err(Stop::Alive(error)) => return Verdict::unhealthy(error),
        };
        let shown = if role == "slave" { "replica".to_owned() } else { quote::peer(&role) };
        let wanted = match expected {
            Role::Primary => "master",
            Role::Replica => "replica",
        };
        if shown == wanted {
            Verdict::healthy(then(seen, ",", &format!("role {shown}")))
        } else {
            Verdict::unhealthy(then(seen, ",", &format!("but the role is {shown}, not {wanted}")))
        }
    }
}

/// `said`, then `more`: after `separator` when `said` runs on, as a new sentence when a
/// server's reply in it ended one (`…set to 'no'. But the role is replica`), so that the two
/// never meet as `'no'.,`.
fn then(said: &str, separator: &str, more: &str) -> String {
    if !said.ends_with(['.', '!', '?']) {
        return format!("{said}{separator} {more}");
    }
    let mut chars = more.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
    format!("{said} {first}{}", chars.as_str())
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
            verdict.message =
                then(&verdict.message, ";", "the password was not needed: the server asks for none");
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
    let first = !connection.has_answered() && !connection.is_tls_or_unix();
    connection.command(args, deadline.socket_timeout()).map_err(|failure| Stop::Verdict(unreachable(&failure, first)))
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

/// No usable answer: the socket's or TLS's complaint, or bytes that are not RESP. A plain
/// Redis always answers a command, so a reset before any reply to the first one over plain TCP
/// is what a TLS port (OpenSSL's, as redis-server's `--tls-port`) does to plain text.
fn unreachable(failure: &Failure, first_in_plain_text: bool) -> Verdict {
    Verdict::unreachable(match failure {
        Failure::NotRedis => "the answer is not Redis's protocol".to_owned(),
        Failure::SpeaksTls => PROTOCOL.speaks_tls(),
        Failure::Io(err) if first_in_plain_text && err.kind() == std::io::ErrorKind::ConnectionReset => {
            PROTOCOL.reset_by_tls_port()
        }
        Failure::Io(err) => net::describe(err),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_and_what_follows_never_meet_as_doubled_punctuation() {
        let masterdown = "alive: MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
        assert_eq!(
            then(masterdown, ",", "but the role is replica, not master"),
            format!("{masterdown} But the role is replica, not master")
        );
        assert_eq!(then("PONG", ",", "role master"), "PONG, role master");
        assert_eq!(
            then("PONG", ";", "the password was not needed: the server asks for none"),
            "PONG; the password was not needed: the server asks for none"
        );
    }

    #[test]
    fn a_reset_before_the_first_reply_over_plain_tcp_names_the_tls_port() {
        let reset = Failure::Io(std::io::ErrorKind::ConnectionReset.into());
        assert_eq!(unreachable(&reset, true).message, PROTOCOL.reset_by_tls_port());
        assert_eq!(unreachable(&reset, false).message, "connection reset by peer");
        assert_eq!(unreachable(&Failure::SpeaksTls, false).message, PROTOCOL.speaks_tls());
    }
}
