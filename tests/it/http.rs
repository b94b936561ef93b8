//! `probe http` against servers the tests run: statuses, the request on the wire, hanging and
//! garbage servers, usage errors; redirects, answers read as Go reads them, HTTPS, and secrets in
//! the modules below. The servers the modules share are here.

mod answers;
mod https;
mod hygiene;
mod redirects;

use std::{
    sync::{Arc, Mutex, mpsc},
    thread,
    time::Duration,
};

use crate::support::{
    MARGIN,
    certs::{Pki, server_config},
    http::{Request, Server, openssl_server, respond, serve, serve_tls},
    probe, run, sockets,
};

fn status_server() -> Server {
    serve(|request, out| {
        let code = request.path.trim_start_matches('/');
        let status = match code {
            "200" => "200 OK",
            "204" => "204 No Content",
            "399" => "399 Whatever",
            "404" => "404 Not Found",
            "500" => "500 Internal Server Error",
            "503" => "503 Service Unavailable",
            _ => "400 Bad Request",
        };
        respond(out, status, &[], "");
    })
}

#[test]
fn statuses_200_to_399_are_healthy_like_kubelet() {
    // kubelet's DoHTTPProbe: `res.StatusCode >= 200 && < 400` succeeds, anything else fails.
    let server = status_server();
    for (code, exit, expected) in [
        ("200", 0, "ok: HTTP 200 OK ("),
        ("204", 0, "ok: HTTP 204 No Content ("),
        ("399", 0, "ok: HTTP 399 ("),
        ("404", 1, "unhealthy: HTTP 404 Not Found ("),
        ("500", 1, "unhealthy: HTTP 500 Internal Server Error ("),
        ("503", 1, "unhealthy: HTTP 503 Service Unavailable ("),
    ] {
        let url = server.url(&format!("/{code}"));
        let result = run(["http", &url]);
        result.code(exit);
        let line = if exit == 0 { result.stdout_line() } else { result.stderr_line() };
        assert_eq!(
            line.split_once(" (").map(|(head, _)| head),
            Some(&*format!("http {url}: {}", &expected[..expected.len() - 2])),
            "{result}"
        );
    }
}

#[test]
fn a_status_list_replaces_the_default_range() {
    // Not in httpGet (README: differences): --status replaces kubelet's 200-399.
    let server = status_server();
    run(["http", "--status", "404", &server.url("/404")]).code(0);
    run(["http", "--status", "200-299,304", &server.url("/399")]).code(1);
    run(["http", "--status", "200-299,304", &server.url("/204")]).code(0);
}

/// A server that hands every request it sees to the test.
fn recording_server() -> (Server, mpsc::Receiver<Request>) {
    let (send, receive) = mpsc::channel();
    let send = Mutex::new(send);
    let server = serve(move |request, out| {
        let _ = send.lock().unwrap().send(request.clone());
        respond(out, "200 OK", &[], "");
    });
    (server, receive)
}

#[test]
fn the_request_is_kubelets() {
    // Go's Request.write: Host, User-Agent, the other headers sorted by name (kubelet's
    // http.Header canonicalises names), then the transport's `Connection: close` (keep-alives off).
    let (server, requests) = recording_server();
    run(["http", "-H", "x-probe: yes", "-H", "Host: example.test", &server.url("/health")]).code(0);
    let request = requests.recv_timeout(Duration::from_secs(1)).expect("a request");
    assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/health"));
    let names: Vec<&str> = request.headers.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["Host", "User-Agent", "Accept", "X-Probe", "Connection"], "{request:?}");
    assert_eq!(request.header("host"), Some("example.test"), "{request:?}");
    assert_eq!(request.header("x-probe"), Some("yes"), "{request:?}");
    assert_eq!(
        request.header("user-agent"),
        Some(concat!("probe/", env!("CARGO_PKG_VERSION"))),
        "{request:?}"
    );
    assert_eq!(request.header("accept"), Some("*/*"), "{request:?}");
    assert_eq!(request.header("connection"), Some("close"), "{request:?}");
    assert_eq!(request.header("accept-encoding"), None, "no compression asked for: {request:?}");

    run(["http", "--method", "HEAD", &server.url("/")]).code(0);
    assert_eq!(requests.recv_timeout(Duration::from_secs(1)).expect("a request").method, "HEAD");
}

#[test]
fn empty_user_agent_and_accept_remove_them_and_an_empty_host_is_the_urls() {
    // kubelet's newProbeRequest: an empty Accept is deleted; Go's Request.write sends no empty
    // User-Agent; `req.Host = headers.Get("Host")`, and an empty Host means the URL's.
    let (server, requests) = recording_server();
    run(["http", "-H", "User-Agent:", "-H", "Accept:", "-H", "Host:", &server.url("/")]).code(0);
    let request = requests.recv_timeout(Duration::from_secs(1)).expect("a request");
    assert_eq!(request.header("user-agent"), None, "{request:?}");
    assert_eq!(request.header("accept"), None, "{request:?}");
    assert_eq!(request.header("host"), Some(&*server.addr.to_string()), "{request:?}");

    // What kubelet sends, for apps that tell probes by it.
    run(["http", "-H", "User-Agent: kube-probe/1.31", "-H", "Accept: text/plain", &server.url("/")]).code(0);
    let request = requests.recv_timeout(Duration::from_secs(1)).expect("a request");
    assert_eq!(request.header("user-agent"), Some("kube-probe/1.31"), "{request:?}");
    assert_eq!(request.header("accept"), Some("text/plain"), "{request:?}");
}

#[test]
fn proxy_variables_are_ignored() {
    // kubelet's prober transport: `Proxy: http.ProxyURL(nil)` ("We do not want the probe use
    // node's local proxy set").
    let (server, requests) = recording_server();
    let proxy = sockets::refusing();
    let proxy_url = format!("http://{}", proxy.addr);
    let mut with_proxy = probe().args(["http", &server.url("/")]);
    for name in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"] {
        with_proxy = with_proxy.env(name, &proxy_url);
    }
    with_proxy.run().code(0);
    assert!(requests.recv_timeout(Duration::from_secs(1)).is_ok());
}

#[test]
fn a_server_that_never_answers_times_out_in_the_request_phase() {
    // kubelet's Client.Timeout covers the wait for the head; probe's deadline names the phase.
    let hanging = serve(|_, _| thread::sleep(Duration::from_secs(10)));
    let result = run(["http", "-t", "300ms", &hanging.url("/")]);
    let line = result.code(2).within(Duration::from_millis(300) + MARGIN).stderr_line();
    assert!(line.contains(": unreachable: timed out after 300ms during request ("), "{line}");

    let silent = sockets::open("127.0.0.1:0");
    let result = run(["http", "-t", "300ms", &format!("http://{}/", silent.addr)]);
    let line = result.code(2).within(Duration::from_millis(300) + MARGIN).stderr_line();
    assert!(line.contains(": unreachable: timed out after 300ms during request ("), "{line}");
}

#[test]
fn garbage_is_not_http() {
    // Go's ReadResponse: `malformed HTTP response`, a transport error; kubelet fails the probe.
    let garbage = serve(|_, out| {
        let _ = out.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\x00\x01\x02garbage\r\n\r\n");
    });
    let result = run(["http", &garbage.url("/")]);
    result.says(2, ": unreachable: the answer is not HTTP (");
}

#[test]
fn verbose_names_the_http_phases() {
    // probe's own output (SPEC: -v): one timing per phase of the exchange.
    let server = serve(|_, out| respond(out, "200 OK", &[], "ok"));
    let result = run(["http", "-v", "--body-contains", "ok", &server.url("/")]);
    let line = result.code(0).stdout_line();
    let names: Vec<&str> = line
        .split_once("; ")
        .expect(line)
        .1
        .trim_end_matches(')')
        .split(", ")
        .map(|phase| phase.split(' ').next().unwrap())
        .collect();
    assert_eq!(names, ["resolve", "connect", "request", "body"], "{line}");
}

#[test]
fn malformed_urls_and_files_are_usage_errors() {
    // SPEC: bad input is a one-line usage error, exit 3, before any I/O.
    for (args, expected) in [
        (&["http", "localhost:8080/health"][..], "must start with http:// or https://"),
        (&["http", "http://"][..], "is not a URL"),
        (&["http", "http://h:0/"][..], "not a port"),
        (&["http", "--status", "2xx", "http://h/"][..], "'2xx' is not an HTTP status code"),
        (&["http", "-H", "NoColon", "http://h/"][..], "write a header as 'Name: value'"),
        (
            &["http", "--cacert", "/nonexistent/ca.pem", "https://h/"][..],
            "cannot read --cacert /nonexistent/ca.pem",
        ),
        (&["http", "--cert", "/x.pem", "https://h/"][..], "--key <FILE>"),
    ] {
        let result = run(args);
        result.says(3, expected);
    }
}

/// Answers every request with these raw bytes, then closes the connection.
fn raw_server(answer: &'static [u8]) -> Server {
    serve(move |_, out| {
        let _ = out.write_all(answer);
    })
}

/// Redirects its first request to `location` (`{port}` replaced by its own port), answers 200 to
/// the rest, and hands those requests to the test.
fn redirect_once(location: &'static str) -> (Server, mpsc::Receiver<Request>) {
    let (send, receive) = mpsc::channel();
    let send = Mutex::new(send);
    let first = Mutex::new(true);
    let server = serve(move |request, out| {
        if std::mem::replace(&mut *first.lock().unwrap(), false) {
            let location = location.replace("{port}", &request.local.port().to_string());
            respond(out, "302 Found", &[("location", &location)], "");
        } else {
            let _ = send.lock().unwrap().send(request.clone());
            respond(out, "200 OK", &[], "");
        }
    });
    (server, receive)
}

fn next_request(requests: &mpsc::Receiver<Request>) -> Request {
    requests.recv_timeout(Duration::from_secs(1)).expect("the redirected request")
}

#[test]
fn a_name_that_does_not_resolve_is_named() {
    // Every check words it the same: net::resolve's "cannot resolve HOST: …".
    let result = run(["http", "http://no-such-host.invalid:8080/health"]);
    result.says(2, ": unreachable: cannot resolve no-such-host.invalid: ");
}

#[test]
fn a_server_that_closes_without_a_word_is_said_so() {
    // Go's transport fails the request (EOF); kubelet's probe fails.
    let result = run(["http", &raw_server(b"").url("/")]);
    result.says(
        2,
        ": unreachable: the server closed the connection without answering: the port may speak TLS (use https://) (",
    );
}

fn https_server(pki: &Pki, names: &[&str], self_signed: bool, client_ca: bool) -> Server {
    let pair = if self_signed { pki.self_signed("self", names) } else { pki.issue("server", names) };
    let ca = client_ca.then_some(&pki.ca);
    serve_tls(server_config(&pair, ca), |_, out| respond(out, "200 OK", &[], "secure"))
}
