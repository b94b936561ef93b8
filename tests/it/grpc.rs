//! `probe grpc` against real gRPC servers (Python's grpcio with the standard health service):
//! every target form, statuses per service, no health service, metadata for an auth interceptor,
//! TLS and mutual TLS with a generated CA, a handler that outlives the deadline, a clean close;
//! and against peers that do not speak gRPC at all.

use std::{path::Path, time::Duration};

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
