//! The command line, as clap definitions: every flag, its help text and its environment
//! variable. Values parse themselves here; combining them into settings is `config`'s job.

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum, builder::BoolishValueParser};

use crate::{
    check::http::{Header, StatusSet},
    duration,
    net::HostPort,
};

/// One health check, one exit status: 0 healthy, 1 unhealthy, 2 unreachable, 3 usage error.
///
/// Built for Kubernetes exec probes, init containers and CI wait steps. Every global option can
/// also be set as PROBE_<NAME> in the environment (e.g. PROBE_TIMEOUT=2s).
#[derive(Debug, Parser)]
#[command(name = "probe", version, propagate_version = true, subcommand_required = true)]
#[command(subcommand_value_name = "CHECK", subcommand_help_heading = "Checks")]
#[command(
    after_help = "Exit status: 0 every target healthy, 1 unhealthy, 2 unreachable, 3 usage or configuration error."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Deadline for one attempt of one target, every phase included (resolve, connect, TLS,
    /// authentication, request, answer). The default fits Kubernetes' timeoutSeconds: 1.
    #[arg(short, long, global = true, env = "PROBE_TIMEOUT", value_name = "DUR", default_value = "900ms",
          value_parser = duration::parse_positive)]
    pub timeout: Duration,

    /// Retry each target until it passes or DUR has passed (init containers, CI, compose).
    #[arg(short, long, global = true, env = "PROBE_WAIT", value_name = "DUR", value_parser = duration::parse)]
    pub wait: Option<Duration>,

    /// Pause between attempts with --wait.
    #[arg(long, global = true, env = "PROBE_INTERVAL", value_name = "DUR", default_value = "1s",
          value_parser = duration::parse)]
    pub interval: Duration,

    /// Print nothing; the exit status says it all.
    #[arg(short, long, global = true, env = "PROBE_QUIET", value_parser = BoolishValueParser::new(),
          default_value_t = false, num_args = 0, default_missing_value = "true")]
    pub quiet: bool,

    /// Also print each phase with its duration (resolve, connect, tls, auth, request…).
    #[arg(short, long, global = true, env = "PROBE_VERBOSE", value_parser = BoolishValueParser::new(),
          default_value_t = false, num_args = 0, default_missing_value = "true")]
    pub verbose: bool,

    /// Print one JSON object per target on stdout instead of text.
    #[arg(long, global = true, env = "PROBE_JSON", value_parser = BoolishValueParser::new(),
          default_value_t = false, num_args = 0, default_missing_value = "true")]
    pub json: bool,
}

// Parsed once per run: boxing the checks to keep this enum small would gain nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(flatten)]
    Check(CheckArgs),
    /// Print a shell completion script: `probe completions bash > /etc/bash_completion.d/probe`.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
}

/// The checks: each one is a subcommand with its own options.
#[derive(Debug, Subcommand)]
pub enum CheckArgs {
    /// Healthy when a TCP connection opens.
    Tcp(TcpArgs),
    /// Healthy when the final HTTP status is 200-399 (kubelet's httpGet rules).
    Http(HttpArgs),
    /// Healthy when PostgreSQL accepts a login (and the query runs).
    Postgres(PostgresArgs),
    /// Healthy when Redis answers PING with PONG.
    Redis(RedisArgs),
}

#[derive(Debug, Args)]
pub struct TcpArgs {
    /// Where to connect: HOST:PORT, IPv6 as [::1]:5432. Several are checked at once.
    #[arg(value_name = "HOST:PORT", required = true)]
    pub targets: Vec<HostPort>,
}

#[derive(Debug, Args)]
pub struct HttpArgs {
    /// http:// or https:// URL. Several are checked at once.
    #[arg(value_name = "URL", required = true)]
    pub targets: Vec<String>,

    /// Request method.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Method::Get)]
    pub method: Method,

    /// Extra request header, 'Name: value'; repeatable. A Host header given here is the one sent.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<Header>,

    /// Healthy status codes instead of 200-399, e.g. 200 or 200-299,304.
    #[arg(long, value_name = "LIST")]
    pub status: Option<StatusSet>,

    /// Healthy only if the body contains TEXT (only then is the body read, up to a cap).
    #[arg(long, value_name = "TEXT")]
    pub body_contains: Option<String>,

    /// Healthy only if the body matches the regular expression RE.
    #[arg(long, value_name = "RE")]
    pub body_regex: Option<regex_lite::Regex>,

    #[command(flatten)]
    pub tls: TlsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    Get,
    Head,
}

#[derive(Debug, Args)]
pub struct PostgresArgs {
    /// postgres:// URL or "key=value ..." conninfo; with none, the PG* environment variables.
    #[arg(value_name = "URL|CONNINFO")]
    pub targets: Vec<String>,

    /// Run this SQL after connecting; an SQL error is unhealthy.
    #[arg(long, value_name = "SQL", conflicts_with = "ping")]
    pub query: Option<String>,

    /// Healthy only on a server in this role (from pg_is_in_recovery()).
    #[arg(long, value_enum, value_name = "ROLE", conflicts_with = "ping")]
    pub expect_role: Option<PostgresRole>,

    /// pg_isready's check: no credentials needed, only whether the server accepts connections.
    #[arg(long)]
    pub ping: bool,

    /// Read the password from FILE (a trailing newline is ignored).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PostgresRole {
    Primary,
    Replica,
}

#[derive(Debug, Args)]
pub struct RedisArgs {
    /// redis://[user[:password]@]host[:port][/db], rediss:// (TLS) or unix:///path; with none,
    /// REDIS_URL, else redis://127.0.0.1:6379.
    #[arg(value_name = "URL")]
    pub targets: Vec<String>,

    /// Read the password from FILE (a trailing newline is ignored); REDISCLI_AUTH also works.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// Healthy only on a server in this role (from ROLE).
    #[arg(long, value_enum, value_name = "ROLE")]
    pub expect_role: Option<RedisRole>,

    /// For liveness probes: a server answering LOADING or MASTERDOWN is alive, hence healthy.
    #[arg(long)]
    pub alive: bool,

    #[command(flatten)]
    pub tls: TlsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RedisRole {
    Master,
    Replica,
}

/// TLS settings shared by the checks that speak TLS.
#[derive(Debug, Args)]
pub struct TlsArgs {
    /// Trust the certificate authorities in this PEM file instead of the bundled Mozilla roots.
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    pub cacert: Option<PathBuf>,

    /// Client certificate (PEM) for mutual TLS; needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,

    /// Private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,

    /// Do not verify the server's certificate (kubelet's HTTPS probes never do).
    #[arg(long)]
    pub insecure: bool,
}

/// A clap error as one line: the complaint and its tip, without the usage block.
pub fn one_line(err: &clap::Error) -> anyhow::Error {
    use clap::error::ErrorKind::{DisplayHelpOnMissingArgumentOrSubcommand, MissingSubcommand};
    if matches!(err.kind(), MissingSubcommand | DisplayHelpOnMissingArgumentOrSubcommand) {
        return anyhow::anyhow!("name a check: tcp, http, postgres or redis; see 'probe --help'");
    }
    let rendered = err.render().to_string();
    let mut message = String::new();
    let lines = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"));
    for line in lines.filter(|line| !line.is_empty()) {
        match line.strip_prefix("error: ") {
            Some(complaint) => message.push_str(complaint),
            None if line.starts_with("tip:") => message.push_str(&format!(" ({line})")),
            None => message.push_str(&format!(" {line}")),
        }
    }
    anyhow::anyhow!("{message}; see 'probe --help'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn usage_errors_fit_on_one_line() {
        let err = Cli::try_parse_from(["probe", "tcp", "--tiemout", "1s", "db:1"]).unwrap_err();
        let line = one_line(&err).to_string();
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with("unexpected argument '--tiemout' found"), "{line}");
        assert!(line.contains("(tip: a similar argument exists: '--timeout')"), "{line}");
        let err = Cli::try_parse_from(["probe", "tcp"]).unwrap_err();
        let line = one_line(&err).to_string();
        assert!(line.contains("not provided: <HOST:PORT>..."), "{line}");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_arguments_give_one_line_or_a_command(args in proptest::collection::vec("[ -~]{0,12}", 0..6)) {
            let argv = std::iter::once("probe".to_owned()).chain(args);
            if let Err(err) = Cli::try_parse_from(argv)
                && err.use_stderr()
            {
                prop_assert!(!one_line(&err).to_string().contains('\n'));
            }
        }
    }
}
