//! `probe http` reading answers as Go's `net/http` reads them: status lines, 1xx, folded and
//! large headers, framing, chunks and trailers, and bodies cut short, stalled, endless or huge.

use super::*;

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
