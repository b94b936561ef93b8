//! probe under the names of the tools it stands in for (a symlink to the test binary named
//! `wait-for-it`, `pg_isready`, `grpc_health_probe`). wait-for-it and pg_isready are
//! differential: Debian's `wait-for-it` script and PostgreSQL's own `pg_isready` get the same
//! arguments and environment at the same time, and stdout, stderr and the exit code must match
//! (modulo the seconds wait-for-it counts, and where the README lists a difference).
//! grpc_health_probe is not installable here: its expected lines are written from
//! grpc-ecosystem/grpc-health-probe `main.go` (`log.SetFlags(0)`, the `argError` checks, the
//! "status: SERVING" / "service unhealthy (responded with %q)" / "timeout: failed to connect
//! service %q within %v" / "error: health rpc failed: %+v" lines, exit codes 1-4) and its
//! `internal/e2e/probe_test.go`.

use std::{
    fs,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::support::{
    MARGIN, Run,
    certs::Pki,
    grpc::{Grpc, Options},
    postgres::{self, Postgres},
    probe, sockets,
};

/// A temp dir holding a symlink to the probe binary under `name`.
struct Named {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn named(name: &str) -> Named {
    let dir = tempfile::Builder::new().prefix("probe-dropin-").tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_probe"), &path).expect("symlink");
    Named { _dir: dir, path }
}

/// `program` with an empty environment (PATH aside) and `env` set.
fn command(program: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(program);
    command.env_clear().env("PATH", "/usr/bin:/bin").envs(env.iter().copied()).args(args);
    command.stdin(Stdio::null());
    command
}

fn output(mut command: Command) -> Run {
    let started = Instant::now();
    let output = command.output().unwrap_or_else(|err| panic!("cannot run {command:?}: {err}"));
    Run {
        code: output.status.code().unwrap_or_else(|| panic!("killed by a signal: {command:?}")),
        stdout: String::from_utf8(output.stdout).expect("UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8"),
        elapsed: started.elapsed(),
    }
}

/// Runs both commands at the same time (so a port opening late opens for both alike).
fn side_by_side(real: Command, ours: Command) -> (Run, Run) {
    let real = thread::spawn(move || output(real));
    let ours = output(ours);
    (real.join().expect("the real tool ran"), ours)
}

/// Asserts the same exit code, stdout and stderr, after `normal` on both.
#[track_caller]
fn same(real: &Run, ours: &Run, normal: fn(&str) -> String) {
    let show = || format!("--- real: {real}\n--- probe: {ours}");
    assert_eq!(real.code, ours.code, "exit codes differ\n{}", show());
    assert_eq!(normal(&real.stdout), normal(&ours.stdout), "stdout differs\n{}", show());
    assert_eq!(normal(&real.stderr), normal(&ours.stderr), "stderr differs\n{}", show());
}

fn as_is(text: &str) -> String {
    text.to_owned()
}

// ---------------------------------------------------------------------------------------------
// wait-for-it

const WAIT_FOR_IT: &str = "/usr/bin/wait-for-it";

fn real_wait_for_it() -> PathBuf {
    let path = PathBuf::from(WAIT_FOR_IT);
    assert!(
        path.exists(),
        "{WAIT_FOR_IT} is missing: run scripts/test, which installs the wait-for-it package"
    );
    path
}

/// wait-for-it and probe named wait-for-it, same arguments, at the same time.
fn wait_for_it(args: &[&str]) -> (Run, Run) {
    let ours = named("wait-for-it");
    side_by_side(command(&real_wait_for_it(), args, &[]), command(&ours.path, args, &[]))
}

/// "is available after 1 seconds" → "after N seconds": the script counts whole clock seconds.
fn seconds_counted(text: &str) -> String {
    text.lines()
        .map(|line| match line.split_once(" is available after ") {
            Some((head, _)) => format!("{head} is available after N seconds"),
            None => line.to_owned(),
        })
        .map(|line| line + "\n")
        .collect()
}

#[test]
fn wait_for_it_an_open_port_is_available_and_the_command_runs() {
    let open = sockets::open("127.0.0.1:0");
    let addr = open.addr.to_string();
    let (real, ours) = wait_for_it(&[&addr, "-t", "5", "--", "echo", "ran", "--flag"]);
    same(&real, &ours, seconds_counted);
    assert_eq!(ours.stdout, "ran --flag\n");
    assert_eq!(
        ours.stderr,
        format!(
            "wait-for-it: waiting 5 seconds for {addr}\nwait-for-it: {addr} is available after 0 seconds\n"
        )
    );
    // -h/-p, and no timeout at all.
    let (host, port) = (open.addr.ip().to_string(), open.addr.port().to_string());
    let (real, ours) = wait_for_it(&["-h", &host, "-p", &port, "-t", "0"]);
    same(&real, &ours, seconds_counted);
    assert!(
        ours.stderr.starts_with(&format!("wait-for-it: waiting for {addr} without a timeout\n")),
        "{ours}"
    );
    let (real, ours) =
        wait_for_it(&[&format!("--host={host}"), &format!("--port={port}"), "--timeout=3", "-q"]);
    same(&real, &ours, as_is);
    assert_eq!((ours.code, ours.stderr.as_str()), (0, ""));
}

#[test]
fn wait_for_it_a_closed_port_times_out_and_the_command_still_runs() {
    let closed = sockets::refusing();
    let addr = closed.addr.to_string();
    let (real, ours) = wait_for_it(&[&addr, "-t", "1", "--", "sh", "-c", "echo ran; exit 7"]);
    same(&real, &ours, as_is);
    assert_eq!((ours.code, ours.stdout.as_str()), (7, "ran\n"));
    assert_eq!(
        ours.stderr,
        format!(
            "wait-for-it: waiting 1 seconds for {addr}\nwait-for-it: timeout occurred after waiting 1 seconds for {addr}\n"
        )
    );
    assert!(
        ours.elapsed >= Duration::from_secs(1) && ours.elapsed < Duration::from_secs(1) + MARGIN * 4,
        "{ours}"
    );
    // Without a command, the status is GNU timeout's; quiet says nothing.
    let (real, ours) = wait_for_it(&[&addr, "-t", "1"]);
    same(&real, &ours, as_is);
    assert_eq!(ours.code, 124);
    let (real, ours) = wait_for_it(&["-q", &addr, "-t", "1", "--", "true"]);
    same(&real, &ours, as_is);
    assert_eq!((ours.code, ours.stderr.as_str()), (0, ""));
}

#[test]
fn wait_for_it_strict_refuses_the_command_after_a_timeout() {
    let closed = sockets::refusing();
    let addr = closed.addr.to_string();
    let (real, ours) = wait_for_it(&["--strict", &addr, "--timeout=1", "--", "echo", "ran"]);
    same(&real, &ours, as_is);
    assert_eq!((ours.code, ours.stdout.as_str()), (124, ""));
    assert!(ours.stderr.ends_with("wait-for-it: strict mode, refusing to execute subprocess\n"), "{ours}");
    // Strict with a port that is open runs it.
    let open = sockets::open("127.0.0.1:0");
    let (real, ours) = wait_for_it(&["-s", &open.addr.to_string(), "--", "echo", "ran"]);
    same(&real, &ours, seconds_counted);
    assert_eq!(ours.stdout, "ran\n");
}

#[test]
fn wait_for_it_a_port_that_opens_late() {
    let (addr, opener) = sockets::listening_after(Duration::from_millis(1500));
    let addr = addr.to_string();
    let (real, ours) = wait_for_it(&[&addr, "-t", "10", "--", "echo", "up"]);
    same(&real, &ours, seconds_counted);
    assert_eq!((ours.code, ours.stdout.as_str()), (0, "up\n"));
    let said = ours.stderr.lines().nth(1).expect("a second line");
    let seconds: u64 = said.rsplit(' ').nth(1).and_then(|n| n.parse().ok()).expect("a count");
    assert!((1..=3).contains(&seconds), "{said}");
    drop(opener.join());
}

#[test]
fn wait_for_it_a_silent_port_times_out() {
    let hole = sockets::black_hole();
    let (real, ours) = wait_for_it(&[&hole.addr.to_string(), "-t", "2"]);
    same(&real, &ours, as_is);
    assert_eq!(ours.code, 124);
    assert!(
        ours.elapsed >= Duration::from_secs(2) && ours.elapsed < Duration::from_secs(2) + MARGIN * 4,
        "{ours}"
    );
}

#[test]
fn wait_for_it_usage_errors_print_its_usage() {
    for args in [
        &["-x"][..],
        &["-q", "-x"],
        &[":5432"],
        &["--help"],
        &["db"],
        &["-h", "db"],
        &["db:1", "-p", ""],
        &[],
    ] {
        let (real, ours) = wait_for_it(args);
        same(&real, &ours, as_is);
        assert_eq!(ours.code, 1, "{args:?}");
        assert!(
            ours.stderr.contains("Usage:\n    wait-for-it host:port [-s] [-t timeout] [-- command args]\n")
        );
    }
}

#[test]
fn wait_for_it_sh_is_named_as_it_was_called() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("wait-for-it.sh");
    std::os::unix::fs::symlink(real_wait_for_it(), &real).unwrap();
    let ours = named("wait-for-it.sh");
    let closed = sockets::refusing();
    for args in [&["-x"][..], &[&closed.addr.to_string(), "-t", "1"]] {
        let (real, ours) = side_by_side(command(&real, args, &[]), command(&ours.path, args, &[]));
        same(&real, &ours, as_is);
        assert!(ours.stderr.contains("wait-for-it.sh"), "{ours}");
    }
}

/// A command that cannot be run: 127 as bash gives it; the message is probe's (README).
#[test]
fn wait_for_it_a_command_that_is_not_there() {
    let open = sockets::open("127.0.0.1:0");
    let (real, ours) = wait_for_it(&[&open.addr.to_string(), "--", "no-such-command-here"]);
    assert_eq!((real.code, ours.code), (127, 127), "{real}\n{ours}");
    assert!(real.stderr.ends_with("exec: no-such-command-here: not found\n"), "{real}");
    assert!(ours.stderr.ends_with("probe: cannot run no-such-command-here: not found\n"), "{ours}");
}

// ---------------------------------------------------------------------------------------------
// pg_isready

/// pg_isready and probe named pg_isready, same arguments and environment, at the same time. The
/// real one is started under the symlink's path as its argv[0], so getopt's messages, which
/// name the program as it was called, name the same path.
fn pg_isready(args: &[&str], env: &[(&str, &str)]) -> (Run, Run) {
    let ours = named("pg_isready");
    let mut real = command(&postgres::bin_dir().join("pg_isready"), args, env);
    real.arg0(&ours.path);
    side_by_side(real, command(&ours.path, args, env))
}

#[test]
fn pg_isready_accepting_over_tcp_the_socket_a_url_and_conninfo() {
    let pg = Postgres::start();
    let port = pg.port().to_string();
    let url = format!("postgresql://127.0.0.1:{port}/postgres");
    let conninfo = format!("host=127.0.0.1 port={port} user=nobody dbname=nothing");
    let socket_url = format!("postgresql://{}:{port}/x", pg.socket().replace('/', "%2F"));
    for (args, env) in [
        (&["-h", "127.0.0.1", "-p", &port][..], &[][..]),
        (&["-h", pg.socket(), "-p", &port], &[]),
        (&["--host=127.0.0.1", "--port", &port, "-U", "nobody", "-d", "nothing", "-t", "5"], &[]),
        (&["-d", &url], &[]),
        (&["-d", &conninfo], &[]),
        (&["-d", &socket_url], &[]),
        // A connection string wins over -h and -p.
        (&["-h", "192.0.2.1", "-p", "1", "-d", &conninfo], &[]),
        (&[], &[("PGHOST", pg.socket()), ("PGPORT", &port)]),
        (&["-d", "postgres:///nothing"], &[("PGHOST", "127.0.0.1"), ("PGPORT", &port)]),
        (&["-q", "-h", "127.0.0.1", "-p", &port], &[]),
    ] {
        let (real, ours) = pg_isready(args, env);
        same(&real, &ours, as_is);
        assert_eq!(ours.code, 0, "{args:?}");
    }
    let (_, ours) = pg_isready(&["-h", pg.socket(), "-p", &port], &[]);
    assert_eq!(ours.stdout, format!("{}:{port} - accepting connections\n", pg.socket()));
}

#[test]
fn pg_isready_no_response_from_closed_and_silent_ports() {
    let closed = sockets::refusing();
    let port = closed.addr.port().to_string();
    for args in [
        &["-h", "127.0.0.1", "-p", &port][..],
        &["-h", "127.0.0.1", "-p", &port, "-t", "abc"],
        &["-h", "127.0.0.1", "-p", "abc"],
        &["-h", "127.0.0.1", "-p", "99999"],
        &["-q", "-h", "127.0.0.1", "-p", &port],
    ] {
        let (real, ours) = pg_isready(args, &[]);
        same(&real, &ours, as_is);
        assert_eq!(ours.code, 2, "{args:?}");
    }
    // libpq waits at least two seconds when it waits at all.
    let hole = sockets::black_hole();
    let (real, ours) = pg_isready(&["-h", "127.0.0.1", "-p", &hole.addr.port().to_string(), "-t", "1"], &[]);
    same(&real, &ours, as_is);
    assert_eq!(ours.code, 2);
    for run in [&real, &ours] {
        assert!(
            run.elapsed >= Duration::from_secs(2) && run.elapsed < Duration::from_secs(2) + MARGIN * 4,
            "{run}"
        );
    }
}

/// A server starting up, as PostgreSQL is then: it declines TLS ('N' to the SSLRequest libpq
/// sends first with the default sslmode=prefer), then answers the startup packet with 57P03.
fn starting_up() -> std::net::SocketAddr {
    use std::io::{Read, Write};
    sockets::serving(Duration::from_secs(5), move |mut stream| {
        loop {
            let mut length = [0u8; 4];
            if stream.read_exact(&mut length).is_err() {
                return;
            }
            let mut body = vec![0u8; (u32::from_be_bytes(length) as usize).saturating_sub(4)];
            if stream.read_exact(&mut body).is_err() {
                return;
            }
            // SSLRequest and GSSENCRequest: declined; anything else is the startup packet.
            if body.len() == 4
                && matches!(u32::from_be_bytes([body[0], body[1], body[2], body[3]]), 80877103 | 80877104)
            {
                let _ = stream.write_all(b"N");
                continue;
            }
            let fields = b"SFATAL\0VFATAL\0C57P03\0Mthe database system is starting up\0\0";
            let mut message = vec![b'E'];
            message.extend_from_slice(&u32::try_from(fields.len() + 4).unwrap().to_be_bytes());
            message.extend_from_slice(fields);
            let _ = stream.write_all(&message);
            thread::sleep(Duration::from_secs(2));
            return;
        }
    })
}

#[test]
fn pg_isready_a_server_starting_up_is_rejecting() {
    let addr = starting_up();
    let (real, ours) = pg_isready(&["-h", "127.0.0.1", "-p", &addr.port().to_string()], &[]);
    same(&real, &ours, as_is);
    assert_eq!(ours.code, 1);
    assert!(ours.stdout.ends_with(" - rejecting connections\n"), "{ours}");
}

#[test]
fn pg_isready_no_attempt_and_connection_strings_libpq_refuses() {
    let closed = sockets::refusing();
    let port = closed.addr.port().to_string();
    for args in [
        &["-d", "sslmode=bogus", "-h", "127.0.0.1", "-p", &port][..],
        &["-d", "foo=bar"],
        &["-d", "host"],
        &["-d", "host='x"],
        &["-d", "postgres://h:1/x?foo=1"],
    ] {
        // "-d host" is a database name: give it somewhere harmless to go.
        let (real, ours) = pg_isready(args, &[("PGHOST", "127.0.0.1"), ("PGPORT", &port)]);
        same(&real, &ours, as_is);
        assert!(matches!(ours.code, 2 | 3), "{args:?}: {ours}");
    }
    // Where libpq quotes text that may be a password, probe says the same without it (README).
    for (conninfo, said) in [
        (
            "postgres://[::1",
            "end of string reached when looking for matching \"]\" in IPv6 host address in URI",
        ),
        ("postgresql://%zz@h/", "invalid percent-encoded token"),
        ("postgresql://h/x?a", "missing key/value separator \"=\" in URI query parameter"),
        (
            "localhost port=1",
            "missing \"=\" after a word that is no connection option, in connection info string",
        ),
    ] {
        let (real, ours) = pg_isready(&["-d", conninfo], &[]);
        assert_eq!((real.code, ours.code), (3, 3), "{conninfo}: {real}\n{ours}");
        assert!(real.stderr.starts_with("pg_isready: error: "), "{real}");
        assert_eq!(ours.stderr, format!("pg_isready: error: {said}\n"), "{conninfo}: {ours}");
    }
}

/// What the drop-ins print never holds a secret, wherever the user put it, nor a raw control
/// character: each names its target on one line.
#[test]
fn dropins_never_print_a_secret_or_a_raw_control_character() {
    const SECRET: &str = "Sup3rSecret";
    let closed = sockets::refusing();
    let port = closed.addr.port().to_string();
    let target = format!("127.0.0.1:{port}");
    let pg = named("pg_isready");
    let wait = named("wait-for-it");
    let grpc = named("grpc_health_probe");
    let cases: Vec<(&Named, Vec<String>)> = vec![
        (&pg, vec!["-d".into(), format!("postgresql://{target}/db?password=Sup3r%zz{SECRET}")]),
        (&pg, vec!["-d".into(), format!("postgresql://{target}/db?password=Sup3r%00{SECRET}")]),
        (&pg, vec!["-d".into(), format!("postgresql://[::1/db?password={SECRET}")]),
        (&pg, vec!["-d".into(), format!("postgresql://[::1]x/db?password={SECRET}")]),
        (&pg, vec!["-d".into(), format!("postgresql://{target}/db?{SECRET}")]),
        (&pg, vec!["-d".into(), format!("host=127.0.0.1 port={port} password=Sup3r {SECRET}")]),
        (&pg, vec!["-d".into(), format!("host=127.0.0.1 port={port} password=Sup3r {SECRET}=x")]),
        (&pg, vec!["-d".into(), format!("host=127.0.0.1 password:{SECRET}")]),
        (&pg, vec![format!("postgresql://u:{SECRET}@{target}/db")]),
        (&pg, vec![format!("--password={SECRET}")]),
        (&pg, vec!["-h".into(), "h\n\x1b[31mfake - accepting connections".into(), "-p".into(), port.clone()]),
        (
            &grpc,
            vec![
                "-addr".into(),
                target.clone(),
                "-rpc-header".into(),
                format!("Authorization Bearer {SECRET}"),
            ],
        ),
        (&grpc, vec!["-addr".into(), format!("grpc://u:{SECRET}@{target}")]),
        (&grpc, vec!["-v".into(), "-addr".into(), format!("u:{SECRET}@{target}")]),
        (&grpc, vec!["-v".into(), "-addr".into(), format!("127.0.0.1\n\x1b[31m:{port}")]),
        (&wait, vec!["-t".into(), "1".into(), format!("u:{SECRET}@{target}")]),
        (&wait, vec![format!("--password={SECRET}"), target.clone()]),
        (&wait, vec!["-t".into(), "1".into(), "-h".into(), "h\r\x1b[2K".into(), "-p".into(), port.clone()]),
    ];
    for (named, args) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = output(command(&named.path, &args, &[]));
        assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET), "{args:?}: {run}");
        assert!(!run.stdout.contains(&SECRET[..6]), "{args:?}: {run}");
        for text in [&run.stdout, &run.stderr] {
            assert!(!text.contains(['\x1b', '\r']), "{args:?}: {run}");
        }
        if named.path.ends_with("pg_isready") || named.path.ends_with("wait-for-it") {
            // No usage text follows these: every line is one message.
            assert!(run.stdout.lines().count() <= 1, "{args:?}: {run}");
        }
    }
    // probe's own usage errors: a path with a newline in it stays on one line.
    let run = probe().args(["redis", "--password-file", "/nonexistent\nfake: ok", "127.0.0.1:1"]).run();
    run.code(3);
    assert_eq!(run.stderr.lines().count(), 1, "{run}");
}

#[test]
fn pg_isready_usage_errors_as_getopt_says_them() {
    for args in [
        &["-x"][..],
        &["--foo"],
        &["extra"],
        &["-h", "127.0.0.1", "extra", "more"],
        &["-h"],
        &["--host"],
        &["--quiet=1"],
        &["-q", "-V"],
        &["-q", "--help"],
        &["-p"],
    ] {
        let (real, ours) = pg_isready(args, &[]);
        same(&real, &ours, as_is);
        assert_eq!(ours.code, 3, "{args:?}");
    }
}

#[test]
fn pg_isready_help_and_version() {
    for flag in ["--help", "-?"] {
        let (real, ours) = pg_isready(&[flag], &[]);
        assert_eq!((real.code, ours.code), (0, 0));
        let options = |text: &str| text.split("\nReport bugs").next().unwrap().to_owned();
        let ours_options = ours.stdout.split("\nThis pg_isready is probe").next().unwrap().to_owned();
        assert_eq!(options(&real.stdout), ours_options);
    }
    let (real, ours) = pg_isready(&["-V"], &[]);
    assert!(real.stdout.starts_with("pg_isready (PostgreSQL) "), "{real}");
    assert_eq!(ours.stdout, format!("pg_isready (probe) {}\n", env!("CARGO_PKG_VERSION")));
}

// ---------------------------------------------------------------------------------------------
// grpc_health_probe

fn grpc_health_probe(args: &[&str]) -> Run {
    let ours = named("grpc_health_probe");
    output(command(&ours.path, args, &[]))
}

/// Asserts main.go's exit code and its one line on stderr (log.SetFlags(0): no timestamp).
#[track_caller]
fn logs(run: &Run, code: i32, line: &str) {
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (code, "", &*format!("{line}\n")),
        "{run}"
    );
}

#[test]
fn grpc_health_probe_statuses_and_exit_codes() {
    let server = Grpc::start(&Options {
        statuses: &[("", "SERVING"), ("db", "SERVING"), ("down", "NOT_SERVING"), ("unsure", "UNKNOWN")],
        ..Options::default()
    });
    let addr = server.addr();
    logs(&grpc_health_probe(&[&format!("-addr={addr}")]), 0, "status: SERVING");
    // ":port" is this host, as Go dials it; flags as Go's flag package reads them.
    logs(&grpc_health_probe(&["-addr", &format!(":{}", server.port), "--service=db"]), 0, "status: SERVING");
    logs(&grpc_health_probe(&["--addr", &addr, "-gzip"]), 0, "status: SERVING");
    logs(
        &grpc_health_probe(&["-addr", &addr, "-service", "down"]),
        4,
        "service unhealthy (responded with \"NOT_SERVING\")",
    );
    logs(
        &grpc_health_probe(&["-addr", &addr, "-service", "unsure"]),
        4,
        "service unhealthy (responded with \"UNKNOWN\")",
    );
    // grpcio answers an unknown service with NOT_FOUND and no message.
    logs(
        &grpc_health_probe(&["-addr", &addr, "-service", "nope"]),
        3,
        "error: health rpc failed: rpc error: code = NotFound desc = ",
    );
    let bare = Grpc::start(&Options { no_health: true, ..Options::default() });
    logs(
        &grpc_health_probe(&["-addr", &bare.addr()]),
        3,
        "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): Method not found!",
    );
}

#[test]
fn grpc_health_probe_headers_and_user_agent() {
    let server =
        Grpc::start(&Options { statuses: &[("", "SERVING")], token: Some("t0k3n"), ..Options::default() });
    let addr = server.addr();
    let refused = grpc_health_probe(&["-addr", &addr]);
    logs(
        &refused,
        3,
        "error: health rpc failed: rpc error: code = Unauthenticated desc = missing or wrong token",
    );
    let ok = grpc_health_probe(&[
        "-addr",
        &addr,
        "-rpc-header",
        "Authorization: Bearer t0k3n",
        "-rpc-header=x-id:1",
    ]);
    logs(&ok, 0, "status: SERVING");
    let ok = grpc_health_probe(&[
        "-addr",
        &addr,
        "-rpc-header",
        "authorization: Bearer t0k3n",
        "-user-agent",
        "kubelet-ish/1",
    ]);
    logs(&ok, 0, "status: SERVING");
    let calls = server.calls();
    let agent = |call: &serde_json::Value| {
        let metadata = call["metadata"].as_array().unwrap();
        let found = metadata.iter().find(|pair| pair[0] == "user-agent").expect("a user-agent");
        found[1].as_str().unwrap().to_owned()
    };
    let agents: Vec<String> = calls.iter().map(agent).collect();
    // The refused call never reached the health service, which records the calls.
    assert_eq!(agents, ["grpc_health_probe", "kubelet-ish/1"]);
    let ids: Vec<_> =
        calls[0]["metadata"].as_array().unwrap().iter().filter(|pair| pair[0] == "x-id").collect();
    assert_eq!(ids.len(), 1, "{calls:?}");
    // -v shows which headers were given, never their values.
    let verbose = grpc_health_probe(&["-addr", &addr, "-v", "-rpc-header", "authorization: Bearer t0k3n"]);
    assert!(verbose.stderr.contains("> headers: map[authorization:[***]]\n"), "{verbose}");
    verbose.hides("t0k3n");
}

#[test]
fn grpc_health_probe_tls_and_mutual_tls() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost", "127.0.0.1"]);
    let server =
        Grpc::start(&Options { statuses: &[("", "SERVING")], tls: Some(&pair), ..Options::default() });
    let (addr, ca) = (server.addr(), pki.ca.to_str().unwrap());
    logs(&grpc_health_probe(&["-addr", &addr, "-tls", "-tls-ca-cert", ca]), 0, "status: SERVING");
    logs(&grpc_health_probe(&["-addr", &addr, "-tls", "-tls-no-verify"]), 0, "status: SERVING");
    let quoted = format!("\"{addr}\"");
    logs(
        &grpc_health_probe(&["-addr", &addr, "-tls"]),
        2,
        &format!(
            "error: failed to connect service at {quoted}: TLS: certificate not trusted (unknown issuer)"
        ),
    );
    logs(
        &grpc_health_probe(&[
            "-addr",
            &addr,
            "-tls",
            "-tls-ca-cert",
            ca,
            "-tls-server-name",
            "other.example",
        ]),
        2,
        &format!(
            "error: failed to connect service at {quoted}: TLS: certificate is not valid for this host name"
        ),
    );
    // Plain text to a TLS port: grpcio closes it.
    assert_eq!(grpc_health_probe(&["-addr", &addr]).code, 2);
    let missing = grpc_health_probe(&["-addr", &addr, "-tls", "-tls-ca-cert", "/nonexistent/ca.pem"]);
    assert_eq!(missing.code, 1, "{missing}");
    assert!(missing.stderr.starts_with("failed to initialize tls credentials. error="), "{missing}");

    let client = pki.issue("client", &["probe"]);
    let mutual = Grpc::start(&Options {
        statuses: &[("", "SERVING")],
        tls: Some(&pair),
        client_ca: Some(&pki.ca),
        ..Options::default()
    });
    let (cert, key) = (client.cert.to_str().unwrap(), client.key.to_str().unwrap());
    let with_cert = [
        "-addr",
        &*mutual.addr(),
        "-tls",
        "-tls-ca-cert",
        ca,
        "-tls-client-cert",
        cert,
        "-tls-client-key",
        key,
    ];
    logs(&grpc_health_probe(&with_cert), 0, "status: SERVING");
    let without = grpc_health_probe(&["-addr", &mutual.addr(), "-tls", "-tls-ca-cert", ca]);
    assert_eq!(without.code, 2, "{without}");
    assert!(without.stderr.starts_with("error: failed to connect service at "), "{without}");
}

#[test]
fn grpc_health_probe_closed_and_silent_ports() {
    let closed = sockets::refusing();
    let addr = closed.addr.to_string();
    logs(
        &grpc_health_probe(&["-addr", &addr]),
        2,
        &format!("error: failed to connect service at \"{addr}\": connection refused"),
    );
    // A listener that never speaks HTTP/2, and one whose SYNs are dropped: the connect timeout.
    for silent in [sockets::scripted(sockets::Script::Silent), sockets::black_hole().addr] {
        let addr = silent.to_string();
        let run = grpc_health_probe(&["-addr", &addr, "-connect-timeout", "300ms", "-rpc-timeout=200ms"]);
        logs(&run, 2, &format!("timeout: failed to connect service \"{addr}\" within 300ms"));
        // The sum of the two timeouts, not grpc_health_probe's defaults (2 s); a busy machine's margin.
        run.within(Duration::from_millis(500) + MARGIN * 3);
    }
}

/// A handler slower than -rpc-timeout: main.go says the RPC timed out (3); probe, whose one
/// deadline covers connection and RPC alike, says the deadline passed (2). README lists it.
#[test]
fn grpc_health_probe_a_handler_slower_than_the_deadline() {
    let server =
        Grpc::start(&Options { statuses: &[("", "SERVING")], sleep: Some(3.0), ..Options::default() });
    let addr = server.addr();
    let run = grpc_health_probe(&["-addr", &addr, "-connect-timeout=200ms", "-rpc-timeout=300ms"]);
    logs(&run, 2, &format!("timeout: failed to connect service \"{addr}\" within 200ms"));
    run.within(Duration::from_millis(500) + MARGIN * 3);
}

#[test]
fn grpc_health_probe_unix_sockets_and_verbose() {
    let server = Grpc::start(&Options { statuses: &[("", "SERVING")], unix: true, ..Options::default() });
    let socket = server.socket.as_ref().unwrap().display().to_string();
    logs(&grpc_health_probe(&["-addr", &format!("unix://{socket}")]), 0, "status: SERVING");
    let run = grpc_health_probe(&["-v", &format!("-addr=unix:{socket}")]);
    assert_eq!(run.code, 0, "{run}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines[..6],
        [
            "parsed options:",
            &*format!("> addr=unix:{socket} conn_timeout=1s rpc_timeout=1s"),
            "> tls=false",
            "> alts=false",
            "> spiffe=false",
            "establishing connection",
        ]
    );
    assert!(lines[6].starts_with("connection established (took ") && lines[6].ends_with(')'), "{run}");
    assert!(lines[7].starts_with("time elapsed: connect=") && lines[7].contains(" rpc="), "{run}");
    assert_eq!(lines[8..], ["status: SERVING"]);
}

#[test]
fn grpc_health_probe_bad_usage_is_exit_1_with_its_message() {
    for (args, line) in [
        (&[][..], "error: -addr not specified"),
        (
            &["-addr", "x:1", "-connect-timeout", "0"],
            "error: -connect-timeout must be greater than zero (specified: 0s)",
        ),
        (
            &["-addr", "x:1", "-rpc-timeout", "-1s"],
            "error: -rpc-timeout must be greater than zero (specified: -1s)",
        ),
        (&["-addr", "x:1", "-tls-no-verify"], "error: specified -tls-no-verify without specifying -tls"),
        (
            &["-addr", "x:1", "-tls-ca-cert", "ca.pem"],
            "error: specified -tls-ca-cert without specifying -tls",
        ),
        (
            &["-addr", "x:1", "-tls", "-tls-client-cert", "c.pem"],
            "error: specified -tls-client-cert without specifying -tls-client-key",
        ),
        (
            &["-addr", "x:1", "-tls", "-tls-no-verify", "-tls-ca-cert", "ca.pem"],
            "error: cannot specify -tls-ca-cert with -tls-no-verify (CA cert would not be used)",
        ),
        (&["-addr", "x:1", "-alts", "-spiffe"], "error: -alts and -spiffe are mutually incompatible"),
        (&["-addr", "x:1", "-tls", "-alts"], "error: cannot specify -tls with -alts"),
        (&["-addr", "x:1", "-tls", "-spiffe"], "-tls and -spiffe are mutually incompatible"),
        (
            &["-addr", "x:1", "-alts"],
            "error: -alts is not supported: probe speaks plain text or TLS (-tls), not ALTS",
        ),
    ] {
        logs(&grpc_health_probe(args), 1, line);
    }
    let spiffe = grpc_health_probe(&["-addr", "x:1", "-spiffe"]);
    assert_eq!(spiffe.code, 1);
    assert!(spiffe.stderr.starts_with("error: -spiffe is not supported"), "{spiffe}");
    // Go's flag package: the complaint, then the usage; -h is the usage alone. Both exit 1.
    for (args, first) in [
        (&["-addr", "x:1", "-no-such-flag"][..], Some("flag provided but not defined: -no-such-flag")),
        (
            &["-addr", "x:1", "-rpc-header", "novalue"],
            Some("invalid value for flag -rpc-header: invalid RPC header, expected 'key: value'"),
        ),
        (&["-tls=maybe"], Some("invalid boolean value \"maybe\" for -tls: parse error")),
        (&["-addr"], Some("flag needs an argument: -addr")),
        (&["-h"], None),
        (&["--help"], None),
    ] {
        let run = grpc_health_probe(args);
        assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{args:?}: {run}");
        let usage = match first {
            Some(first) => run.stderr.strip_prefix(&format!("{first}\n")).unwrap_or_else(|| panic!("{run}")),
            None => &run.stderr,
        };
        assert!(
            usage.starts_with("Usage:\n  -addr string\n    \t(required) tcp host:port to connect\n"),
            "{run}"
        );
        assert!(
            usage.ends_with("  -v\tverbose logs\n  -version\n    \tprint the version and exit\n"),
            "{run}"
        );
    }
    // An address probe cannot read is a connection failure, as grpc-go's dial of it is.
    let run = grpc_health_probe(&["-addr", "no-port-here"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.starts_with("error: failed to connect service at \"no-port-here\": "), "{run}");
}

// ---------------------------------------------------------------------------------------------
// probe install --as

#[test]
fn install_as_links_each_name_to_probe() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let run =
        probe().args(["install", path, "--as", "grpc_health_probe,wait-for-it", "--as=pg_isready"]).run();
    let written: Vec<String> = ["probe", "grpc_health_probe", "wait-for-it", "pg_isready"]
        .iter()
        .map(|n| format!("{path}/{n}"))
        .collect();
    assert_eq!(
        (run.code, run.stdout.lines().collect::<Vec<_>>()),
        (0, written.iter().map(String::as_str).collect())
    );
    for name in ["grpc_health_probe", "wait-for-it", "pg_isready"] {
        assert_eq!(fs::read_link(dir.path().join(name)).unwrap(), Path::new("probe"), "a relative link");
    }
    let version = output(command(&dir.path().join("pg_isready"), &["-V"], &[]));
    assert_eq!(version.stdout, format!("pg_isready (probe) {}\n", env!("CARGO_PKG_VERSION")));
    // Installing again replaces the links; nothing else is left in DIR.
    probe().args(["-q", "install", path, "--as", "pg_isready"]).run().code(0);
    let mut names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["grpc_health_probe", "pg_isready", "probe", "wait-for-it"]);
    // A name probe does not answer to is a usage error, and nothing is written.
    let other = tempfile::tempdir().unwrap();
    let run = probe().args(["install", other.path().to_str().unwrap(), "--as", "pg_isready,redis-cli"]).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("invalid value 'redis-cli' for '--as <NAME>'"), "{run}");
    assert!(run.stderr.contains("grpc_health_probe, wait-for-it, wait-for-it.sh, pg_isready"), "{run}");
    assert_eq!(fs::read_dir(other.path()).unwrap().count(), 0);
}
