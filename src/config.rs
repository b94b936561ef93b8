//! Validated settings, built from the command line (and, for the checks that follow libpq and
//! redis-cli, the environment) before any I/O. Everything after this trusts them.

use std::{env, path::PathBuf, time::Duration};

use crate::{
    check::{self, Target},
    check::{postgres::PostgresEnv, redis::RedisEnv},
    cli::{CheckArgs, GlobalArgs},
    secret::{Secret, read_password_file},
    tls::Tls,
};

pub struct Config {
    /// The check's name as printed: `tcp`, `http`, `postgres`, `redis`.
    pub check: &'static str,
    pub targets: Vec<Target>,
    pub timeout: Duration,
    pub wait: Option<Duration>,
    pub interval: Duration,
    pub output: Output,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Quiet,
    Text { verbose: bool },
    Json { verbose: bool },
}

impl Config {
    pub fn new(global: GlobalArgs, check: CheckArgs) -> anyhow::Result<Self> {
        let (check, targets) = match check {
            CheckArgs::Tcp(args) => ("tcp", check::tcp::targets(args)),
            CheckArgs::Http(args) => {
                let tls = Tls::load(&args.tls, ssl_cert_file(&args.targets, "https://"))?;
                ("http", check::http::targets(args, tls)?)
            }
            CheckArgs::Postgres(args) => {
                let file_password = args.password_file.as_deref().map(read_password_file).transpose()?;
                let var = |name: &str| env::var(name).ok();
                let env = PostgresEnv { var: &var, os_user: &os_user, passfile: &passfile };
                ("postgres", check::postgres::targets(args, env, file_password)?)
            }
            CheckArgs::Redis(args) => {
                let file_password = args.password_file.as_deref().map(read_password_file).transpose()?;
                let env = RedisEnv {
                    url: env::var("REDIS_URL").ok().filter(|url| !url.is_empty()),
                    password: env::var("REDISCLI_AUTH").ok().filter(|pw| !pw.is_empty()).map(Secret::new),
                };
                let urls: Vec<String> = args.targets.iter().cloned().chain(env.url.clone()).collect();
                let tls = Tls::load(&args.tls, ssl_cert_file(&urls, "rediss://"))?;
                ("redis", check::redis::targets(args, tls, env, file_password)?)
            }
        };
        let output = match (global.quiet, global.json) {
            (true, _) => Output::Quiet,
            (false, true) => Output::Json { verbose: global.verbose },
            (false, false) => Output::Text { verbose: global.verbose },
        };
        Ok(Config {
            check,
            targets,
            timeout: global.timeout,
            wait: global.wait,
            interval: global.interval,
            output,
        })
    }
}

/// SSL_CERT_FILE, honoured as OpenSSL and curl do, but only when a target speaks TLS: reading
/// a system bundle costs milliseconds that a plain-text probe has no use for.
fn ssl_cert_file(targets: &[String], tls_scheme: &str) -> Option<PathBuf> {
    let speaks_tls = targets.iter().any(|target| {
        target.get(..tls_scheme.len()).is_some_and(|scheme| scheme.eq_ignore_ascii_case(tls_scheme))
    });
    speaks_tls.then(|| env::var_os("SSL_CERT_FILE")).flatten().map(PathBuf::from)
}

/// The text of libpq's password file, PGPASSFILE or else ~/.pgpass, when it is there and, as
/// libpq insists, readable by its owner only.
fn passfile() -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let path = match env::var_os("PGPASSFILE") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env::var_os("HOME")?).join(".pgpass"),
    };
    let private = std::fs::metadata(&path).ok()?.permissions().mode() & 0o077 == 0;
    private.then(|| std::fs::read_to_string(&path).ok()).flatten()
}

/// The name of the user running probe, as libpq finds it (the password database entry of the
/// effective user; /proc/self belongs to it). None in an image without /etc/passwd.
fn os_user() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find_map(|fields| (fields.len() > 2 && fields[2] == uid).then(|| fields[0].to_owned()))
}
