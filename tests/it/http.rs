//! `probe http` against servers the tests run: statuses, redirects, headers on the wire, body
//! checks on huge bodies, hanging and garbage servers, and HTTPS with generated certificates.

use std::{
    sync::{Arc, Mutex, mpsc},
    thread,
    time::Duration,
};

use crate::support::{
    MARGIN,
    certs::{Pki, server_config},
    http::{Request, Server, respond, serve, serve_tls},
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
    let server = status_server();
    run(["http", "--status", "404", &server.url("/404")]).code(0);
    run(["http", "--status", "200-299,304", &server.url("/399")]).code(1);
    run(["http", "--status", "200-299,304", &server.url("/204")]).code(0);
}

fn redirecting_server() -> Server {
    serve(|request, out| {
        let port = request
            .header("host")
            .and_then(|h| h.rsplit_once(':'))
            .map(|(_, p)| p.to_owned())
            .unwrap_or_default();
        match request.path.as_str() {
            "/to-ok" => respond(out, "302 Found", &[("location", "/ok")], ""),
            "/to-fail" => respond(out, "301 Moved Permanently", &[("location", "fail")], ""),
            "/elsewhere" => {
                let location = format!("http://localhost:{port}/ok");
                respond(out, "302 Found", &[("location", &location)], "")
            }
            "/loop" => respond(out, "307 Temporary Redirect", &[("location", "/loop")], ""),
            "/ok" => respond(out, "200 OK", &[], "ok"),
            _ => respond(out, "500 Internal Server Error", &[], ""),
        }
    })
}

#[test]
fn redirects_to_the_same_host_are_followed() {
    let server = redirecting_server();
    let result = run(["http", &server.url("/to-ok")]);
    result.says(0, ": ok: HTTP 200 OK after 1 redirect (");
    let result = run(["http", &server.url("/to-fail")]);
    result.says(1, ": unhealthy: HTTP 500 Internal Server Error after 1 redirect (");
}

#[test]
fn a_redirect_to_another_host_is_the_answer() {
    let server = redirecting_server();
    let result = run(["http", &server.url("/elsewhere")]);
    let expected = format!(
        ": ok: HTTP 302 Found, to http://localhost:{}/ok, another host: not followed (",
        server.addr.port()
    );
    result.says(0, &expected);
}

#[test]
fn a_redirect_loop_ends_in_a_verdict() {
    let server = redirecting_server();
    let result = run(["http", &server.url("/loop")]);
    let expected = format!(": unhealthy: more than 10 redirects, last to {} (", server.url("/loop"));
    assert!(result.code(1).within(Duration::from_secs(1)).stderr_line().contains(&expected), "{result}");
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
    let (server, requests) = recording_server();
    run(["http", "-H", "X-Probe: yes", "-H", "Host: example.test", &server.url("/health")]).code(0);
    let request = requests.recv_timeout(Duration::from_secs(1)).expect("a request");
    assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/health"));
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
    let hosts = request.headers.iter().filter(|(name, _)| name.eq_ignore_ascii_case("host")).count();
    assert_eq!(hosts, 1, "{request:?}");

    run(["http", "--method", "HEAD", &server.url("/")]).code(0);
    assert_eq!(requests.recv_timeout(Duration::from_secs(1)).expect("a request").method, "HEAD");
}

#[test]
fn proxy_variables_are_ignored() {
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
fn a_password_in_the_url_is_sent_but_never_shown() {
    let (server, requests) = recording_server();
    let url = format!("http://probe:hunter2@{}/", server.addr);
    for extra in [&[][..], &["-v", "--json"][..]] {
        let result = probe().args(["http"]).args(extra).args([&url]).run();
        result.code(0).hides("hunter2");
        assert!(result.stdout.contains("probe:***@"), "{result}");
        let request = requests.recv_timeout(Duration::from_secs(1)).expect("a request");
        assert_eq!(request.header("authorization"), Some("Basic cHJvYmU6aHVudGVyMg=="), "{request:?}");
    }
    let refusing = sockets::refusing();
    let result = run(["http", &format!("http://probe:hunter2@{}/", refusing.addr)]);
    result.says(2, "probe:***@");
    result.hides("hunter2");
}

#[test]
fn a_server_that_never_answers_times_out_in_the_request_phase() {
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
    let garbage = serve(|_, out| {
        let _ = out.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\x00\x01\x02garbage\r\n\r\n");
    });
    let result = run(["http", &garbage.url("/")]);
    result.says(2, ": unreachable: the answer is not HTTP (");
}

/// Answers with a 1 GiB body, written until the client goes away; says how much it wrote.
fn huge_body_server(first: &'static str) -> (Server, Arc<Mutex<u64>>) {
    let written = Arc::new(Mutex::new(0u64));
    let counter = Arc::clone(&written);
    let server = serve(move |_, out| {
        let _ = out.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1073741824\r\n\r\n");
        let _ = out.write_all(first.as_bytes());
        let chunk = vec![b'x'; 64 * 1024];
        let mut total = first.len() as u64;
        while total < 1 << 30 && out.write_all(&chunk).is_ok() {
            total += chunk.len() as u64;
        }
        *counter.lock().unwrap() = total;
    });
    (server, written)
}

#[test]
fn a_huge_body_is_not_read_without_a_body_check() {
    let (server, _) = huge_body_server("");
    let result = run(["http", "-t", "2s", &server.url("/")]);
    result.code(0).within(Duration::from_secs(1));
    assert!(result.stdout_line().contains(": ok: HTTP 200 OK ("), "{result}");
}

#[test]
fn a_body_check_reads_only_up_to_its_cap() {
    let (server, written) = huge_body_server("ready");
    let result = run(["http", "-t", "3s", "--body-contains", "ready", &server.url("/")]);
    assert!(
        result
            .code(0)
            .within(Duration::from_secs(2))
            .stdout_line()
            .contains(": ok: HTTP 200 OK, body matches ("),
        "{result}"
    );

    let result = run(["http", "-t", "3s", "--body-contains", "never there", &server.url("/")]);
    let line = result.code(1).within(Duration::from_secs(2)).stderr_line();
    assert!(
        line.contains(r#": unhealthy: HTTP 200 OK, but the body does not contain "never there" ("#),
        "{line}"
    );
    thread::sleep(Duration::from_millis(200));
    assert!(*written.lock().unwrap() < 256 << 20, "the probe stopped reading long before 1 GiB");
}

#[test]
fn body_regex_and_contains() {
    let server = serve(|_, out| respond(out, "200 OK", &[], r#"{"status":"UP","db":"ok"}"#));
    run(["http", "--body-regex", r#""status":\s*"UP""#, &server.url("/")]).code(0);
    let result = run(["http", "--body-regex", "DOWN|OUT", &server.url("/")]);
    result.says(1, r#"but the body does not match "DOWN|OUT""#);
    run(["http", "--body-contains", "UP", "--body-regex", "db", &server.url("/")]).code(0);
    let result = run(["http", "--body-regex", "(", &server.url("/")]);
    result.says(3, "invalid value '(' for '--body-regex <RE>'");
    let result = run(["http", "--method", "HEAD", "--body-contains", "x", &server.url("/")]);
    result.says(3, "a HEAD answer has none");
}

#[test]
fn verbose_names_the_http_phases() {
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

fn https_server(pki: &Pki, names: &[&str], self_signed: bool, client_ca: bool) -> Server {
    let pair = if self_signed { pki.self_signed("self", names) } else { pki.issue("server", names) };
    let ca = client_ca.then_some(&pki.ca);
    serve_tls(server_config(&pair, ca), |_, out| respond(out, "200 OK", &[], "secure"))
}

#[test]
fn https_verifies_against_the_given_ca() {
    let pki = Pki::new();
    let server = https_server(&pki, &["localhost", "127.0.0.1"], false, false);
    let ca = pki.ca.to_str().unwrap();
    for host in ["localhost", "127.0.0.1"] {
        let result = run(["http", "-v", "--cacert", ca, &server.https_url(host, "/")]);
        let line = result.code(0).stdout_line();
        assert!(line.contains(": ok: HTTP 200 OK (") && line.contains(", tls "), "{line}");
    }
    let result = run(["http", &server.https_url("localhost", "/")]);
    result.says(2, ": unreachable: TLS: certificate not trusted (unknown issuer) (");
    let from_env = probe().env("SSL_CERT_FILE", ca).args(["http", &server.https_url("localhost", "/")]).run();
    from_env.code(0);
    run(["http", "--insecure", &server.https_url("localhost", "/")]).code(0);
}

#[test]
fn a_self_signed_certificate_needs_insecure() {
    let pki = Pki::new();
    let server = https_server(&pki, &["localhost"], true, false);
    let result = run(["http", "--cacert", pki.ca.to_str().unwrap(), &server.https_url("localhost", "/")]);
    result.says(2, "TLS: certificate not trusted (unknown issuer)");
    run(["http", "--insecure", &server.https_url("localhost", "/")]).code(0);
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    let pki = Pki::new();
    let server = https_server(&pki, &["other.example"], false, false);
    let result = run(["http", "--cacert", pki.ca.to_str().unwrap(), &server.https_url("localhost", "/")]);
    result.says(2, ": unreachable: TLS: certificate is not valid for this host name (");
}

#[test]
fn an_expired_certificate_is_refused() {
    let pki = Pki::new();
    let expired = pki.expired("old", &["localhost"]);
    let server = serve_tls(server_config(&expired, None), |_, out| respond(out, "200 OK", &[], ""));
    let result = run(["http", "--cacert", pki.ca.to_str().unwrap(), &server.https_url("localhost", "/")]);
    result.says(2, ": unreachable: TLS: certificate has expired (");
}

#[test]
fn mutual_tls_presents_the_client_certificate() {
    let pki = Pki::new();
    let server = https_server(&pki, &["localhost"], false, true);
    let client = pki.issue("client", &["probe-client"]);
    let ca = pki.ca.to_str().unwrap();
    let url = server.https_url("localhost", "/");
    run([
        "http",
        "--cacert",
        ca,
        "--cert",
        client.cert.to_str().unwrap(),
        "--key",
        client.key.to_str().unwrap(),
        &url,
    ])
    .code(0);
    let result = run(["http", "--cacert", ca, &url]);
    result.says(2, ": unreachable: TLS: ");
}

#[test]
fn a_key_file_that_is_not_a_key_is_named_but_never_shown() {
    let pki = Pki::new();
    let client = pki.issue("client", &["probe-client"]);
    // The certificate file where the key should be: no key in it, and its text stays unprinted.
    let result = run([
        "http",
        "--cert",
        client.cert.to_str().unwrap(),
        "--key",
        client.cert.to_str().unwrap(),
        "https://h/",
    ]);
    let line = result.code(3).stderr_line();
    assert!(line.contains("no PEM private key in it") && !line.contains("BEGIN"), "{line}");
}
