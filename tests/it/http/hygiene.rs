//! `probe http` and secrets: the URL's password, secret query and fragment values and `-H`
//! values (also from `-H @FILE`) in no output form; what a server sends quoted escaped.

use super::*;

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
fn headers_from_a_file_are_sent_and_never_shown() {
    // curl's -H @FILE, as grpc has it: one 'Name: value' a line, so a token is on no command
    // line; a CRLF file's '\r' is no part of a value.
    const TOKEN: &str = "http-Token-9c2e";
    let (server, requests) = recording_server();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("headers");
    std::fs::write(&file, format!("Authorization: Bearer {TOKEN}\r\n\r\nx-id: 3\r\n")).unwrap();
    let given = format!("@{}", file.display());
    for mode in [&["-v"][..], &["--json"][..]] {
        let result = probe().args(["http"]).args(mode).args(["-H", &given, &server.url("/")]).run();
        result.code(0).hides(TOKEN);
        let request = next_request(&requests);
        assert_eq!(request.header("authorization"), Some(&*format!("Bearer {TOKEN}")), "{request:?}");
        assert_eq!(request.header("x-id"), Some("3"), "{request:?}");
    }
    // `-H "Authorization: Bearer $(cat token)"` with a CRLF token file: the '\r' is dropped.
    run(["http", "-H", &format!("Authorization: Bearer {TOKEN}\r"), &server.url("/")]).code(0).hides(TOKEN);
    let request = next_request(&requests);
    assert_eq!(request.header("authorization"), Some(&*format!("Bearer {TOKEN}")), "{request:?}");
    // Malformed headers are usage errors that name at most the header, never its value.
    std::fs::write(&file, format!("x-id: 3\nAuthorization Bearer {TOKEN}\n")).unwrap();
    let result = run(["http", "-H", &given, &server.url("/")]);
    result.says(3, &format!("-H {given}, line 2: write a header as 'Name: value'"));
    result.hides(TOKEN);
    for header in [
        format!("Authorization Bearer {TOKEN}"),
        format!("Authorization: Bearer {TOKEN}\nX-Forged: 1"),
        format!("Authorization: Bearer {TOKEN}\u{1}"),
        format!("Bad {TOKEN}: x"),
    ] {
        for mode in [&[][..], &["-v", "--json"][..], &["--wait", "300ms"][..]] {
            let result = probe().args(["http"]).args(mode).args(["-H", &header, &server.url("/")]).run();
            result.says(3, "-H: ");
            result.hides(TOKEN);
        }
    }
}

#[test]
fn server_text_is_quoted_escaped_in_one_line() {
    // A peer's text reaches the line only escaped and bounded: a reason phrase with ESC, NUL and
    // CR is not quoted at all (the canonical reason is shown), a Location with a tab or a C1
    // control is escaped, a huge one cut; a Transfer-Encoding likewise. Text and JSON alike.
    let long = format!(
        "HTTP/1.1 302 Found\r\nlocation: http://other.example/{}\r\ncontent-length: 0\r\n\r\n",
        "x".repeat(5000)
    );
    let long: &'static [u8] = Box::leak(long.into_bytes().into_boxed_slice());
    for (answer, code, expected) in [
        (
            &b"HTTP/1.1 200 OK\x1b[2J\0\rforged: ok\r\ncontent-length: 0\r\n\r\n"[..],
            0,
            ": ok: HTTP 200 OK (",
        ),
        (
            b"HTTP/1.1 302 Found\r\nlocation: http://other.example/a\tb\xc2\x85\xe2\x80\xa8c\r\ncontent-length: 0\r\n\r\n",
            1,
            r#"but its Location "http://…" is not a URL: invalid control character in URL ("#,
        ),
        (
            b"HTTP/1.1 302 Found\r\nlocation: http://other.example/a\xc2\x85\xe2\x80\xa8c\r\ncontent-length: 0\r\n\r\n",
            0,
            r": ok: HTTP 302 Found, to http://other.example/a\u{85}\u{2028}c, another host: not followed (",
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: x\xc2\x85\xe2\x80\xa8\tz\r\n\r\n",
            2,
            r#": unreachable: HTTP 200 OK, but the answer is not HTTP: unsupported transfer encoding: "x\u{85}\u{2028}\tz" ("#,
        ),
        (long, 0, "xxx…, another host: not followed ("),
    ] {
        let url = raw_server(answer).url("/");
        let line = run(["http", &url]).says(code, expected).to_owned();
        assert!(!line.chars().any(char::is_control) && line.chars().count() < 500, "{line:?}");
        let json = run(["http", "--json", &url]);
        let line = json.stdout.lines().next().unwrap_or_default().to_owned();
        assert_eq!(json.stdout.lines().count(), 1, "{json}");
        let object: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert!(!object["message"].as_str().unwrap().chars().any(char::is_control), "{line}");
    }
}

#[test]
fn secrets_never_show_in_any_output_form() {
    // Issue 25's forms for http: a password with an '@' (Go splits at the last), one after which
    // the path holds an '@', secret query and fragment values, a password whose unencoded '/'
    // ends the authority (Go reads host:port there, and it is masked), a password a bad port
    // stands in for; in text, -v, --json and --wait lines.
    const SECRET: &str = "Hunter2-Secret";
    let (server, requests) = recording_server();
    let refusing = sockets::refusing();
    let modes: [&[&str]; 4] =
        [&[], &["-v"], &["--json"], &["--wait", "300ms", "--interval", "100ms", "-t", "100ms"]];
    for url in [
        format!("http://user:p@{SECRET}@{}/users/@me", server.addr),
        format!("http://{}/health?access_token={SECRET}#state=1", server.addr),
        format!("http://{}/cb#access_token={SECRET}", server.addr),
        format!("http://user:{SECRET}@{}/", refusing.addr),
        format!("http://user:1234/{SECRET}@{}/", server.addr),
        format!("http://user:{SECRET}/x@{}/", server.addr),
        format!("http://user:{SECRET}@/"),
        format!("ftp://user:{SECRET}@{}/", server.addr),
    ] {
        for mode in modes {
            let result = probe().args(mode).args(["http", &url]).run();
            assert!(matches!(result.code, 0..=3), "{result}");
            result.hides(SECRET);
        }
    }
    while requests.try_recv().is_ok() {}
    // The first form logs in as Go does: the user part ends at the last '@'.
    run(["http", &format!("http://user:p@{SECRET}@{}/x", server.addr)]).code(0).hides(SECRET);
    let request = next_request(&requests);
    let basic = format!("Basic {}", base64_of(&format!("user:p@{SECRET}")));
    assert_eq!(request.header("authorization"), Some(&*basic), "{request:?}");
}

/// Standard base64, for the Basic credentials a server sees.
fn base64_of(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            let shown = i <= chunk.len();
            out.push(if shown { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}
