//! `probe mysql`: MySQL and MariaDB. Connects (TCP, or the unix socket for `localhost` as the
//! mysql client does), reads the greeting, upgrades to TLS per `ssl-mode`, logs in
//! (`mysql_native_password`, `caching_sha2_password`, `client_ed25519`), then COM_PING, the
//! `--query` or the role queries, and COM_QUIT, so the server logs nothing. `--ping` is
//! mysqladmin ping's check without its traps: it needs no credentials, yet completes the
//! handshake (a dropped one counts towards max_connect_errors), and a refusal is "alive" but a
//! shutdown is not. The protocol is written here (the `mysql` crate would not fit the size
//! budget): `url` reads targets (on the shared `uri` reader), `packet` the wire formats, `auth`
//! and `ed25519` the plugins, `session` the exchanges; the socket is `net::open`'s and TLS the
//! shared `tls::handshake`, so this file holds the conversation's order and its verdicts.

mod auth;
mod ed25519;
#[cfg(any(test, fuzzing))]
pub mod fuzz;
pub mod packet;
pub mod session;
pub mod url;

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use rustls::ClientConfig;

use self::{
    packet::{CLIENT_SSL, Failure, Greeting},
    session::{Conn, Credentials, Table, Transport},
    url::{Address, Defaults, Settings, SslMode},
};
use super::{Check, Target};
use crate::{
    deadline::Deadline,
    env::Env,
    login::{Mode, PasswordArgs, Role, SqlArgs},
    net::{self, Endpoint, HostPort, Stream},
    outcome::Verdict,
    quote,
    secret::Secret,
    tls::{self, TlsArgs, Verify},
    trace::Trace,
};

/// MySQL's words for TLS and plain text meeting on one port. The server speaks first, so a
/// TLS-only port asked in plain text stays silent (the README's troubleshooting says so).
pub const PROTOCOL: net::Protocol = net::Protocol {
    name: "MySQL's protocol",
    use_tls: "use ssl-mode=REQUIRED",
    drop_tls: "use ssl-mode=DISABLED",
};

/// What mysql's shared login flags mean here, for its manual page.
const DETAILS: &str = "--expect-role primary means writable (read_only, and super_read_only on MySQL, off); replica means replication running (its I/O and SQL threads). --query is stopped by the server at the deadline (MariaDB max_statement_time, MySQL max_execution_time for SELECTs), given all but a tenth of the time left (at most 100 ms). --ping is mysqladmin ping's check: alive when the server greets and answers a login attempt with anything but a shutdown; credentials are used when given. The password comes from the URL, else --password-file, else MYSQL_PWD.";

#[derive(Debug, clap::Args)]
#[command(before_long_help = DETAILS)]
#[command(after_long_help = crate::docs::environment(&[("MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_UNIX_PORT", "the host, port and socket when the URL gives none, as the mysql client reads them"), ("MYSQL_PWD", "the password when the URL and --password-file give none"), ("USER", "the user when the URL gives none and the password database does not know the user running probe"), ("SSL_CERT_FILE", "a PEM file of trusted CAs for ssl-mode=VERIFY_CA and VERIFY_IDENTITY when neither ssl-ca nor --cacert is given")]))]
pub struct Args {
    /// mysql://[user[:password]@]host[:port][/database][?ssl-mode=…&ssl-ca=…], mariadb:// alike.
    /// localhost means the unix socket (/run/mysqld/mysqld.sock), as for the mysql client; a
    /// socket path as %2F-encoded host or ?socket=. With none: MYSQL_HOST, else localhost.
    #[arg(value_name = "URL")]
    targets: Vec<String>,

    #[command(flatten)]
    sql: SqlArgs,

    #[command(flatten)]
    password: PasswordArgs,

    #[command(flatten)]
    tls: TlsArgs,
}

impl Args {
    pub fn targets(self, env: &dyn Env) -> anyhow::Result<Vec<Target>> {
        let mode = Arc::new(self.sql.mode());
        let mut defaults = Defaults::read(env, self.password.read()?);
        // --ping needs no credentials, so not even a user name the system knows.
        if *mode == Mode::Ping && defaults.user.is_none() {
            defaults.user = Some("probe".to_owned());
        }
        let texts = if self.targets.is_empty() { vec![String::new()] } else { self.targets };
        let mut parsed = Vec::with_capacity(texts.len());
        for text in &texts {
            let (settings, label) =
                url::settings(text, &defaults).map_err(|(name, why)| anyhow::anyhow!("'{name}': {why}"))?;
            parsed.push((settings, label));
        }
        // A TLS option when no target uses TLS is refused, in the words every check uses.
        if parsed.iter().all(|(settings, _)| settings.ssl_mode == SslMode::Disabled) {
            tls::Tls::load(&self.tls, env, false)?;
        }
        parsed
            .into_iter()
            .map(|(settings, label)| {
                let tls = tls_config(&settings, &self.tls, env).map_err(|err| anyhow::anyhow!("'{label}': {err:#}"))?;
                Ok(Target { label, check: Arc::new(Mysql { settings, tls, mode: Arc::clone(&mode) }) })
            })
            .collect()
    }
}

/// ssl-mode as a rustls configuration. DISABLED: none. PREFERRED and REQUIRED verify nothing,
/// as the mysql client, unless a CA is given (ssl-ca, --cacert), which is then used for the
/// chain; VERIFY_CA checks the chain; VERIFY_IDENTITY chain and host name, against ssl-ca,
/// --cacert, SSL_CERT_FILE or else the bundled Mozilla roots. --insecure verifies nothing.
fn tls_config(
    settings: &Settings,
    args: &TlsArgs,
    env: &dyn Env,
) -> anyhow::Result<Option<Arc<ClientConfig>>> {
    if settings.ssl_mode == SslMode::Disabled {
        return Ok(None);
    }
    let given = settings.ssl_ca.clone().or_else(|| args.cacert.clone());
    let verifying =
        matches!(settings.ssl_mode, SslMode::VerifyCa | SslMode::VerifyIdentity) && !args.insecure;
    let ca =
        given.clone().or_else(|| verifying.then(|| env.var("SSL_CERT_FILE").map(PathBuf::from)).flatten());
    let verify = match (settings.ssl_mode, &given) {
        _ if args.insecure => Verify::Nothing,
        (SslMode::VerifyIdentity, _) => Verify::Full,
        (SslMode::VerifyCa, _) | (_, Some(_)) => Verify::Chain,
        _ => Verify::Nothing,
    };
    let identity = match (&settings.ssl_cert, &settings.ssl_key) {
        (Some(cert), Some(key)) => Some((cert.as_path(), key.as_path())),
        _ => args.cert.as_deref().zip(args.key.as_deref()),
    };
    // Said in MySQL's words before the shared code, which speaks libpq's, reads them.
    for (what, path) in
        [("ssl-ca", ca.as_deref()), ("ssl-cert", identity.map(|i| i.0)), ("ssl-key", identity.map(|i| i.1))]
    {
        if let Some(path) = path {
            std::fs::File::open(path).map_err(|err| {
                anyhow::anyhow!("cannot read {what} {}: {}", path.display(), net::describe(&err))
            })?;
        }
    }
    Ok(Some(Arc::new(tls::client_config(ca.as_deref(), identity, verify)?)))
}

struct Mysql {
    settings: Settings,
    tls: Option<Arc<ClientConfig>>,
    mode: Arc<Mode>,
}

impl Check for Mysql {
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        let endpoint = match &self.settings.address {
            Address::Tcp { host, port } => Endpoint::Tcp(HostPort { host: host.clone(), port: *port }),
            Address::Unix { path, .. } => Endpoint::Unix(path.clone()),
        };
        match net::open(&endpoint, deadline, trace) {
            Ok(socket) => self.converse(Stream::Plain(socket), deadline, trace),
            Err(why) => match &self.settings.address {
                // The mysql client's rule surprises people who meant TCP: say so.
                Address::Unix { localhost: true, .. } => Verdict::unreachable(format!(
                    "{why} (localhost means the unix socket, as for the mysql client; write 127.0.0.1 for TCP)"
                )),
                _ => Verdict::unreachable(why),
            },
        }
    }
}

impl Mysql {
    fn converse(&self, stream: Stream, deadline: Deadline, trace: &Trace) -> Verdict {
        let on_socket = stream.socket().is_unix();
        let mut conn = Conn::new(stream, Box::new(move || deadline.remaining()));
        trace.enter("greeting");
        let greeting = match conn.read().and_then(|payload| packet::parse_greeting(&payload)) {
            Ok(greeting) => greeting,
            Err(failure) => return self.judge(failure, None),
        };
        let s = &self.settings;
        let offered = greeting.capabilities & CLIENT_SSL != 0;
        let use_tls = match (s.ssl_mode, &self.tls) {
            (SslMode::Disabled, _) | (_, None) => false,
            // The mysql client does not encrypt socket connections unless told to.
            (SslMode::Preferred, Some(_)) => offered && !on_socket,
            (_, Some(_)) if !offered => return self.without_tls(&mut conn, &greeting),
            (_, Some(_)) => true,
        };
        let capabilities = packet::client_capabilities(greeting.capabilities, s.database.is_some(), use_tls);
        if use_tls && let Some(config) = &self.tls {
            trace.enter("tls");
            conn = match self.upgrade(conn, capabilities, config, deadline) {
                Ok(conn) => conn,
                Err(failure) => return self.judge(failure, Some(&greeting)),
            };
        }
        trace.enter("auth");
        let password = s.password.as_ref().map(Secret::expose).unwrap_or_default();
        let who = Credentials { user: &s.user, password: password.as_bytes(), database: s.database.as_deref() };
        if let Err(failure) = session::login(&mut conn, &greeting, capabilities, &who, use_tls || on_socket) {
            return self.judge(failure, Some(&greeting));
        }
        let verdict = match self.after_login(&mut conn, &greeting, trace) {
            Ok(seen) => Verdict::healthy(seen),
            // The server stopped the query when the time probe gave it ran out: that is probe's
            // deadline, said as any other (as grpc says a DEADLINE_EXCEEDED).
            Err(Failure::OutOfTime) => deadline.timed_out(trace),
            Err(failure) => self.judge(failure, Some(&greeting)),
        };
        session::quit(&mut conn);
        conn.stream.close();
        verdict
    }

    /// ssl-mode REQUIRED or stricter, and the server offers no TLS: a TLS failure (exit 2), as
    /// postgres's sslmode=require. The mysql client drops the connection here, which the server
    /// counts towards max_connect_errors; probe completes the handshake instead, without TLS and
    /// without the password, and quits if that got in.
    fn without_tls(&self, conn: &mut Conn<Stream>, greeting: &Greeting) -> Verdict {
        let capabilities = packet::client_capabilities(greeting.capabilities, false, false);
        let without = Credentials { user: &self.settings.user, password: b"", database: None };
        if session::login(conn, greeting, capabilities, &without, false).is_ok() {
            session::quit(conn);
        }
        Verdict::unreachable(format!(
            "ssl-mode={} but the server ({}) does not offer TLS",
            self.settings.ssl_mode.name(),
            greeting.product()
        ))
    }

    /// Sends the SSLRequest and runs the shared TLS handshake; the login continues inside it.
    fn upgrade(
        &self,
        mut conn: Conn<Stream>,
        capabilities: u32,
        config: &Arc<ClientConfig>,
        deadline: Deadline,
    ) -> Result<Conn<Stream>, Failure> {
        conn.write(&packet::ssl_request(capabilities))?;
        let name = match &self.settings.address {
            Address::Tcp { host, .. } => host.as_str(),
            Address::Unix { .. } => "localhost",
        };
        let Stream::Plain(socket) = conn.stream else {
            return Err(Failure::Refused("TLS twice".to_owned()));
        };
        let stream = tls::handshake(socket, name, Arc::clone(config), deadline, &PROTOCOL).map_err(Failure::Tls)?;
        Ok(Conn { stream, seq: conn.seq, time_left: conn.time_left })
    }

    fn after_login(
        &self,
        conn: &mut Conn<Stream>,
        greeting: &Greeting,
        trace: &Trace,
    ) -> Result<String, Failure> {
        let s = &self.settings;
        let database = s.database.as_deref().map(|db| format!(" to {db}")).unwrap_or_default();
        let mut seen = format!("logged in as {}{database} ({})", s.user, greeting.product());
        let (query, expect_role) = match &*self.mode {
            Mode::Ping => (None, None),
            Mode::Login { query, expect_role } => (query.as_deref(), *expect_role),
        };
        if let Some(expected) = expect_role {
            trace.enter("role");
            seen = role(conn, greeting, expected, seen)?;
        }
        if let Some(sql) = query {
            trace.enter("query");
            let rows: u64 = bounded_query(conn, greeting, sql)?.iter().map(|table| table.count).sum();
            seen.push_str(&format!(", query returned {rows} row{}", if rows == 1 { "" } else { "s" }));
        }
        if query.is_none() && expect_role.is_none() {
            trace.enter("ping");
            session::ping(conn)?;
        }
        if matches!(*self.mode, Mode::Ping) {
            seen = format!("alive: {seen}");
        }
        Ok(seen)
    }

    /// A failure as a verdict. With --ping, any answer from the server but a shutdown is alive.
    fn judge(&self, failure: Failure, greeting: Option<&Greeting>) -> Verdict {
        let ping = matches!(*self.mode, Mode::Ping);
        let who = greeting.map_or_else(|| "the server".to_owned(), Greeting::product);
        match failure {
            Failure::Io(err) => Verdict::unreachable(net::describe(&err)),
            Failure::Tls(why) => Verdict::unreachable(why),
            Failure::Protocol(what) => {
                Verdict::unreachable(format!("the answer is not MySQL's protocol: {what}"))
            }
            Failure::Refused(why) => Verdict::unhealthy(why),
            Failure::OutOfTime => Verdict::unreachable("the server stopped the query at the deadline"),
            Failure::Server(err) | Failure::Unanswerable { answer: err, .. }
                if ping && !session::is_shutdown(&err) =>
            {
                Verdict::healthy(format!("alive: {who} answered {err}"))
            }
            Failure::Server(err) => Verdict::unhealthy(err.to_string()),
            Failure::Unanswerable { why, answer } => {
                Verdict::unhealthy(format!("{why} (the server answered {answer})"))
            }
        }
    }
}

/// Runs `sql` so that the server gives up on it before the deadline passes: MariaDB's
/// `SET STATEMENT max_statement_time=<seconds> FOR <sql>` (10.1.2+), MySQL's session
/// `max_execution_time` (5.7.8+, milliseconds, SELECT statements only). The server's refusal
/// once that time is up is `Failure::OutOfTime`.
fn bounded_query<T: Transport>(
    conn: &mut Conn<T>,
    greeting: &Greeting,
    sql: &str,
) -> Result<Vec<Table>, Failure> {
    let left = server_bound(conn.time_left());
    let sent = Instant::now();
    match unstopped_query(conn, greeting, sql, left) {
        Err(Failure::Server(err)) if is_statement_timeout(&err) && sent.elapsed() + TIMER_SLACK >= left => {
            Err(Failure::OutOfTime)
        }
        other => other,
    }
}

/// How early a server's statement timer may fire: it counts from when it read the query, and
/// `max_statement_time` is written to the millisecond.
const TIMER_SLACK: Duration = Duration::from_millis(10);

/// The time the server may spend on the query: the time left, less a tenth of it (at most
/// 100 ms) for the server's answer to travel back, so that its verdict comes before probe's
/// deadline and the connection still ends with COM_QUIT.
fn server_bound(left: Duration) -> Duration {
    left.saturating_sub((left / 10).min(Duration::from_millis(100))).max(Duration::from_millis(1))
}

/// ER_STATEMENT_TIMEOUT (MariaDB's max_statement_time), ER_QUERY_TIMEOUT (MySQL's
/// max_execution_time).
fn is_statement_timeout(err: &packet::ServerError) -> bool {
    matches!(err.code, 1969 | 3024)
}

fn unstopped_query<T: Transport>(
    conn: &mut Conn<T>,
    greeting: &Greeting,
    sql: &str,
    left: Duration,
) -> Result<Vec<Table>, Failure> {
    if greeting.is_mariadb() {
        let bounded =
            format!("SET STATEMENT max_statement_time={:.3} FOR {sql}", left.as_secs_f64().max(0.001));
        return session::query(conn, &bounded, 0);
    }
    match session::query(conn, &format!("SET SESSION max_execution_time={}", left.as_millis().max(1)), 0) {
        // ER_UNKNOWN_SYSTEM_VARIABLE: a server older than 5.7.8 runs it unbounded.
        Ok(_) | Err(Failure::Server(packet::ServerError { code: 1193, .. })) => {}
        Err(failure) => return Err(failure),
    }
    session::query(conn, sql, 0)
}

/// `--expect-role`: primary means writable (`read_only` off, and `super_read_only` on MySQL);
/// replica means a replication connection whose I/O and SQL threads both run.
fn role(
    conn: &mut Conn<Stream>,
    greeting: &Greeting,
    expected: Role,
    seen: String,
) -> Result<String, Failure> {
    let unhealthy = |why: String| Failure::Refused(format!("{seen}, but {why}"));
    match expected {
        Role::Primary => {
            let sql = if greeting.is_mariadb() {
                "SELECT @@global.read_only"
            } else {
                "SELECT @@global.read_only, @@global.super_read_only"
            };
            let tables = session::query(conn, sql, 1)?;
            let row = tables.first().and_then(|t| t.rows.first()).cloned().unwrap_or_default();
            let on = |i: usize| row.get(i).and_then(Option::as_deref).is_some_and(|v| v != "0");
            match (on(0), on(1)) {
                (false, false) => Ok(format!("{seen}, primary (writable)")),
                (true, _) => Err(unhealthy("read_only is ON: not a primary".to_owned())),
                (false, true) => Err(unhealthy("super_read_only is ON: not a primary".to_owned())),
            }
        }
        Role::Replica => {
            // SHOW REPLICA STATUS: MariaDB 10.5.1+, MySQL 8.0.22+ (8.4 knows no other name).
            let tables = match session::query(conn, "SHOW REPLICA STATUS", 16) {
                Err(Failure::Server(packet::ServerError { code: 1064, .. })) => {
                    session::query(conn, "SHOW SLAVE STATUS", 16)?
                }
                other => other?,
            };
            let table = tables.into_iter().next().unwrap_or_default();
            if table.rows.is_empty() {
                return Err(unhealthy("it is not a replica (no replication configured)".to_owned()));
            }
            let io = table.value(0, &["Replica_IO_Running", "Slave_IO_Running"]).unwrap_or("?");
            let sql = table.value(0, &["Replica_SQL_Running", "Slave_SQL_Running"]).unwrap_or("?");
            if io == "Yes" && sql == "Yes" {
                let lag = table
                    .value(0, &["Seconds_Behind_Source", "Seconds_Behind_Master"])
                    .map(|s| format!(", {}s behind", quote::peer(s)))
                    .unwrap_or_default();
                return Ok(format!("{seen}, replica (replication running{lag})"));
            }
            let (io, sql) = (quote::peer(io), quote::peer(sql));
            let mut why = format!("replication is not running (I/O thread: {io}, SQL thread: {sql})");
            for (errno, error) in [("Last_IO_Errno", "Last_IO_Error"), ("Last_SQL_Errno", "Last_SQL_Error")] {
                if let Some(text) = table.value(0, &[error]).filter(|text| !text.is_empty()) {
                    let number = table.value(0, &[errno]).unwrap_or("?");
                    why.push_str(&format!("; last error {}: {}", quote::peer(number), quote::peer(text)));
                    break;
                }
            }
            Err(unhealthy(why))
        }
    }
}

impl Transport for Stream {
    fn set_timeout(&mut self, timeout: Duration) {
        Stream::set_timeout(self, timeout);
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        args: Args,
    }

    /// An environment with no variables and no name for the user probe runs as.
    struct Nameless;

    impl Env for Nameless {
        fn var(&self, _: &str) -> Option<String> {
            None
        }

        fn os_user(&self) -> Option<String> {
            None
        }
    }

    fn targets(argv: &[&str]) -> anyhow::Result<Vec<Target>> {
        let argv = std::iter::once("mysql").chain(argv.iter().copied());
        Command::try_parse_from(argv).expect("arguments").args.targets(&Nameless)
    }

    #[test]
    fn ping_needs_no_user_name_but_a_login_does() {
        assert_eq!(targets(&["--ping", "mysql://db"]).unwrap()[0].label, "mysql://db");
        let err = targets(&["mysql://db"]).err().expect("a usage error").to_string();
        assert!(err.contains("no user in the URL"), "{err}");
        assert_eq!(targets(&["mysql://app@db"]).unwrap().len(), 1);
    }

    /// The server's ER_STATEMENT_TIMEOUT is probe's deadline only once the time probe gave the
    /// statement is up; before that it is a limit the query set itself, and quoted.
    #[test]
    fn a_statement_timeout_is_the_deadline_only_when_the_bound_ran_out() {
        use self::session::mock;
        let greeting = mock::greeting("5.5.5-10.11.6-MariaDB", "mysql_native_password");
        let stopped: &[u8] =
            b"\xff\xb1\x07#70100Query execution was interrupted (max_statement_time exceeded)";
        let mut nearly_out = mock::conn(mock::frames(1, &[stopped]));
        nearly_out.time_left = Box::new(|| Duration::from_millis(5));
        assert!(matches!(
            bounded_query(&mut nearly_out, &greeting, "SELECT SLEEP(9)"),
            Err(Failure::OutOfTime)
        ));
        let sent = String::from_utf8_lossy(&nearly_out.stream.output[5..]).into_owned();
        assert!(
            sent.starts_with("SET STATEMENT max_statement_time=0.00")
                && sent.ends_with(" FOR SELECT SLEEP(9)")
        );

        let mut own_limit = mock::conn(mock::frames(1, &[stopped]));
        let own = bounded_query(&mut own_limit, &greeting, "SET STATEMENT max_statement_time=0.1 FOR DO 1");
        assert!(matches!(own, Err(Failure::Server(packet::ServerError { code: 1969, .. }))));
        // A second left: the server gets 900 ms of it.
        let sent = String::from_utf8_lossy(&own_limit.stream.output[5..]).into_owned();
        assert!(sent.starts_with("SET STATEMENT max_statement_time=0.900 FOR "), "{sent}");
        assert_eq!(server_bound(Duration::from_secs(10)), Duration::from_millis(9900));
    }

    #[test]
    fn tls_files_are_read_before_any_connection() {
        let err = targets(&["mysql://app@db?ssl-mode=VERIFY_CA&ssl-ca=/nonexistent/ca.pem"])
            .err()
            .expect("a usage error")
            .to_string();
        assert_eq!(
            err,
            "'mysql://app@db?ssl-mode=VERIFY_CA&ssl-ca=/nonexistent/ca.pem': cannot read ssl-ca /nonexistent/ca.pem: no such file or directory"
        );
        let secret = targets(&["mysql://app:hunter2@db:0"]).err().expect("a usage error").to_string();
        assert!(!secret.contains("hunter2"), "{secret}");
    }
}
