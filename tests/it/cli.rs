//! The command-line contract: usage errors exit 3 with one line, help and version exit 0,
//! global options go anywhere and come from PROBE_* variables too.

use std::{
    os::fd::{FromRawFd, OwnedFd},
    process::{Command, Stdio},
};

use crate::support::{probe, run, sockets};

#[test]
fn help_and_version_succeed() {
    let help = run(["--help"]);
    help.code(0);
    for check in
        ["tcp", "http", "postgres", "redis", "amqp", "mysql", "nats", "mqtt", "zookeeper", "memcached"]
    {
        assert!(help.stdout.contains(check), "{help}");
        let check_help = run([check, "--help"]);
        check_help.code(0);
        assert!(check_help.stdout.contains("--timeout"), "{check_help}");
    }
    let version = run(["--version"]);
    assert_eq!(version.code(0).stdout_line(), format!("probe {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn every_help_names_the_environment_it_reads_and_the_exit_statuses() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["--help"], &["PROBE_TIMEOUT", "PG*", "'probe CHECK --help'"]),
        (&["tcp", "--help"], &["PROBE_WAIT"]),
        (&["http", "--help"], &["SSL_CERT_FILE"]),
        (&["grpc", "--help"], &["SSL_CERT_FILE"]),
        (&["postgres", "--help"], &["PGHOST", "PGPASSFILE", "PGSERVICEFILE", "PGSSLMODE", "PGTZ", "HOME"]),
        (&["redis", "--help"], &["REDIS_URL", "REDISCLI_AUTH", "SSL_CERT_FILE"]),
        (&["amqp", "--help"], &["AMQP_URL", "SSL_CERT_FILE"]),
        (&["mysql", "--help"], &["MYSQL_PWD", "MYSQL_HOST", "MYSQL_UNIX_PORT", "USER", "SSL_CERT_FILE"]),
        (&["nats", "--help"], &["NATS_URL", "NATS_CREDS", "NATS_NKEY", "SSL_CERT_FILE"]),
        (&["mqtt", "--help"], &["SSL_CERT_FILE"]),
        (&["zookeeper", "--help"], &["SSL_CERT_FILE"]),
        (&["memcached", "--help"], &[]),
        (&["file", "--help"], &[]),
        (&["process", "--help"], &[]),
        (&["install", "--help"], &["PROBE_QUIET"]),
        (&["completions", "--help"], &[]),
    ];
    for (args, names) in cases {
        let help = run(*args);
        let text = &help.code(0).stdout;
        let environment = text.split("\nEnvironment").nth(1).unwrap_or_else(|| panic!("{args:?}: {help}"));
        for name in *names {
            assert!(environment.contains(name), "{args:?} lacks {name}: {help}");
        }
        assert!(text.contains("\nExit status"), "{args:?}: {help}");
        if args[0] != "install" && args[0] != "completions" {
            assert!(text.contains("  2: no usable answer"), "{args:?}: {help}");
        }
    }
}

#[test]
fn every_usage_error_is_one_line_and_exit_3() {
    let cases: &[(&[&str], &str)] = &[
        (&[], "name a check: tcp, http, postgres, redis"),
        (&["ping"], "unrecognized subcommand 'ping'"),
        (&["tcp"], "required arguments were not provided: <HOST:PORT>"),
        (
            &["tcp", "--tiemout", "1s", "db:1"],
            "(tip: a similar argument exists: '--timeout'); see 'probe tcp --help'",
        ),
        (&["tcp", "db"], "a port is missing; write it as HOST:PORT"),
        (&["tcp", "db:99999"], "'99999' is not a port"),
        (&["tcp", "::1:5432"], "put an IPv6 address in brackets"),
        (&["tcp", "-t", "soon", "db:1"], "invalid value 'soon' for '--timeout <DUR>': not a duration"),
        (&["tcp", "-t", "0", "db:1"], "must be longer than zero"),
        (
            &["tcp", "--wait", "-1", "db:1"],
            "unexpected argument '-1' found (tip: to give '-1' to --wait, write --wait=-1)",
        ),
        (&["tcp", "--wait=-1", "db:1"], "invalid value '-1' for '--wait <DUR>': not a duration"),
        // Never clap's "use '-- -u'": after `--` comes the command to run.
        (&["tcp", "-u", "db:1"], "unexpected argument '-u' found; see 'probe tcp --help'"),
        (
            &["process", "--full", "-x"],
            "unexpected argument '-x' found (tip: to give '-x' to --full, write --full=-x)",
        ),
        (&["tcp", "--interval", "1x", "db:1"], "'1x' for '--interval <DUR>': not a duration"),
        (&["redis", "--cert", "c.pem"], "--key <FILE>"),
        (&["http", "--method", "POST", "http://x/"], "invalid value 'POST' for '--method <METHOD>'"),
    ];
    for (args, expected) in cases {
        let result = run(*args);
        let line = result.code(3).stderr_line();
        assert!(line.starts_with("probe: "), "{args:?}: {line}");
        assert!(line.contains(expected), "{args:?}: expected {expected:?} in {line:?}");
        assert!(!line.contains("'-- "), "{args:?}: {line}");
    }
}

#[test]
fn global_options_go_before_or_after_the_check_and_come_from_the_environment() {
    let open = sockets::open("127.0.0.1:0");
    let target = open.addr.to_string();
    for args in
        [vec!["--json", "tcp", &target], vec!["tcp", "--json", &target], vec!["tcp", &target, "--json"]]
    {
        let result = run(&args);
        assert!(result.code(0).stdout_line().starts_with(r#"{"check":"tcp""#), "{args:?}\n{result}");
    }
    let from_env = probe().env("PROBE_JSON", "1").args(["tcp", &target]).run();
    assert!(from_env.code(0).stdout_line().starts_with('{'), "{from_env}");
    let off_in_env = probe().env("PROBE_JSON", "false").args(["tcp", &target]).run();
    assert!(off_in_env.code(0).stdout_line().starts_with("tcp "), "{off_in_env}");
    let quiet = probe().env("PROBE_QUIET", "true").args(["tcp", &target]).run();
    assert_eq!((quiet.code, quiet.stdout.as_str(), quiet.stderr.as_str()), (0, "", ""), "{quiet}");
    let verbose = probe().env("PROBE_VERBOSE", "yes").args(["tcp", &target]).run();
    verbose.says(0, "; resolve ");
}

#[test]
fn a_bad_value_in_the_environment_is_a_usage_error() {
    let result = probe().env("PROBE_TIMEOUT", "fast").args(["tcp", "127.0.0.1:1"]).run();
    result.says(3, "invalid value 'fast' for PROBE_TIMEOUT (--timeout): not a duration");
    // Given on the command line too, the flag is the one to blame.
    let result = probe().env("PROBE_TIMEOUT", "fast").args(["tcp", "-t", "fast", "127.0.0.1:1"]).run();
    result.says(3, "invalid value 'fast' for '--timeout <DUR>'");
    let result = probe().env("PROBE_QUIET", "maybe").args(["tcp", "127.0.0.1:1"]).run();
    result.says(3, "'maybe'");
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for (shell, marker) in
        [("bash", "complete -F _probe"), ("zsh", "#compdef probe"), ("fish", "complete -c probe")]
    {
        let result = run(["completions", shell]);
        result.code(0);
        assert!(
            result.stdout.contains(marker),
            "{shell}: {}",
            &result.stdout[..200.min(result.stdout.len())]
        );
        for check in
            ["tcp", "http", "postgres", "redis", "amqp", "mysql", "nats", "mqtt", "zookeeper", "memcached"]
        {
            assert!(result.stdout.contains(check), "{shell} completes {check}");
        }
    }
    run(["completions", "powershell"]).says(3, "invalid value 'powershell'");
}

#[test]
fn an_empty_password_file_is_a_usage_error_for_every_check_that_takes_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("password");
    std::fs::write(&empty, "\n").expect("write");
    let file = empty.to_str().unwrap();
    for (check, target) in [
        ("postgres", "postgres://app@127.0.0.1:1/app"),
        ("redis", "redis://127.0.0.1:1"),
        ("nats", "nats://app@127.0.0.1:1"),
        ("mqtt", "mqtt://app@127.0.0.1:1"),
        ("memcached", "memcached://app@127.0.0.1:1"),
    ] {
        run([check, "--password-file", file, target]).says(3, &format!("--password-file {file} is empty"));
    }
}

/// A pipe whose reading end is already closed: every write to it fails with EPIPE, as a write to
/// `| head -c 10` does once head has read its ten bytes.
fn closed_pipe() -> OwnedFd {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills the two descriptors, which are then owned here and nowhere else.
    let (read, write) = unsafe {
        assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0, "pipe");
        (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
    };
    drop(read);
    write
}

#[test]
fn a_closed_stdout_stops_quietly() {
    // `probe completions fish | head -c 10` once died with "internal error … please report it"
    // and a path on the build machine. Every command that prints stops quietly instead, with the
    // status it would have had; with `2>&1 | head`, stderr is closed too.
    let install_dir = tempfile::tempdir().unwrap();
    let open = sockets::open("127.0.0.1:0");
    let refusing = sockets::refusing();
    let (open, refusing) = (open.addr.to_string(), refusing.addr.to_string());
    let cases: &[(&[&str], i32)] = &[
        (&["completions", "fish"], 0),
        (&["completions", "bash"], 0),
        (&["completions", "zsh"], 0),
        (&["--help"], 0),
        (&["--version"], 0),
        (&["postgres", "--help"], 0),
        (&["install", install_dir.path().to_str().unwrap()], 0),
        (&["tcp", &open], 0),
        (&["tcp", "--json", &open], 0),
        (&["tcp", &refusing], 2),
        (&["tcp", "-w", "300ms", "--interval", "100ms", &refusing], 2),
        (&["tcp"], 3),
        (&["tcp", &open, "--", "/nonexistent/app"], 127),
    ];
    for (args, code) in cases {
        for stderr_too in [false, true] {
            let stdout = closed_pipe();
            let stderr = if stderr_too { Stdio::from(stdout.try_clone().unwrap()) } else { Stdio::piped() };
            let output = Command::new(env!("CARGO_BIN_EXE_probe"))
                .env_clear()
                .args(*args)
                .stdin(Stdio::null())
                .stdout(stdout)
                .stderr(stderr)
                .output()
                .expect("probe runs");
            let said = String::from_utf8_lossy(&output.stderr);
            assert_eq!(
                output.status.code(),
                Some(*code),
                "{args:?} (stderr closed: {stderr_too}): {output:?}"
            );
            assert!(!said.contains("internal error") && !said.contains(".cargo"), "{args:?}: {said}");
            if !stderr_too && *code == 0 {
                assert_eq!(said, "", "{args:?}");
            }
        }
    }
}
