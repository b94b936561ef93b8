//! `probe grpc` against real gRPC servers (Python's grpcio with the standard health service):
//! every target form, statuses per service, no health service, metadata for an auth interceptor,
//! TLS and mutual TLS with a generated CA, a handler that outlives the deadline, a clean close,
//! wait mode while a server turns healthy, the whole JSON object, the request's headers as an
//! HTTP/2 server decodes them; and against peers that do not speak gRPC at all.

use std::{path::Path, thread, time::Duration};

use crate::support::{
    MARGIN,
    certs::{Pki, server_config},
    grpc::{DATA, GOAWAY, Grpc, Options, RST_STREAM, frame, h2_peer, headers},
    http::{respond, serve_tls},
    probe, run,
    sockets::{self, Script},
};

const TOKEN: &str = "grpc-Token-7f3a";

#[test]
fn serving_is_healthy_and_the_phases_are_named() {
    let server = Grpc::serving();
    let result = run(["grpc", "-v", &server.addr()]);
    let line = result.says(0, &format!("grpc {}: ok: SERVING (", server.addr()));
    for phase in ["resolve ", "connect ", "rpc "] {
        assert!(line.contains(phase), "{line}");
    }
    assert!(!line.contains("tls "), "{line}");
}

#[test]
fn every_target_form_reaches_the_server() {
    let server = Grpc::start(&Options { statuses: &[("", "SERVING")], unix: true, ..Options::default() });
    let socket = server.socket.as_ref().expect("a unix socket");
    let relative = relative_to_cwd(socket);
    let targets = [
        server.addr(),
        format!("grpc://127.0.0.1:{}", server.port),
        format!("[::1]:{}", server.port6),
        format!("grpc://[::1]:{}", server.port6),
        format!("localhost:{}", server.port),
        format!(":{}", server.port),
        format!("unix://{}", socket.display()),
        format!("unix:{}", socket.display()),
        format!("unix:{relative}"),
    ];
    for target in &targets {
        run(["grpc", target]).says(0, &format!("grpc {target}: ok: SERVING ("));
    }
    // All at once, one line each.
    let result = run(std::iter::once("grpc").chain(targets.iter().map(String::as_str)));
    assert_eq!((result.code, result.stdout.lines().count()), (0, targets.len()), "{result}");
}

/// `path` relative to the directory the tests run in (the package's), for `unix:relative`.
fn relative_to_cwd(path: &Path) -> String {
    let cwd = std::env::current_dir().expect("cwd");
    let ups = cwd.components().count() - 1;
    format!("{}{}", "../".repeat(ups), path.strip_prefix("/").expect("absolute").display())
}

#[test]
fn each_status_is_named_and_only_serving_is_healthy() {
    let statuses = [
        ("", "NOT_SERVING"),
        ("db", "SERVING"),
        ("cache", "NOT_SERVING"),
        ("queue", "SERVICE_UNKNOWN"),
        ("search", "UNKNOWN"),
    ];
    let server = Grpc::start(&Options { statuses: &statuses, ..Options::default() });
    let addr = server.addr();
    run(["grpc", &addr]).says(1, ": unhealthy: NOT_SERVING (");
    run(["grpc", "--service", "db", &addr]).says(0, r#": ok: SERVING for service "db" ("#);
    run(["grpc", "--service", "cache", &addr]).says(1, r#": unhealthy: NOT_SERVING for service "cache" ("#);
    run(["grpc", "--service", "queue", &addr])
        .says(1, r#": unhealthy: SERVICE_UNKNOWN for service "queue" ("#);
    run(["grpc", "--service", "search", &addr]).says(1, r#": unhealthy: UNKNOWN for service "search" ("#);
    // The health service answers a service it has never heard of with NOT_FOUND.
    run(["grpc", "--service", "nope", &addr])
        .says(1, r#": unhealthy: NOT_FOUND: the server knows no service "nope" ("#);
    let calls: Vec<String> =
        server.calls().iter().map(|call| call["service"].as_str().unwrap().to_owned()).collect();
    assert_eq!(calls, ["", "db", "cache", "queue", "search", "nope"]);
}

#[test]
fn a_server_without_the_health_service() {
    let server = Grpc::start(&Options { no_health: true, ..Options::default() });
    run(["grpc", &server.addr()]).says(1, ": unhealthy: the server has no health service (UNIMPLEMENTED");
}

#[test]
fn metadata_reaches_the_server_and_is_never_shown() {
    let server =
        Grpc::start(&Options { statuses: &[("", "SERVING")], token: Some(TOKEN), ..Options::default() });
    let addr = server.addr();
    run(["grpc", &addr]).says(1, r#": unhealthy: UNAUTHENTICATED "missing or wrong token" ("#);
    let header = format!("authorization: Bearer {TOKEN}");
    let ok = run(["grpc", "-v", "-H", &header, &addr]);
    ok.says(0, ": ok: SERVING (");
    ok.hides(TOKEN);
    let json = run(["grpc", "-v", "--json", "-H", &header, &addr]);
    json.code(0).hides(TOKEN);
    let wrong = run(["grpc", "-v", "--json", "-H", &format!("authorization: Bearer not-{TOKEN}"), &addr]);
    assert!(wrong.code(1).stdout.contains("UNAUTHENTICATED"), "{wrong}");
    wrong.hides(TOKEN);
}

#[test]
fn metadata_from_a_mounted_file() {
    let server =
        Grpc::start(&Options { statuses: &[("", "SERVING")], token: Some(TOKEN), ..Options::default() });
    let file = server.dir.path().join("metadata");
    std::fs::write(&file, format!("authorization: Bearer {TOKEN}\n")).unwrap();
    let header = format!("@{}", file.display());
    let result = run(["grpc", "-v", "--json", "-H", &header, &server.addr()]);
    assert!(result.code(0).stdout.contains(r#""message":"SERVING""#), "{result}");
    result.hides(TOKEN);
    std::fs::write(&file, format!("authorization Bearer {TOKEN}: x\n")).unwrap();
    let result = run(["grpc", "-H", &header, &server.addr()]);
    result.says(3, &format!("-H {header}, line 1: a metadata key is made of"));
    result.hides(TOKEN);
}

#[test]
fn a_malformed_header_is_a_usage_error_that_hides_the_value() {
    let server = Grpc::serving();
    for header in [
        format!("authorization Bearer {TOKEN}"),
        format!("grpc-timeout: {TOKEN}"),
        format!("x: {TOKEN}\u{1}"),
    ] {
        let result = run(["grpc", "-v", "--json", "-H", &header, &server.addr()]);
        result.says(3, "-H: ");
        result.hides(TOKEN);
    }
}

#[test]
fn the_request_carries_user_agent_and_the_time_left() {
    let server = Grpc::serving();
    run(["grpc", "-t", "2s", &server.addr()]).code(0);
    run(["grpc", "-H", "User-Agent: kube-probe/1.31", "-H", "x-team: a", "-H", "x-team: b", &server.addr()])
        .code(0);
    let calls = server.calls();
    let metadata = |index: usize, key: &str| -> Vec<String> {
        calls[index]["metadata"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|pair| pair[0] == key)
            .map(|pair| pair[1].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(metadata(0, "user-agent"), [concat!("probe/", env!("CARGO_PKG_VERSION"))]);
    let left = calls[0]["time_remaining"].as_f64().expect("the server saw a grpc-timeout");
    assert!(left > 0.5 && left <= 2.0, "grpc-timeout gave the server {left}s of a 2s deadline");
    assert_eq!(metadata(1, "user-agent"), ["kube-probe/1.31"]);
    assert_eq!(metadata(1, "x-team"), ["a", "b"]);
}

#[test]
fn proxy_variables_are_ignored() {
    let server = Grpc::serving();
    let mut command = probe();
    for var in ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "grpc_proxy", "ALL_PROXY"] {
        command = command.env(var, "http://127.0.0.1:1");
    }
    command.args(["grpc", &server.addr()]).run().says(0, ": ok: SERVING (");
}

#[test]
fn tls_verified_against_a_generated_ca() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost", "127.0.0.1"]);
    let server =
        Grpc::start(&Options { statuses: &[("", "SERVING")], tls: Some(&pair), ..Options::default() });
    let ca = pki.ca.to_str().unwrap();
    let grpcs = format!("grpcs://localhost:{}", server.port);
    let result = run(["grpc", "-v", "--cacert", ca, &grpcs]);
    let line = result.says(0, &format!("grpc {grpcs}: ok: SERVING ("));
    assert!(line.contains("tls "), "{line}");
    run(["grpc", "--tls", "--cacert", ca, &server.addr()]).says(0, ": ok: SERVING (");
    // The bundled roots do not know the test CA; SSL_CERT_FILE can name it.
    run(["grpc", &grpcs]).says(2, ": unreachable: TLS: certificate not trusted (unknown issuer) (");
    probe().env("SSL_CERT_FILE", ca).args(["grpc", &grpcs]).run().says(0, ": ok: SERVING (");
    run(["grpc", "--insecure", &grpcs]).says(0, ": ok: SERVING (");
    // Plain text to a TLS port, and TLS to a plain port.
    run(["grpc", "-t", "500ms", &server.addr()]).code(2);
    let plain = Grpc::serving();
    run(["grpc", "--tls", "--insecure", &plain.addr()])
        .says(2, ": unreachable: TLS: the answer is not TLS (");
}

/// `--tls` on a unix socket, as grpc-go dials a `unix:` target with transport credentials: the
/// name sent and verified is `localhost`, grpc-go's authority for unix targets.
#[test]
fn tls_over_a_unix_socket() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost"]);
    let server = Grpc::start(&Options {
        statuses: &[("", "SERVING")],
        tls: Some(&pair),
        unix: true,
        ..Options::default()
    });
    let ca = pki.ca.to_str().unwrap();
    let target = format!("unix:{}", server.socket.as_ref().expect("a unix socket").display());
    let ok = run(["grpc", "-v", "--tls", "--cacert", ca, &target]);
    let line = ok.says(0, &format!("grpc {target}: ok: SERVING ("));
    for phase in ["connect ", "tls ", "rpc "] {
        assert!(line.contains(phase), "{line}");
    }
    assert!(!line.contains("resolve "), "a socket path is not resolved: {line}");
    run(["grpc", "--tls", "--cacert", ca, "--server-name", "grpc.internal", &target])
        .says(2, ": unreachable: TLS: certificate is not valid for this host name (");
    run(["grpc", "--tls", &target]).says(2, ": unreachable: TLS: certificate not trusted (unknown issuer) (");
}

#[test]
fn server_name_sets_the_name_to_verify() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["grpc.internal"]);
    let server =
        Grpc::start(&Options { statuses: &[("", "SERVING")], tls: Some(&pair), ..Options::default() });
    let ca = pki.ca.to_str().unwrap();
    let addr = server.addr();
    run(["grpc", "--tls", "--cacert", ca, &addr])
        .says(2, ": unreachable: TLS: certificate is not valid for this host name (");
    run(["grpc", "--tls", "--cacert", ca, "--server-name", "grpc.internal", &addr])
        .says(0, ": ok: SERVING (");
    let expired = pki.expired("old", &["localhost"]);
    let old =
        Grpc::start(&Options { statuses: &[("", "SERVING")], tls: Some(&expired), ..Options::default() });
    run(["grpc", "--tls", "--cacert", ca, &format!("localhost:{}", old.port)])
        .says(2, ": unreachable: TLS: certificate has expired (");
}

#[test]
fn a_tls_server_that_does_not_agree_to_http2() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost"]);
    let server = serve_tls(server_config(&pair, None), |_, out| respond(out, "200 OK", &[], "ok"));
    let target = format!("grpcs://localhost:{}", server.addr.port());
    run(["grpc", "--cacert", pki.ca.to_str().unwrap(), &target])
        .says(2, ": unreachable: TLS: the server did not agree to HTTP/2 (no ALPN h2) (");
}

/// A TLS port asked in plain text answers the HTTP/2 preface with a TLS alert: said as such, as
/// every check says it, where h2 alone would see a malformed frame.
#[test]
fn plain_text_to_a_tls_port_says_the_port_speaks_tls() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost"]);
    let rustls_server = serve_tls(server_config(&pair, None), |_, out| respond(out, "200 OK", &[], "ok"));
    let expected =
        ": unreachable: the answer is TLS, not HTTP/2: the port speaks TLS (use grpcs:// or --tls) (";
    run(["grpc", &format!("grpc://localhost:{}", rustls_server.addr.port())]).says(2, expected);
    let grpcio =
        Grpc::start(&Options { statuses: &[("", "SERVING")], tls: Some(&pair), ..Options::default() });
    // grpcio's BoringSSL closes without an alert: nothing tells its port from any other closing.
    run(["grpc", &format!("localhost:{}", grpcio.port)])
        .says(2, ": unreachable: connection closed by peer (");
}

#[test]
fn mutual_tls() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost"]);
    let client = pki.issue("client", &["probe"]);
    let server = Grpc::start(&Options {
        statuses: &[("", "SERVING")],
        tls: Some(&pair),
        client_ca: Some(&pki.ca),
        ..Options::default()
    });
    let ca = pki.ca.to_str().unwrap();
    let grpcs = format!("grpcs://localhost:{}", server.port);
    let (cert, key) = (client.cert.to_str().unwrap(), client.key.to_str().unwrap());
    run(["grpc", "--cacert", ca, "--cert", cert, "--key", key, &grpcs]).says(0, ": ok: SERVING (");
    let hint = ": unreachable: connection closed by peer right after the TLS handshake (is a client certificate missing or refused?) (";
    run(["grpc", "--cacert", ca, &grpcs]).says(2, hint);
    let other = Pki::new();
    let stranger = other.issue("stranger", &["probe"]);
    let (cert, key) = (stranger.cert.to_str().unwrap(), stranger.key.to_str().unwrap());
    run(["grpc", "--cacert", ca, "--cert", cert, "--key", key, &grpcs]).says(2, hint);
}

#[test]
fn a_handler_that_outlives_the_deadline() {
    let server =
        Grpc::start(&Options { statuses: &[("", "SERVING")], sleep: Some(3.0), ..Options::default() });
    let result = run(["grpc", "-t", "500ms", &server.addr()]);
    result.within(Duration::from_millis(500) + MARGIN);
    result.says(2, ": unreachable: timed out after 500ms during rpc (");
    // The server was told how long the client would wait, so it can give up too.
    let calls = server.calls();
    let told = calls[0]["time_remaining"].as_f64().expect("the server saw a grpc-timeout");
    assert!(told > 0.0 && told <= 0.5, "grpc-timeout gave the server {told}s of a 500ms deadline");
}

#[test]
fn the_connection_ends_with_goaway_and_no_reset() {
    let server =
        Grpc::start(&Options { statuses: &[("", "SERVING")], debug_log: true, ..Options::default() });
    run(["grpc", &server.addr()]).says(0, ": ok: SERVING (");
    // The server logs the connection's end as it handles it; on a busy machine, a little later.
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while !server.log().contains("GOAWAY received") && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let log = server.log();
    assert!(log.contains("GOAWAY received; Error code: 0"), "no GOAWAY in the server's log:\n{log}");
    for noise in ["reset by peer", "Broken pipe", "RST_STREAM"] {
        assert!(!log.contains(noise), "{noise} in the server's log:\n{log}");
    }
}

#[test]
fn usage_errors_say_what_is_wrong() {
    let cases: [(&[&str], &str); 7] = [
        (&["grpc", "svc"], "'svc': a port is missing"),
        (&["grpc", "http://svc:80"], "'http://' is not a gRPC target"),
        (&["grpc", "unix://run/app.sock"], "unix:///absolute/path"),
        (&["grpc", "--tls", "grpc://svc:80"], "grpc:// is plain text, and --tls asks for TLS"),
        (&["grpc", "--insecure", "svc:80"], "--insecure needs TLS: add --tls"),
        (&["grpc", "--server-name", "x", "svc:80"], "--server-name needs TLS"),
        (
            &["grpc", "--tls", "--cacert", "/nonexistent/ca.pem", "svc:80"],
            "cannot read --cacert /nonexistent/ca.pem",
        ),
    ];
    for (args, expected) in cases {
        let result = run(args);
        assert!(result.code(3).stderr_line().contains(expected), "{args:?}: {result}");
    }
}

#[test]
fn several_targets_and_the_worst_status_wins() {
    let up = Grpc::serving();
    let down = Grpc::start(&Options { statuses: &[("", "NOT_SERVING")], ..Options::default() });
    let result = run(["grpc", &up.addr(), &down.addr()]);
    assert_eq!(result.code, 1, "{result}");
    assert!(
        result.stdout.contains(": ok: SERVING") && result.stderr.contains(": unhealthy: NOT_SERVING"),
        "{result}"
    );
}

#[test]
fn peers_that_do_not_speak_grpc() {
    let deadline = Duration::from_millis(500);
    let check = |target: String, expected: &str| {
        let result = run(["grpc", "-t", "500ms", &target]);
        result.within(deadline + MARGIN);
        result.says(2, expected);
    };
    check(sockets::scripted(Script::Silent).to_string(), ": unreachable: timed out after 500ms during rpc (");
    check(
        sockets::scripted(Script::Say(b"\x00\x01\x02\xffSSH-2.0-OpenSSH_9.2 garbage\r\n\r\n")).to_string(),
        ": unreachable: the answer is not HTTP/2 (",
    );
    check(
        sockets::scripted(Script::Say(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ))
        .to_string(),
        ": unreachable: the answer is not HTTP/2 (",
    );
    check(sockets::scripted(Script::Reset).to_string(), ": unreachable: connection reset by peer (");
    check(sockets::refusing().addr.to_string(), ": unreachable: connection refused (");
    let hole = sockets::black_hole();
    check(hole.addr.to_string(), ": unreachable: timed out after 500ms during connect (");
    check(format!("grpcs://{}", hole.addr), ": unreachable: timed out after 500ms during connect (");
    check(
        format!("grpcs://{}", sockets::scripted(Script::Silent)),
        ": unreachable: timed out after 500ms during tls (",
    );
}

/// A gRPC answer's headers.
const GRPC_HEADERS: [(&str, &str); 2] = [(":status", "200"), ("content-type", "application/grpc")];

/// A HealthCheckResponse{status: SERVING} as a DATA frame.
fn serving_message(end_stream: bool) -> Vec<u8> {
    frame(DATA, u8::from(end_stream), 1, &[0, 0, 0, 0, 2, 0x08, 1])
}

#[test]
fn the_client_ends_with_goaway_and_a_clean_close() {
    let mut answer = headers(&GRPC_HEADERS, false);
    answer.extend(serving_message(false));
    answer.extend(headers(&[("grpc-status", "0")], true));
    let (addr, seen) = h2_peer(answer);
    run(["grpc", &addr.to_string()]).says(0, ": ok: SERVING (");
    let seen = seen.recv_timeout(Duration::from_secs(5)).expect("the peer reports");
    assert!(seen.clean_eof, "the client's socket was reset: {seen:?}");
    let kinds: Vec<u8> = seen.frames.iter().map(|frame| frame.kind).collect();
    assert!(!kinds.contains(&RST_STREAM), "the client reset the stream: {seen:?}");
    let goaway = seen.frames.iter().find(|frame| frame.kind == GOAWAY).expect("a GOAWAY");
    assert_eq!(goaway.payload[4..8], [0, 0, 0, 0], "GOAWAY with NO_ERROR: {seen:?}");
}

#[test]
fn answers_that_are_http2_but_not_a_health_answer() {
    let trailers_only = |fields: &[(&str, &str)]| {
        let mut all = GRPC_HEADERS.to_vec();
        all.extend_from_slice(fields);
        headers(&all, true)
    };
    let with_message = |message: &[u8], trailers: &[(&str, &str)]| {
        let mut answer = headers(&GRPC_HEADERS, false);
        answer.extend(frame(DATA, 0, 1, message));
        answer.extend(headers(trailers, true));
        answer
    };
    let cases: Vec<(Vec<u8>, i32, &str)> = vec![
        (
            headers(&[(":status", "404"), ("content-type", "text/html")], true),
            2,
            ": unreachable: the answer is not gRPC (HTTP 404, content-type text/html) (",
        ),
        (
            [headers(&GRPC_HEADERS, false), serving_message(true)].concat(),
            2,
            ": unreachable: the answer ended without a grpc-status (",
        ),
        (
            trailers_only(&[("grpc-status", "14"), ("grpc-message", "backend%20down")]),
            1,
            r#": unhealthy: UNAVAILABLE "backend down" ("#,
        ),
        (trailers_only(&[("grpc-status", "7")]), 1, ": unhealthy: PERMISSION_DENIED ("),
        (trailers_only(&[("grpc-status", "99")]), 1, ": unhealthy: grpc-status 99 ("),
        (trailers_only(&[("grpc-status", "4")]), 2, ": unreachable: timed out after 500ms during rpc ("),
        (
            with_message(&[1, 0, 0, 0, 2, 0x08, 1], &[("grpc-status", "0")]),
            2,
            ": unreachable: the answer is compressed, though no compression was offered (",
        ),
        (
            with_message(&[0, 0, 0, 0, 2, 0x0b, 1], &[("grpc-status", "0")]),
            2,
            ": unreachable: the answer is not a HealthCheckResponse (",
        ),
        (with_message(&[0, 0, 0, 0, 2, 0x08, 2], &[("grpc-status", "0")]), 1, ": unhealthy: NOT_SERVING ("),
        (
            frame(RST_STREAM, 0, 1, &[0, 0, 0, 7]),
            2,
            ": unreachable: the server reset the stream (REFUSED_STREAM) (",
        ),
    ];
    for (answer, code, expected) in cases {
        let (addr, _seen) = h2_peer(answer);
        let result = run(["grpc", "-t", "500ms", &addr.to_string()]);
        result.within(Duration::from_millis(500) + MARGIN);
        result.says(code, expected);
    }
}

#[test]
fn a_password_typed_into_a_target_is_never_echoed() {
    // A gRPC target has no place for credentials, but a pasted URL may carry some.
    for (args, secret) in [
        (&["grpc", "grpc://u:p4ss#word@127.0.0.1:1"][..], "p4ss"),
        (&["grpc", "--tls", "grpc://u:hunter2@127.0.0.1:1"][..], "hunter2"),
    ] {
        let result = crate::support::run(args);
        result.code(3).hides(secret);
    }
}

// ---- wait mode ----

/// The spec's wait mode, as `kubectl wait` or a compose healthcheck loop would use it: one
/// `waiting:` line each time the failure changes (not one per attempt), then the verdict of the
/// attempt that passed. grpc-health-probe has no wait; its users loop in shell.
#[test]
fn wait_says_each_change_until_the_server_turns_serving() {
    let server = Grpc::start(&Options { statuses: &[("db", "NOT_SERVING")], ..Options::default() });
    let addr = server.addr();
    let result = thread::scope(|scope| {
        scope.spawn(|| {
            thread::sleep(Duration::from_millis(1000));
            server.set_status("db", "UNKNOWN");
            thread::sleep(Duration::from_millis(1000));
            server.set_status("db", "SERVING");
        });
        run(["grpc", "--wait", "20s", "--interval", "100ms", "--service", "db", &addr])
    });
    result.code(0);
    assert!(result.elapsed >= Duration::from_millis(2000), "{result}");
    assert_eq!(
        result.stderr,
        format!(
            "waiting: grpc {addr}: unhealthy: NOT_SERVING for service \"db\"\n\
             waiting: grpc {addr}: unhealthy: UNKNOWN for service \"db\"\n"
        ),
        "one waiting line per change\n{result}"
    );
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{result}");
    let line = lines[0];
    assert!(line.starts_with(&format!("grpc {addr}: ok: SERVING for service \"db\" (")), "{result}");
    let attempts: usize = line
        .split("; after ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .map_or(0, |n| n.parse().expect("a count of attempts"));
    // Every attempt was one Check call on the server, each about "db".
    let calls = server.calls();
    assert!(attempts >= 3 && calls.len() == attempts, "{attempts} attempts, {} calls\n{result}", calls.len());
    assert!(calls.iter().all(|call| call["service"] == "db"), "{calls:?}");
}

/// An init container started before its server: the socket does not exist yet, then a server
/// starts listening on it. In text, one waiting line naming the missing socket; with --json, no
/// waiting lines and one final object with `attempts`. Both probes wait at the same time.
#[test]
fn wait_until_a_server_starts_on_the_socket() {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("app.sock");
    let target = format!("unix:{}", socket.display());
    let wait = ["grpc", "--wait", "30s", "--interval", "100ms"];
    let (text, json) = thread::scope(|scope| {
        let json = scope.spawn(|| run(wait.iter().copied().chain(["--json", target.as_str()])));
        let text = scope.spawn(|| run(wait.iter().copied().chain([target.as_str()])));
        thread::sleep(Duration::from_millis(800));
        let server = Grpc::start(&Options {
            statuses: &[("", "SERVING")],
            unix_at: Some(&socket),
            ..Options::default()
        });
        let done = (text.join().expect("text probe"), json.join().expect("json probe"));
        drop(server);
        done
    });

    text.code(0);
    assert_eq!(
        text.stderr,
        format!("waiting: grpc {target}: unreachable: {}: no such file or directory\n", socket.display()),
        "{text}"
    );
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].starts_with(&format!("grpc {target}: ok: SERVING (")), "{text}");
    assert!(lines[0].contains(" attempts in "), "{text}");

    let line = json.code(0).stdout_line();
    let object: serde_json::Value = serde_json::from_str(line).expect(line);
    assert_eq!(
        keys(&object),
        ["check", "target", "ok", "status", "message", "elapsed_ms", "attempts"],
        "{line}"
    );
    assert_eq!(
        (&object["check"], &object["target"], &object["ok"], &object["status"], &object["message"]),
        (&"grpc".into(), &target.clone().into(), &true.into(), &"ok".into(), &"SERVING".into()),
        "{line}"
    );
    assert!(object["attempts"].as_u64().expect("attempts") >= 2, "{line}");
    assert!(object["elapsed_ms"].as_f64().expect("elapsed_ms") < 800.0, "one attempt's time: {line}");
}

#[test]
fn wait_gives_up_with_the_last_verdict() {
    let server = Grpc::start(&Options { statuses: &[("", "NOT_SERVING")], ..Options::default() });
    let addr = server.addr();
    // Attempts at 0, 0.7, 1.4 and 1.9 s (the wait runs its length: the last one gets the
    // 100 ms left). Were that last one cut short by the wait on a busy machine, the verdict
    // before it would stand: NOT_SERVING either way, never "the wait ran out".
    let result = run(["grpc", "-w", "2s", "--interval", "700ms", &addr]);
    result.code(1).within(Duration::from_secs(2) + MARGIN);
    let lines: Vec<&str> = result.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{result}");
    assert_eq!(lines[0], format!("waiting: grpc {addr}: unhealthy: NOT_SERVING"));
    assert!(lines[1].starts_with(&format!("grpc {addr}: unhealthy: NOT_SERVING (")), "{result}");
    assert!(lines[1].contains("; after 4 attempts in "), "{result}");
    assert_eq!(result.stdout, "", "{result}");
}

// ---- JSON ----

fn keys(object: &serde_json::Value) -> Vec<&str> {
    object.as_object().expect("an object").keys().map(String::as_str).collect()
}

fn phase_names(object: &serde_json::Value) -> Vec<&str> {
    object["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .map(|phase| phase["name"].as_str().expect("a name"))
        .collect()
}

/// The spec's JSON object, whole: every field, in order, with the values this run had; the
/// phases of a TLS call with -v; the token given with -H in no field.
#[test]
fn json_is_the_whole_object_and_never_carries_the_token() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost"]);
    let server = Grpc::start(&Options {
        statuses: &[("", "SERVING")],
        token: Some(TOKEN),
        tls: Some(&pair),
        ..Options::default()
    });
    let ca = pki.ca.to_str().unwrap();
    let target = format!("grpcs://localhost:{}", server.port);
    let header = format!("authorization: Bearer {TOKEN}");

    let ok = run(["grpc", "-v", "--json", "--cacert", ca, "-H", &header, &target]);
    let line = ok.code(0).hides(TOKEN).stdout_line();
    let object: serde_json::Value = serde_json::from_str(line).expect(line);
    assert_eq!(
        keys(&object),
        ["check", "target", "ok", "status", "message", "elapsed_ms", "phases"],
        "{line}"
    );
    assert_eq!(object["check"], "grpc");
    assert_eq!(object["target"], target);
    assert_eq!(object["ok"], true);
    assert_eq!(object["status"], "ok");
    assert_eq!(object["message"], "SERVING");
    let elapsed = object["elapsed_ms"].as_f64().expect("elapsed_ms");
    assert!(elapsed > 0.0 && elapsed < ok.elapsed.as_secs_f64() * 1e3, "{line}");
    assert_eq!(phase_names(&object), ["resolve", "connect", "tls", "rpc"], "{line}");
    let spent: f64 = object["phases"].as_array().unwrap().iter().map(|p| p["ms"].as_f64().expect("ms")).sum();
    assert!(spent <= elapsed + 0.5, "the phases fit in the attempt: {line}");

    // Refused by the interceptor: an answer (1), its code and message quoted.
    let wrong = format!("authorization: Bearer not-{TOKEN}");
    let refused = run(["grpc", "--json", "--cacert", ca, "-H", &wrong, &target]);
    let line = refused.code(1).hides(TOKEN).stdout_line();
    let object: serde_json::Value = serde_json::from_str(line).expect(line);
    assert_eq!(keys(&object), ["check", "target", "ok", "status", "message", "elapsed_ms"], "{line}");
    assert_eq!(
        (&object["ok"], &object["status"], &object["message"]),
        (&false.into(), &"unhealthy".into(), &r#"UNAUTHENTICATED "missing or wrong token""#.into()),
        "{line}"
    );

    // With a wait that runs out (attempts at 0, 0.7, 1.4 and 1.9 s, as above): the last verdict,
    // its phases, and the attempts made.
    let waited = run([
        "grpc",
        "-v",
        "--json",
        "-w",
        "2s",
        "--interval",
        "700ms",
        "--cacert",
        ca,
        "-H",
        &wrong,
        &target,
    ]);
    let line = waited.code(1).hides(TOKEN).stdout_line();
    let object: serde_json::Value = serde_json::from_str(line).expect(line);
    assert_eq!(
        keys(&object),
        ["check", "target", "ok", "status", "message", "elapsed_ms", "phases", "attempts"],
        "{line}"
    );
    assert_eq!(object["status"], "unhealthy");
    assert_eq!(phase_names(&object), ["resolve", "connect", "tls", "rpc"], "{line}");
    assert_eq!(object["attempts"], 4, "{line}");

    // A TLS failure (2) names no phase after the one it happened in.
    let untrusted = run(["grpc", "-v", "--json", "-H", &header, &target]);
    let line = untrusted.code(2).hides(TOKEN).stdout_line();
    let object: serde_json::Value = serde_json::from_str(line).expect(line);
    assert_eq!(object["status"], "unreachable");
    assert_eq!(object["message"], "TLS: certificate not trusted (unknown issuer)");
    assert_eq!(phase_names(&object), ["resolve", "connect", "tls"], "{line}");
}

// ---- the request on the wire ----

/// What grpc-go (and so grpc-health-probe) puts on the wire, and what gRPC servers check
/// (grpc-core answers a request without `te: trailers` with INTERNAL "Missing te header"):
/// POST to the method's path, `te: trailers`, `content-type: application/grpc`, the user agent,
/// and a `grpc-timeout` of the time left in the finest unit that fits eight digits ("PROTOCOL-HTTP2.md").
#[test]
fn the_request_headers_on_the_wire() {
    let (addr, recorded) = crate::support::grpc::recording_server();
    run(["grpc", "-t", "2s", "--service", "db", &addr.to_string()])
        .says(0, r#": ok: SERVING for service "db" ("#);
    let request = recorded.recv_timeout(Duration::from_secs(5)).expect("the server saw a request");
    assert_eq!(request.values(":method"), ["POST"], "{request:?}");
    assert_eq!(request.values(":scheme"), ["http"], "{request:?}");
    assert_eq!(request.values(":path"), ["/grpc.health.v1.Health/Check"], "{request:?}");
    assert_eq!(request.values(":authority"), [addr.to_string()], "{request:?}");
    assert_eq!(request.values("te"), ["trailers"], "{request:?}");
    assert_eq!(request.values("content-type"), ["application/grpc"], "{request:?}");
    assert_eq!(request.values("user-agent"), [concat!("probe/", env!("CARGO_PKG_VERSION"))], "{request:?}");
    let timeout = request.values("grpc-timeout");
    let micros: u64 = timeout[0].strip_suffix('u').and_then(|n| n.parse().ok()).expect("microseconds");
    assert!(micros > 1_000_000 && micros <= 2_000_000 && timeout[0].len() <= 9, "{timeout:?}");
    // The HealthCheckRequest{service: "db"}: uncompressed, 4 bytes, field 1 of length 2.
    assert_eq!(request.body, [0, 0, 0, 0, 4, 0x0a, 2, b'd', b'b'], "{request:?}");
    // Nothing else: no proxy headers, no metadata probe was not given.
    let mut names: Vec<&str> = request.fields.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [":authority", ":method", ":path", ":scheme", "content-type", "grpc-timeout", "te", "user-agent"],
        "{request:?}"
    );
}
