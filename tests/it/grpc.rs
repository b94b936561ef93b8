//! `probe grpc` against real gRPC servers (Python's grpcio with the standard health service):
//! every target form, statuses per service, no health service, metadata for an auth interceptor,
//! TLS and mutual TLS with a generated CA, a handler that outlives the deadline, a clean close,
//! wait mode while a server turns healthy, the whole JSON object, the request's headers as an
//! HTTP/2 server decodes them; and against peers that do not speak gRPC at all. TLS, scripted
//! HTTP/2 peers, wait mode and JSON, and secrets are in the modules below.

mod hygiene;
mod peers;
mod tls;
mod wait;

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
    let cases: [(&[&str], &str); 9] = [
        (&["grpc", "svc"], "'…': a port is missing"),
        (&["grpc", "http://svc:80"], "'http://…': not a gRPC target"),
        (&["grpc", "unix://run/app.sock"], "unix:///absolute/path"),
        (&["grpc", "--tls", "grpc://svc:80"], "grpc:// is plain text, and --tls asks for TLS"),
        // One rule for every check: a TLS option where no target uses TLS, in the same words.
        (&["grpc", "--insecure", "svc:80"], "--insecure is a TLS option, and no target here uses TLS"),
        (
            &["grpc", "--cacert", "/nonexistent/ca.pem", "svc:80"],
            "--cacert is a TLS option, and no target here uses TLS",
        ),
        (
            &["grpc", "--server-name", "x", "svc:80"],
            "--server-name is a TLS option, and no target here uses TLS",
        ),
        (
            &["grpc", "--tls", "--server-name", "a b", "svc:80"],
            "TLS: 'a b' is not a name a certificate can hold",
        ),
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
