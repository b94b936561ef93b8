//! Entry point: turns what `run` returns into the process exit status, and nothing else.

// A build with some of the checks leaves parts of the shared modules unused; the full build,
// which CI lints, has none.
#![cfg_attr(
    not(all(feature = "tcp", feature = "http", feature = "postgres", feature = "redis")),
    allow(dead_code, unused_imports)
)]

mod check;
mod cli;
mod config;
mod deadline;
mod docs;
mod duration;
mod env;
mod net;
mod outcome;
mod report;
mod run;
mod secret;
#[cfg(feature = "tls")]
mod tls;
mod trace;

use std::{ffi::OsString, process::ExitCode};

use clap::Parser;

use crate::{
    cli::{Cli, Command},
    config::Config,
    outcome::ExitStatus,
};

fn main() -> ExitCode {
    outcome::report_panics_as_internal_errors();
    match run() {
        Ok(status) => status.into(),
        Err(err) => {
            eprintln!("probe: {err:#}");
            ExitStatus::Usage.into()
        }
    }
}

/// Parse, validate, check every target, report. An `Err` is a usage or configuration error:
/// the probe could not try. Every verdict about a target is an `Ok`.
fn run() -> anyhow::Result<ExitStatus> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            // --help and --version: clap prints them, and asking for them is a success.
            let _ = err.print();
            return Ok(ExitStatus::Healthy);
        }
        Err(err) => return Err(cli::one_line(&err, &args, &env::ProcessEnv)),
    };
    let check = match cli.command {
        Command::Check(check) => check,
        Command::Completions { shell } => return Ok(docs::completions(shell)),
    };
    let config = Config::new(cli.global, check, &env::ProcessEnv)?;
    let outcomes = run::all(&config);
    report::finish(&config, &outcomes);
    Ok(ExitStatus::worst(outcomes.iter().map(|o| o.verdict.status)))
}
