//! `probe zookeeper` against real ZooKeeper 3.8 servers (standalone, a whitelist of four-letter
//! words, a secure client port, one member of a three-server ensemble left alone, the same
//! member in read-only mode) and against fakes for what a real server will not do.

use std::{
    io::{Read, Write},
    net::SocketAddr,
    thread,
    time::{Duration, Instant},
};

use crate::support::{
    MARGIN, probe, run,
    sockets::{self, Script},
    zookeeper::{Setup, shared},
};

/// The sessions the server tracks, from `dump`, waited for to be none (a probe running in
/// another test may hold one for a few milliseconds). A session left open would stay at least
/// its timeout (4 s): two seconds of waiting cannot miss it.
#[track_caller]
fn assert_no_session_left(setup: Setup) {
    let server = shared(setup);
    let until = Instant::now() + Duration::from_secs(2);
    loop {
        let dump = server.four_letters("dump");
        // "Session Sets (buckets)/(sessions):", the buckets of expiry times possibly empty.
        let sessions = dump.split("Session Sets (").nth(1).and_then(|rest| rest.split(")/(").nth(1));
        if sessions.is_some_and(|rest| rest.starts_with("0)")) {
            return;
        }
        assert!(Instant::now() < until, "a session is left open:\n{dump}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// The server's log since it was ready: no warning or error from what probe did.
#[track_caller]
fn assert_quiet_log(setup: Setup) {
    let log = shared(setup).log();
    let since = log.split("ZooKeeper audit is disabled").nth(1).unwrap_or_default();
    let noisy = since.lines().any(|line| line.contains(" WARN ") || line.contains(" ERROR "));
    assert!(!noisy, "the server logged:\n{since}");
}

#[test]
fn a_session_is_opened_and_closed_and_none_lingers() {
    let server = shared(Setup::Standalone);
    let target = server.target();
    let line = run(["zookeeper", &target]).says(0, ": ok: session 0x").to_owned();
    assert!(line.starts_with(&format!("zookeeper {target}: ok: session 0x")), "{line}");
    assert!(line.contains(" opened and closed ("), "{line}");
    let verbose = run(["-v", "zookeeper", &target]);
    let line = verbose.says(0, "opened and closed");
    assert!(
        line.contains("; resolve ") && line.contains(", connect ") && line.contains(", session "),
        "{line}"
    );
    let json = run(["--json", "zookeeper", &format!("localhost:{}", server.port())]);
    let object: serde_json::Value = serde_json::from_str(json.code(0).stdout_line()).expect("JSON");
    assert_eq!(object["status"], "ok");
    for _ in 0..5 {
        run(["zookeeper", &target]).code(0);
    }
    assert_no_session_left(Setup::Standalone);
    assert_quiet_log(Setup::Standalone);
}

#[test]
fn a_connect_string_is_one_target_healthy_when_any_host_is() {
    let server = shared(Setup::Standalone);
    let refusing = sockets::refusing();
    let alone = shared(Setup::AloneInEnsemble);
    let string = format!("{},{},{}/app/prod", refusing.addr, alone.target(), server.target());
    let line = run(["zookeeper", &string]).says(0, ": ok: ").to_owned();
    assert!(line.starts_with(&format!("zookeeper {string}: ok: {}: session 0x", server.target())), "{line}");
    // None passing: each host's verdict, and the least severe status (a server did answer).
    let string = format!("{},{}", refusing.addr, alone.target());
    let line = run(["zookeeper", &string]).says(1, ": unhealthy: ").to_owned();
    assert!(line.contains(&format!(
        "{}: connection refused; {}: the server closed",
        refusing.addr,
        alone.target()
    )));
    run(["zookeeper", &format!("{}", refusing.addr)]).says(2, ": unreachable: connection refused (");
    assert_no_session_left(Setup::Standalone);
}

#[test]
fn a_server_without_quorum_is_unhealthy_and_says_why() {
    let alone = shared(Setup::AloneInEnsemble);
    run(["zookeeper", &alone.target()]).says(
        1,
        ": unhealthy: the server closed the connection instead of opening a session: it is not serving \
         (srvr: \"This ZooKeeper instance is not currently serving requests\") (",
    );
    run(["zookeeper", "--expect-mode", "follower", &alone.target()]).says(1, "it is not serving");
}

#[test]
fn expect_mode_reads_srvr() {
    let server = shared(Setup::Standalone);
    run(["zookeeper", "--expect-mode", "standalone", &server.target()])
        .says(0, " opened and closed, mode standalone (");
    run(["zookeeper", "--expect-mode", "leader", &server.target()])
        .says(1, " opened and closed, but the mode is standalone, not leader (");
    let verbose = run(["-v", "zookeeper", "--expect-mode", "standalone", &server.target()]);
    assert!(verbose.says(0, "mode standalone").contains(", mode "), "{verbose}");
    assert_no_session_left(Setup::Standalone);
}

#[test]
fn the_session_needs_no_four_letter_word() {
    let server = shared(Setup::OnlyRuok);
    run(["zookeeper", &server.target()]).says(0, " opened and closed (");
    // ZooKeeper 3.8 keeps srvr on whatever the whitelist says (zkServer.sh needs it): no
    // whitelist turns it off, so the refusal is a fake's below.
    run(["zookeeper", "--expect-mode", "standalone", &server.target()]).says(0, "mode standalone");
    assert!(
        server.log().contains("enabled four letter word commands is : [[ruok, srvr]]"),
        "{}",
        server.log()
    );
}

#[test]
fn a_refused_srvr_names_the_line_that_allows_it() {
    let refusing =
        fake(Fake { srvr: b"srvr is not executed because it is not in the whitelist.\n", ..Fake::OK });
    run(["zookeeper", "--expect-mode", "leader", &refusing.to_string()]).says(
        1,
        ", but the server refuses srvr, which --expect-mode asks: allow it with the line \
         4lw.commands.whitelist=srvr in zoo.cfg",
    );
    let keeper = fake(Fake { srvr: b"", ..Fake::OK });
    run(["zookeeper", "--expect-mode", "leader", &keeper.to_string()]).says(1, "srvr got no answer");
    let leader = fake(Fake { srvr: b"Zookeeper version: 3.9\nMode: leader\n", ..Fake::OK });
    run(["zookeeper", "--expect-mode", "leader", &leader.to_string()]).says(0, "mode leader");
}

#[test]
fn read_only_sessions_are_unhealthy_unless_allowed() {
    let read_only = fake(Fake { read_only: true, ..Fake::OK });
    run(["zookeeper", &read_only.to_string()]).says(
        1,
        ": unhealthy: the server is read-only (it has lost its quorum): it opened a read-only session",
    );
    run(["zookeeper", "--allow-read-only", &read_only.to_string()]).says(0, ": ok: read-only session 0x");
    let not_read_only =
        fake(Fake { response: Some(b"\0\0\0\x10\0\0\0\0\0\0\0\0\0\0\0\0\xff\xff\xff\x89"), ..Fake::OK });
    run(["zookeeper", &not_read_only.to_string()]).says(1, "refused the session: NOTREADONLY (a read-only server opens sessions only with localSessionsEnabled=true)");
    // A server that keeps the connection open after closeSession's reply is not waited for.
    let holding = fake(Fake { holds_on: true, ..Fake::OK });
    run(["zookeeper", "-t", "3s", &holding.to_string()])
        .within(Duration::from_millis(400))
        .says(0, "opened and closed");
    let no_session = fake(Fake { session: 0, ..Fake::OK });
    run(["zookeeper", &no_session.to_string()]).says(1, "without a session (session id 0)");
}

#[test]
fn a_real_read_only_server() {
    let server = shared(Setup::ReadOnly);
    // It turns read-only a few ticks after it finds no quorum.
    let allowed =
        run(["--wait", "30s", "--interval", "200ms", "zookeeper", "--allow-read-only", &server.target()]);
    let line = allowed.code(0).stdout.trim();
    assert!(line.contains(": ok: read-only session 0x"), "{allowed}");
    run(["zookeeper", &server.target()]).says(1, "the server is read-only");
    run(["zookeeper", "--allow-read-only", "--expect-mode", "follower", &server.target()])
        .says(1, "but the mode is read-only, not follower");
}

#[test]
fn tls_on_the_secure_client_port() {
    let server = shared(Setup::Tls);
    let ca = server.ca();
    let ca = ca.to_str().expect("UTF-8");
    let target = format!("localhost:{}", server.port());
    // The JVM's first handshakes are slow: a longer deadline than the default.
    run(["-t", "5s", "zookeeper", "--tls", "--cacert", ca, &target]).says(0, " opened and closed (");
    run(["-t", "5s", "-v", "zookeeper", "--tls", "--cacert", ca, "--expect-mode", "standalone", &target])
        .says(0, "mode standalone");
    run(["-t", "5s", "zookeeper", "--tls", &target]).says(2, ": unreachable: TLS: certificate not trusted");
    run(["-t", "5s", "zookeeper", &target]).says(1, "or the port speaks TLS (add --tls) (");
    // A plain port closes on a ClientHello (the OnlyRuok server: its log is not read).
    let plain = shared(Setup::OnlyRuok);
    run(["zookeeper", "--tls", "--insecure", &plain.target()])
        .says(2, "a plain-text ZooKeeper port closes so (drop --tls)");
    run(["zookeeper", "--cacert", ca, &plain.target()]).says(3, "--cacert is a TLS option");
}

#[test]
fn peers_that_are_not_zookeeper() {
    let deadline = Duration::from_millis(500) + MARGIN;
    let check = |addr: String, code: i32, expected: &str| {
        run(["zookeeper", "-t", "500ms", &addr]).within(deadline).says(code, expected);
    };
    check(
        sockets::scripted(Script::Silent).to_string(),
        2,
        ": unreachable: timed out after 500ms during session (",
    );
    check(
        sockets::scripted(Script::Say(b"HTTP/1.1 400 Bad Request\r\n\r\n")).to_string(),
        2,
        ": unreachable: the answer is not ZooKeeper's protocol (",
    );
    check(sockets::scripted(Script::Say(b"\x7f\xff\xff\xff")).to_string(), 2, "not ZooKeeper's protocol");
    check(sockets::scripted(Script::Say(b"\x00\x00\x00\x30\x00")).to_string(), 2, "timed out after 500ms");
    check(
        sockets::scripted(Script::Trickle(b"\x00\x00\x00\x25\x00\x00", Duration::from_millis(50)))
            .to_string(),
        2,
        "not ZooKeeper's protocol",
    );
    check(
        sockets::scripted(Script::Say(b"\x15\x03\x03\x00\x02\x02\x46")).to_string(),
        2,
        "the answer is TLS, not ZooKeeper's protocol: the port speaks TLS (add --tls)",
    );
    check(sockets::scripted(Script::Reset).to_string(), 2, ": unreachable: connection reset by peer (");
    check(sockets::black_hole().addr.to_string(), 2, ": unreachable: timed out after 500ms during connect (");
    let short = fake(Fake { response: Some(b"\x00\x00\x00\x04\x00\x00\x00\x00"), ..Fake::OK });
    check(short.to_string(), 2, "the answer is not a ZooKeeper ConnectResponse");
    // A hostile srvr answer is quoted on one line.
    let hostile = fake(Fake { srvr: b"Mode: lead\x1b[2Jer\nerror::injected\r\n", ..Fake::OK });
    let result = run(["zookeeper", "--expect-mode", "leader", &hostile.to_string()]);
    let line = result.says(1, "but the mode is lead\\x1b[2Jer, not leader");
    assert!(!line.contains('\x1b'), "{result}");
}

#[test]
fn usage_errors_are_one_line() {
    for (target, message) in [
        ("zk://h1:2181", "ZooKeeper target: a ZooKeeper target is not a URL"),
        ("h1:2181/app/", "the chroot after the hosts is not a ZooKeeper path: it ends with '/'"),
        ("h1:99999", "'99999' is not a port"),
        (",,", "no host in the connect string"),
    ] {
        run(["zookeeper", target]).says(3, message);
    }
    let missing = probe().args(["zookeeper"]).run();
    assert_eq!(missing.code, 3, "{missing}");
}

/// How a fake ZooKeeper answers.
#[derive(Clone, Copy)]
struct Fake {
    session: i64,
    read_only: bool,
    /// The whole answer to the ConnectRequest, instead of a ConnectResponse.
    response: Option<&'static [u8]>,
    srvr: &'static [u8],
    /// Keeps the connection open after closeSession's reply.
    holds_on: bool,
}

impl Fake {
    const OK: Fake = Fake {
        session: 0x1234_5678,
        read_only: false,
        response: None,
        srvr: b"Mode: standalone\n",
        holds_on: false,
    };
}

/// A server that answers a ConnectRequest and closeSession as ZooKeeper does (as `fake` says),
/// and srvr with `fake.srvr`.
fn fake(fake: Fake) -> SocketAddr {
    sockets::serving(Duration::from_secs(2), move |mut stream| {
        let mut first = [0u8; 4];
        if stream.read_exact(&mut first).is_err() {
            return;
        }
        if &first == b"srvr" {
            let _ = stream.write_all(fake.srvr);
            return;
        }
        let mut request = vec![0u8; u32::from_be_bytes(first) as usize];
        if stream.read_exact(&mut request).is_err() {
            return;
        }
        if let Some(response) = fake.response {
            let _ = stream.write_all(response);
            thread::sleep(Duration::from_secs(2));
            return;
        }
        let mut body = Vec::new();
        body.extend(0i32.to_be_bytes());
        body.extend(4000i32.to_be_bytes());
        body.extend(fake.session.to_be_bytes());
        body.extend(16i32.to_be_bytes());
        body.extend([9u8; 16]);
        body.push(u8::from(fake.read_only));
        let mut frame = (body.len() as u32).to_be_bytes().to_vec();
        frame.extend(body);
        let _ = stream.write_all(&frame);
        let mut close = [0u8; 12];
        if stream.read_exact(&mut close).is_ok() {
            let mut reply = 16u32.to_be_bytes().to_vec();
            reply.extend(&close[4..8]);
            reply.extend(7i64.to_be_bytes());
            reply.extend(0i32.to_be_bytes());
            let _ = stream.write_all(&reply);
            if fake.holds_on {
                thread::sleep(Duration::from_secs(3));
            }
        }
    })
}
