//! `probe http`'s redirects, as kubelet over Go's client follows them: which statuses, to which
//! hosts, how far, how a `Location` resolves, and what survives a hop (headers, credentials,
//! `Host`, `Referer`); and `--no-follow`.

use super::*;

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
    let trusted = probe().env("SSL_CERT_FILE", ca).args(["http", &server.url("/")]).run();
    trusted.says(0, ": ok: HTTP 200 OK after 1 redirect (");
    let result = run(["http", &server.url("/")]);
    result.says(2, ": unreachable: TLS: certificate not trusted (unknown issuer) (");
    // One rule for every check: a TLS option where no target uses TLS is a usage error.
    run(["http", "--cacert", ca, &server.url("/")])
        .says(3, "--cacert is a TLS option, and no target here uses TLS");
    // A bad SSL_CERT_FILE fails only the probe that meets TLS, and names the variable.
    let bad = pki.dir.path().join("not-a-ca.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let result = probe().env("SSL_CERT_FILE", &bad).args(["http", &server.url("/")]).run();
    result.says(2, ": unreachable: SSL_CERT_FILE ");
    probe()
        .env("SSL_CERT_FILE", &bad)
        .args(["http", &raw_server(b"HTTP/1.1 204 No Content\r\n\r\n").url("/")])
        .run()
        .code(0);
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
    // The Location is named by its scheme only: what Go cannot read could hold a password.
    result.says(
        1,
        r#": unhealthy: HTTP 302 Found, but its Location "http://…" is not a URL: invalid URL escape ("#,
    );
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
fn credential_headers_are_dropped_on_a_redirect_to_http() {
    // Go forwards custom headers on a same-host redirect, even from https to http; probe drops
    // every header whose name says it carries a credential once the origin changes (README).
    let pki = Pki::new();
    let (plain, requests) = recording_server();
    let port = plain.addr.port();
    let secure = serve_tls(server_config(&pki.issue("server", &["127.0.0.1"]), None), move |_, out| {
        respond(out, "302 Found", &[("location", &format!("http://127.0.0.1:{port}/down"))], "");
    });
    let credentials = [
        "Authorization: Bearer s3cret",
        "Proxy-Authorization: Basic s3cret",
        "Cookie: session=s3cret",
        "X-Api-Key: s3cret",
        "X-Auth-Token: s3cret",
        "X-Vault-Token: s3cret",
        "Api-Key: s3cret",
        "X-Client-Secret: s3cret",
    ];
    let mut args = vec!["http".to_owned(), "--cacert".to_owned(), pki.ca.to_str().unwrap().to_owned()];
    for header in credentials.iter().chain(&["X-Kept: yes"]) {
        args.extend(["-H".to_owned(), (*header).to_owned()]);
    }
    args.push(secure.https_url("127.0.0.1", "/"));
    run(&args).says(0, ": ok: HTTP 200 OK after 1 redirect (");
    let request = next_request(&requests);
    assert_eq!(request.path, "/down");
    for (name, value) in &request.headers {
        assert!(!value.contains("s3cret"), "{name} went in plain text: {request:?}");
    }
    assert_eq!(request.header("x-kept"), Some("yes"), "{request:?}");
}

#[test]
fn no_follow_judges_the_first_answer() {
    // curl's default: the 3xx is the answer, so --status 302 can pass on a same-host redirect.
    let (server, requests) = redirect_once("/next?token=s3cret");
    let result = run(["http", "--no-follow", "--status", "302", &server.url("/")]);
    result.says(0, ": ok: HTTP 302 Found, to /next?token=***: not followed (--no-follow) (");
    result.hides("s3cret");
    assert!(requests.recv_timeout(Duration::from_millis(200)).is_err(), "no second request");
    let (server, _) = redirect_once("/next");
    run(["http", "--no-follow", "--status", "200", &server.url("/")])
        .says(1, ": unhealthy: HTTP 302 Found, to /next: not followed (--no-follow) (");
    run(["http", "--no-follow", &status_server().url("/204")]).says(0, ": ok: HTTP 204 No Content (");
}
