//! Validated settings, built from the command line (and, for the checks that follow libpq and
//! redis-cli, the environment) before any I/O. Everything after this trusts them.

use std::{env, path::PathBuf, time::Duration};

use anyhow::bail;

use crate::{
    check::redis::RedisEnv,
    check::{self, Target},
    cli::{CheckArgs, Cli},
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
    pub fn from_cli(cli: Cli) -> anyhow::Result<Self> {
        let global = cli.global;
        let (check, targets) = match cli.check {
            CheckArgs::Tcp(args) => ("tcp", check::tcp::targets(args)),
            CheckArgs::Http(args) => {
                let tls = Tls::load(&args.tls, env::var_os("SSL_CERT_FILE").map(PathBuf::from))?;
                ("http", check::http::targets(args, tls)?)
            }
            CheckArgs::Postgres(_) => bail!("'probe postgres' is not implemented yet"),
            CheckArgs::Redis(args) => {
                let tls = Tls::load(&args.tls, env::var_os("SSL_CERT_FILE").map(PathBuf::from))?;
                let file_password = args.password_file.as_deref().map(read_password_file).transpose()?;
                let env = RedisEnv {
                    url: env::var("REDIS_URL").ok().filter(|url| !url.is_empty()),
                    password: env::var("REDISCLI_AUTH").ok().filter(|pw| !pw.is_empty()).map(Secret::new),
                };
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
