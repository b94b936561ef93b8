//! What a check found (`Verdict`), what a target ended with (`Outcome`), and the exit status
//! they decide. The status kind alone decides the exit code; no message text is ever inspected.

use std::{process::ExitCode, time::Duration};

/// The three answers a check can give, in rising order of severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Reached, and it said it is healthy.
    Healthy,
    /// Reached, but it answered "not healthy".
    Unhealthy,
    /// No usable answer: unresolvable, refused, reset, TLS failure, deadline, not the protocol.
    Unreachable,
}

impl Status {
    /// The word used in text lines and in the JSON `status` field.
    pub fn word(self) -> &'static str {
        match self {
            Status::Healthy => "ok",
            Status::Unhealthy => "unhealthy",
            Status::Unreachable => "unreachable",
        }
    }
}

/// One attempt's answer: the status and what was seen, diagnosis first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub message: String,
}

impl Verdict {
    pub fn healthy(message: impl Into<String>) -> Self {
        Self { status: Status::Healthy, message: message.into() }
    }

    pub fn unhealthy(message: impl Into<String>) -> Self {
        Self { status: Status::Unhealthy, message: message.into() }
    }

    pub fn unreachable(message: impl Into<String>) -> Self {
        Self { status: Status::Unreachable, message: message.into() }
    }
}

/// A named step of an attempt and how long it took (`-v`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phase {
    pub name: &'static str,
    pub took: Duration,
}

/// How one target ended: its last attempt's verdict, timings, and how many attempts it took.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub verdict: Verdict,
    pub phases: Vec<Phase>,
    /// Duration of the last attempt.
    pub elapsed: Duration,
    pub attempts: u32,
    /// From the first attempt's start to the last one's end.
    pub total: Duration,
}

/// The process exit status; the same meanings as pg_isready's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    Healthy,
    Unhealthy,
    Unreachable,
    /// The probe could not try: usage or configuration error.
    Usage,
    /// A bug in probe itself; never an answer about a target.
    Internal,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Healthy => 0,
            ExitStatus::Unhealthy => 1,
            ExitStatus::Unreachable => 2,
            ExitStatus::Usage => 3,
            ExitStatus::Internal => 70, // EX_SOFTWARE in sysexits.h
        }
    }

    /// The most severe status among the targets; healthy when there are none.
    pub fn worst(statuses: impl IntoIterator<Item = Status>) -> Self {
        match statuses.into_iter().max() {
            None | Some(Status::Healthy) => ExitStatus::Healthy,
            Some(Status::Unhealthy) => ExitStatus::Unhealthy,
            Some(Status::Unreachable) => ExitStatus::Unreachable,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status.code())
    }
}

/// A panic is a bug, not a verdict: say so in one line and exit with a code no check uses,
/// instead of Rust's multi-line message and 101 (or an abort in the release profile). The line
/// names where, relative to its crate (`src/run.rs:12`, `clap_complete-4.6.11/src/…`), never a
/// path on the machine that built probe; a closed stderr is no reason for a second panic.
pub fn report_panics_as_internal_errors() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
            .unwrap_or("panic");
        let place = info
            .location()
            .and_then(|l| crate_relative(l.file()).map(|file| format!(" at {file}:{}", l.line())));
        let line = format!("probe: internal error: {what}{} (please report it)\n", place.unwrap_or_default());
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
        std::process::exit(ExitStatus::Internal.code().into());
    }));
}

/// A source file as rustc recorded it, without the build machine's directories: a relative path
/// (probe's own, `src/run.rs`) as it is; an absolute one (a dependency under `~/.cargo/registry`,
/// the standard library) from its crate's directory on (`clap_complete-4.6.11/src/aot/shells/fish.rs`);
/// None when no crate directory can be told.
fn crate_relative(file: &str) -> Option<String> {
    if !file.starts_with('/') {
        return Some(file.to_owned());
    }
    let parts: Vec<&str> = file.split('/').collect();
    let src = parts.iter().rposition(|part| *part == "src").filter(|&at| at >= 2 && at + 1 < parts.len())?;
    Some(parts[src - 1..].join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_match_the_spec() {
        let codes: Vec<u8> =
            [ExitStatus::Healthy, ExitStatus::Unhealthy, ExitStatus::Unreachable, ExitStatus::Usage]
                .into_iter()
                .map(ExitStatus::code)
                .collect();
        assert_eq!(codes, [0, 1, 2, 3]);
    }

    #[test]
    fn a_panic_names_no_build_machine_path() {
        assert_eq!(crate_relative("src/run.rs").as_deref(), Some("src/run.rs"));
        assert_eq!(
            crate_relative(
                "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/clap_complete-4.6.11/src/aot/shells/fish.rs"
            )
            .as_deref(),
            Some("clap_complete-4.6.11/src/aot/shells/fish.rs")
        );
        assert_eq!(
            crate_relative("/rustc/59807616e1fa/library/std/src/io/stdio.rs").as_deref(),
            Some("std/src/io/stdio.rs")
        );
        assert_eq!(crate_relative("/home/someone/build.rs"), None);
        assert_eq!(crate_relative("/src/x.rs"), None);
    }

    #[test]
    fn the_worst_status_wins() {
        use Status::*;
        assert_eq!(ExitStatus::worst([]), ExitStatus::Healthy);
        assert_eq!(ExitStatus::worst([Healthy, Healthy]), ExitStatus::Healthy);
        assert_eq!(ExitStatus::worst([Healthy, Unreachable, Unhealthy]), ExitStatus::Unreachable);
        assert_eq!(ExitStatus::worst([Unhealthy, Healthy]), ExitStatus::Unhealthy);
    }
}
