//! `probe grpc` against HTTP/2 peers the tests script frame by frame: peers that do not speak
//! gRPC, answers that are not a health answer, the clean close, the request as a server decodes
//! it, and server text quoted escaped.

use super::*;

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
    check(
        sockets::scripted(Script::Reset).to_string(),
        ": unreachable: connection reset by peer at the first request: the port may speak TLS (use grpcs:// or --tls) (",
    );
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

/// What the server says (grpc-message, percent-decoded) reaches the line only escaped and
/// bounded: a message that would end the line, forge a healthy one or clear the terminal stays
/// one line, in text and JSON.
#[test]
fn server_text_is_quoted_escaped_in_one_line() {
    let forged = "bad%0Agrpc 127.0.0.1:1: ok: SERVING%0D%1B[2J%00end";
    let fields = [GRPC_HEADERS[0], GRPC_HEADERS[1], ("grpc-status", "14"), ("grpc-message", forged)];
    let (addr, _seen) = h2_peer(headers(&fields, true));
    let result = run(["grpc", &addr.to_string()]);
    let line =
        result.says(1, r#": unhealthy: UNAVAILABLE "bad\ngrpc 127.0.0.1:1: ok: SERVING\r\x1b[2J\0end" ("#);
    assert!(!line.chars().any(char::is_control), "{line:?}");
    let (addr, _seen) = h2_peer(headers(&fields, true));
    let json = run(["grpc", "--json", &addr.to_string()]);
    assert_eq!(json.code(1).stdout.lines().count(), 1, "{json}");
    let object: serde_json::Value = serde_json::from_str(json.stdout.trim_end()).expect("valid JSON");
    assert!(!object["message"].as_str().unwrap().chars().any(char::is_control), "{json}");
}
