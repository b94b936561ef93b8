//! `probe memcached` against real memcached 1.6 servers (plain, SASL, a unix socket) and fakes
//! for the error answers and peers a real server does not give.

use std::time::Duration;

use crate::support::{
    MARGIN,
    memcached::Memcached,
    probe, run,
    sockets::{self, Script},
};

/// A password with an '@' in it, as people write them in URLs.
const SECRET: &str = "Zx9@secret-Qw7";

#[test]
fn version_over_the_text_protocol() {
    let server = Memcached::start();
    let target = server.target();
    let line = run(["memcached", &target]).says(0, ": ok: VERSION 1.").to_owned();
    assert!(line.starts_with(&format!("memcached {target}: ok: VERSION 1.")), "{line}");
    let verbose = run(["-v", "memcached", &format!("memcached://localhost:{}", server.port())]);
    let line = verbose.says(0, "VERSION 1.");
    assert!(
        line.contains("; resolve ") && line.contains(", connect ") && line.contains(", version "),
        "{line}"
    );
    let json = run(["--json", "memcached", &target]);
    let object: serde_json::Value = serde_json::from_str(json.code(0).stdout_line()).expect("JSON");
    assert_eq!(object["status"], "ok");
    // Each connection read the command and closed in order (-vv logs every step).
    let log = server.log();
    assert!(!log.contains("Invalid") && !log.contains("rror"), "the server logged:\n{log}");
    let answered = log.lines().filter(|line| line.starts_with('>') && line.contains(" VERSION ")).count();
    assert_eq!(log.matches("connection closed.").count(), answered, "{log}");
    // Credentials for a server without SASL: what it says, quoted.
    run(["memcached", &format!("memcached://app:pw@{target}")])
        .says(1, ": unhealthy: the server does not take SASL logins (started without -S): Unknown command (");
}

#[test]
fn on_a_unix_socket() {
    let server = Memcached::unix();
    let socket = server.socket();
    let url = format!("unix://{}", socket.display());
    run(["memcached", &url]).says(0, "VERSION 1.");
    run(["-v", "memcached", &url]).says(0, "connect");
    run(["memcached", "unix:///nonexistent/memcached.sock"])
        .says(2, ": unreachable: /nonexistent/memcached.sock: no such file or directory (");
}

#[test]
fn sasl_plain_then_version() {
    let server = Memcached::sasl("app", SECRET);
    let port = server.port();
    let encoded = SECRET.replace('@', "%40");
    let url = format!("memcached://app:{encoded}@127.0.0.1:{port}");
    let line = run(["memcached", &url]).says(0, ": ok: VERSION 1.").to_owned();
    assert!(line.contains(", logged in as app ("), "{line}");
    assert!(line.starts_with(&format!("memcached memcached://app:***@127.0.0.1:{port}: ok:")), "{line}");
    run(["-v", "memcached", &url]).says(0, ", auth ");
    // The last '@' ends the user part, as RFC 3986 readers read it.
    run(["memcached", &format!("memcached://app:{SECRET}@127.0.0.1:{port}")]).says(0, "logged in as app");
    let file = server.dir.path().join("password");
    std::fs::write(&file, format!("{SECRET}\n")).expect("password file");
    let file = file.to_str().expect("UTF-8");
    run(["memcached", "--password-file", file, &format!("memcached://app@127.0.0.1:{port}")])
        .says(0, "logged in as app");
    run(["memcached", &format!("memcached://app:wrong@127.0.0.1:{port}")])
        .says(1, ": unhealthy: login refused for app: Auth failure. (");
    // Without credentials: a -S server speaks only the binary protocol, and closes at once.
    run(["memcached", &server.target()]).within(Duration::from_millis(500)).says(
        2,
        "connection closed by peer without answering version (a memcached started with -S closes \
         text-protocol connections: give a user and password",
    );
}

#[test]
fn error_answers_are_unhealthy_and_quoted() {
    for (answer, code, expected) in [
        (&b"SERVER_ERROR out of memory\r\n"[..], 1, ": unhealthy: SERVER_ERROR out of memory ("),
        (b"ERROR\r\n", 1, ": unhealthy: ERROR ("),
        (
            b"CLIENT_ERROR bad command line format\r\n",
            1,
            ": unhealthy: CLIENT_ERROR bad command line format (",
        ),
        (b"SERVER_ERROR x\x1b[2J\nmemcached h: ok: fine\r\n", 1, ": unhealthy: SERVER_ERROR x\\x1b[2J ("),
        (b"VERSION 1.6\x1b[31m\r\n", 0, ": ok: VERSION 1.6\\x1b[31m ("),
    ] {
        let fake = sockets::scripted(Script::Say(answer));
        let result = run(["memcached", "-t", "500ms", &fake.to_string()]);
        let line = result.says(code, expected);
        assert!(!line.contains(['\x1b', '\r']), "{result}");
        let json = probe().args(["--json", "memcached", "-t", "500ms", &fake.to_string()]).run();
        let _: serde_json::Value = serde_json::from_str(json.code(code).stdout_line()).expect("JSON");
    }
}

#[test]
fn peers_that_are_not_memcached() {
    let deadline = Duration::from_millis(500) + MARGIN;
    let check = |target: String, code: i32, expected: &str| {
        run(["memcached", "-t", "500ms", &target]).within(deadline).says(code, expected);
    };
    check(
        sockets::scripted(Script::Silent).to_string(),
        2,
        ": unreachable: timed out after 500ms during version (",
    );
    check(
        sockets::scripted(Script::Say(b"HTTP/1.1 400 Bad Request\r\n\r\n")).to_string(),
        2,
        ": unreachable: the answer is not memcached's protocol (",
    );
    check(sockets::scripted(Script::Say(&[b'V'; 5000])).to_string(), 2, "not memcached's protocol");
    check(
        sockets::scripted(Script::Say(b"\x15\x03\x03\x00\x02\x02\x46")).to_string(),
        2,
        "the answer is TLS, not memcached's protocol",
    );
    check(
        sockets::scripted(Script::Trickle(b"VERSION 1.6.18\r\n", Duration::from_millis(100))).to_string(),
        2,
        "timed out after 500ms during version",
    );
    check(sockets::scripted(Script::Reset).to_string(), 2, ": unreachable: connection reset by peer (");
    check(sockets::black_hole().addr.to_string(), 2, ": unreachable: timed out after 500ms during connect (");
    // Binary answers to a login: a huge body, and a header cut short.
    let huge = sockets::scripted(Script::Say(
        b"\x81\x21\x00\x00\x00\x00\x00\x00\x7f\xff\xff\xff\0\0\0\0\0\0\0\0\0\0\0\0",
    ));
    check(format!("memcached://app:pw@{huge}"), 2, "not memcached's protocol");
    let cut = sockets::scripted(Script::Say(b"\x81\x21\x00"));
    check(format!("memcached://app:pw@{cut}"), 2, "timed out after 500ms during auth");
}

#[test]
fn usage_errors_are_one_line_and_hide_the_password() {
    for (target, message) in [
        (format!("app:{SECRET}@cache"), "a user and password go in a memcached:// URL"),
        (format!("memcached://:{SECRET}@cache"), "a password needs a user name"),
        (format!("memcached://app:ab/{SECRET}@cache"), "an '@' comes after the host"),
        (format!("memcached://app:{SECRET}@cache/0"), "a memcached URL has no path"),
        (format!("memcached://app:{SECRET}@cache:port"), "the port is not a number"),
        ("memcached://app@cache".to_owned(), "a user needs a password, in the URL or with --password-file"),
        ("redis://cache".to_owned(), "the scheme is neither memcached:// nor unix://"),
    ] {
        run(["memcached", &target]).says(3, message);
        audit(&["memcached", &target]);
    }
    run(["memcached", "--password-file", "/nonexistent", "memcached://app@cache"]).code(3);
    let missing = probe().args(["memcached"]).run();
    assert_eq!(missing.code, 3, "{missing}");
}

/// Runs one case in every output form and asserts no part of the secret appears in any.
#[track_caller]
fn audit(args: &[&str]) {
    for extra in
        [&[][..], &["-v"], &["--json"], &["-v", "--json"], &["--wait", "300ms", "--interval", "100ms"]]
    {
        let result = probe().args(extra).args(args).run();
        result.hides("secret-Qw7").hides("Zx9%40secret").hides("Zx9@secret");
        assert!(matches!(result.code, 0..=3), "{result}");
    }
}

#[test]
fn every_secret_form_is_hidden_in_every_output() {
    let server = Memcached::sasl("app", SECRET);
    let port = server.port();
    let encoded = SECRET.replace('@', "%40");
    for url in [
        format!("memcached://app:{SECRET}@127.0.0.1:{port}"),
        format!("memcached://app:{encoded}@127.0.0.1:{port}"),
    ] {
        run(["memcached", &url]).code(0);
        audit(&["memcached", &url]);
    }
    let refusing = sockets::refusing();
    for url in [
        format!("memcached://app:{SECRET}x@127.0.0.1:{port}"),
        format!("memcached://app:{SECRET}@{}", refusing.addr),
        format!("memcached://app:%zz{SECRET}@127.0.0.1:{port}"),
        format!("memcached://app:{SECRET}#x@127.0.0.1:{port}"),
        format!("memcached://app:{SECRET}?x@127.0.0.1:{port}"),
    ] {
        audit(&["memcached", "-t", "300ms", &url]);
    }
}
