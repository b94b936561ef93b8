//! What the tests share: running the probe binary, sockets in every state, and throwaway
//! PostgreSQL and Redis servers.

#![allow(dead_code)] // each check's tests use a different part

pub mod certs;
pub mod grpc;
pub mod http;
pub mod mariadb;
pub mod memcached;
pub mod mosquitto;
pub mod nats;
pub mod postgres;
pub mod process;
pub mod rabbitmq;
pub mod redis;
pub mod sockets;
pub mod zookeeper;

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

/// Says what to run when a server binary the tests need is missing.
pub const INSTALL_HINT: &str = "run scripts/test, which installs postgresql, redis-server, rabbitmq-server, mariadb-server, nats-server and mosquitto with apt-get";

/// What the tests allow beyond a deadline: process start and exit on a busy two-core machine.
pub const MARGIN: Duration = Duration::from_millis(150);

/// One run of the probe binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// Asserts the exit code, showing the whole run when it is not the expected one.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(self.code, expected, "exit code\n{self}");
        self
    }

    /// The only line on stdout (asserting there is exactly one and stderr is empty).
    #[track_caller]
    pub fn stdout_line(&self) -> &str {
        assert_eq!(self.stderr, "", "stderr should be empty\n{self}");
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stdout\n{self}");
        lines[0]
    }

    /// The only line on stderr (asserting there is exactly one and stdout is empty).
    #[track_caller]
    pub fn stderr_line(&self) -> &str {
        assert_eq!(self.stdout, "", "stdout should be empty\n{self}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr\n{self}");
        lines[0]
    }

    /// Asserts the exit code and that the run's one line (on stdout when healthy, stderr
    /// otherwise) contains `expected`; returns the line.
    #[track_caller]
    pub fn says(&self, code: i32, expected: &str) -> &str {
        self.code(code);
        let line = if code == 0 { self.stdout_line() } else { self.stderr_line() };
        assert!(line.contains(expected), "expected {expected:?} in\n{self}");
        line
    }

    /// Asserts that `secret` appears in neither stdout nor stderr.
    #[track_caller]
    pub fn hides(&self, secret: &str) -> &Self {
        assert!(!self.stdout.contains(secret) && !self.stderr.contains(secret), "the secret leaked\n{self}");
        self
    }

    /// Asserts the run ended within `limit`.
    #[track_caller]
    pub fn within(&self, limit: Duration) -> &Self {
        assert!(self.elapsed <= limit, "took {:?}, more than {limit:?}\n{self}", self.elapsed);
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "code {} after {:?}\n--- stdout\n{}--- stderr\n{}---",
            self.code, self.elapsed, self.stdout, self.stderr
        )
    }
}

/// The probe binary with an empty environment (PATH aside), so nothing from the machine running
/// the tests (PGHOST, REDIS_URL, http_proxy, PROBE_*) leaks into a case.
pub fn probe() -> Probe {
    probe_as(Command::new(env!("CARGO_BIN_EXE_probe")))
}

/// `probe()` for a command that runs another build of probe (tests/it/smoke.rs: a release
/// binary, perhaps under qemu): the same scrubbed environment.
pub fn probe_as(mut command: Command) -> Probe {
    command.env_clear().env("PATH", "/usr/bin:/bin").stdin(Stdio::null());
    Probe { command }
}

pub struct Probe {
    command: Command,
}

impl Probe {
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    pub fn run(mut self) -> Run {
        let started = Instant::now();
        let output = self.command.output().expect("the probe binary runs");
        let elapsed = started.elapsed();
        let code =
            output.status.code().unwrap_or_else(|| panic!("probe died by a signal: {:?}", output.status));
        let stdout = String::from_utf8(output.stdout).expect("stdout is UTF-8");
        let stderr = String::from_utf8(output.stderr).expect("stderr is UTF-8");
        Run { code, stdout, stderr, elapsed }
    }
}

/// The output forms no secret may reach: text, `-v`, `--json`, both, and `--wait`'s lines.
pub const OUTPUT_MODES: [&[&str]; 5] =
    [&[], &["-v"], &["--json"], &["-v", "--json"], &["--wait", "300ms", "--interval", "100ms"]];

/// Runs `probe MODE… ARGS…` with `env` once in each of `OUTPUT_MODES`; every run must end
/// with a verdict (0–3), never a crash.
pub fn in_every_output_mode<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    env: &[(&str, &str)],
) -> Vec<(&'static [&'static str], Run)> {
    OUTPUT_MODES
        .iter()
        .map(|mode| {
            let mut command = probe().args(*mode).args(args);
            for (key, value) in env {
                command = command.env(key, value);
            }
            let result = command.run();
            assert!(matches!(result.code, 0..=3), "{result}");
            (*mode, result)
        })
        .collect()
}

/// Shorthand for `probe().args(args).run()`.
pub fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    probe().args(args).run()
}

/// The uid and gid the tests run probe as when they need a user other than root.
pub const NOBODY: u32 = 65534;

/// A copy of the probe binary that any user may run, for tests that run probe as another user:
/// the checkout may be in root's home, mode 0700 on a fresh Debian, where `target/` is out of
/// that user's reach. Kept in a directory of its own, mode 0755, under the temp directory.
pub struct ProbeCopy {
    pub path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

pub fn probe_for_anyone() -> ProbeCopy {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new().prefix("probe-bin-").tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = dir.path().join("probe");
    std::fs::copy(env!("CARGO_BIN_EXE_probe"), &path).expect("copy the binary");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    ProbeCopy { path, _dir: dir }
}

impl ProbeCopy {
    /// This copy, with an empty environment, run as nobody (uid and gid 65534, no supplementary
    /// groups) when the tests run as root, and as the tests' own user otherwise.
    pub fn as_nobody(&self) -> Command {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(&self.path);
        command.env_clear().stdin(Stdio::null());
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            command.uid(NOBODY).gid(NOBODY);
        }
        command
    }
}

/// Runs `command` and waits for it, once more if exec met "Text file busy": a binary a test has
/// just copied may still be open for writing in a child another test thread forked meanwhile
/// (until that child's own exec closes it), and exec refuses such a file with ETXTBSY.
pub fn output_of_copied(command: &mut Command) -> std::process::Output {
    for _ in 0..20 {
        // std reports a failed exec as the spawn's error; a shell or wrapper, on stderr.
        match command.output() {
            Err(err) if err.kind() == std::io::ErrorKind::ExecutableFileBusy => {}
            Err(err) => panic!("cannot run {command:?}: {err}"),
            Ok(output) if String::from_utf8_lossy(&output.stderr).contains("Text file busy") => {}
            Ok(output) => return output,
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("exec kept meeting 'Text file busy': {command:?}");
}
