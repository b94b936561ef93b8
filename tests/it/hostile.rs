//! Every check against every fault a network or a broken server can throw: each ends with the
//! right exit code, within the deadline plus a stated margin, naming the target and the fault.

use std::{
    os::unix::process::CommandExt,
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::support::{
    MARGIN,
    certs::{Pki, server_config},
    http::{respond, serve_tls},
    run,
    sockets::{self, Script},
};

/// The deadline every case runs with; each may overshoot it by `MARGIN`.
const DEADLINE: Duration = Duration::from_millis(500);

/// The three protocol checks, each pointed at `addr` over plain text and over TLS.
fn plain_targets(addr: std::net::SocketAddr) -> [(&'static str, String); 3] {
    [
        ("http", format!("http://{addr}/health")),
        ("postgres", format!("host=127.0.0.1 port={} user=app sslmode=disable", addr.port())),
        ("redis", format!("redis://{addr}")),
    ]
}

fn tls_targets(addr: std::net::SocketAddr) -> [(&'static str, String); 3] {
    [
        ("http", format!("https://{addr}/health")),
        ("postgres", format!("host=127.0.0.1 port={} user=app sslmode=require", addr.port())),
        ("redis", format!("rediss://{addr}")),
    ]
}

/// Runs `check target` with the deadline and asserts the code, the time, and that the line names
/// the target and contains `expected`.
#[track_caller]
fn assert_verdict(check: &str, target: &str, code: i32, expected: &str) {
    let result = run([check, "-t", "500ms", target]);
    let line = result.code(code).within(DEADLINE + MARGIN).stderr_line().to_owned();
    assert!(line.starts_with(&format!("{check} ")), "{line}");
    assert!(line.contains(expected), "{check}: expected {expected:?} in {line:?}");
}

/// What each check calls a peer that speaks something else.
fn not_its_protocol(check: &str) -> &'static str {
    match check {
        "http" => ": unreachable: the answer is not HTTP (",
        "postgres" => ": unreachable: the answer is not PostgreSQL's protocol (",
        _ => ": unreachable: the answer is not Redis's protocol (",
    }
}

#[test]
fn silent_after_accept() {
    let addr = sockets::scripted(Script::Silent);
    for ((check, target), phase) in plain_targets(addr).into_iter().zip(["request", "auth", "ping"]) {
        assert_verdict(check, &target, 2, &format!(": unreachable: timed out after 500ms during {phase} ("));
    }
}

#[test]
fn garbage_bytes() {
    let addr = sockets::scripted(Script::Say(b"\x00\x01\x02\xffSSH-2.0-OpenSSH_9.2 garbage\r\n\r\n"));
    for (check, target) in plain_targets(addr) {
        assert_verdict(check, &target, 2, not_its_protocol(check));
    }
    let pg = format!("host=127.0.0.1 port={} user=app sslmode=disable", addr.port());
    let result = run(["postgres", "--ping", "-t", "500ms", &pg]);
    result.says(2, "the answer is not PostgreSQL's protocol");
}

#[test]
fn a_correct_start_then_silence() {
    let http = sockets::scripted(Script::Say(b"HTTP/1.1 200 OK\r\nContent-Le"));
    assert_verdict(
        "http",
        &format!("http://{http}/"),
        2,
        ": unreachable: timed out after 500ms during request (",
    );
    let redis = sockets::scripted(Script::Say(b"+PO"));
    assert_verdict(
        "redis",
        &format!("redis://{redis}"),
        2,
        ": unreachable: timed out after 500ms during ping (",
    );
    // An authentication request cut off after its type byte and half its length.
    let postgres = sockets::scripted(Script::Say(b"R\x00\x00"));
    let target = format!("host=127.0.0.1 port={} user=app sslmode=disable", postgres.port());
    assert_verdict("postgres", &target, 2, ": unreachable: timed out after 500ms during auth (");
    let result = run(["postgres", "--ping", "-t", "500ms", &target]);
    assert!(
        result.code(2).within(DEADLINE + MARGIN).stderr_line().contains("timed out after 500ms during ping"),
        "{result}"
    );
}

#[test]
fn a_slow_trickle_is_cut_at_the_deadline() {
    let gap = Duration::from_millis(100);
    let http = sockets::scripted(Script::Trickle(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", gap));
    assert_verdict(
        "http",
        &format!("http://{http}/"),
        2,
        ": unreachable: timed out after 500ms during request (",
    );
    let redis = sockets::scripted(Script::Trickle(b"+PONG\r\n+PONG\r\n", gap));
    assert_verdict(
        "redis",
        &format!("redis://{redis}"),
        2,
        ": unreachable: timed out after 500ms during ping (",
    );
    let postgres = sockets::scripted(Script::Trickle(b"R\x00\x00\x00\x08\x00\x00\x00\x00", gap));
    let target = format!("host=127.0.0.1 port={} user=app sslmode=disable", postgres.port());
    assert_verdict("postgres", &target, 2, ": unreachable: timed out after 500ms during auth (");
}

#[test]
fn a_reset_in_the_middle_of_the_handshake() {
    let addr = sockets::scripted(Script::Reset);
    for (check, target) in plain_targets(addr).into_iter().chain(tls_targets(addr)) {
        // A plain Redis always answers: a reset before it does is what a TLS port does.
        let expected = match target.starts_with("redis://") {
            true => {
                ": unreachable: connection reset by peer at the first request: the port may speak TLS (use rediss://) ("
            }
            false => ": unreachable: connection reset by peer (",
        };
        assert_verdict(check, &target, 2, expected);
    }
}

#[test]
fn a_tls_server_on_a_plain_url() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost", "127.0.0.1"]);
    let server = serve_tls(server_config(&pair, None), |_, out| respond(out, "200 OK", &[], "ok"));
    for (check, target) in plain_targets(server.addr) {
        let expected = match check {
            "http" => ": unreachable: the answer is TLS, not HTTP: the port speaks TLS (use https://) (",
            "redis" => {
                ": unreachable: the answer is TLS, not Redis's protocol: the port speaks TLS (use rediss://) ("
            }
            "postgres" => concat!(
                ": unreachable: the answer is TLS, not PostgreSQL's protocol: the port speaks TLS ",
                "(use sslmode=require with sslnegotiation=direct) ("
            ),
            _ => not_its_protocol(check),
        };
        assert_verdict(check, &target, 2, expected);
    }
    assert_verdict(
        "amqp",
        &format!("amqp://{}", server.addr),
        2,
        ": unreachable: the answer is TLS, not AMQP 0-9-1: the port speaks TLS (use amqps://) (",
    );
}

#[test]
fn a_plain_server_on_a_tls_url() {
    let addr = sockets::scripted(Script::Say(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"));
    assert_verdict(
        "http",
        &format!("https://{addr}/"),
        2,
        ": unreachable: the answer is not TLS: the port speaks plain text (use http://) (",
    );
    let plain = ": unreachable: the answer is not TLS: the port speaks plain text (use redis://) (";
    assert_verdict("redis", &format!("rediss://{addr}"), 2, plain);
    let pg = format!("host=127.0.0.1 port={} user=app sslmode=require", addr.port());
    assert_verdict("postgres", &pg, 2, not_its_protocol("postgres"));
}

#[test]
fn megabytes_of_headers() {
    let addr = sockets::scripted(Script::EndlessHeader);
    assert_verdict(
        "http",
        &format!("http://{addr}/"),
        2,
        ": unreachable: the answer's headers are larger than 10 MiB (",
    );
}

#[test]
fn a_black_holed_address() {
    let hole = sockets::black_hole();
    let addr = hole.addr;
    assert_verdict("tcp", &addr.to_string(), 2, ": unreachable: timed out after 500ms during connect (");
    for (check, target) in plain_targets(addr).into_iter().chain(tls_targets(addr)) {
        assert_verdict(check, &target, 2, ": unreachable: timed out after 500ms during connect (");
    }
}

#[test]
fn sigterm_and_sigint_end_a_probe_at_once() {
    let hole = sockets::black_hole();
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT")] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_probe"));
        command.args(["tcp", "--wait", "30s", "-t", "10s", &hole.addr.to_string()]);
        command.env_clear().stdout(Stdio::null()).stderr(Stdio::null());
        // As kubelet or a terminal starts it: a harness run as a background job hands its
        // children SIGINT ignored, and an ignored signal stays ignored across exec.
        // SAFETY: signal(2) with SIG_DFL is async-signal-safe and touches no memory of ours.
        unsafe {
            command.pre_exec(move || {
                libc::signal(signal, libc::SIG_DFL);
                Ok(())
            });
        }
        let child = command.spawn().expect("probe");
        thread::sleep(Duration::from_millis(200));
        let sent = Instant::now();
        crate::support::process::signal(child.id(), signal);
        let status = child.wait_with_output().expect("wait").status;
        assert!(sent.elapsed() < Duration::from_millis(200), "{name} took {:?}", sent.elapsed());
        assert!(!status.success(), "{name}: {status:?}");
    }
}
