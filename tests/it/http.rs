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
    // Go's Client.do follows 301/302/303/307/308; kubelet's CheckRedirect lets the same host by.
    let server = redirecting_server();
    let result = run(["http", &server.url("/to-ok")]);
    result.says(0, ": ok: HTTP 200 OK after 1 redirect (");
    let result = run(["http", &server.url("/to-fail")]);
    result.says(1, ": unhealthy: HTTP 500 Internal Server Error after 1 redirect (");
}

#[test]
fn a_redirect_to_another_host_is_the_answer() {
    // kubelet's CheckRedirect: another Hostname() returns ErrUseLastResponse; the 302 is judged.
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
    // Go's defaultCheckRedirect (and kubelet's RedirectChecker): `len(via) >= 10` is an error.
    let server = redirecting_server();
    let result = run(["http", &server.url("/loop")]);
    let expected = format!(
        ": unhealthy: HTTP 307 Temporary Redirect after 9 redirects, stopped after 10 redirects, the last to {} (",
        server.url("/loop")
    );
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
fn a_password_in_the_url_is_sent_but_never_shown() {
    // Go's send: URL user info becomes `Authorization: Basic`; probe never prints the password.
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
fn an_endless_body_costs_only_10_kib() {
    // kubelet: utilio.ReadAtMost(res.Body, 10 KiB); reaching the limit is not an error.
    let (server, written) = huge_body_server("");
    let result = run(["http", "-t", "2s", &server.url("/")]);
    result.code(0).within(Duration::from_secs(1));
    assert!(result.stdout_line().contains(": ok: HTTP 200 OK ("), "{result}");
    thread::sleep(Duration::from_millis(200));
    assert!(*written.lock().unwrap() < 64 << 20, "the probe stopped reading long before 1 GiB");
}

#[test]
fn a_body_check_reads_only_up_to_its_cap() {
    // Not in httpGet (README: differences): a body check reads 1 MiB, not kubelet's 10 KiB.
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

    // Only the first 1 MiB is read, and the message says so.
    let result = run(["http", "-t", "3s", "--body-contains", "never there", &server.url("/")]);
    let line = result.code(1).within(Duration::from_secs(2)).stderr_line();
    assert!(
        line.contains(
            r#": unhealthy: HTTP 200 OK, but the first 1 MiB of the body does not contain "never there" ("#
        ),
        "{line}"
    );
    thread::sleep(Duration::from_millis(200));
    assert!(*written.lock().unwrap() < 256 << 20, "the probe stopped reading long before 1 GiB");
}

#[test]
fn body_regex_and_contains() {
    // Not in httpGet (README: differences): body checks are probe's own.
    let server = serve(|_, out| respond(out, "200 OK", &[], r#"{"status":"UP","db":"ok"}"#));
    run(["http", "--body-regex", r#""status":\s*"UP""#, &server.url("/")]).code(0);
    let result = run(["http", "--body-regex", "DOWN|OUT", &server.url("/")]);
    result.says(1, r#"HTTP 200 OK, but the body does not match "DOWN|OUT" ("#);
    run(["http", "--body-contains", "UP", "--body-regex", "db", &server.url("/")]).code(0);
    let result = run(["http", "--body-regex", "(", &server.url("/")]);
    result.says(3, "invalid value '(' for '--body-regex <RE>'");
    let result = run(["http", "--method", "HEAD", "--body-contains", "x", &server.url("/")]);
    result.says(3, "a HEAD answer has none");
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

fn https_server(pki: &Pki, names: &[&str], self_signed: bool, client_ca: bool) -> Server {
    let pair = if self_signed { pki.self_signed("self", names) } else { pki.issue("server", names) };
    let ca = client_ca.then_some(&pki.ca);
    serve_tls(server_config(&pair, ca), |_, out| respond(out, "200 OK", &[], "secure"))
}

#[test]
fn https_verifies_against_the_given_ca() {
    // A deliberate difference (README): kubelet sets InsecureSkipVerify; probe verifies unless
    // --insecure, against --cacert or SSL_CERT_FILE.
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
    // As above: verified by default; --insecure is kubelet's behaviour.
    let pki = Pki::new();
    let server = https_server(&pki, &["localhost"], true, false);
    let result = run(["http", "--cacert", pki.ca.to_str().unwrap(), &server.https_url("localhost", "/")]);
    result.says(2, "TLS: certificate not trusted (unknown issuer)");
    run(["http", "--insecure", &server.https_url("localhost", "/")]).code(0);
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    // As above: the name is verified (kubelet skips verification).
    let pki = Pki::new();
    let server = https_server(&pki, &["other.example"], false, false);
    let result = run(["http", "--cacert", pki.ca.to_str().unwrap(), &server.https_url("localhost", "/")]);
    result.says(2, ": unreachable: TLS: certificate is not valid for this host name (");
}

#[test]
fn an_expired_certificate_is_refused() {
    // As above: expiry is verified (kubelet skips verification).
    let pki = Pki::new();
    let expired = pki.expired("old", &["localhost"]);
    let server = serve_tls(server_config(&expired, None), |_, out| respond(out, "200 OK", &[], ""));
    let result = run(["http", "--cacert", pki.ca.to_str().unwrap(), &server.https_url("localhost", "/")]);
    result.says(2, ": unreachable: TLS: certificate has expired (");
}

#[test]
fn mutual_tls_presents_the_client_certificate() {
    // kubelet's NewWithCert presents a client certificate; --cert/--key do the same.
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
    // SPEC: an unreadable key is a usage error (3), and secrets are never printed.
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

/// Answers every request with these raw bytes, then closes the connection.
fn raw_server(answer: &'static [u8]) -> Server {
    serve(move |_, out| {
        let _ = out.write_all(answer);
    })
}

#[test]
fn a_status_go_accepts_outside_100_to_599_is_unhealthy() {
    // Go's ReadResponse takes any three digits (strconv.Atoi); kubelet: not 200-399 is a failure.
    for (answer, expected) in [
        (&b"HTTP/1.1 600 Odd\r\ncontent-length: 0\r\n\r\n"[..], ": unhealthy: HTTP 600 ("),
        (b"HTTP/1.1 099 Odd\r\ncontent-length: 0\r\n\r\n", ": unhealthy: HTTP 099 ("),
        (b"HTTP/1.0 999\r\n\r\n", ": unhealthy: HTTP 999 ("),
    ] {
        run(["http", &raw_server(answer).url("/")]).says(1, expected);
    }
    // Go's "malformed HTTP status code": not three digits.
    let result = run(["http", &raw_server(b"HTTP/1.1 1000 Odd\r\n\r\n").url("/")]);
    result.says(2, ": unreachable: the answer is not HTTP (");
}

#[test]
fn informational_answers_are_skipped_up_to_five() {
    // Go's transport skips non-final 1xx answers, at most 5 (max1xxResponses).
    let answer: &'static [u8] = [
        b"HTTP/1.1 100 Continue\r\n\r\n".repeat(5),
        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".to_vec(),
    ]
    .concat()
    .leak();
    run(["http", &raw_server(answer).url("/")]).says(0, ": ok: HTTP 200 OK (");
    let answer: &'static [u8] = [
        b"HTTP/1.1 103 Early Hints\r\n\r\n".repeat(6),
        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".to_vec(),
    ]
    .concat()
    .leak();
    let result = run(["http", &raw_server(answer).url("/")]);
    result.says(2, ": unreachable: the answer is not HTTP: too many 1xx informational answers (");
}

#[test]
fn folded_header_lines_are_joined() {
    // net/textproto readContinuedLineSlice (RFC 9112 §5.2): a line starting with white space
    // continues the previous one, joined by a single space.
    let folded = raw_server(b"HTTP/1.1 200 OK\r\nX-Folded: a\r\n  b\r\n\tc\r\ncontent-length: 2\r\n\r\nok");
    run(["http", &folded.url("/")]).says(0, ": ok: HTTP 200 OK (");
    // A folded Location is the joined value: here `/ok`, followed.
    let server = serve(|request, out| match request.path.as_str() {
        "/ok" => respond(out, "200 OK", &[], "ok"),
        _ => {
            let _ = out.write_all(b"HTTP/1.1 302 Found\r\nLocation:\r\n /ok\r\ncontent-length: 0\r\n\r\n");
        }
    });
    run(["http", &server.url("/")]).says(0, ": ok: HTTP 200 OK after 1 redirect (");
    // textproto: a first header line that starts with white space is malformed.
    let result = run(["http", &raw_server(b"HTTP/1.1 200 OK\r\n X: a\r\n\r\n").url("/")]);
    result.says(2, ": unreachable: the answer is not HTTP: malformed header line (");
}

#[test]
fn large_headers_are_read_as_go_reads_them() {
    // Go's transport allows 10 MiB of answer head (maxHeaderResponseSize); 1 MiB is fine.
    let big: &'static [u8] = [
        b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec(),
        vec![b'x'; 1 << 20],
        b"\r\ncontent-length: 0\r\n\r\n".to_vec(),
    ]
    .concat()
    .leak();
    run(["http", "-t", "2s", &raw_server(big).url("/")]).says(0, ": ok: HTTP 200 OK (");
}

/// A chain: `/hop/N` redirects to `/hop/N-1`, and `/hop/0` answers 200.
fn chain_server() -> Server {
    serve(|request, out| match request.path.strip_prefix("/hop/").and_then(|n| n.parse::<u32>().ok()) {
        Some(0) => respond(out, "200 OK", &[], "end"),
        Some(n) => respond(out, "302 Found", &[("location", &format!("/hop/{}", n - 1))], ""),
        None => respond(out, "404 Not Found", &[], ""),
    })
}

#[test]
fn nine_redirects_are_followed_and_the_tenth_is_refused() {
    // Go's Client.do calls CheckRedirect with the requests made so far; kubelet's RedirectChecker
    // refuses when `len(via) >= 10`: 10 requests at most, so 9 redirects followed.
    let server = chain_server();
    run(["http", &server.url("/hop/9")]).says(0, ": ok: HTTP 200 OK after 9 redirects (");
    let result = run(["http", &server.url("/hop/10")]);
    result.says(
        1,
        &format!(
            ": unhealthy: HTTP 302 Found after 9 redirects, stopped after 10 redirects, the last to {} (",
            server.url("/hop/0")
        ),
    );
    let result = run(["http", &server.url("/hop/11")]);
    result.says(
        1,
        &format!(
            ": unhealthy: HTTP 302 Found after 9 redirects, stopped after 10 redirects, the last to {} (",
            server.url("/hop/1")
        ),
    );
}

#[test]
fn only_301_302_303_307_308_with_a_location_are_followed() {
    // Go's redirectBehavior: those five; any other 3xx, and one without Location, is the answer,
    // which kubelet counts as success (a warning).
    let server = serve(|request, out| {
        let code = request.path.trim_start_matches('/');
        match code {
            "ok" => respond(out, "200 OK", &[], ""),
            "302-empty" => respond(out, "302 Found", &[("location", "")], ""),
            "302-none" => respond(out, "302 Found", &[], ""),
            _ => respond(out, &format!("{code} Whatever"), &[("location", "/ok")], ""),
        }
    });
    for code in ["301", "302", "303", "307", "308"] {
        run(["http", &server.url(&format!("/{code}"))]).says(0, ": ok: HTTP 200 OK after 1 redirect (");
    }
    for (code, shown) in [
        ("300", "HTTP 300 Multiple Choices ("),
        ("304", "HTTP 304 Not Modified ("),
        ("305", "HTTP 305 Use Proxy ("),
        ("306", "HTTP 306 ("),
        ("302-empty", "HTTP 302 Found ("),
        ("302-none", "HTTP 302 Found ("),
    ] {
        run(["http", &server.url(&format!("/{code}"))]).says(0, &format!(": ok: {shown}"));
    }
    // HEAD stays HEAD across a hop.
    let (recorder, requests) = recording_server();
    let to_recorder = serve(move |_, out| {
        let location = format!("http://127.0.0.1:{}/next", recorder.addr.port());
        respond(out, "303 See Other", &[("location", &location)], "");
    });
    run(["http", "--method", "HEAD", &to_recorder.url("/")]).says(0, ": ok: HTTP 200 OK after 1 redirect (");
    assert_eq!(requests.recv_timeout(Duration::from_secs(1)).expect("a request").method, "HEAD");
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
fn locations_resolve_as_rfc_3986_references() {
    // Go's URL.Parse(loc) = ResolveReference (RFC 3986 §5.2), here by the url crate.
    for (location, path) in [
        ("../ok", "/a/ok"),
        ("?x=1", "/a/b/c?x=1"),
        ("d#fragment", "/a/b/d"),
        ("/x/./y/../z", "/x/z"),
        ("//127.0.0.1:{port}/p", "/p"),
        ("HTTP://127.0.0.1:{port}/upper", "/upper"),
        ("", ""),
    ] {
        let (server, requests) = redirect_once(location);
        let result = run(["http", &server.url("/a/b/c?q")]);
        if path.is_empty() {
            // An empty Location is no redirect (Go: `if loc == ""`).
            result.says(0, ": ok: HTTP 302 Found (");
            continue;
        }
        result.says(0, ": ok: HTTP 200 OK after 1 redirect (");
        assert_eq!(next_request(&requests).path, path, "{location}");
    }
}

#[test]
fn the_same_host_is_gos_hostname_byte_for_byte() {
    // kubelet: `req.URL.Hostname() != via[0].URL.Hostname()` stops (ErrUseLastResponse); Go keeps
    // a host's case, so LOCALHOST is another host than localhost; the port may differ.
    let (server, _) = redirect_once("http://LOCALHOST:{port}/ok");
    let url = format!("http://localhost:{}/", server.addr.port());
    let expected = format!(
        ": ok: HTTP 302 Found, to http://LOCALHOST:{}/ok, another host: not followed (",
        server.addr.port()
    );
    run(["http", &url]).says(0, &expected);

    let (other, requests) = recording_server();
    let to_other = serve(move |_, out| {
        let location = format!("http://127.0.0.1:{}/there", other.addr.port());
        respond(out, "301 Moved Permanently", &[("location", &location)], "");
    });
    run(["http", &to_other.url("/")]).says(0, ": ok: HTTP 200 OK after 1 redirect (");
    assert_eq!(next_request(&requests).path, "/there");
}

#[test]
fn a_location_go_cannot_follow_fails() {
    // Go's transport: `unsupported protocol scheme` for a same-host non-http(s) Location.
    let (server, _) = redirect_once("ftp://127.0.0.1/file");
    let result = run(["http", &server.url("/")]);
    result.says(
        1,
        r#": unhealthy: HTTP 302 Found, to ftp://127.0.0.1/file: not followed, "ftp" is not http or https ("#,
    );
    // Go's url.Parse: an invalid port fails the probe ("failed to parse Location header").
    let (server, _) = redirect_once("http://127.0.0.1:8x/");
    let result = run(["http", &server.url("/")]);
    // A port that is not one may be a password whose '@' is missing: not quoted.
    result.says(1, r#": unhealthy: HTTP 302 Found, but its Location "http://…" is not a URL: invalid port"#);
    // A password with an unencoded '/' or a bad escape in it: the reason Go's parse fails names
    // the part, never the text, which is the password's.
    for location in ["http://user:Sup3r/S3cret@127.0.0.1:1/", "http://user:Sup%zzS3cret@127.0.0.1:1/"] {
        for format in ["-v", "--json"] {
            let (server, _) = redirect_once(location);
            let result = run(["http", format, &server.url("/")]);
            result.code(1).hides("Sup3r").hides("S3cret").hides("%zz");
        }
    }
    // An opaque Location has no host (Hostname ""): another host, the 302 is the answer.
    let (server, _) = redirect_once("mailto:ops@example.com");
    run(["http", &server.url("/")])
        .says(0, ": ok: HTTP 302 Found, to mailto:ops@example.com, another host: not followed (");
}

#[test]
fn a_custom_host_survives_only_a_location_without_a_scheme() {
    // Go's Client.do: `if u, _ := url.Parse(loc); u != nil && !u.IsAbs() { host = req.Host }`.
    for (location, host) in [
        ("/next", "example.test"),
        ("//127.0.0.1:{port}/next", "example.test"),
        ("http://127.0.0.1:{port}/next", ""),
    ] {
        let (server, requests) = redirect_once(location);
        run(["http", "-H", "Host: example.test", &server.url("/")]).says(0, "after 1 redirect (");
        let request = next_request(&requests);
        let expected = if host.is_empty() { server.addr.to_string() } else { host.to_owned() };
        assert_eq!(request.header("host"), Some(&*expected), "{location}: {request:?}");
    }
}

#[test]
fn url_credentials_survive_only_a_relative_location() {
    // Go's ResolveReference keeps the base's User only for a reference without scheme or host;
    // Go's send turns the URL's User into Basic authorization.
    for (location, sent) in [
        ("/next", true),
        ("next", true),
        ("http://127.0.0.1:{port}/next", false),
        ("//127.0.0.1:{port}/next", false),
    ] {
        let (server, requests) = redirect_once(location);
        let url = format!("http://probe:hunter2@{}/", server.addr);
        let result = run(["http", &url]);
        result.says(0, "after 1 redirect (");
        result.hides("hunter2");
        let request = next_request(&requests);
        let expected = sent.then_some("Basic cHJvYmU6aHVudGVyMg==");
        assert_eq!(request.header("authorization"), expected, "{location}: {request:?}");
    }
}

#[test]
fn credentials_never_go_to_another_origin() {
    // Go's shouldCopyHeaderOnRedirect drops Authorization and Cookie for another host name;
    // probe, for another origin (a port or scheme), as the README says.
    let (other, requests) = recording_server();
    let to_other = serve(move |_, out| {
        let location = format!("http://127.0.0.1:{}/there", other.addr.port());
        respond(out, "302 Found", &[("location", &location)], "");
    });
    let args =
        ["http", "-H", "Authorization: Bearer s3cret", "-H", "Cookie: session=s3cret", "-H", "X-Kept: yes"];
    let url = to_other.url("/");
    probe().args(args).args([&url]).run().says(0, "after 1 redirect (");
    let request = next_request(&requests);
    assert_eq!(request.header("authorization"), None, "{request:?}");
    assert_eq!(request.header("cookie"), None, "{request:?}");
    assert_eq!(request.header("x-kept"), Some("yes"), "{request:?}");

    // Two hops: to another port, then a relative Location there. Neither hop sends them, though
    // the second's previous URL has the same origin (Go, after CVE-2024-45336, keeps stripping
    // once it has started; probe compares every hop with the URL given).
    let (other, requests) = redirect_once("/b");
    let to_other = serve(move |_, out| {
        let location = format!("http://127.0.0.1:{}/a", other.addr.port());
        respond(out, "302 Found", &[("location", &location)], "");
    });
    probe().args(args).args([&to_other.url("/")]).run().says(0, "after 2 redirects (");
    let request = next_request(&requests);
    assert_eq!(request.path, "/b");
    assert_eq!(request.header("authorization"), None, "{request:?}");
    assert_eq!(request.header("cookie"), None, "{request:?}");

    // The same origin keeps them.
    let (server, requests) = redirect_once("/next");
    probe().args(args).args([&server.url("/")]).run().says(0, "after 1 redirect (");
    let request = next_request(&requests);
    assert_eq!(request.header("authorization"), Some("Bearer s3cret"), "{request:?}");
    assert_eq!(request.header("cookie"), Some("session=s3cret"), "{request:?}");
}

#[test]
fn a_hop_carries_the_referer_without_credentials() {
    // Go's refererForURL: the previous URL, user info removed.
    let (server, requests) = redirect_once("/next");
    let url = format!("http://probe:hunter2@{}/start?x=1", server.addr);
    run(["http", &url]).code(0);
    let request = next_request(&requests);
    assert_eq!(request.header("referer"), Some(&*format!("http://{}/start?x=1", server.addr)), "{request:?}");
}

#[test]
fn a_redirect_to_https_on_the_same_host_is_followed() {
    // kubelet compares host names only: scheme and port may change.
    let pki = Pki::new();
    let secure = https_server(&pki, &["localhost", "127.0.0.1"], false, false);
    let port = secure.addr.port();
    let server = serve(move |_, out| {
        respond(out, "308 Permanent Redirect", &[("location", &format!("https://127.0.0.1:{port}/"))], "")
    });
    let ca = pki.ca.to_str().unwrap();
    run(["http", "--cacert", ca, &server.url("/")]).says(0, ": ok: HTTP 200 OK after 1 redirect (");
    let result = run(["http", &server.url("/")]);
    result.says(2, ": unreachable: TLS: certificate not trusted (unknown issuer) (");
}

#[test]
fn a_body_that_fails_before_10_kib_fails_the_probe() {
    // kubelet: a ReadAtMost error other than ErrLimitReached is a failure.
    for (answer, expected) in [
        (
            &b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten.."[..],
            ": unreachable: HTTP 200 OK, but reading the body failed: the body ends after 10 of its 100 bytes (",
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
            ": unreachable: HTTP 200 OK, but reading the body failed: invalid byte in chunk length (",
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n",
            ": unreachable: HTTP 200 OK, but reading the body failed: the chunked body ends after 2 bytes, before its last chunk (",
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nokXX0\r\n\r\n",
            ": unreachable: HTTP 200 OK, but reading the body failed: malformed chunked encoding (",
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n",
            r#": unreachable: HTTP 200 OK, but the answer is not HTTP: unsupported transfer encoding: "gzip" ("#,
        ),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok",
            ": unreachable: HTTP 200 OK, but the answer is not HTTP: several different Content-Length headers (",
        ),
    ] {
        run(["http", &raw_server(answer).url("/")]).says(2, expected);
    }
    // Well-formed bodies of each framing pass: chunked with a trailer, and one read to the close.
    for answer in [
        &b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2;ext=1\r\nok\r\n0\r\nX-Trailer: 1\r\n\r\n"[..],
        b"HTTP/1.0 200 OK\r\n\r\nuntil the close",
    ] {
        run(["http", "--body-contains", "o", &raw_server(answer).url("/")])
            .says(0, ": ok: HTTP 200 OK, body matches (");
    }
}

#[test]
fn a_body_that_stalls_times_out_during_body() {
    // kubelet reads the body under the client's timeout: a stalled body is a failure.
    let stalled = serve(|_, out| {
        let _ = out.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nten bytes.");
        let _ = out.flush();
        thread::sleep(Duration::from_secs(5));
    });
    let result = run(["http", "-t", "300ms", &stalled.url("/")]);
    let line = result.code(2).within(Duration::from_millis(300) + MARGIN).stderr_line();
    assert!(line.contains(": unreachable: timed out after 300ms during body ("), "{line}");
}

#[test]
fn a_failing_status_is_told_without_waiting_for_its_body() {
    // kubelet fails any status outside 200-399 whatever its body.
    let stalled = serve(|_, out| {
        let _ = out.write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 100\r\n\r\n");
        let _ = out.flush();
        thread::sleep(Duration::from_secs(5));
    });
    let result = run(["http", "-t", "2s", &stalled.url("/")]);
    result.code(1).within(Duration::from_secs(1));
    result.says(1, ": unhealthy: HTTP 503 Service Unavailable (");
}

#[test]
fn a_name_that_does_not_resolve_is_named() {
    // Every check words it the same: net::resolve's "cannot resolve HOST: …".
    let result = run(["http", "http://no-such-host.invalid:8080/health"]);
    result.says(2, ": unreachable: cannot resolve no-such-host.invalid: ");
}

#[test]
fn a_tls_port_asked_in_plain_text_is_named() {
    // A TLS server answers plain text with an alert record (0x15 0x03 …): say the port speaks TLS.
    let pki = Pki::new();
    let server = https_server(&pki, &["localhost"], false, false);
    let result = run(["http", &server.url("/")]);
    result.says(2, ": unreachable: the answer is TLS, not HTTP: the port speaks TLS (use https://) (");
}

#[test]
fn a_tls_body_read_to_the_close_ends_without_close_notify() {
    // Go's crypto/tls takes a TCP close between records as the end of the stream.
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost"]);
    let server = serve_tls(server_config(&pair, None), |_, out| {
        let _ = out.write_all(b"HTTP/1.0 200 OK\r\n\r\nup until the close");
    });
    let url = server.https_url("localhost", "/");
    let result = run(["http", "--cacert", pki.ca.to_str().unwrap(), "--body-contains", "close", &url]);
    result.says(0, ": ok: HTTP 200 OK, body matches (");
}

#[test]
fn a_server_that_closes_without_a_word_is_said_so() {
    // Go's transport fails the request (EOF); kubelet's probe fails.
    let result = run(["http", &raw_server(b"").url("/")]);
    result.says(2, ": unreachable: the server closed the connection without answering (");
}

#[test]
fn a_location_with_a_scheme_and_no_host_names_no_host() {
    // Go's url.Parse("http:/x") has Scheme "http" and Host ""; ResolveReference keeps that empty
    // host (the reference has a scheme), so kubelet's CheckRedirect sees Hostname() "" against
    // the first request's and answers ErrUseLastResponse: the 302 is the answer.
    for location in ["http:/x", "https:/x", "http:x"] {
        let (server, requests) = redirect_once(location);
        let result = run(["http", &server.url("/")]);
        result.says(0, &format!(": ok: HTTP 302 Found, to {location}, another host: not followed ("));
        assert!(requests.recv_timeout(Duration::from_millis(200)).is_err(), "{location}: no second request");
    }
}

#[test]
fn gos_order_decides_between_parse_host_limit_scheme_and_dial() {
    // Go's Client.do: `req.URL.Parse(loc)` first (its error fails the probe), then kubelet's
    // CheckRedirect (another host: the 3xx is the answer; then `len(via) >= 10`), then the
    // transport (`unsupported protocol scheme`, then the dial).
    //
    // Go parses a '<' in a host, the url crate does not: another host, so the 302 is the answer.
    let (server, _) = redirect_once("http://a<b/ok");
    run(["http", &server.url("/")])
        .says(0, ": ok: HTTP 302 Found, to http://a<b/ok, another host: not followed (");
    // A bad escape fails Go's parse before any host is compared.
    let (server, _) = redirect_once("http://elsewhere/a%zz");
    let result = run(["http", &server.url("/")]);
    result.says(1, r#": unhealthy: HTTP 302 Found, but its Location "http://elsewhere/a%zz" is not a URL: invalid URL escape ("#);
    // Go parses port 99999 and compares host names only; its dial then fails.
    let (server, _) = redirect_once("http://127.0.0.1:99999/");
    let result = run(["http", &server.url("/")]);
    result.says(
        1,
        ": unhealthy: HTTP 302 Found, to http://127.0.0.1:99999/: cannot be followed: invalid port number (",
    );

    // The 10-request limit comes before the scheme: a chain whose 10th answer points at ftp://.
    let server =
        serve(|request, out| match request.path.strip_prefix("/hop/").and_then(|n| n.parse::<u32>().ok()) {
            Some(0) => respond(out, "302 Found", &[("location", "ftp://127.0.0.1/file")], ""),
            Some(n) => respond(out, "302 Found", &[("location", &format!("/hop/{}", n - 1))], ""),
            None => respond(out, "404 Not Found", &[], ""),
        });
    let result = run(["http", &server.url("/hop/9")]);
    result.says(1, ": unhealthy: HTTP 302 Found after 9 redirects, stopped after 10 redirects, the last to ftp://127.0.0.1/file (");
    let result = run(["http", &server.url("/hop/8")]);
    result.says(
        1,
        r#": unhealthy: HTTP 302 Found after 8 redirects, to ftp://127.0.0.1/file: not followed, "ftp" is not http or https ("#,
    );
}

#[test]
fn every_answer_is_framed_as_go_frames_it() {
    // Go's ReadResponse calls readTransfer on every answer: bad framing is a transport error
    // (kubelet: failure) whatever the status, a redirect's or a 503's included.
    for (answer, expected) in [
        (
            &b"HTTP/1.1 302 Found\r\nLocation: /ok\r\nTransfer-Encoding: gzip\r\n\r\n"[..],
            r#": unreachable: HTTP 302 Found, but the answer is not HTTP: unsupported transfer encoding: "gzip" ("#,
        ),
        (
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 1x\r\n\r\n",
            r#": unreachable: HTTP 503 Service Unavailable, but the answer is not HTTP: bad Content-Length "1x" ("#,
        ),
        (
            // parseContentLength runs before the HEAD/204/304 rule and before chunked wins.
            b"HTTP/1.1 204 No Content\r\nContent-Length: -1\r\n\r\n",
            r#": unreachable: HTTP 204 No Content, but the answer is not HTTP: bad Content-Length "-1" ("#,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: +5\r\n\r\n0\r\n\r\n",
            r#": unreachable: HTTP 200 OK, but the answer is not HTTP: bad Content-Length "+5" ("#,
        ),
        (
            // fixTrailer: a chunked answer may not announce a framing field as a trailer.
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length\r\n\r\n0\r\n\r\n",
            r#": unreachable: HTTP 200 OK, but the answer is not HTTP: bad trailer key "Content-Length" ("#,
        ),
    ] {
        run(["http", &raw_server(answer).url("/")]).says(2, expected);
    }
    // Before HTTP/1.1 Transfer-Encoding is ignored, and the body runs to the close.
    let answer = b"HTTP/1.0 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nplain";
    run(["http", "--body-contains", "plain", &raw_server(answer).url("/")])
        .says(0, ": ok: HTTP 200 OK, body matches (");
}

#[test]
fn a_redirects_body_is_read_up_to_2_kib_before_the_next_hop() {
    // Go's Client.do: `io.CopyN(io.Discard, resp.Body, 2<<10)` when ContentLength is -1 or at
    // most 2 KiB, errors ignored; a body that stalls there holds the request until the deadline.
    let stalled = |length: &'static str| {
        serve(move |request, out| {
            if request.path == "/ok" {
                return respond(out, "200 OK", &[], "ok");
            }
            let head =
                format!("HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: {length}\r\n\r\nten bytes.");
            let _ = out.write_all(head.as_bytes());
            let _ = out.flush();
            thread::sleep(Duration::from_secs(5));
        })
    };
    let result = run(["http", "-t", "300ms", &stalled("100").url("/")]);
    let line = result.code(2).within(Duration::from_millis(300) + MARGIN).stderr_line();
    assert!(line.contains(": unreachable: timed out after 300ms during body ("), "{line}");
    // A body declared longer than 2 KiB is not read; one cut short is no error.
    run(["http", "-t", "2s", &stalled("5000").url("/")]).says(0, ": ok: HTTP 200 OK after 1 redirect (");
    let cut = serve(|request, out| match request.path.as_str() {
        "/ok" => respond(out, "200 OK", &[], "ok"),
        _ => {
            let _ = out
                .write_all(b"HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: 100\r\n\r\nten bytes.");
        }
    });
    run(["http", &cut.url("/")]).says(0, ": ok: HTTP 200 OK after 1 redirect (");
}

#[test]
fn the_status_code_is_read_as_strconv_atoi_reads_it() {
    // Go's ReadResponse: three characters after the space, `strconv.Atoi`, not below zero; the
    // reason may be any bytes. kubelet: a code outside 200-399 is a failure.
    for (answer, exit, expected) in [
        (&b"HTTP/1.1 +12 Odd\r\ncontent-length: 0\r\n\r\n"[..], 1, ": unhealthy: HTTP 012 ("),
        (b"HTTP/1.1 -00 Odd\r\ncontent-length: 0\r\n\r\n", 1, ": unhealthy: HTTP 000 ("),
        (b"HTTP/1.1 +20 Odd\r\ncontent-length: 0\r\n\r\n", 1, ": unhealthy: HTTP 020 ("),
        (b"HTTP/1.1 200 \xff\xfe\r\ncontent-length: 0\r\n\r\n", 0, ": ok: HTTP 200 OK ("),
        (b"HTTP/1.1 -12 Odd\r\n\r\n", 2, ": unreachable: the answer is not HTTP ("),
        (b"HTTP/1.1 2 0 Odd\r\n\r\n", 2, ": unreachable: the answer is not HTTP ("),
    ] {
        run(["http", &raw_server(answer).url("/")]).says(exit, expected);
    }
}

#[test]
fn chunk_size_lines_are_read_as_go_reads_them() {
    // Go's internal/chunked.go: readChunkLine wants CRLF and no other CR; trailing spaces and
    // tabs go, then the extension after ';'; parseHexUint takes hex digits only (no sign, no
    // leading space); overhead beyond 16 KiB more than the data pays for fails; readTrailer
    // wants CRLF CRLF within 4 KiB and no bare CR or LF.
    let long_extension = "x".repeat(4000);
    let many_small_chunks: &'static [u8] = [
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec(),
        format!("1;{long_extension}\r\nA\r\n").repeat(5).into_bytes(),
        b"0\r\n\r\n".to_vec(),
    ]
    .concat()
    .leak();
    for (body, expected) in [
        (&b" 2\r\nok\r\n0\r\n\r\n"[..], "invalid byte in chunk length"),
        (b"+2\r\nok\r\n0\r\n\r\n", "invalid byte in chunk length"),
        (b"2 ;ext\r\nok\r\n0\r\n\r\n", "invalid byte in chunk length"),
        (b"\r\nok\r\n0\r\n\r\n", "empty hex number for chunk length"),
        (b"2\nok\r\n0\r\n\r\n", "chunked line ends with bare LF"),
        (b"2\r\r\nok\r\n0\r\n\r\n", "invalid CR in chunked line"),
        (b"2\r\nok\r\n0\r\nX-T: 1\n\r\n\r\n", "invalid trailer"),
        (b"2\r\nok\r\n0\r\nX-T: 1\r\n", "suspiciously long trailer after chunked body"),
        (b"2\r\nok\r\n0\r\n", "unexpected EOF reading trailer"),
    ] {
        let answer: &'static [u8] =
            [&b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"[..], body].concat().leak();
        let result = run(["http", &raw_server(answer).url("/")]);
        result.says(2, &format!(": unreachable: HTTP 200 OK, but reading the body failed: {expected} ("));
    }
    let result = run(["http", &raw_server(many_small_chunks).url("/")]);
    result.says(2, ": unreachable: HTTP 200 OK, but reading the body failed: chunked encoding contains too much non-data (");
    // Trailing white space before CRLF and an extension are fine.
    let answer = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2 \t\r\nok\r\n0;end\r\n\r\n";
    run(["http", "--body-contains", "ok", &raw_server(answer).url("/")])
        .says(0, ": ok: HTTP 200 OK, body matches (");
}

#[test]
fn kubelet_reads_10_kib_and_no_more() {
    // k8s.io/utils/io ReadAtMost(body, 10 KiB) reads through an io.LimitedReader{N: 10 KiB}: once
    // 10 KiB have come it returns ErrLimitReached, which kubelet logs as a "non fatal body
    // truncation" (success); a body cut short before 10 KiB is an unexpected EOF (failure).
    let answer = |sent: usize| -> &'static [u8] {
        [&b"HTTP/1.1 200 OK\r\ncontent-length: 20000\r\n\r\n"[..], &vec![b'x'; sent]].concat().leak()
    };
    run(["http", &raw_server(answer(10 << 10)).url("/")]).says(0, ": ok: HTTP 200 OK (");
    let result = run(["http", &raw_server(answer((10 << 10) - 1)).url("/")]);
    result.says(2, ": unreachable: HTTP 200 OK, but reading the body failed: the body ends after 10239 of its 20000 bytes (");
}

#[test]
fn a_chunk_size_at_the_top_of_the_range_is_no_crash() {
    // Go's parseHexUint takes 16 hex digits; its excess arithmetic wraps where probe's saturates,
    // and the body then ends short of the chunk: a failure either way, never a crash.
    for size in ["ffffffffffffffff", "8000000000000000"] {
        let answer = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\nabc");
        let result = run(["http", &raw_server(answer.into_bytes().leak()).url("/")]);
        result.says(2, ": unreachable: HTTP 200 OK, but reading the body failed: ");
    }
}

#[test]
fn header_lines_are_checked_as_textproto_checks_them() {
    // net/textproto readMIMEHeader: a name with a space before the colon is accepted but not
    // canonicalised, so `Header.Get("Location")` never finds it and the 302 is the answer; a
    // folded field's first line needs its colon; a control character in a value is malformed.
    let answer = b"HTTP/1.1 302 Found\r\nLocation : /elsewhere\r\ncontent-length: 0\r\n\r\n";
    run(["http", &raw_server(answer).url("/")]).says(0, ": ok: HTTP 302 Found (");
    for answer in [
        &b"HTTP/1.1 200 OK\r\nX-Name\r\n : value\r\ncontent-length: 0\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nX-Bad: a\x01b\r\ncontent-length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX(Bad): a\r\ncontent-length: 0\r\n\r\n",
    ] {
        let result = run(["http", &raw_server(answer).url("/")]);
        result.says(2, ": unreachable: the answer is not HTTP: malformed header line (");
    }
}

#[test]
fn an_explicit_referer_is_replaced_on_a_hop_as_go_replaces_it() {
    // Go's Client.do copies the first request's headers (copyHeaders), then sets Referer from
    // the previous URL over them (`req.Header.Set("Referer", ref)`), unless refererForURL gives
    // "" (https to http): then the given Referer is what is sent.
    let (server, requests) = redirect_once("/next");
    run(["http", "-H", "Referer: http://given.example/", &server.url("/start")]).code(0);
    let request = next_request(&requests);
    assert_eq!(request.header("referer"), Some(&*server.url("/start")), "{request:?}");

    let (recorder, requests) = recording_server();
    let pki = Pki::new();
    let pair = pki.issue("server", &["127.0.0.1"]);
    let port = recorder.addr.port();
    let secure = serve_tls(server_config(&pair, None), move |_, out| {
        respond(out, "302 Found", &[("location", &format!("http://127.0.0.1:{port}/plain"))], "")
    });
    let ca = pki.ca.to_str().unwrap();
    let url = secure.https_url("127.0.0.1", "/");
    run(["http", "--cacert", ca, "-H", "Referer: http://given.example/", &url])
        .says(0, ": ok: HTTP 200 OK after 1 redirect (");
    let request = next_request(&requests);
    assert_eq!(request.header("referer"), Some("http://given.example/"), "{request:?}");
    run(["http", "--cacert", ca, &url]).code(0);
    let request = next_request(&requests);
    assert_eq!(request.header("referer"), None, "never from https to http: {request:?}");
}

#[test]
fn a_head_larger_than_gos_10_mib_is_refused() {
    // Go's transport: maxHeaderResponseSize, 10 MiB when MaxResponseHeaderBytes is unset (as
    // kubelet leaves it); beyond that the round trip fails.
    let big: &'static [u8] = [
        b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec(),
        vec![b'x'; 11 << 20],
        b"\r\ncontent-length: 0\r\n\r\n".to_vec(),
    ]
    .concat()
    .leak();
    let result = run(["http", "-t", "5s", &raw_server(big).url("/")]);
    result.says(2, ": unreachable: the answer's headers are larger than 10 MiB (");
}
