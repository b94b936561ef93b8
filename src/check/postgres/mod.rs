//! `probe postgres`: connect, authenticate and, with `--query`, run it; or with `--ping`,
//! pg_isready's credential-free check. Settings follow libpq to the letter (URLs, conninfo,
//! service files, PG* variables, the password file per host, sslmode, target_session_attrs);
//! the README lists where probe differs. The socket is opened here, so every phase is timed and
//! under the deadline, and tokio-postgres speaks the protocol over it. A session ends with
//! Terminate, so the server's log stays clean.

mod attempt;
pub mod parse;
mod passfile;
pub mod ping;
mod service;
pub mod settings;
mod watch;

use std::{path::PathBuf, sync::Arc};

use self::{
    attempt::{Mode, Postgres},
    settings::{Address, Root, Settings, SslMode},
};
use super::Target;
use crate::{
    env::Env,
    net::HostPort,
    secret::read_password_file,
    tls::{self, Verify},
};

/// PostgreSQL's words for a TLS port asked in plain text and the reverse.
pub const PROTOCOL: crate::net::Protocol = crate::net::Protocol {
    name: "PostgreSQL's protocol",
    use_tls: "use sslmode=require with sslnegotiation=direct",
    drop_tls: "use sslmode=disable",
};

#[derive(Debug, clap::Args)]
#[command(after_long_help = crate::docs::environment(&[("PGHOST, PGHOSTADDR, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGPASSFILE, PGSERVICE, PGSERVICEFILE, PGSYSCONFDIR, PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY, PGSSLCERTMODE, PGSSLCRL, PGSSLCRLDIR, PGSSLSNI, PGSSLNEGOTIATION, PGSSLCOMPRESSION, PGSSLMINPROTOCOLVERSION, PGSSLMAXPROTOCOLVERSION, PGAPPNAME, PGCONNECT_TIMEOUT, PGOPTIONS, PGCLIENTENCODING, PGTZ, PGDATESTYLE, PGGEQO, PGTARGETSESSIONATTRS, PGLOADBALANCEHOSTS, PGCHANNELBINDING, PGREQUIREAUTH, PGREQUIREPEER, PGMINPROTOCOLVERSION, PGMAXPROTOCOLVERSION, PGGSSENCMODE, PGKRBSRVNAME, PGGSSLIB, PGGSSDELEGATION", "as libpq reads them, for what the target does not say (PGHOST a directory: a unix socket; PGSERVICEFILE and PGSYSCONFDIR: where service files are; PGTZ, PGDATESTYLE and PGGEQO: sent to the server)"), ("HOME", "where ~/.pgpass and ~/.pg_service.conf are")]))]
pub struct Args {
    /// postgres:// URL or "key=value ..." conninfo; with none, the PG* environment variables.
    #[arg(value_name = "URL|CONNINFO")]
    targets: Vec<String>,

    /// Run this SQL after connecting; an SQL error is unhealthy.
    #[arg(long, value_name = "SQL", conflicts_with = "ping")]
    query: Option<String>,

    /// Healthy only on a server in this role (from pg_is_in_recovery()), judged on the host the
    /// connection reached; to choose among a host list, use target_session_attrs.
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
pub enum Role {
    Primary,
    Replica,
}

impl Args {
    pub fn targets(self, env: &dyn Env) -> anyhow::Result<Vec<Target>> {
        let password_file = self.password_file.as_deref().map(read_password_file).transpose()?;
        let var = |name: &str| env.var(name);
        let os_user = || env.os_user();
        let env = settings::Env { var: &var, os_user: &os_user };
        let mode = Arc::new(if self.ping {
            Mode::Ping
        } else {
            Mode::Login { query: self.query, expect_role: self.expect_role }
        });
        let texts = if self.targets.is_empty() { vec![String::new()] } else { self.targets };
        texts
            .iter()
            .map(|text| {
                let shown = parse::label(text);
                let pairs = if text.is_empty() { Ok(Vec::new()) } else { parse::parse(text) };
                let settings = pairs
                    .and_then(|pairs| settings::settings(&pairs, &env, password_file.as_ref()))
                    .map_err(|why| anyhow::anyhow!("'{}': {why}", shown.replace(['\n', '\r'], " ")))?;
                let label = if text.is_empty() { describe_settings(&settings) } else { shown };
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
    format!("postgres://{}@{}/{}", settings.user, hosts.join(","), settings.dbname)
}

/// libpq's sslmode as a rustls configuration, built when the server has agreed to TLS, so the
/// files are read then, as libpq reads them: below verify-ca, nothing is verified unless a root
/// certificate file is there (then the chain, as libpq); verify-ca the chain, verify-full chain
/// and name.
pub(crate) fn tls_config(settings: &Settings) -> Result<Arc<rustls::ClientConfig>, String> {
    let files = settings.tls.at_tls_start(settings.sslmode)?;
    let (roots, verify) = match (&files.root, settings.sslmode) {
        (Root::System, _) => (None, Verify::Full),
        (root, SslMode::VerifyFull) => (root_path(root), Verify::Full),
        (Root::File(path), _) => (Some(path.as_path()), Verify::Chain),
        (Root::None, SslMode::VerifyCa) => (None, Verify::Chain),
        (Root::None, _) => (None, Verify::Nothing),
    };
    let identity = files.identity.as_ref().map(|(cert, key)| (cert.as_path(), key.as_path()));
    let mut config = tls::client_config(roots, identity, verify).map_err(|err| format!("{err:#}"))?;
    config.enable_sni = settings.sni;
    if settings.direct_tls {
        config.alpn_protocols = vec![b"postgresql".to_vec()];
    }
    Ok(Arc::new(config))
}

fn root_path(root: &Root) -> Option<&std::path::Path> {
    match root {
        Root::File(path) => Some(path),
        _ => None,
    }
}
