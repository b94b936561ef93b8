//! `probe … -- COMMAND`: the command replaces probe once every target is healthy (same PID,
//! signals and exit status), is not run otherwise, and a command that cannot run exits 126/127.

use std::{
    fs,
    os::unix::process::{CommandExt, ExitStatusExt},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::support::{probe, run, sockets};

fn probe_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_probe"));
    command.env_clear().env("PATH", "/usr/bin:/bin").stdin(Stdio::null());
    command
}

#[test]
fn the_command_keeps_probes_pid_and_the_line_comes_first() {
    let open = sockets::open("127.0.0.1:0");
    let addr = open.addr.to_string();
    let child = probe_command()
        .args(["tcp", &addr, "--", "sh", "-c", "echo $$"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("probe");
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with(&format!("tcp {addr}: ok: connected (")), "{stdout}");
    assert_eq!(lines[1], pid.to_string(), "the command runs as probe's PID");
}

#[test]
fn the_command_starts_with_default_signal_dispositions() {
    // Rust ignores SIGPIPE in probe; the command must not inherit that (a `yes | head` in it
    // would never end). Nothing is blocked either.
    let open = sockets::open("127.0.0.1:0");
    let result =
        run(["-q", "tcp", &open.addr.to_string(), "--", "grep", "-E", "^Sig(Ign|Blk):", "/proc/self/status"]);
    result.code(0);
    let mask = |name: &str| {
        let line = result.stdout.lines().find(|line| line.starts_with(name)).expect(name);
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    assert_eq!(mask("SigIgn:") & (1 << (libc::SIGPIPE - 1)), 0, "{result}");
    assert_eq!(mask("SigBlk:"), 0, "{result}");
}

#[test]
fn the_commands_exit_status_is_probes() {
    let open = sockets::open("127.0.0.1:0");
    let result = run(["tcp", &open.addr.to_string(), "--", "sh", "-c", "echo ran; exit 7"]);
    result.code(7);
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert!(lines.len() == 2 && lines[0].contains(": ok: connected (") && lines[1] == "ran", "{result}");
    // Quiet: the command's output only.
    let result = run(["-q", "tcp", &open.addr.to_string(), "--", "sh", "-c", "echo ran"]);
    assert_eq!((result.code, result.stdout.as_str(), result.stderr.as_str()), (0, "ran\n", ""), "{result}");
}

#[test]
fn sigterm_reaches_the_command() {
    let open = sockets::open("127.0.0.1:0");
    let mut command = probe_command();
    command.args(["-q", "tcp", &open.addr.to_string(), "--", "sleep", "30"]);
    // As kubelet starts it: default dispositions, whatever the harness ignores.
    // SAFETY: signal(2) with SIG_DFL is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = command.spawn().expect("probe");
    let until = Instant::now() + Duration::from_secs(5);
    while fs::read_to_string(format!("/proc/{}/comm", child.id())).unwrap_or_default() != "sleep\n" {
        assert!(Instant::now() < until, "probe never became sleep");
        thread::sleep(Duration::from_millis(5));
    }
    crate::support::process::signal(child.id(), libc::SIGTERM);
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
}

#[test]
fn not_healthy_means_not_run_and_probes_own_status() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let refusing = sockets::refusing();
    let open = sockets::open("127.0.0.1:0");
    let result = run([
        "tcp",
        &open.addr.to_string(),
        &refusing.addr.to_string(),
        "--",
        "touch",
        marker.to_str().unwrap(),
    ]);
    result.code(2);
    assert!(result.stderr.contains(": unreachable: connection refused ("), "{result}");
    assert!(!marker.exists(), "the command ran");
    let result = run(["file", "/nonexistent/heartbeat", "--", "touch", marker.to_str().unwrap()]);
    result.says(1, "unhealthy: missing (");
    assert!(!marker.exists(), "the command ran");
}

#[test]
fn every_target_healthy_after_a_wait_then_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let path = ready.clone();
    let writer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        fs::write(path, "").unwrap();
    });
    let result = probe()
        .args([
            "--wait",
            "5s",
            "--interval",
            "100ms",
            "file",
            ready.to_str().unwrap(),
            "--",
            "echo",
            "started",
        ])
        .run();
    writer.join().unwrap();
    result.code(0);
    assert!(result.stderr.starts_with("waiting: file "), "{result}");
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert!(lines.len() == 2 && lines[0].contains(" attempts in ") && lines[1] == "started", "{result}");
    // Several targets, another check.
    let result = run(["file", ready.to_str().unwrap(), dir.path().to_str().unwrap(), "--", "echo", "go"]);
    result.code(0);
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{result}");
    assert_eq!(lines[2], "go", "{result}");
    let result = probe().args(["--wait", "5s", "--interval", "100ms", "file", "--", "echo", "x"]).run();
    result.says(3, "required arguments were not provided: <PATH>");
}

#[test]
fn options_before_the_double_dash_are_probes_and_after_it_the_commands() {
    let open = sockets::open("127.0.0.1:0");
    let addr = open.addr.to_string();
    // Global options after the check and its targets still work; after `--` they are the
    // command's arguments.
    let result = run(["tcp", &addr, "--json", "--", "echo", "-q", "--json", "--"]);
    result.code(0);
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{result}");
    assert!(lines[0].starts_with(r#"{"check":"tcp""#), "{result}");
    assert_eq!(lines[1], "-q --json --");
    let result = probe().env("PROBE_QUIET", "1").args(["tcp", &addr, "--", "echo", "x"]).run();
    assert_eq!((result.code, result.stdout.as_str()), (0, "x\n"), "{result}");
}

#[test]
fn a_command_that_cannot_run_exits_126_or_127_naming_it() {
    let open = sockets::open("127.0.0.1:0");
    let addr = open.addr.to_string();
    let result = run(["tcp", &addr, "--", "no-such-command-here", "x"]);
    result.code(127);
    assert!(result.stdout.contains(": ok: connected ("), "{result}");
    assert_eq!(result.stderr.trim_end(), "probe: cannot run no-such-command-here: not found");
    let result = run(["tcp", &addr, "--", "./no/such/app"]);
    assert_eq!((result.code, result.stderr.trim_end()), (127, "probe: cannot run ./no/such/app: not found"));
    // Not executable: a plain file (root too needs an execute bit), and a directory.
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("app");
    fs::write(&plain, "#!/bin/sh\necho no\n").unwrap();
    let result = run(["tcp", &addr, "--", plain.to_str().unwrap()]);
    result.code(126);
    assert_eq!(
        result.stderr.trim_end(),
        format!("probe: cannot run {}: permission denied (not executable)", plain.display())
    );
    // A directory: what a shell says ("Is a directory", 126), not "permission denied".
    for directory in [dir.path().to_str().unwrap(), "/tmp", "/tmp/"] {
        let result = run(["tcp", &addr, "--", directory]);
        result.code(126);
        assert_eq!(result.stderr.trim_end(), format!("probe: cannot run {directory}: is a directory"));
    }
    // A script whose interpreter is missing.
    use std::os::unix::fs::PermissionsExt;
    fs::write(&plain, "#!/nonexistent/sh\necho no\n").unwrap();
    fs::set_permissions(&plain, fs::Permissions::from_mode(0o755)).unwrap();
    let result = run(["tcp", &addr, "--", plain.to_str().unwrap()]);
    result.code(126);
    assert!(result.stderr.contains("its interpreter was not found"), "{result}");
}

#[test]
fn a_double_dash_with_nothing_after_it_is_a_usage_error() {
    let open = sockets::open("127.0.0.1:0");
    run(["tcp", &open.addr.to_string(), "--"]).says(3, "'--' must be followed by the command to run");
    run(["completions", "bash", "--", "echo"]).says(3, "runs after the checks pass");
    run(["install", "/tmp", "--", "echo"]).says(3, "runs after the checks pass");
}
