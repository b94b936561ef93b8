//! `probe process` against real processes: running, several, gone, a zombie, names the kernel
//! cuts at 15 bytes, names with spaces and parentheses, command lines (`--full`), and itself.

use std::{
    collections::hash_map::RandomState,
    fs,
    hash::{BuildHasher, Hasher},
    path::PathBuf,
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::support::{probe, run};

/// A name no other test uses: `prefix` and eight hex digits.
pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}{:08x}", random() as u32)
}

fn random() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// `sleep`, copied under another name, so its comm and argv[0] are that name.
pub(crate) struct Named {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Named {
    pub(crate) fn new(name: &str) -> Named {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        fs::copy("/bin/sleep", &path).expect("copy /bin/sleep");
        Named { _dir: dir, path }
    }

    pub(crate) fn spawn(&self, args: &[&str]) -> Running {
        // The copy was open for writing; a fork by another test's thread in that moment holds
        // it open until that child execs, and exec then fails with ETXTBSY: try again.
        let until = Instant::now() + Duration::from_secs(5);
        let child = loop {
            match Command::new(&self.path).args(args).stdout(Stdio::null()).spawn() {
                Err(err)
                    if err.kind() == std::io::ErrorKind::ExecutableFileBusy && Instant::now() < until =>
                {
                    thread::sleep(Duration::from_millis(10));
                }
                spawned => break spawned.expect("spawn"),
            }
        };
        let running = Running(child);
        running.wait_for_exec();
        running
    }
}

/// A child process, killed and reaped when dropped.
pub(crate) struct Running(Child);

impl Running {
    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn state(&self) -> Option<char> {
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        stat[stat.rfind(')')? + 2..].chars().next()
    }

    /// Until the child runs its own program (comm changes at exec), not the test's fork of it.
    fn wait_for_exec(&self) {
        // A fork's comm is the name of the thread that forked it: this test's.
        let own = fs::read_to_string("/proc/thread-self/comm").unwrap();
        let until = Instant::now() + Duration::from_secs(5);
        while fs::read_to_string(format!("/proc/{}/comm", self.pid())).is_ok_and(|comm| comm == own) {
            assert!(Instant::now() < until, "the child never ran its program");
            thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pgrep(args: &[&str]) -> (i32, String) {
    let output = Command::new("pgrep").args(args).output().expect("pgrep (procps) is installed");
    (output.status.code().unwrap(), String::from_utf8_lossy(&output.stdout).trim().replace('\n', ","))
}

#[test]
fn a_running_process_is_healthy_and_its_pid_said() {
    let name = unique("pt-");
    let sleeper = Named::new(&name).spawn(&["30"]);
    let line = run(["process", &name])
        .says(0, &format!("process {name}: ok: running as PID {} (", sleeper.pid()))
        .to_owned();
    assert!(line.ends_with(" ms)"), "{line}");
    // The same PID pgrep -x finds.
    assert_eq!(pgrep(&["-x", &name]), (0, sleeper.pid().to_string()));
    // A prefix is not the name: matching is exact.
    run(["process", &name[..name.len() - 1]]).says(1, "is running (");
}

#[test]
fn several_processes_are_counted_and_a_gone_one_is_unhealthy() {
    let name = unique("pm-");
    let named = Named::new(&name);
    let (first, second) = (named.spawn(&["30"]), named.spawn(&["30"]));
    let mut pids = [first.pid(), second.pid()];
    pids.sort_unstable();
    run(["process", &name]).says(0, &format!(": ok: 2 running: PIDs {}, {} (", pids[0], pids[1]));
    drop((first, second));
    run(["process", &name])
        .says(1, &format!("process {name}: unhealthy: no process named {name} is running ("));
}

#[test]
fn a_zombie_does_not_count() {
    let name = unique("pz-");
    let zombie = Named::new(&name).spawn(&["0"]);
    let until = Instant::now() + Duration::from_secs(5);
    while zombie.state() != Some('Z') {
        assert!(Instant::now() < until, "the child never became a zombie: {:?}", zombie.state());
        thread::sleep(Duration::from_millis(5));
    }
    // pgrep -x counts it; probe does not, and says it saw one.
    assert_eq!(pgrep(&["-x", &name]), (0, zombie.pid().to_string()));
    run(["process", &name]).says(
        1,
        &format!(": unhealthy: no process named {name} is running (PID {} is a zombie) (", zombie.pid()),
    );
}

#[test]
fn a_name_longer_than_15_bytes_matches_the_executable_name() {
    let name = unique("a-long-process-name-");
    let other = format!("{name}-other");
    assert!(name.len() > 15);
    let sleeper = Named::new(&name).spawn(&["30"]);
    let cut = &name[..15];
    assert_eq!(fs::read_to_string(format!("/proc/{}/comm", sleeper.pid())).unwrap().trim_end(), cut);
    let expected = format!("ok: running as PID {} (", sleeper.pid());
    run(["process", &name]).says(0, &expected);
    // The cut name that ps shows matches too (as comm).
    run(["process", cut]).says(0, &expected);
    // pgrep -x matches nothing with the full name; probe differs there on purpose.
    assert_eq!(pgrep(&["-x", &name]).0, 1);
    // Another long name with the same first 15 bytes is another program.
    run(["process", &other]).says(1, &format!("no process named {other} is running ("));
}

#[test]
fn names_with_spaces_and_parentheses() {
    let name = unique("a) b (");
    let sleeper = Named::new(&name).spawn(&["30"]);
    run(["process", &name]).says(0, &format!("ok: running as PID {} (", sleeper.pid()));
}

#[test]
fn full_matches_the_command_line_anywhere() {
    let marker = format!("0.0{:08}", random() % 100_000_000);
    let sleeper = Named::new("sleep").spawn(&["30", &marker]);
    let pattern = format!("sleep 30 {}$", marker.replace('.', r"\."));
    run(["process", "--full", &pattern])
        .says(0, &format!("process --full {pattern}: ok: running as PID {} (", sleeper.pid()));
    // Unanchored, as pgrep -f.
    let tail = &marker[3..];
    run(["process", "--full", tail]).says(0, &format!("running as PID {} (", sleeper.pid()));
    assert_eq!(pgrep(&["-f", tail]), (0, sleeper.pid().to_string()));
    drop(sleeper);
    run(["process", "--full", tail]).says(1, "unhealthy: no running process's command line matches (");
}

#[test]
fn probe_never_counts_itself_but_counts_other_probes() {
    let marker = unique("probe-self-");
    // Its own command line holds the pattern, yet it is not a match.
    run(["process", "--full", &marker]).says(1, "no running process's command line matches (");
    // Another probe, waiting on a file named after the marker, is.
    let mut other = Command::new(env!("CARGO_BIN_EXE_probe"));
    other.args(["-q", "--wait", "30s", "file"]).arg(format!("/nonexistent/{marker}"));
    let other = Running(other.spawn().expect("probe"));
    other.wait_for_exec();
    run(["process", "--full", &marker]).says(0, &format!("running as PID {} (", other.pid()));
}

#[test]
fn several_names_and_patterns_at_once() {
    let name = unique("ps-");
    let sleeper = Named::new(&name).spawn(&["30"]);
    let result = run(["process", &name, "--full", &name, "no-such-proc"]);
    result.code(1);
    let expected = format!("ok: running as PID {} (", sleeper.pid());
    assert_eq!(result.stdout.lines().filter(|line| line.contains(&expected)).count(), 2, "{result}");
    assert!(
        result.stderr.contains("process no-such-proc: unhealthy: no process named no-such-proc"),
        "{result}"
    );
}

#[test]
fn bad_input_is_a_usage_error() {
    run(["process"]).says(3, "required arguments were not provided: <NAME>");
    run(["process", ""]).says(3, "an empty NAME matches no process");
    // An unset $PATTERN must not turn the probe into one that always passes.
    run(["process", "--full", ""]).says(3, "probe: an empty --full REGEX matches every process");
    run(["process", "--full="]).says(3, "probe: an empty --full REGEX matches every process");
    run(["process", "sh", "--full", ""]).says(3, "an empty --full REGEX matches every process");
    let result = probe().args(["process", "--full", "a("]).run();
    let line = result.code(3).stderr_line();
    assert!(line.starts_with("probe: invalid value 'a(' for '--full <REGEX>'"), "{line}");
}

#[test]
fn without_proc_there_is_no_answer() {
    // An empty root with an empty /proc, as chroot (or, when not root, a user namespace) runs it.
    let root = tempfile::tempdir().unwrap();
    fs::copy(env!("CARGO_BIN_EXE_probe"), root.path().join("probe")).unwrap();
    fs::create_dir(root.path().join("proc")).unwrap();
    // SAFETY: geteuid has no preconditions.
    let mut command = if unsafe { libc::geteuid() } == 0 {
        Command::new("chroot")
    } else {
        let mut unshare = Command::new("unshare");
        unshare.args(["--user", "--map-root-user", "chroot"]);
        unshare
    };
    let output = crate::support::output_of_copied(
        command
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .arg(root.path())
            .args(["/probe", "process", "init"]),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("process init: unreachable: cannot read /proc: it is not mounted ("),
        "{stderr}"
    );
}
