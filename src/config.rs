//! Validated settings, built from the command line, the environment and the files they name
//! (CA, client certificate and password files) before any connection. Everything after this
//! trusts them. What each check needs is its own module's business.

use std::time::Duration;

use crate::{
    check::{CheckArgs, Target},
    cli::GlobalArgs,
    env::Env,
};

pub struct Config {
    /// The check's name as printed: `tcp`, `http`, `postgres`, `redis`, ….
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
    pub fn new(global: GlobalArgs, check: CheckArgs, env: &dyn Env) -> anyhow::Result<Self> {
        let name = check.name();
        let targets = check.targets(env)?;
        let output = match (global.quiet, global.json) {
            (true, _) => Output::Quiet,
            (false, true) => Output::Json { verbose: global.verbose },
            (false, false) => Output::Text { verbose: global.verbose },
        };
        Ok(Config {
            check: name,
            targets,
            timeout: global.timeout,
            // `--wait 0` is no wait: one attempt, as if it were left out.
            wait: global.wait.filter(|wait| !wait.is_zero()),
            interval: global.interval,
            output,
        })
    }
}
