//! The command line: the global options and the list of checks (each check's own options live
//! in its module under `check/`). Values parse themselves; combining them is `config`'s job.

use std::{ffi::OsString, time::Duration};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum, builder::BoolishValueParser};

use crate::{
    check::{ALL_CHECKS, CheckArgs},
    docs, duration,
    env::Env,
};

/// One health check, one exit status: 0 healthy, 1 unhealthy, 2 unreachable, 3 usage error.
///
/// Built for Kubernetes exec probes, init containers and CI wait steps. Every global option can
/// also be set as PROBE_<NAME> in the environment (e.g. PROBE_TIMEOUT=2s).
#[derive(Debug, Parser)]
#[command(name = "probe", version, propagate_version = true, subcommand_required = true)]
#[command(subcommand_value_name = "CHECK", subcommand_help_heading = "Checks")]
#[command(
    override_usage = "probe [OPTIONS] <CHECK> [CHECK OPTIONS] [TARGET]... [-- COMMAND [ARG]...]\n       probe install DIR"
)]
#[command(long_about = LONG_ABOUT)]
#[command(
    after_help = "Exit status: 0 every target healthy, 1 unhealthy, 2 unreachable, 3 usage or configuration error.",
    after_long_help = docs::top_help()
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

    /// Retry each target until it passes or DUR has passed (init containers, CI, compose);
    /// 0 means no wait (one attempt).
    #[arg(short, long, global = true, env = "PROBE_WAIT", value_name = "DUR", value_parser = duration::parse)]
    pub wait: Option<Duration>,

    /// Pause between attempts with --wait; at least 10ms, so a wait never spins.
    #[arg(long, global = true, env = "PROBE_INTERVAL", value_name = "DUR", default_value = "1s",
          value_parser = duration::parse_interval)]
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

/// `probe --help`'s description, and probe(1)'s.
const LONG_ABOUT: &str = "\
One health check, one exit status: 0 healthy, 1 unhealthy, 2 unreachable, 3 usage error.

Built for Kubernetes exec probes, init containers and CI wait steps. Every global option can also \
be set as PROBE_<NAME> in the environment (e.g. PROBE_TIMEOUT=2s).

-- COMMAND [ARG]...: once every target is healthy, probe becomes COMMAND (exec: same PID, signals \
and exit status); otherwise COMMAND is not run.

Durations: 250ms, 2s, 1.5s, 1m30s, 1h, or a bare number of seconds (as in pod YAML).";

// Parsed once per run: boxing the checks to keep this enum small would gain nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(flatten)]
    Check(CheckArgs),
    /// Print a shell completion script: `probe completions bash > /etc/bash_completion.d/probe`.
    #[command(after_long_help = docs::completions_help())]
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Copy this binary to DIR/probe (mode 0755, written beside and renamed), for images that
    /// lack it: `probe install /shared` in an init container, with an emptyDir at /shared.
    #[command(after_long_help = docs::install_help())]
    Install {
        /// An existing, writable directory (it is not created).
        #[arg(value_name = "DIR")]
        dir: std::path::PathBuf,
        /// Also link DIR/NAME to probe for each NAME (comma-separated, or repeated), so that run
        /// by that name probe takes that tool's command line: grpc_health_probe, wait-for-it,
        /// wait-for-it.sh, pg_isready.
        #[arg(long = "as", value_name = "NAME", value_delimiter = ',', value_parser = dropin_names())]
        names: Vec<String>,
    },
}

/// The names `install --as` takes: the tools probe stands in for.
fn dropin_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(crate::dropin::NAMES.iter().map(|(name, _)| *name))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Parses the command line. A `PROBE_*` variable set to the empty string counts as unset, as
/// compose files and pod specs leave them (`PROBE_WAIT: ""`); clap alone would refuse it.
pub fn parse(args: &[OsString]) -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    let mut command = Cli::command();
    let empty: Vec<String> = command
        .get_arguments()
        .filter(|arg| arg.get_env().and_then(std::env::var_os).is_some_and(|value| value.is_empty()))
        .map(|arg| arg.get_id().to_string())
        .collect();
    for id in empty {
        command = command.mut_arg(id, |arg| arg.env(None));
    }
    let matches = command.try_get_matches_from_mut(args)?;
    Cli::from_arg_matches(&matches).map_err(|err| err.format(&mut command))
}

/// A clap error as one line: the complaint and its tip, without the usage block, pointing to
/// the help that lists the options concerned (that of the check named in `args`, if any). A bad value that came from a `PROBE_*` variable
/// is named as that variable, since the command line the user reads does not show it.
pub fn one_line(err: &clap::Error, args: &[OsString], env: &dyn Env) -> anyhow::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let built: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|command| command.get_name().to_owned())
        .filter(|name| ALL_CHECKS.contains(&name.as_str()))
        .collect();
    let context = |kind| match err.get(kind) {
        Some(ContextValue::String(text)) => Some(text.as_str()),
        _ => None,
    };
    match err.kind() {
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            return anyhow::anyhow!("name a check: {}; see 'probe --help'", built.join(", "));
        }
        ErrorKind::InvalidSubcommand => {
            if let Some(name) =
                context(ContextKind::InvalidSubcommand).filter(|name| ALL_CHECKS.contains(name))
            {
                return anyhow::anyhow!(
                    "this probe was built without the '{name}' check; it has: {}",
                    built.join(", ")
                );
            }
        }
        _ => {}
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
            // clap's `use '-- -u'` is wrong here: after `--` comes the command to run.
            None if line.starts_with("tip: to pass '") && line.contains(", use '-- ") => {}
            None if line.starts_with("tip:") => message.push_str(&format!(" ({line})")),
            None => message.push_str(&format!(" {line}")),
        }
    }
    if err.kind() == ErrorKind::UnknownArgument
        && let Some(tip) = context(ContextKind::InvalidArg).and_then(|value| value_tip(args, value))
    {
        message.push_str(&format!(" (tip: {tip})"));
    }
    if let (Some(arg), Some(value)) = (context(ContextKind::InvalidArg), context(ContextKind::InvalidValue))
        && let Some(variable) = variable_of(arg).filter(|name| env.var(name).as_deref() == Some(value))
        && !args.iter().skip(1).any(|given| given.to_str().is_some_and(|given| names_flag(given, arg)))
    {
        message = message.replace(&format!("'{arg}'"), &format!("{variable} ({})", flag_of(arg)));
    }
    let check = args.iter().find_map(|arg| built.iter().find(|name| arg.to_str() == Some(name.as_str())));
    match check {
        Some(check) => anyhow::anyhow!("{message}; see 'probe {check} --help'"),
        None => anyhow::anyhow!("{message}; see 'probe --help'"),
    }
}

/// For a `value` that looks like a flag, right after an option that takes a value (`--wait -1`,
/// `-H -x`): how to give it to that option (`--wait=-1`). None when no such option precedes it.
fn value_tip(args: &[OsString], value: &str) -> Option<String> {
    let at = args.iter().position(|arg| arg.to_str() == Some(value))?;
    let before = args.get(at.checked_sub(1)?)?.to_str()?;
    let mut command = Cli::command();
    command.build();
    let check = args.iter().find_map(|arg| command.find_subcommand(arg.to_str()?));
    let mut options = command.get_arguments().chain(check.into_iter().flat_map(|c| c.get_arguments()));
    let option = options.find(|option| {
        before.strip_prefix("--").is_some_and(|long| option.get_long() == Some(long))
            || before.strip_prefix('-').and_then(|short| short.parse::<char>().ok()) == option.get_short()
                && option.get_short().is_some()
    })?;
    if !option.get_action().takes_values() {
        return None;
    }
    let flag = match option.get_long() {
        Some(long) => format!("--{long}"),
        None => format!("-{}", option.get_short()?),
    };
    Some(format!("to give '{value}' to {flag}, write {flag}={value}"))
}

/// `--timeout` of `--timeout <DUR>`.
fn flag_of(arg: &str) -> &str {
    arg.split_whitespace().next().unwrap_or(arg)
}

/// True when the command-line word `given` sets the argument `arg` (`--timeout <DUR>`): as
/// `--timeout`, `--timeout=…`, or its short form, alone or in a cluster (`-t`, `-qt`, `-t2s`).
fn names_flag(given: &str, arg: &str) -> bool {
    let long = flag_of(arg);
    if given == long || given.strip_prefix(long).is_some_and(|rest| rest.starts_with('=')) {
        return true;
    }
    let command = Cli::command();
    let short = long
        .strip_prefix("--")
        .and_then(|long| command.get_arguments().find(|candidate| candidate.get_long() == Some(long)))
        .and_then(|found| found.get_short());
    match (short, given.strip_prefix('-')) {
        (Some(short), Some(cluster)) if !cluster.starts_with('-') => cluster.contains(short),
        _ => false,
    }
}

/// The environment variable an argument can also come from, such as PROBE_TIMEOUT.
fn variable_of(arg: &str) -> Option<String> {
    let long = flag_of(arg).strip_prefix("--")?;
    let command = Cli::command();
    let found = command.get_arguments().find(|candidate| candidate.get_long() == Some(long))?;
    Some(found.get_env()?.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An environment holding only the given variables.
    pub struct Vars(pub &'static [(&'static str, &'static str)]);

    impl Env for Vars {
        fn var(&self, name: &str) -> Option<String> {
            self.0.iter().find(|(key, _)| *key == name).map(|(_, value)| value.to_string())
        }
    }

    fn line(args: &[&str], env: &dyn Env) -> String {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let err = Cli::try_parse_from(&args).unwrap_err();
        one_line(&err, &args, env).to_string()
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn usage_errors_fit_on_one_line_and_point_to_the_right_help() {
        let line = line(&["probe", "tcp", "--tiemout", "1s", "db:1"], &Vars(&[]));
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with("unexpected argument '--tiemout' found"), "{line}");
        assert!(
            line.ends_with("(tip: a similar argument exists: '--timeout'); see 'probe tcp --help'"),
            "{line}"
        );
        let line = self::line(&["probe", "tcp"], &Vars(&[]));
        assert!(line.contains("not provided: <HOST:PORT>..."), "{line}");
        let line = self::line(&["probe", "-q"], &Vars(&[]));
        assert!(line.starts_with("name a check: tcp, "), "{line}");
        assert!(line.ends_with("; see 'probe --help'"), "{line}");
    }

    #[test]
    fn a_value_that_looks_like_a_flag_gets_a_tip_that_works_here() {
        // After `--` comes the command to run: clap's `use '-- -1'` would run a command "-1".
        for args in [&["probe", "tcp", "-u", "db:1"][..], &["probe", "tcp", "db:1", "-x"], &["probe", "-u"]] {
            let line = line(args, &Vars(&[]));
            assert!(line.starts_with("unexpected argument '-"), "{line}");
            assert!(!line.contains("tip") && !line.contains("'--"), "{line}");
        }
        let line = line(&["probe", "tcp", "--wait", "-1", "db:1"], &Vars(&[]));
        assert_eq!(
            line,
            "unexpected argument '-1' found (tip: to give '-1' to --wait, write --wait=-1); see 'probe tcp --help'"
        );
        let line = self::line(&["probe", "http", "-H", "-x", "http://a/"], &Vars(&[]));
        assert!(line.contains("(tip: to give '-x' to --header, write --header=-x)"), "{line}");
        let line = self::line(&["probe", "-w", "-1", "tcp", "db:1"], &Vars(&[]));
        assert!(line.contains("(tip: to give '-1' to --wait, write --wait=-1)"), "{line}");
        // A flag that takes no value gets no tip.
        let line = self::line(&["probe", "tcp", "-q", "-u", "db:1"], &Vars(&[]));
        assert!(!line.contains("tip"), "{line}");
    }

    #[test]
    fn a_bad_value_given_as_a_flag_is_named_as_the_flag() {
        // The variable's case is in tests/it/cli.rs: clap reads the process's own environment.
        let line = line(&["probe", "-t", "2x", "tcp", "db:1"], &Vars(&[("PROBE_TIMEOUT", "2x")]));
        assert!(line.starts_with("invalid value '2x' for '--timeout <DUR>'"), "{line}");
        assert!(names_flag("-qt", "--timeout <DUR>") && names_flag("--timeout=2x", "--timeout <DUR>"));
        assert!(!names_flag("--timeouts", "--timeout <DUR>") && !names_flag("-q", "--timeout <DUR>"));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::{tests::Vars, *};

    proptest! {
        #[test]
        fn any_arguments_give_one_line_or_a_command(args in proptest::collection::vec("[ -~]{0,12}", 0..6)) {
            let argv: Vec<OsString> = std::iter::once("probe".to_owned()).chain(args).map(OsString::from).collect();
            if let Err(err) = Cli::try_parse_from(&argv)
                && err.use_stderr()
            {
                prop_assert!(!one_line(&err, &argv, &Vars(&[])).to_string().contains('\n'));
            }
        }
    }
}
