//! `probe postgres`: connect, authenticate and, with `--query`, run it; or with `--ping`,
//! pg_isready's credential-free check. Settings follow libpq to the letter (URLs, conninfo,
//! service files, PG* variables, the password file per host, sslmode, target_session_attrs);
//! the README lists where probe differs. The socket is opened by `net::open`, so every phase is
//! timed and under the deadline, and tokio-postgres speaks the protocol over it. A session ends
//! with Terminate, so the server's log stays clean.
//!
//! Files by job: `parse` (with `url` and `conninfo`) reads a target and builds its label;
//! `settings` (with `hosts`, `service`, `passfile` and `tlsfiles`) completes it as libpq does;
//! `attempt` runs one attempt over the host list, `connect` opens a session (`tls` and `watch`
//! under it), `session` does the work in it, `describe` words what went wrong; `ping` is
//! pg_isready's exchange.

mod attempt;
mod connect;
mod conninfo;
mod describe;
#[cfg(any(test, fuzzing))]
pub mod fuzz;
mod hosts;
pub mod parse;
mod passfile;
pub mod ping;
mod service;
mod session;
pub mod settings;
mod tls;
mod tlsfiles;
mod url;
mod watch;

use std::sync::Arc;

use self::{
    attempt::Postgres,
    settings::{Address, Settings},
};
use super::Target;
use crate::{
    env::Env,
    login::{PasswordArgs, SqlArgs},
    net::HostPort,
    quote,
};

/// PostgreSQL's words for a TLS port asked in plain text and the reverse.
pub const PROTOCOL: crate::net::Protocol = crate::net::Protocol {
    name: "PostgreSQL's protocol",
    use_tls: "use sslmode=require with sslnegotiation=direct",
    drop_tls: "use sslmode=disable",
};

/// What postgres's shared login flags mean here, for its manual page.
const DETAILS: &str = "--expect-role is judged from pg_is_in_recovery() on the host the connection reached; to choose among a host list, use target_session_attrs. --query runs with all but a tenth of the time left (at most 100 ms), kept to cancel it on the server (a CancelRequest) when the deadline comes first. --ping is pg_isready's check: healthy on an authentication request or any error but SQLSTATE 57P03. The password comes from the target, else --password-file, else PGPASSWORD, else the password file (PGPASSFILE, ~/.pgpass), looked up per host.";

#[derive(Debug, clap::Args)]
#[command(before_long_help = DETAILS)]
#[command(after_long_help = crate::docs::environment(&[("PGHOST, PGHOSTADDR, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGPASSFILE, PGSERVICE, PGSERVICEFILE, PGSYSCONFDIR, PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY, PGSSLCERTMODE, PGSSLCRL, PGSSLCRLDIR, PGSSLSNI, PGSSLNEGOTIATION, PGSSLCOMPRESSION, PGSSLMINPROTOCOLVERSION, PGSSLMAXPROTOCOLVERSION, PGAPPNAME, PGCONNECT_TIMEOUT, PGOPTIONS, PGCLIENTENCODING, PGTZ, PGDATESTYLE, PGGEQO, PGTARGETSESSIONATTRS, PGLOADBALANCEHOSTS, PGCHANNELBINDING, PGREQUIREAUTH, PGREQUIREPEER, PGMINPROTOCOLVERSION, PGMAXPROTOCOLVERSION, PGGSSENCMODE, PGKRBSRVNAME, PGGSSLIB, PGGSSDELEGATION", "as libpq reads them, for what the target does not say (PGHOST a directory: a unix socket; PGSERVICEFILE and PGSYSCONFDIR: where service files are; PGTZ, PGDATESTYLE and PGGEQO: sent to the server)"), ("HOME", "where ~/.pgpass and ~/.pg_service.conf are")]))]
pub struct Args {
    /// postgres:// URL or "key=value ..." conninfo; with none, the PG* environment variables.
    #[arg(value_name = "URL|CONNINFO")]
    targets: Vec<String>,

    #[command(flatten)]
    sql: SqlArgs,

    #[command(flatten)]
    password: PasswordArgs,
}

impl Args {
    pub fn targets(self, env: &dyn Env) -> anyhow::Result<Vec<Target>> {
        let password_file = self.password.read()?;
        let mode = Arc::new(self.sql.mode());
        let texts = if self.targets.is_empty() { vec![String::new()] } else { self.targets };
        texts
            .iter()
            .map(|text| {
                let (pairs, label) = match text.is_empty() {
                    true => (Vec::new(), None),
                    false => {
                        let parsed = parse::parse(text).map_err(|refused| anyhow::anyhow!("{refused}"))?;
                        (parsed.pairs, Some(parsed.label))
                    }
                };
                let settings = settings::settings(&pairs, env, password_file.as_ref()).map_err(|why| {
                    match &label {
                        Some(label) => anyhow::anyhow!("'{label}': {why}"),
                        None => anyhow::anyhow!("the PG* environment variables: {why}"),
                    }
                })?;
                let label = label.unwrap_or_else(|| describe_settings(&settings));
                let check = Postgres { settings, mode: Arc::clone(&mode) };
                Ok(Target { label, check: Arc::new(check) })
            })
            .collect()
    }
}

/// How a target given only by the environment is shown: libpq's settings as a URL.
fn describe_settings(settings: &Settings) -> String {
    let hosts: Vec<String> = settings
        .hosts
        .iter()
        .map(|host| match &host.address {
            Address::Tcp { name, hostaddr } => {
                let name = if name.is_empty() {
                    hostaddr.map(|a| a.to_string()).unwrap_or_default()
                } else {
                    name.clone()
                };
                HostPort { host: name, port: host.port }.to_string()
            }
            Address::Unix(dir) => format!("{}:{}", dir.display().to_string().replace('/', "%2F"), host.port),
            Address::Abstract(name) => format!("%40{name}:{}", host.port),
            Address::Default => {
                let dir = std::path::Path::new(settings::DEFAULT_SOCKET_DIR);
                match dir.join(format!(".s.PGSQL.{}", host.port)).exists() {
                    true => format!("{}:{}", settings::DEFAULT_SOCKET_DIR.replace('/', "%2F"), host.port),
                    false => format!("localhost:{}", host.port),
                }
            }
        })
        .collect();
    quote::escaped(&format!("postgres://{}@{}/{}", settings.user, hosts.join(","), settings.dbname))
}
