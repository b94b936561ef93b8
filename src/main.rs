//! Entry point: turns what `run` returns into the process exit status, and nothing else. The
//! modules are the library's (`src/lib.rs`).

use std::{ffi::OsString, process::ExitCode};

use probe::{
    cli::{self, Command},
    config::Config,
    docs, env, exec, install,
    outcome::{self, ExitStatus},
    quote, report, run,
};

fn main() -> ExitCode {
    outcome::report_panics_as_internal_errors();
    // Named (or symlinked as) grpc_health_probe, wait-for-it or pg_isready: that tool's command line.
    if let Some(status) = probe::dropin::run(&std::env::args_os().collect::<Vec<_>>()) {
        return status;
    }
    match run() {
        Ok(Next::Exit(status)) => status.into(),
        Ok(Next::Exec(command)) => exec::replace(&command),
        Err(err) => {
            // One line whatever it quotes: a path or name given with a newline or an escape in it.
            report::print_line(false, &quote::escaped(&format!("probe: {err:#}")));
            ExitStatus::Usage.into()
        }
    }
}

/// What is left to do once probe's own work is done.
enum Next {
    Exit(ExitStatus),
    /// Every target was healthy: become this command (`-- COMMAND`).
    Exec(Vec<OsString>),
}

/// Parse, validate, check every target, report. An `Err` is a usage or configuration error:
/// the probe could not try. Every verdict about a target is an `Ok`.
fn run() -> anyhow::Result<Next> {
    let (args, command) = exec::split(std::env::args_os().collect())?;
    let cli = match cli::parse(&args) {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            // --help and --version: clap prints them, and asking for them is a success.
            let _ = err.print();
            return Ok(Next::Exit(ExitStatus::Healthy));
        }
        Err(err) => return Err(cli::one_line(&err, &args, &env::ProcessEnv)),
    };
    let check = match (cli.command, &command) {
        (Command::Check(check), _) => check,
        (_, Some(_)) => anyhow::bail!("'-- COMMAND' runs after the checks pass: it follows a check"),
        (Command::Completions { shell }, None) => return Ok(Next::Exit(docs::completions(shell))),
        (Command::Install { dir, names }, None) => {
            for path in install::install(&dir, &names)? {
                if !cli.global.quiet {
                    report::print_line(true, &path.display().to_string());
                }
            }
            return Ok(Next::Exit(ExitStatus::Healthy));
        }
    };
    let config = Config::new(cli.global, check, &env::ProcessEnv)?;
    let outcomes = run::all(&config);
    report::finish(&config, &outcomes);
    let status = ExitStatus::worst(outcomes.iter().map(|o| o.verdict.status));
    Ok(match command {
        Some(command) if status == ExitStatus::Healthy => Next::Exec(command),
        _ => Next::Exit(status),
    })
}
