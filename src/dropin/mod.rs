//! Drop-in names: run as (or symlinked as) `grpc_health_probe`, `wait-for-it` or `pg_isready`,
//! probe takes that tool's command line and keeps its lines and exit codes, so replacing the tool
//! is a copy, not an edit of every manifest. Each tool is a translation layer over probe's own
//! public command line and outcomes: its arguments are read as the tool reads them, turned into
//! probe's (`grpc …`, `tcp …`, `postgres --ping …`), run through the normal path (`Cli` →
//! `Config` → `run::all`), and the outcome is told in the tool's words. No check is reached into.

pub mod grpc_health_probe;
pub mod pg_isready;
pub mod wait_for_it;

use std::{
    ffi::{OsStr, OsString},
    path::Path,
    process::ExitCode,
    time::Duration,
};

use clap::CommandFactory;

use crate::{
    cli::{Cli, Command, GlobalArgs},
    config::Config,
    env::Env,
    outcome::Outcome,
    quote, run,
    secret::MASK,
    uri::{Uri, Userinfo},
};

/// The tools probe stands in for, by the executable names they are installed under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    GrpcHealthProbe,
    WaitForIt,
    PgIsready,
}

/// Every name probe answers to as another tool, as `probe install --as` takes them.
pub const NAMES: &[(&str, Tool)] = &[
    ("grpc_health_probe", Tool::GrpcHealthProbe),
    ("wait-for-it", Tool::WaitForIt),
    ("wait-for-it.sh", Tool::WaitForIt),
    ("pg_isready", Tool::PgIsready),
];

/// The tool `argv0` names (its base name), if any.
pub fn tool_named(argv0: &OsStr) -> Option<Tool> {
    let base = Path::new(argv0).file_name()?;
    NAMES.iter().find(|(name, _)| OsStr::new(name) == base).map(|(_, tool)| *tool)
}

/// `main`'s early branch: when probe runs under a drop-in name, that tool's whole run, ending in
/// its exit status; otherwise `None`, and probe is probe.
pub fn run(args: &[OsString]) -> Option<ExitCode> {
    let tool = tool_named(args.first()?)?;
    // A build with some of the checks may lack the one this tool runs: say so, as a usage error.
    let (check, usage_status) = match tool {
        Tool::GrpcHealthProbe => ("grpc", 1),
        Tool::WaitForIt => ("tcp", 1),
        Tool::PgIsready => ("postgres", 3),
    };
    if Cli::command().find_subcommand(check).is_none() {
        let name = Path::new(&args[0]).file_name().unwrap_or_default().to_string_lossy();
        err_line(&format!("{name}: this probe was built without the '{check}' check"));
        return Some(ExitCode::from(usage_status));
    }
    let env = crate::env::ProcessEnv;
    Some(match tool {
        Tool::GrpcHealthProbe => grpc_health_probe::main(args, &env),
        Tool::WaitForIt => wait_for_it::main(args, &env),
        Tool::PgIsready => pg_isready::main(args, &env),
    })
}

/// How long probe may take, in the tool's terms: one attempt's deadline, and with `wait` the
/// retries of wait mode.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub timeout: Duration,
    pub wait: Option<Duration>,
    pub interval: Duration,
}

/// The longest deadline probe takes (a year): what the tools' "no limit" becomes.
pub const NO_LIMIT: Duration = Duration::from_secs(365 * 86_400);

/// Builds probe's settings for `check_args` (the check's name, its options and targets) as the
/// command line `probe CHECK …` would, with `timing` and nothing printed. An `Err` is what probe
/// itself would refuse as a usage error (exit 3), in probe's words.
pub fn config(check_args: &[String], timing: Timing, env: &dyn Env) -> anyhow::Result<Config> {
    // Every global option is given, so no PROBE_* variable of the environment has a say; the
    // values are then replaced by the tool's (clap reads them as text only).
    let mut argv: Vec<OsString> =
        ["probe", "--timeout=1s", "--wait=1s", "--interval=1s", "--quiet", "--verbose", "--json"]
            .iter()
            .map(OsString::from)
            .collect();
    argv.extend(check_args.iter().map(OsString::from));
    let cli = crate::cli::parse(&argv).map_err(|err| crate::cli::one_line(&err, &argv, env))?;
    let Command::Check(check) = cli.command else { anyhow::bail!("not a check: {}", check_args.join(" ")) };
    let global = GlobalArgs {
        timeout: timing.timeout.min(NO_LIMIT),
        wait: timing.wait.map(|wait| wait.min(NO_LIMIT)),
        interval: timing.interval,
        quiet: true,
        verbose: false,
        json: false,
    };
    Config::new(global, check, env)
}

/// Runs the one target of `config` and returns how it ended.
pub fn check_one(config: &Config) -> Outcome {
    run::all(config).into_iter().next().expect("a drop-in names one target")
}

/// An environment with some variables set (or replaced) over another: an option a tool reads
/// as if it were its variable, such as pg_isready's `-h` as `PGHOST`.
pub struct Overlay<'a> {
    pub base: &'a dyn Env,
    pub vars: Vec<(&'static str, String)>,
}

impl Env for Overlay<'_> {
    fn var(&self, name: &str) -> Option<String> {
        match self.vars.iter().find(|(key, _)| *key == name) {
            Some((_, value)) => Some(value.clone()),
            None => self.base.var(name),
        }
    }

    fn os_user(&self) -> Option<String> {
        self.base.os_user()
    }
}

/// One line on stdout, as probe writes every line: a closed pipe is not worth a panic.
fn out_line(line: &str) {
    crate::report::print_line(true, line);
}

/// One line on stderr.
fn err_line(line: &str) {
    crate::report::print_line(false, line);
}

/// Text as it is, on stderr (a usage block that ends with its own newline).
fn err_text(text: &str) {
    let _ = crate::report::print_bytes(false, text.as_bytes());
}

/// The arguments as text; bytes that are not UTF-8 are replaced, as a tool's own messages would
/// show them.
/// A target as a drop-in echoes it where its tool prints what was typed: a URL's user and
/// password masked as the one reader finds them, a `user:password@` pasted before a bare
/// `host:port` as `***@` (probe's checks refuse both), control characters escaped.
fn shown_target(text: &str) -> String {
    match Uri::parse(text, Userinfo::LastAt) {
        Some(uri) => uri.label(uri.user_span()),
        None => match text.rfind('@') {
            Some(at) => format!("{MASK}{}", quote::escaped(&text[at..])),
            None => quote::escaped(text),
        },
    }
}

fn texts(args: &[OsString]) -> Vec<String> {
    args.iter().map(|arg| arg.to_string_lossy().into_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_name_decides() {
        assert_eq!(tool_named(OsStr::new("/bin/grpc_health_probe")), Some(Tool::GrpcHealthProbe));
        assert_eq!(tool_named(OsStr::new("wait-for-it.sh")), Some(Tool::WaitForIt));
        assert_eq!(tool_named(OsStr::new("./wait-for-it")), Some(Tool::WaitForIt));
        assert_eq!(tool_named(OsStr::new("/usr/bin/pg_isready")), Some(Tool::PgIsready));
        assert_eq!(tool_named(OsStr::new("/probe")), None);
        assert_eq!(tool_named(OsStr::new("pg_isready2")), None);
        assert_eq!(tool_named(OsStr::new("")), None);
    }
}
